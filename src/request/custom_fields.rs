//! `imageFields`: images in kinds the policy does not know, at paths the
//! settings name (`spec.runners[*].image`), as Kyverno's `imageExtractors`.
//!
//! The settings come after the object in the payload, so these paths are
//! not known during the discovery pass; when an object's kind has paths,
//! the object (already parsed once, so valid JSON) is walked a second time,
//! following only those paths and skipping every other value. Objects of
//! other kinds, and settings without `imageFields`, cost nothing.
//!
//! Path syntax: keys separated by dots, each key followed by any number of
//! `[*]` (every element of a list). No expression language: no indexes,
//! filters or wildcards in keys, and keys cannot contain `.`, `[`, `]`, `*`
//! or spaces.

use std::borrow::Cow;
use std::ops::Range;

use crate::request::discovery::{Found, push_index, push_key};
use crate::request::json::{Event, Parser};
use crate::request::kinds::api_group;

/// One `imageFields` entry: the kind it applies to, and its paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRule<'s> {
    /// `None`: the kind in any API group.
    pub api_group: Option<&'s str>,
    pub kind: &'s str,
    pub paths: Vec<FieldPath<'s>>,
}

impl FieldRule<'_> {
    pub fn applies_to(&self, api_version: &str, kind: &str) -> bool {
        self.kind == kind && self.api_group.is_none_or(|group| group == api_group(api_version))
    }
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath<'s>(Vec<Step<'s>>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step<'s> {
    Key(&'s str),
    /// `[*]`: every element of a list.
    Each,
}

impl<'s> FieldPath<'s> {
    pub fn parse(text: &'s str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the path is empty".into());
        }
        let mut steps = Vec::new();
        for part in text.split('.') {
            let key_end = part.find('[').unwrap_or(part.len());
            let (key, mut rest) = part.split_at(key_end);
            if key.is_empty() {
                return Err(format!("{text:?} has an empty key (write keys between dots, like spec.runners[*].image)"));
            }
            if let Some(bad) = key.chars().find(|c| matches!(c, ']' | '*') || c.is_whitespace()) {
                return Err(format!(
                    "{text:?}: the key {key:?} contains {bad:?} (keys are plain names; [*] follows a key)"
                ));
            }
            steps.push(Step::Key(key));
            while !rest.is_empty() {
                match rest.strip_prefix("[*]") {
                    Some(after) => {
                        steps.push(Step::Each);
                        rest = after;
                    }
                    None => {
                        return Err(format!(
                            "{text:?}: expected [*] after {key:?}, found {rest:?} (only [*], every element of a list, is supported)"
                        ));
                    }
                }
            }
        }
        Ok(FieldPath(steps))
    }
}

/// Finds the images at `paths` in the object that stands at `object` in
/// `bytes`, adding them to `found` in document order (an image already
/// found there is not found again).
pub fn find<'de>(
    bytes: &'de [u8],
    object: Range<usize>,
    paths: &[&FieldPath<'_>],
    found: &mut Vec<Found<'de>>,
) -> Result<(), String> {
    let slice = bytes.get(object.clone()).ok_or("the object is outside the payload")?;
    let mut walk = PathWalk { parser: Parser::new(slice), bytes, found: Vec::new() };
    let active: Vec<&[Step<'_>]> = paths.iter().map(|p| p.0.as_slice()).collect();
    let mut field = String::new();
    walk.value(&active, &mut field).map_err(|e| format!("request.object: {e}"))?;
    for new in walk.found {
        if !new.span.is_empty() && found.iter().any(|f| f.span == new.span) {
            continue;
        }
        // Images in document order among the images found before (rewrites
        // are applied in one forward pass); problems, which rewrite
        // nothing, after them. An insertion, not a sort: sort code would
        // cost policy.wasm 3 KB.
        let at = if new.span.is_empty() {
            found.len()
        } else {
            found.iter().position(|f| !f.span.is_empty() && f.span.start > new.span.start).unwrap_or(found.len())
        };
        found.insert(at, new);
    }
    Ok(())
}

struct PathWalk<'de> {
    parser: Parser<'de>,
    /// The payload, whose slice the parser reads (spans are payload offsets).
    bytes: &'de [u8],
    found: Vec<Found<'de>>,
}

