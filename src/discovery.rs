//! Finds every image an object would make a node pull, in one streaming walk
//! over its JSON: no tree of the object is built, keys and image strings are
//! borrowed from the request bytes, and everything else is skipped as it is
//! read.
//!
//! Where images are, at any depth of the object (so Pods, every workload
//! kind, and custom resources embedding a pod template go through one path):
//! - `containers`, `initContainers`, `ephemeralContainers`: lists of
//!   containers, each `image` a string;
//! - `volumes`: each volume's `image.reference` (image volumes).
//!
//! Fail closed on shapes that may hide an image: a container list that is not
//! a list, a container that is not a mapping, an `image` or `reference` that
//! is not a string, a volume `image` that is not a mapping: each is reported
//! as a malformed finding, which the policy rejects. A missing, null or empty
//! image has nothing to pull and is skipped (a Deployment may leave it to a
//! controller; the Pod is checked when it is created). A `volumes` value that
//! is not a list of mappings is walked like any other value: outside a pod
//! spec the word means other things.
//!
//! The object's root `metadata` (always ObjectMeta) is skipped unread.
//!
//! Nesting depth is bounded by serde_json's recursion limit (128 levels), so
//! a deeply nested request is an error, never a stack overflow.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A place in the object that holds, or should hold, an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'de> {
    /// Field path from the object's root: `spec.initContainers[1].image`.
    pub field: String,
    /// The image as written, or what is wrong with the value found there.
    pub image: Result<Cow<'de, str>, String>,
}

/// The state of one walk: where we are, and what was found so far.
#[derive(Default)]
pub struct Walk<'de> {
    path: Vec<Segment<'de>>,
    pub found: Vec<Found<'de>>,
}

enum Segment<'de> {
    Key(Cow<'de, str>),
    Index(usize),
}

/// Which keys hold images.
#[derive(Clone, Copy)]
enum Role {
    /// The object itself: its `metadata` is skipped unread.
    Root,
    /// Any value: walked for image-holding keys below it.
    Any,
    ContainerList,
    Container,
    VolumeList,
    Volume,
    VolumeImage,
    /// An image string (`containers[].image`, `volumes[].image.reference`).
    Image,
}

fn role_of_key(parent: Role, key: &str) -> Role {
    match (parent, key) {
        (_, "containers" | "initContainers" | "ephemeralContainers") => Role::ContainerList,
        (Role::Container, "image") => Role::Image,
        (Role::Volume, "image") => Role::VolumeImage,
        (Role::VolumeImage, "reference") => Role::Image,
        (_, "volumes") => Role::VolumeList,
        _ => Role::Any,
    }
}

