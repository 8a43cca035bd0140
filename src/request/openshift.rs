//! OpenShift's image-change triggers: which blank `image` fields a trigger
//! fills from an ImageStreamTag (README, "On OpenShift").
//!
//! A workload may leave a container's `image` blank (`""` or `" "`, what
//! `oc new-app` and the catalog's templates write) for OpenShift's trigger
//! controller to fill with the pull spec an ImageStreamTag resolves to; the
//! controller writes it later, as an UPDATE the policy checks then. Two
//! forms say which field is filled:
//! - the `image.openshift.io/triggers` annotation (on Deployments,
//!   StatefulSets, DaemonSets, CronJobs and Jobs), a JSON list of
//!   `{"from": {"kind": "ImageStreamTag", "name": …, "namespace": …},
//!   "fieldPath": "spec.template.spec.containers[0].image"}`; the field path
//!   may select the container by name, `containers[?(@.name=="web")].image`;
//! - a DeploymentConfig's `spec.triggers[].imageChangeParams`, whose
//!   `containerNames` are filled from its `from`.
//!
//! A blank field a trigger fills is reported as unchecked (a warning naming
//! the ImageStreamTag); one nothing fills is nothing to pull, like a missing
//! image (the API server refuses a blank image in a Pod). A trigger
//! annotation that is not JSON of that shape is rejected, naming it: the
//! policy cannot tell which fields it fills.

use std::borrow::Cow;

use crate::request::json::{Document, Parser};

/// Why a trigger-filled field is not checked (the warning's words).
pub const FILLED_BY_TRIGGER: &str = "the ImageStreamTag an OpenShift image-change trigger fills this field from";

/// The annotation that holds a workload's triggers.
pub const TRIGGERS_ANNOTATION: &str = "image.openshift.io/triggers";

/// A blank `image` field, and the name of its container when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blank<'de> {
    pub field: String,
    pub container: Option<Cow<'de, str>>,
}

/// One trigger: the fields it fills, and the ImageStreamTag it fills them
/// from (`namespace/name:tag`, or `name:tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    target: Target,
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// An annotation's `fieldPath`.
    FieldPath(String),
    /// A DeploymentConfig trigger's `containerNames`.
    Containers(Vec<String>),
}

impl Trigger {
    /// This trigger fills `blank`.
    pub fn fills(&self, blank: &Blank<'_>) -> bool {
        match &self.target {
            Target::FieldPath(path) if *path == blank.field => true,
            Target::FieldPath(path) => by_name(path).is_some_and(|(list, name)| {
                blank.container.as_deref() == Some(name)
                    && blank
                        .field
                        .strip_suffix(".image")
                        .and_then(|f| f.rsplit_once('['))
                        .is_some_and(|(l, _)| l == list)
            }),
            Target::Containers(names) => blank.container.as_deref().is_some_and(|n| names.iter().any(|x| x == n)),
        }
    }
}

/// `spec.template.spec.containers[?(@.name=="web")].image` as
/// (`spec.template.spec.containers`, `web`); quotes `"` or `'`.
fn by_name(path: &str) -> Option<(&str, &str)> {
    let (list, rest) = path.strip_suffix(".image")?.split_once("[?(@.name==")?;
    let name = rest.strip_suffix(")]")?;
    let name = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .or_else(|| name.strip_prefix('\'').and_then(|n| n.strip_suffix('\'')))?;
    Some((list, name))
}

/// The ImageStreamTag a trigger's `from` names, when it is one.
fn image_stream_tag(from: Option<&Document<'_>>) -> Option<String> {
    let from = from?;
    if from.get("kind").and_then(string) != Some("ImageStreamTag") {
        return None;
    }
    let name = from.get("name").and_then(string)?;
    Some(match from.get("namespace").and_then(string).filter(|n| !n.is_empty()) {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_string(),
    })
}

fn string<'v>(value: &'v Document<'_>) -> Option<&'v str> {
    match value {
        Document::String(s) => Some(s),
        _ => None,
    }
}