impl<'de> PathWalk<'de> {
    /// Reads one value that the `active` path remainders reach (each
    /// non-empty but for those that end here).
    fn value(&mut self, active: &[&[Step<'_>]], field: &mut String) -> Result<(), String> {
        let event = self.parser.next().map_err(|e| e.to_string())?.ok_or("unexpected end of input")?;
        self.value_from(event, active, field)
    }

    /// `value`, its first event read.
    fn value_from(&mut self, event: Event<'de>, active: &[&[Step<'_>]], field: &mut String) -> Result<(), String> {
        let ends_here = active.iter().any(|steps| steps.is_empty());
        match event {
            Event::String(s) if ends_here => {
                let value = s.decode().map_err(|e| e.to_string())?;
                if !value.is_empty() {
                    let start = s.raw.as_ptr() as usize - self.bytes.as_ptr() as usize - 1;
                    let span = start..start + s.raw.len() + 2;
                    self.found.push(Found::new(field.clone(), Ok(value), span));
                }
            }
            Event::Null => {}
            Event::ObjectStart => {
                if ends_here {
                    self.problem(field, "a mapping");
                }
                self.mapping(active, field)?;
            }
            Event::ArrayStart => {
                if ends_here {
                    self.problem(field, "a list");
                }
                self.list(active, field)?;
            }
            Event::String(_) | Event::Number(_) | Event::Bool(_) => {
                let what = match event {
                    Event::Number(n) => format!("the number {}", crate::request::json::ascii(n)),
                    Event::Bool(b) => format!("the boolean {b}"),
                    _ => "a string".to_string(),
                };
                if ends_here {
                    self.problem(field, &what);
                } else {
                    self.container_expected(active, field, &what);
                }
            }
            Event::Key(_) | Event::ObjectEnd | Event::ArrayEnd => return Err("unexpected token".into()),
        }
        Ok(())
    }

    fn problem(&mut self, field: &str, what: &str) {
        let problem = format!("expected an image reference (a string) at this imageFields path, found {what}");
        self.found.push(Found::new(field.to_string(), Err(problem), 0..0));
    }

