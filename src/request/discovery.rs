//! Reads the waPC `validate` payload, `{"request": <AdmissionRequest>,
//! "settings": <settings>}`, in one streaming pass (`json.rs`), and finds
//! every image the object would make a node pull. Nothing is built but the
//! settings document (its strings borrowed from the payload), keys are
//! compared as bytes, and everything that cannot
//! hold an image (`oldObject`, the object's own `metadata`, other request
//! fields) is checked and skipped.
//!
//! Where images are, at any depth of `request.object` (so Pods, every
//! workload kind, and custom resources embedding a pod template go through
//! one path):
//! - `containers`, `initContainers`, `ephemeralContainers`: lists of
//!   containers, each `image` a string;
//! - `volumes`: each volume's `image.reference` (image volumes).
//!
//! Fail closed on shapes that may hide an image: a container list that is not
//! a list, a container that is not a mapping, an `image` or `reference` that
//! is not a string, a volume `image` that is not a mapping: each is reported
//! as a malformed finding, which the policy rejects, and the walk goes on
//! below it. A missing, null or empty image has nothing to pull and is
//! skipped (a Deployment may leave it to a controller; the Pod is checked
//! when it is created). A `volumes` value that is not a list of mappings is
//! walked like any other value: outside a pod spec the word means other
//! things.
//!
//! The object's own `metadata` is ObjectMeta for every kind (the API server
//! enforces it, custom resources included), so no image can be there: it is
//! skipped, sparing the managedFields and the last-applied-configuration
//! annotation, a whole escaped copy of the object.
//!
//! A payload that is not JSON, or whose envelope has the wrong shape, is an
//! error (the policy then rejects the request with it).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;

use crate::request::json::{Document, Event, Parser, RawStr};

/// A place in the object that holds, or should hold, an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'de> {
    /// Field path from the object's root: `spec.initContainers[1].image`.
    pub field: String,
    /// The image as written, or what is wrong with the value found there.
    pub image: Result<Cow<'de, str>, String>,
    /// Where the image's string token (quotes included) stands in the
    /// payload, for rewriting it in place; empty for malformed findings.
    pub span: Range<usize>,
}

/// What the policy needs from a validate payload.
#[derive(Debug, Default)]
pub struct Payload<'de> {
    /// The payload has a `request`.
    pub has_request: bool,
    /// `request.operation`.
    pub operation: Option<Cow<'de, str>>,
    /// Every image (or malformed image field) in `request.object`.
    pub found: Vec<Found<'de>>,
    /// The settings document (not yet checked as settings), or the key
    /// it repeats in one mapping.
    pub settings: Option<Result<Document<'de>, String>>,
    /// Where `request.object` stands in the payload, when it is a mapping.
    pub object: Option<Range<usize>>,
    /// Where `request.object` starts (set at its key).
    object_start: Option<usize>,
}

/// What a value is, given where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The waPC payload: `{"request": …, "settings": …}`.
    Payload,
    /// The AdmissionRequest: only `operation` and `object` are read.
    Request,
    Operation,
    /// `request.object`: a mapping or null.
    Object,
    /// Any value inside the object: walked for image-holding keys.
    Any,
    ContainerList,
    Container,
    VolumeList,
    Volume,
    VolumeImage,
    /// An image string (`containers[].image`, `volumes[].image.reference`).
    Image,
}

impl Role {
    /// The role of the value under `key` in a mapping of this role.
    fn of_key(self, key: &RawStr<'_>) -> Role {
        // One comparison per key on the hot path; escaped keys (never sent
        // by an API server, but valid JSON) are decoded first.
        let decoded;
        let key: &[u8] = if key.has_escapes {
            decoded = key.decode().unwrap_or_default();
            decoded.as_bytes()
        } else {
            key.raw
        };
        match (self, key) {
            (Role::Container, b"image") => Role::Image,
            (Role::Volume, b"image") => Role::VolumeImage,
            (Role::VolumeImage, b"reference") => Role::Image,
            (_, b"containers" | b"initContainers" | b"ephemeralContainers") => Role::ContainerList,
            (_, b"volumes") => Role::VolumeList,
            _ => Role::Any,
        }
    }