impl<'de> Walk<'de> {
    /// Walks the object of an admission request, which must be a mapping or
    /// null (DELETE); anything else is an error.
    pub fn object<D: Deserializer<'de>>(&mut self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(ObjectRoot(self))
    }

    fn field(&self) -> String {
        let mut out = String::new();
        for segment in &self.path {
            match segment {
                Segment::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
                Segment::Key(key) if is_plain_key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
                Segment::Key(key) => {
                    let _ = write!(out, "[{key:?}]");
                }
            }
        }
        out
    }

    fn malformed(&mut self, problem: String) {
        let field = self.field();
        self.found.push(Found { field, image: Err(problem) });
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Walks one value in a given role.
struct Node<'w, 'de> {
    walk: &'w mut Walk<'de>,
    role: Role,
}

impl<'de> DeserializeSeed<'de> for Node<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Node<'_, '_> {
    /// Records that a value of the wrong type sits where this role expects
    /// something else. Roles that tolerate any shape record nothing.
    fn wrong_type(&mut self, found: &dyn fmt::Display) {
        let expected = match self.role {
            Role::Root | Role::Any | Role::VolumeList | Role::Volume => return,
            Role::ContainerList => "a list of containers",
            Role::Container => "a container (a mapping)",
            Role::VolumeImage => "an image volume source (a mapping with a reference)",
            Role::Image => "an image reference (a string)",
        };
        self.walk.malformed(format!("expected {expected}, found {found}"));
    }
}

impl<'de> Visitor<'de> for Node<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        if matches!(self.role, Role::ContainerList | Role::Image) {
            self.wrong_type(&"a mapping");
        }
        // Below a value of the wrong type, keep looking for images anyway.
        let parent = match self.role {
            Role::Container | Role::Volume | Role::VolumeImage => self.role,
            _ => Role::Any,
        };
        while let Some(key) = map.next_key_seed(StrSeed)? {
            if matches!(self.role, Role::Root) && key == "metadata" {
                // The object's own metadata is ObjectMeta for every kind
                // (the API server enforces it, custom resources included):
                // no image can be there. Skipping it unread spares the
                // managedFields and the last-applied-configuration
                // annotation, a whole escaped copy of the object.
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let role = role_of_key(parent, &key);
            self.walk.path.push(Segment::Key(key));
            map.next_value_seed(Node { walk: self.walk, role })?;
            self.walk.path.pop();
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let element_role = match self.role {
            Role::ContainerList => Role::Container,
            Role::VolumeList => Role::Volume,
            Role::Root | Role::Any => Role::Any,
            _ => {
                self.wrong_type(&"a list");
                Role::Any
            }
        };
        let mut index = 0;
        loop {
            self.walk.path.push(Segment::Index(index));
            let more = seq.next_element_seed(Node { walk: self.walk, role: element_role })?;
            self.walk.path.pop();
            if more.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_borrowed_str<E: de::Error>(mut self, s: &'de str) -> Result<(), E> {
        if matches!(self.role, Role::Image) {
            self.found_image(Cow::Borrowed(s));
        } else {
            self.found_other_string(s);
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(mut self, s: &str) -> Result<(), E> {
        // A string with escapes: copied only when it is an image.
        if matches!(self.role, Role::Image) {
            self.found_image(Cow::Owned(s.to_string()));
        } else {
            self.found_other_string(s);
        }
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        // null: nothing to pull, whatever the role.
        Ok(())
    }

    fn visit_bool<E: de::Error>(mut self, v: bool) -> Result<(), E> {
        self.wrong_type(&format_args!("the boolean {v}"));
        Ok(())
    }

    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<(), E> {
        self.wrong_type(&format_args!("the number {v}"));
        Ok(())
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<(), E> {
        self.wrong_type(&format_args!("the number {v}"));
        Ok(())
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        self.wrong_type(&format_args!("the number {v}"));
        Ok(())
    }
}

impl<'de> Node<'_, 'de> {
    fn found_image(&mut self, image: Cow<'de, str>) {
        if !image.is_empty() {
            let field = self.walk.field();
            self.walk.found.push(Found { field, image: Ok(image) });
        }
    }

    /// A string where no image is: only a problem in roles that expect a
    /// mapping or a list. The common case (any other field) costs nothing.
    fn found_other_string(&mut self, s: &str) {
        if !matches!(self.role, Role::Root | Role::Any | Role::VolumeList | Role::Volume) {
            self.wrong_type(&format_args!("the string {:?}", crate::response::shorten(s)));
        }
    }
}

struct ObjectRoot<'w, 'de>(&'w mut Walk<'de>);

impl<'de> Visitor<'de> for ObjectRoot<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request.object to be a mapping or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        Node { walk: self.0, role: Role::Root }.visit_map(map)
    }
}

/// A string (object key or value), borrowed when it holds no escapes.
pub struct StrSeed;

impl<'de> DeserializeSeed<'de> for StrSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for StrSeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_string()))
    }
}