    /// A scalar stands where a path goes on: a mapping or a list was due.
    fn container_expected(&mut self, active: &[&[Step<'_>]], field: &str, what: &str) {
        let lists = active.iter().any(|s| s.first() == Some(&Step::Each));
        let expected = if lists { "a list" } else { "a mapping" };
        let problem = format!("expected {expected} on the way to an imageFields path, found {what}");
        self.found.push(Found::new(field.to_string(), Err(problem), 0..0));
    }

    fn mapping(&mut self, active: &[&[Step<'_>]], field: &mut String) -> Result<(), String> {
        let wants_keys = active.iter().any(|s| matches!(s.first(), Some(Step::Key(_))));
        if !wants_keys && active.iter().any(|s| s.first() == Some(&Step::Each)) {
            self.container_expected(active, field, "a mapping");
        }
        let mut next: Vec<&[Step<'_>]> = Vec::new();
        loop {
            let key = match self.parser.next().map_err(|e| e.to_string())? {
                Some(Event::Key(key)) => key,
                Some(Event::ObjectEnd) => return Ok(()),
                _ => return Err("unexpected token in a mapping".into()),
            };
            let key: Cow<'_, str> = key.decode().map_err(|e| e.to_string())?;
            next.clear();
            next.extend(active.iter().filter_map(|s| match s.split_first() {
                Some((Step::Key(k), rest)) if *k == key => Some(rest),
                _ => None,
            }));
            if next.is_empty() {
                self.parser.skip_value().map_err(|e| e.to_string())?;
                continue;
            }
            let len = field.len();
            push_key(field, &key);
            let reached = next.clone();
            self.value(&reached, field)?;
            field.truncate(len);
        }
    }

    fn list(&mut self, active: &[&[Step<'_>]], field: &mut String) -> Result<(), String> {
        let next: Vec<&[Step<'_>]> = active
            .iter()
            .filter_map(|s| match s.split_first() {
                Some((Step::Each, rest)) => Some(rest),
                _ => None,
            })
            .collect();
        if next.is_empty() && active.iter().any(|s| !s.is_empty()) {
            self.container_expected(active, field, "a list");
        }
        let mut index = 0;
        loop {
            let event = match self.parser.next().map_err(|e| e.to_string())? {
                Some(Event::ArrayEnd) => return Ok(()),
                Some(event) => event,
                None => return Err("unexpected end of input".into()),
            };
            if next.is_empty() {
                // Nothing below is wanted: the element is skipped.
                if matches!(event, Event::ObjectStart | Event::ArrayStart) {
                    self.skip_open()?;
                }
                continue;
            }
            let len = field.len();
            push_index(field, index);
            self.value_from(event, &next, field)?;
            field.truncate(len);
            index += 1;
        }
    }

    /// Skips the rest of a mapping or list whose start was just read.
    fn skip_open(&mut self) -> Result<(), String> {
        let mut depth = 1usize;
        while depth > 0 {
            match self.parser.next().map_err(|e| e.to_string())? {
                Some(Event::ObjectStart | Event::ArrayStart) => depth += 1,
                Some(Event::ObjectEnd | Event::ArrayEnd) => depth -= 1,
                Some(_) => {}
                None => return Err("unexpected end of input".into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(object: &str, paths: &[&str]) -> Vec<(String, Result<String, String>)> {
        let parsed: Vec<FieldPath> = paths.iter().map(|p| FieldPath::parse(p).unwrap()).collect();
        let refs: Vec<&FieldPath> = parsed.iter().collect();
        let mut found = Vec::new();
        find(object.as_bytes(), 0..object.len(), &refs, &mut found).unwrap();
        found.into_iter().map(|f| (f.field, f.image.map(|i| i.into_owned()))).collect()
    }

    #[test]
    fn paths_parse_or_say_what_is_wrong() {
        assert_eq!(
            FieldPath::parse("spec.runners[*].image").unwrap().0,
            [Step::Key("spec"), Step::Key("runners"), Step::Each, Step::Key("image")]
        );
        assert_eq!(FieldPath::parse("a.b[*][*]").unwrap().0, [Step::Key("a"), Step::Key("b"), Step::Each, Step::Each]);
        for (path, error) in [
            ("", "the path is empty"),
            ("spec..image", "\"spec..image\" has an empty key (write keys between dots, like spec.runners[*].image)"),
            ("[*].image", "\"[*].image\" has an empty key (write keys between dots, like spec.runners[*].image)"),
            (
                "spec.runners[0].image",
                "\"spec.runners[0].image\": expected [*] after \"runners\", found \"[0]\" (only [*], every element of a list, is supported)",
            ),
            ("spec.*.image", "\"spec.*.image\": the key \"*\" contains '*' (keys are plain names; [*] follows a key)"),
            ("spec.a b", "\"spec.a b\": the key \"a b\" contains ' ' (keys are plain names; [*] follows a key)"),
        ] {
            assert_eq!(FieldPath::parse(path).unwrap_err(), error, "{path}");
        }
    }

    #[test]
    fn images_at_the_paths_in_document_order() {
        let object = r#"{"metadata": {"name": "x"}, "spec": {"cache": {"image": "redis:7"},
            "runners": [{"image": "ghcr.io/a:1", "other": [1, {"x": 2}]}, {"name": "no-image"}, {"image": ""}, {"image": "b"}]}}"#;
        assert_eq!(
            run(object, &["spec.runners[*].image", "spec.cache.image", "spec.absent.image"]),
            [
                ("spec.cache.image".to_string(), Ok("redis:7".to_string())),
                ("spec.runners[0].image".to_string(), Ok("ghcr.io/a:1".to_string())),
                ("spec.runners[3].image".to_string(), Ok("b".to_string())),
            ]
        );
    }

    #[test]
    fn wrong_shapes_on_the_way_or_at_the_end_fail_closed() {
        let object = r#"{"spec": {"runners": {"image": "a"}, "cache": {"image": {"ref": "b"}}, "n": [5]}}"#;
        assert_eq!(
            run(object, &["spec.runners[*].image", "spec.cache.image", "spec.n[*]"]),
            [
                (
                    "spec.runners".to_string(),
                    Err("expected a list on the way to an imageFields path, found a mapping".to_string())
                ),
                (
                    "spec.cache.image".to_string(),
                    Err("expected an image reference (a string) at this imageFields path, found a mapping".to_string())
                ),
                (
                    "spec.n[0]".to_string(),
                    Err("expected an image reference (a string) at this imageFields path, found the number 5"
                        .to_string())
                ),
            ]
        );
        // Null is absent, as for containers.
        assert_eq!(run(r#"{"spec": {"runners": null}}"#, &["spec.runners[*].image"]), []);
    }

    #[test]
    fn rules_apply_to_their_kind_and_group() {
        let rule = FieldRule { api_group: Some("example.com"), kind: "BatchRunner", paths: Vec::new() };
        assert!(rule.applies_to("example.com/v1", "BatchRunner"));
        assert!(!rule.applies_to("other.com/v1", "BatchRunner"));
        assert!(!rule.applies_to("example.com/v1", "Batch"));
        let any_group = FieldRule { api_group: None, ..rule.clone() };
        assert!(any_group.applies_to("other.com/v1", "BatchRunner"));
        let core = FieldRule { api_group: Some(""), kind: "Pod", paths: Vec::new() };
        assert!(core.applies_to("v1", "Pod"));
    }
}