    /// What to answer for a value of the wrong type: `Err` for the
    /// envelope (the payload cannot be read), `Ok(Some(problem))` where an
    /// image belongs, `Ok(None)` where any value may stand.
    fn wrong_type(self, found: &str) -> Result<Option<String>, String> {
        let expected = match self {
            Role::Any | Role::VolumeList | Role::Volume => return Ok(None),
            Role::Payload => {
                return Err(format!("the payload must be a mapping with request and settings, found {found}"));
            }
            Role::Request => return Err(format!("request: expected an AdmissionRequest (a mapping), found {found}")),
            Role::Operation => return Err(format!("request.operation: expected a string, found {found}")),
            Role::Object => return Err(format!("request.object: expected a mapping or null, found {found}")),
            Role::ContainerList => "a list of containers",
            Role::Container => "a container (a mapping)",
            Role::VolumeImage => "an image volume source (a mapping with a reference)",
            Role::Image => "an image reference (a string)",
        };
        Ok(Some(format!("expected {expected}, found {found}")))
    }

    /// Any value may stand here (a wrong type is no problem).
    fn takes_any_value(self) -> bool {
        matches!(self, Role::Any | Role::VolumeList | Role::Volume)
    }

    /// Values of this role are part of the object (they have a field path).
    fn in_object(self) -> bool {
        !matches!(self, Role::Payload | Role::Request | Role::Operation)
    }
}

/// An open mapping or list.
struct Frame {
    /// The role its keys or elements are read in.
    children: Role,
    is_object: bool,
    /// Next element's index (lists).
    index: usize,
    /// This container pushed a path segment that its end pops.
    has_segment: bool,
}

enum Segment<'de> {
    Key(RawStr<'de>),
    Index(usize),
}

/// `n` in decimal, without the formatting machinery (field paths are built
/// for every image of every request).
fn push_decimal(out: &mut String, n: usize) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// Reads a payload.
pub fn read(bytes: &[u8]) -> Result<Payload<'_>, String> {
    Walker {
        parser: Parser::new(bytes),
        bytes,
        // Room for a Deployment's depth, so that the stacks do not regrow
        // on every request.
        frames: Vec::with_capacity(24),
        path: Vec::with_capacity(24),
        payload: Payload::default(),
    }
    .run()
}

/// Walks the object of an admission request alone (for tests).
#[cfg(test)]
fn read_object(bytes: &[u8]) -> Result<Vec<Found<'_>>, String> {
    let mut walker =
        Walker { parser: Parser::new(bytes), bytes, frames: Vec::new(), path: Vec::new(), payload: Payload::default() };
    walker.walk(Role::Object, false)?;
    Ok(walker.payload.found)
}

struct Walker<'de> {
    parser: Parser<'de>,
    bytes: &'de [u8],
    frames: Vec<Frame>,
    path: Vec<Segment<'de>>,
    payload: Payload<'de>,
}