/// The triggers of an `image.openshift.io/triggers` annotation, or what is
/// wrong with it. Entries of another kind than ImageStreamTag fill nothing
/// (the controller only resolves image stream tags).
pub fn annotation_triggers(text: &str) -> Result<Vec<Trigger>, String> {
    let wrong = || {
        format!(
            "expected a JSON list of image-change triggers ({{\"from\": {{\"kind\": \"ImageStreamTag\", \"name\": …}}, \"fieldPath\": …}}), found {:?}",
            crate::response::shorten(text)
        )
    };
    let Ok(Document::Array(items)) = Document::parse(text.as_bytes()) else { return Err(wrong()) };
    let mut triggers = Vec::new();
    for item in &items {
        let Some(path) = item.get("fieldPath").and_then(string) else { return Err(wrong()) };
        if let Some(from) = image_stream_tag(item.get("from")) {
            triggers.push(Trigger { target: Target::FieldPath(path.to_string()), from });
        }
    }
    Ok(triggers)
}

/// The image-change triggers of a DeploymentConfig's `spec.triggers`, read
/// from where that value starts in `bytes`. The API server validates a
/// DeploymentConfig's triggers, so a shape other than its own fills nothing.
pub fn deployment_config_triggers(bytes: &[u8], start: usize) -> Vec<Trigger> {
    let Some(rest) = bytes.get(start..) else { return Vec::new() };
    let Ok(Ok(Document::Array(items))) = Document::read(&mut Parser::new(rest)) else { return Vec::new() };
    let mut triggers = Vec::new();
    for params in items.iter().filter_map(|item| item.get("imageChangeParams")) {
        let Some(Document::Array(names)) = params.get("containerNames") else { continue };
        let Some(from) = image_stream_tag(params.get("from")) else { continue };
        let names = names.iter().filter_map(string).map(str::to_string).collect();
        triggers.push(Trigger { target: Target::Containers(names), from });
    }
    triggers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(field: &str, container: Option<&'static str>) -> Blank<'static> {
        Blank { field: field.into(), container: container.map(Cow::Borrowed) }
    }

    #[test]
    fn annotation_triggers_fill_their_field_by_index_or_by_name() {
        let triggers = annotation_triggers(
            r#"[{"from":{"kind":"ImageStreamTag","name":"app:latest"},"fieldPath":"spec.template.spec.containers[0].image"},
                {"from":{"kind":"ImageStreamTag","name":"mysql:8","namespace":"openshift"},"fieldPath":"spec.template.spec.containers[?(@.name==\"db\")].image"},
                {"from":{"kind":"DockerImage","name":"x"},"fieldPath":"spec.template.spec.containers[2].image"}]"#,
        )
        .unwrap();
        assert_eq!(triggers.iter().map(|t| t.from.as_str()).collect::<Vec<_>>(), ["app:latest", "openshift/mysql:8"]);
        assert!(triggers[0].fills(&blank("spec.template.spec.containers[0].image", None)));
        assert!(!triggers[0].fills(&blank("spec.template.spec.containers[1].image", None)));
        assert!(triggers[1].fills(&blank("spec.template.spec.containers[1].image", Some("db"))));
        assert!(!triggers[1].fills(&blank("spec.template.spec.initContainers[1].image", Some("db"))));
        assert!(!triggers[1].fills(&blank("spec.template.spec.containers[1].image", Some("web"))));
    }

    #[test]
    fn annotations_of_another_shape_are_refused() {
        for text in ["", "{}", "[1]", r#"[{"from": {"kind": "ImageStreamTag", "name": "a:1"}}]"#, "[{"] {
            assert!(
                annotation_triggers(text).unwrap_err().starts_with("expected a JSON list of image-change triggers")
            );
        }
        assert_eq!(annotation_triggers("[]").unwrap(), []);
    }

    #[test]
    fn deployment_config_triggers_fill_their_containers() {
        let spec = br#"{"triggers": [{"type": "ConfigChange"}, {"type": "ImageChange", "imageChangeParams": {"automatic": true,
            "containerNames": ["jenkins"], "from": {"kind": "ImageStreamTag", "name": "jenkins:2", "namespace": "openshift"}}}], "x": 1}"#;
        let start = spec.windows(2).position(|w| w == b"[{").unwrap();
        let triggers = deployment_config_triggers(spec, start);
        assert_eq!(triggers.len(), 1);
        assert_eq!(triggers[0].from, "openshift/jenkins:2");
        assert!(triggers[0].fills(&blank("spec.template.spec.containers[0].image", Some("jenkins"))));
        assert!(!triggers[0].fills(&blank("spec.template.spec.containers[0].image", None)));
        assert_eq!(deployment_config_triggers(b"5", 0), []);
    }
}