/// Skips a value without looking at it (request fields other than `object`).
pub fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn walk(object: &serde_json::Value) -> Vec<(String, Result<String, String>)> {
        walk_text(&object.to_string())
    }

    fn walk_text(text: &str) -> Vec<(String, Result<String, String>)> {
        let mut walk = Walk::default();
        walk.object(&mut serde_json::Deserializer::from_str(text)).unwrap();
        walk.found.into_iter().map(|f| (f.field, f.image.map(|i| i.into_owned()))).collect()
    }

    fn ok(field: &str, image: &str) -> (String, Result<String, String>) {
        (field.to_string(), Ok(image.to_string()))
    }

    #[test]
    fn finds_containers_init_and_ephemeral_at_any_depth() {
        // In document order (json! would sort the keys).
        let cronjob = r#"{"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "image": "init:1"}],
            "containers": [{"name": "a", "image": "app:1"}, {"name": "b", "image": "side:2"}],
            "ephemeralContainers": [{"name": "d", "image": "debug:3"}]
        }}}}}}"#;
        assert_eq!(
            walk_text(cronjob),
            [
                ok("spec.jobTemplate.spec.template.spec.initContainers[0].image", "init:1"),
                ok("spec.jobTemplate.spec.template.spec.containers[0].image", "app:1"),
                ok("spec.jobTemplate.spec.template.spec.containers[1].image", "side:2"),
                ok("spec.jobTemplate.spec.template.spec.ephemeralContainers[0].image", "debug:3"),
            ]
        );
    }

    #[test]
    fn finds_image_volumes() {
        let pod = json!({"spec": {"volumes": [
            {"name": "cfg", "configMap": {"name": "x"}},
            {"name": "model", "image": {"reference": "quay.io/models/llm:1", "pullPolicy": "IfNotPresent"}}
        ]}});
        assert_eq!(walk(&pod), [ok("spec.volumes[1].image.reference", "quay.io/models/llm:1")]);
    }

    #[test]
    fn missing_null_and_empty_images_are_skipped() {
        let pod =
            json!({"spec": {"containers": [{"name": "a"}, {"name": "b", "image": null}, {"name": "c", "image": ""}]}});
        assert_eq!(walk(&pod), []);
    }

    #[test]
    fn the_objects_own_metadata_is_skipped_but_nested_metadata_is_walked() {
        let object = json!({
            "metadata": {"containers": [{"image": "never-pulled:1"}], "annotations": {"x": "y"}},
            "spec": {"metadata": {"containers": [{"image": "deep:1"}]}}
        });
        assert_eq!(walk(&object), [ok("spec.metadata.containers[0].image", "deep:1")]);
    }

    #[test]
    fn objects_must_be_mappings_or_null() {
        let mut walk = Walk::default();
        assert!(walk.object(&mut serde_json::Deserializer::from_str("null")).is_ok());
        let err = walk.object(&mut serde_json::Deserializer::from_str("[]")).unwrap_err();
        assert!(err.to_string().contains("expected request.object to be a mapping or null"), "{err}");
    }

    #[test]
    fn images_in_other_places_are_not_images() {
        // status, annotations and last-applied-configuration are not pulled.
        let pod = json!({
            "metadata": {"annotations": {"image": "evil:1", "kubectl.kubernetes.io/last-applied-configuration": "{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}"}},
            "status": {"containerStatuses": [{"image": "nginx:1", "imageID": "x"}]},
            "spec": {"image": "not-a-container-field"}
        });
        assert_eq!(walk(&pod), []);
    }

    #[test]
    fn wrong_types_where_images_belong_are_reported() {
        let pod = r#"{"spec": {
            "containers": [{"image": 5}, "nginx", {"image": ["a"]}, {"image": {"ref": "x"}}],
            "initContainers": {"image": "nginx"},
            "ephemeralContainers": "nginx",
            "volumes": [{"image": "nginx"}, {"image": {"reference": true}}]
        }}"#;
        let found = walk_text(pod);
        let problems: Vec<(&str, &str)> =
            found.iter().map(|(f, r)| (f.as_str(), r.as_ref().unwrap_err().as_str())).collect();
        assert_eq!(
            problems,
            [
                ("spec.containers[0].image", "expected an image reference (a string), found the number 5"),
                ("spec.containers[1]", "expected a container (a mapping), found the string \"nginx\""),
                ("spec.containers[2].image", "expected an image reference (a string), found a list"),
                ("spec.containers[3].image", "expected an image reference (a string), found a mapping"),
                ("spec.initContainers", "expected a list of containers, found a mapping"),
                ("spec.ephemeralContainers", "expected a list of containers, found the string \"nginx\""),
                (
                    "spec.volumes[0].image",
                    "expected an image volume source (a mapping with a reference), found the string \"nginx\""
                ),
                ("spec.volumes[1].image.reference", "expected an image reference (a string), found the boolean true"),
            ]
        );
    }

    #[test]
    fn images_below_a_malformed_value_are_still_found() {
        let object = json!({"containers": {"x": {"containers": [{"image": "deep:1"}]}}});
        let found = walk(&object);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1], ok("containers.x.containers[0].image", "deep:1"));
    }

    #[test]
    fn escaped_strings_and_odd_keys() {
        let text =
            r#"{"spec": {"containers": [{"im\u0061ge": "ngin\u0078:1"}], "we.ird": {"containers": [{"image": "a"}]}}}"#;
        let mut walk = Walk::default();
        walk.object(&mut serde_json::Deserializer::from_str(text)).unwrap();
        let found: Vec<_> = walk.found.iter().map(|f| (f.field.as_str(), f.image.as_deref().unwrap())).collect();
        assert_eq!(found, [("spec.containers[0].image", "nginx:1"), ("spec[\"we.ird\"].containers[0].image", "a")]);
    }

    #[test]
    fn nesting_beyond_the_limit_is_an_error_not_a_crash() {
        let text = format!("{{\"a\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let mut walk = Walk::default();
        let err = walk.object(&mut serde_json::Deserializer::from_str(&text)).unwrap_err();
        assert!(err.to_string().contains("recursion limit exceeded"), "{err}");
    }
}