impl<'de> Walker<'de> {
    fn run(mut self) -> Result<Payload<'de>, String> {
        self.walk(Role::Payload, false)?;
        Ok(self.payload)
    }

    /// The field path of the current value.
    fn field(&self) -> String {
        // One allocation for the usual path (`spec.template.spec.containers[0].image`).
        let mut out = String::with_capacity(64);
        for segment in &self.path {
            match segment {
                Segment::Index(i) => {
                    out.push('[');
                    push_decimal(&mut out, *i);
                    out.push(']');
                }
                Segment::Key(key) => {
                    let key = key.decode().unwrap_or(Cow::Borrowed("?"));
                    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                        if !out.is_empty() {
                            out.push('.');
                        }
                        out.push_str(&key);
                    } else {
                        let _ = write!(out, "[{key:?}]");
                    }
                }
            }
        }
        out
    }

    fn malformed(&mut self, problem: Option<String>) {
        if let Some(problem) = problem {
            let field = self.field();
            self.payload.found.push(Found { field, image: Err(problem), span: 0..0 });
        }
    }

    /// Walks one whole value, starting in `role`, to the end of input.
    fn walk(&mut self, role: Role, segment: bool) -> Result<(), String> {
        // The role and segment of the next value, set by its key.
        let (mut next_role, mut next_segment) = (role, segment);
        while let Some(event) = self.parser.next().map_err(|e| e.to_string())? {
            // Where the value starting now stands: its key said, or its list.
            if !matches!(event, Event::Key(_) | Event::ObjectEnd | Event::ArrayEnd)
                && let Some(list) = self.frames.last_mut().filter(|f| !f.is_object)
            {
                next_role = list.children;
                next_segment = list.children.in_object();
                if next_segment {
                    self.path.push(Segment::Index(list.index));
                }
                list.index += 1;
            }
            let (role, segment) = (next_role, next_segment);
            match event {
                Event::Key(key) => {
                    let parent = self.frames.last().map_or(Role::Payload, |f| f.children);
                    (next_role, next_segment) = self.key(parent, key)?;
                }
                Event::ObjectStart => {
                    let children = match role {
                        // Always an error for the operation.
                        Role::Operation => {
                            role.wrong_type("a mapping")?;
                            Role::Any
                        }
                        Role::ContainerList | Role::Image => {
                            let problem = role.wrong_type("a mapping")?;
                            self.malformed(problem);
                            Role::Any
                        }
                        Role::VolumeList => Role::Any,
                        other => other,
                    };
                    self.frames.push(Frame { children, is_object: true, index: 0, has_segment: segment });
                }
                Event::ArrayStart => {
                    let children = match role {
                        Role::ContainerList => Role::Container,
                        Role::VolumeList => Role::Volume,
                        Role::Any | Role::Volume => Role::Any,
                        _ => {
                            let problem = role.wrong_type("a list")?;
                            self.malformed(problem);
                            Role::Any
                        }
                    };
                    self.frames.push(Frame { children, is_object: false, index: 0, has_segment: segment });
                }
                Event::ObjectEnd | Event::ArrayEnd => {
                    let frame = self.frames.pop().expect("the parser balances containers");
                    // Only the object's own mapping reads its keys as Object.
                    if frame.children == Role::Object
                        && let Some(start) = self.payload.object_start
                    {
                        self.payload.object = Some(start..self.parser.position());
                    }
                    self.end_value(frame.has_segment);
                }
                Event::String(s) => {
                    self.string(role, s)?;
                    self.end_value(segment);
                }
                // Most numbers and booleans stand where anything may: the
                // message is only built where it is needed.
                Event::Number(n) => {
                    if !role.takes_any_value() {
                        let problem = role.wrong_type(&format!("the number {}", crate::request::json::ascii(n)))?;
                        self.malformed(problem);
                    }
                    self.end_value(segment);
                }
                Event::Bool(b) => {
                    if !role.takes_any_value() {
                        let problem = role.wrong_type(&format!("the boolean {b}"))?;
                        self.malformed(problem);
                    }
                    self.end_value(segment);
                }
                Event::Null => {
                    // An error for the envelope; nothing to pull elsewhere.
                    if matches!(role, Role::Payload | Role::Request) {
                        role.wrong_type("null")?;
                    }
                    self.end_value(segment);
                }
            }
        }
        Ok(())
    }

    fn end_value(&mut self, segment: bool) {
        if segment {
            self.path.pop();
        }
    }

    /// Decides what the value under `key` is; skips it when it cannot
    /// matter. Returns the role and whether it takes a path segment.
    fn key(&mut self, parent: Role, key: RawStr<'de>) -> Result<(Role, bool), String> {
        match parent {
            Role::Payload if key.is("request") => {
                if std::mem::replace(&mut self.payload.has_request, true) {
                    return Err("the payload has two request fields".into());
                }
                Ok((Role::Request, false))
            }
            Role::Payload if key.is("settings") => {
                if self.payload.settings.is_some() {
                    return Err("the payload has two settings fields".into());
                }
                // Read into a document in this same pass: settings are
                // compiled on every request, and a second scan of thousands
                // of rules would cost as much as the first.
                self.payload.settings = Some(Document::read(&mut self.parser).map_err(|e| e.to_string())?);
                Ok((Role::Any, false))
            }
            Role::Request if key.is("operation") => {
                if self.payload.operation.is_some() {
                    return Err("the request has two operation fields".into());
                }
                Ok((Role::Operation, false))
            }
            Role::Request if key.is("object") => {
                if self.payload.object_start.is_some() {
                    return Err("the request has two object fields".into());
                }
                self.payload.object_start = Some(self.parser.value_start());
                Ok((Role::Object, false))
            }
            Role::Payload | Role::Request => self.skip(),
            // Only the object's own mapping has keys read in the Object role.
            Role::Object if key.is("metadata") => self.skip(),
            _ => {
                let role = parent.of_key(&key);
                // A scalar where any value may stand holds no image: skipped
                // here, with no path segment and no event.
                if role.takes_any_value() && self.parser.skip_if_scalar().map_err(|e| e.to_string())? {
                    return Ok((Role::Any, false));
                }
                self.path.push(Segment::Key(key));
                Ok((role, true))
            }
        }
    }

    fn skip(&mut self) -> Result<(Role, bool), String> {
        self.parser.skip_value().map_err(|e| e.to_string())?;
        // The value is gone; the role is never used.
        Ok((Role::Any, false))
    }

    fn string(&mut self, role: Role, s: RawStr<'de>) -> Result<(), String> {
        match role {
            Role::Image => {
                let field = self.field();
                // The token's quotes stand either side of its raw bytes, which
                // are a slice of the payload.
                let start = s.raw.as_ptr() as usize - self.bytes.as_ptr() as usize - 1;
                let span = start..start + s.raw.len() + 2;
                match s.decode() {
                    Ok(image) if image.is_empty() => {}
                    Ok(image) => self.payload.found.push(Found { field, image: Ok(image), span }),
                    Err(e) => self.payload.found.push(Found { field, image: Err(e.to_string()), span: 0..0 }),
                }
            }
            Role::Operation => {
                self.payload.operation = Some(s.decode().map_err(|e| format!("request.operation: {e}"))?)
            }
            _ if role.takes_any_value() => {}
            _ => {
                let shown = s.decode().map(|d| format!("the string {:?}", crate::response::shorten(&d)));
                let problem = role.wrong_type(shown.as_deref().unwrap_or("a string"))?;
                self.malformed(problem);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn walk(object: &serde_json::Value) -> Vec<(String, Result<String, String>)> {
        walk_text(&object.to_string())
    }

    fn walk_text(text: &str) -> Vec<(String, Result<String, String>)> {
        let found = read_object(text.as_bytes()).unwrap();
        found.into_iter().map(|f| (f.field, f.image.map(|i| i.into_owned()))).collect()
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
        assert!(read_object(b"null").is_ok());
        assert_eq!(read_object(b"[]").unwrap_err(), "request.object: expected a mapping or null, found a list");
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
        let found = read_object(text.as_bytes()).unwrap();
        let found: Vec<_> = found.iter().map(|f| (f.field.as_str(), f.image.as_deref().unwrap())).collect();
        assert_eq!(found, [("spec.containers[0].image", "nginx:1"), ("spec[\"we.ird\"].containers[0].image", "a")]);
    }

    #[test]
    fn nesting_beyond_the_limit_is_an_error_not_a_crash() {
        let text = format!("{{\"a\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let err = read_object(text.as_bytes()).unwrap_err();
        assert_eq!(err, "invalid JSON at byte 1005: nested deeper than 1000 levels");
    }

    #[test]
    fn request_and_settings_in_either_order_with_other_fields() {
        let text = br#" { "extra": [1, {"a": "}"}], "settings": {"tags": {"reject": ["latest"]}} ,
            "request": {"uid": "x", "operation": "CREATE", "oldObject": {"spec": {"containers": [{"image": "old:1"}]}},
            "object": {"spec": {"containers": [{"image": "a:1"}]}}} } "#;
        {
            let payload = read(text).unwrap();
            let settings = Document::parse(br#"{"tags": {"reject": ["latest"]}}"#).unwrap();
            assert_eq!(payload.settings, Some(Ok(settings)));
            assert_eq!(payload.operation.as_deref(), Some("CREATE"));
            let found = &payload.found[..];
            assert_eq!(found.len(), 1);
            assert_eq!((found[0].field.as_str(), found[0].image.as_deref()), ("spec.containers[0].image", Ok("a:1")));
            // Where the token and the object stand, for rewriting in place.
            assert_eq!(&text[found[0].span.clone()], br#""a:1""#);
            assert_eq!(&text[payload.object.unwrap()], br#"{"spec": {"containers": [{"image": "a:1"}]}}"#);
        }
    }

    #[test]
    fn a_request_with_two_objects_is_refused() {
        let text = br#"{"request": {"object": {}, "object": {"spec": {"containers": [{"image": "a"}]}}}}"#;
        assert_eq!(read(text).unwrap_err(), "the request has two object fields");
        assert_eq!(read(br#"{"request": {"object": null}}"#).unwrap().object, None);
    }

    #[test]
    fn settings_are_read_whatever_their_shape() {
        assert_eq!(read(br#"{"settings": null}"#).unwrap().settings, Some(Ok(Document::Null)));
        assert_eq!(read(br#"{"settings": "a\"}"}"#).unwrap().settings, Some(Ok(Document::String("a\"}".into()))));
        assert_eq!(
            read(br#"{"settings": {"a": 1, "a": 2}, "request": {}}"#).unwrap().settings,
            Some(Err("the key \"a\" appears twice in one mapping".into()))
        );
    }

    #[test]
    fn malformed_envelopes_are_errors() {
        for (text, error) in [
            (&b"garbage"[..], "invalid JSON at byte 0: expected a value"),
            (b"[]", "the payload must be a mapping with request and settings, found a list"),
            (b"{\"request\": {}, \"request\": {}}", "the payload has two request fields"),
            (b"{\"settings\": {}, \"settings\": {}}", "the payload has two settings fields"),
            (b"{\"settings\": {}", "invalid JSON at byte 15: unexpected end of input"),
            (b"{\"settings\": }", "invalid JSON at byte 13: expected a value"),
            (b"{} x", "invalid JSON at byte 3: trailing characters after the value"),
            (b"{\"request\": [1]}", "request: expected an AdmissionRequest (a mapping), found a list"),
            (b"{\"request\": null}", "request: expected an AdmissionRequest (a mapping), found null"),
            (b"{\"request\": {\"operation\": 5}}", "request.operation: expected a string, found the number 5"),
            (b"{\"request\": {\"operation\": \"A\", \"operation\": \"B\"}}", "the request has two operation fields"),
            (
                b"{\"request\": {\"object\": \"x\"}}",
                "request.object: expected a mapping or null, found the string \"x\"",
            ),
        ] {
            assert_eq!(read(text).err().as_deref(), Some(error), "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn escaped_envelope_keys_mean_what_they_spell() {
        let text = br#"{"req\u0075est": {"\u006fbject": {"spec": {"containers": [{"image": "a:1"}]}}}}"#;
        let payload = read(text).unwrap();
        assert!(payload.has_request);
        assert_eq!(payload.found.len(), 1);
    }
}
