//! Lists Kubernetes resources of one kind in one namespace: the host
//! capability `kubewarden/kubernetes/list_resources_by_namespace`, whose
//! request is the SDK's `ListResourcesByNamespaceRequest`
//! (`{"api_version", "kind", "namespace", "label_selector",
//! "field_selector", "field_masks"}`) and whose answer is a Kubernetes List
//! (`{"apiVersion", "kind": "<Kind>List", "metadata", "items": [...]}`).
//!
//! Why no selectors: the host keeps one watch per distinct (kind, namespace,
//! selectors) for as long as it runs, so a selector per image would grow the
//! PolicyServer's memory without bound. The policy lists once per (kind,
//! namespace) and filters here; `field_masks` trims the objects (hosts from
//! Kubewarden 1.33 honour it; older ones answer whole objects, which are
//! read the same way).
//!
//! The answer is untrusted and can be megabytes: it is bounded
//! (`MAX_ANSWER`) and read in one streaming pass with the strict reader
//! (`request/json.rs`), skipping what the caller does not ask for. The
//! helpers below walk it: every mapping read is checked for repeated keys,
//! and a value of the wrong type is an error naming its path.

use std::borrow::Cow;

use super::HostCall;
use crate::request::json::{Event, Parser, ascii};

/// The operation, as `HostCall` names it: `host::wapc` sends it to the
/// `kubernetes` namespace of the `kubewarden` binding.
pub const LIST_BY_NAMESPACE: &str = "kubernetes/list_resources_by_namespace";

/// Answers larger than this are refused: 5,000 trivy-operator reports with
/// full vulnerability lists are some 60 MB; trimmed by `field_masks`, a
/// fifth of that.
pub const MAX_ANSWER: usize = 96 << 20;

/// The objects of `kind` in `namespace`, as the host's raw answer.
pub fn list(
    host: &mut HostCall<'_>,
    api_version: &str,
    kind: &str,
    namespace: &str,
    field_masks: &[&str],
) -> Result<Vec<u8>, String> {
    let mut request = Vec::with_capacity(256);
    request.extend_from_slice(b"{\"api_version\":");
    crate::response::write_string(&mut request, api_version);
    request.extend_from_slice(b",\"kind\":");
    crate::response::write_string(&mut request, kind);
    request.extend_from_slice(b",\"namespace\":");
    crate::response::write_string(&mut request, namespace);
    request.extend_from_slice(b",\"label_selector\":null,\"field_selector\":null,\"field_masks\":[");
    for (i, mask) in field_masks.iter().enumerate() {
        if i > 0 {
            request.push(b',');
        }
        crate::response::write_string(&mut request, mask);
    }
    request.extend_from_slice(b"]}");
    let raw = host(LIST_BY_NAMESPACE, &request)?;
    if raw.len() > MAX_ANSWER {
        return Err(format!("the host's answer is {} bytes, more than the {MAX_ANSWER} read", raw.len()));
    }
    Ok(raw)
}

/// An error of the answer at `path`.
pub fn at(path: &str, what: impl std::fmt::Display) -> String {
    format!("{path}: {what}")
}

fn json_error(e: crate::request::json::JsonError) -> String {
    e.to_string()
}

/// The next event; the end of input where a value is due is an error.
pub fn event<'a>(p: &mut Parser<'a>) -> Result<Event<'a>, String> {
    p.next().map_err(json_error)?.ok_or_else(|| "unexpected end of input".to_string())
}

/// Skips the value that is due.
pub fn skip(p: &mut Parser<'_>) -> Result<(), String> {
    p.skip_value().map_err(json_error)
}

/// The mapping that is due (`null` reads as empty): `field(key, parser)`
/// for each key, which must consume its value. A key repeated is an error.
#[inline]
pub fn object<'a>(
    p: &mut Parser<'a>,
    path: &str,
    mut field: impl FnMut(&str, &mut Parser<'a>) -> Result<(), String>,
) -> Result<(), String> {
    let first = event(p)?;
    object_dyn(p, first, path, &mut field)
}

/// `object`, its first event already read.
#[inline]
pub fn object_from<'a>(
    p: &mut Parser<'a>,
    first: Event<'a>,
    path: &str,
    mut field: impl FnMut(&str, &mut Parser<'a>) -> Result<(), String>,
) -> Result<(), String> {
    object_dyn(p, first, path, &mut field)
}

/// One copy of the walk for every caller (policy.wasm's size: a generic
/// loop per call site cost tens of KB).
#[inline(never)]
fn object_dyn<'a>(
    p: &mut Parser<'a>,
    first: Event<'a>,
    path: &str,
    field: &mut dyn FnMut(&str, &mut Parser<'a>) -> Result<(), String>,
) -> Result<(), String> {
    match first {
        Event::ObjectStart => {}
        Event::Null => return Ok(()),
        other => return Err(at(path, format_args!("expected a mapping, found {}", shown(other)))),
    }
    let mut seen: Vec<Cow<'a, str>> = Vec::new();
    loop {
        match event(p)? {
            Event::Key(key) => {
                let key = key.decode().map_err(|e| at(path, e))?;
                if seen.contains(&key) {
                    return Err(at(path, format_args!("the key {key:?} appears twice")));
                }
                field(&key, p)?;
                seen.push(key);
            }
            Event::ObjectEnd => return Ok(()),
            _ => return Err(at(path, "not a mapping")),
        }
    }
}

/// The list that is due (`null` reads as empty): `element(index, parser,
/// first event)` for each element, which must consume the rest of it.
#[inline]
pub fn array<'a>(
    p: &mut Parser<'a>,
    path: &str,
    mut element: impl FnMut(usize, &mut Parser<'a>, Event<'a>) -> Result<(), String>,
) -> Result<(), String> {
    array_dyn(p, path, &mut element)
}

#[inline(never)]
fn array_dyn<'a>(
    p: &mut Parser<'a>,
    path: &str,
    element: &mut dyn FnMut(usize, &mut Parser<'a>, Event<'a>) -> Result<(), String>,
) -> Result<(), String> {
    match event(p)? {
        Event::ArrayStart => {}
        Event::Null => return Ok(()),
        other => return Err(at(path, format_args!("expected a list, found {}", shown(other)))),
    }
    let mut i = 0;
    loop {
        match event(p)? {
            Event::ArrayEnd => return Ok(()),
            first => {
                element(i, p, first)?;
                i += 1;
            }
        }
    }
}

/// The string that is due; `None` for `null`.
pub fn string(p: &mut Parser<'_>, path: &str) -> Result<Option<String>, String> {
    let first = event(p)?;
    string_from(first, path)
}

/// `string`, its event already read.
pub fn string_from(first: Event<'_>, path: &str) -> Result<Option<String>, String> {
    match first {
        Event::String(s) => s.decode().map(|s| Some(s.into_owned())).map_err(|e| at(path, e)),
        Event::Null => Ok(None),
        other => Err(at(path, format_args!("expected a string, found {}", shown(other)))),
    }
}

/// The boolean that is due; `null` is false.
pub fn boolean(p: &mut Parser<'_>, path: &str) -> Result<bool, String> {
    match event(p)? {
        Event::Bool(b) => Ok(b),
        Event::Null => Ok(false),
        other => Err(at(path, format_args!("expected true or false, found {}", shown(other)))),
    }
}

/// A count larger than this is not a count a scanner wrote.
pub const MAX_COUNT: u64 = 1_000_000;

/// The count that is due (a whole number from 0 to `MAX_COUNT`); `None`
/// for `null`.
pub fn count(p: &mut Parser<'_>, path: &str) -> Result<Option<u64>, String> {
    match event(p)? {
        Event::Number(n) => match ascii(n).parse::<u64>() {
            Ok(n) if n <= MAX_COUNT => Ok(Some(n)),
            _ => Err(at(path, format_args!("{} is not a count from 0 to {MAX_COUNT}", ascii(n)))),
        },
        Event::Null => Ok(None),
        other => Err(at(path, format_args!("expected a count, found {}", shown(other)))),
    }
}

/// An event, for messages.
fn shown(event: Event<'_>) -> String {
    match event {
        Event::ObjectStart => "a mapping".into(),
        Event::ArrayStart => "a list".into(),
        Event::String(s) => {
            format!("the string {:?}", crate::response::shorten_to(&String::from_utf8_lossy(s.raw), 40))
        }
        Event::Number(n) => format!("the number {}", ascii(n)),
        Event::Bool(b) => format!("the boolean {b}"),
        Event::Null => "null".into(),
        Event::Key(_) | Event::ObjectEnd | Event::ArrayEnd => "nothing".into(),
    }
}

/// Walks a List of `api_version` `kind`: `item(index, parser, first
/// event)` for each element of `items`. The List's own `apiVersion` and
/// `kind`, when present, must be what was asked (`<Kind>List`, or `List`).
pub fn items<'a>(
    raw: &'a [u8],
    api_version: &str,
    kind: &str,
    mut item: impl FnMut(usize, &mut Parser<'a>, Event<'a>) -> Result<(), String>,
) -> Result<(), String> {
    let mut p = Parser::new(raw);
    let mut has_items = false;
    object(&mut p, "the answer", |key, p| match key {
        "apiVersion" => match string(p, "apiVersion")? {
            Some(v) if v != api_version && !v.is_empty() => {
                Err(at("apiVersion", format_args!("{v:?}, not the {api_version:?} asked")))
            }
            _ => Ok(()),
        },
        "kind" => match string(p, "kind")? {
            Some(k) if k != format!("{kind}List") && k != "List" && !k.is_empty() => {
                Err(at("kind", format_args!("{k:?}, not a list of {kind}")))
            }
            _ => Ok(()),
        },
        "items" => {
            has_items = true;
            array(p, "items", &mut item)
        }
        _ => skip(p),
    })?;
    if p.next().map_err(json_error)?.is_some() {
        return Err("trailing characters after the answer".into());
    }
    if !has_items {
        return Err("the answer is not a Kubernetes List: it has no items".into());
    }
    Ok(())
}

/// An item's own `apiVersion` and `kind`, when present, must be what was
/// asked: a host that answers another kind is not read.
pub fn check_type(path: &str, key: &str, value: Option<String>, api_version: &str, kind: &str) -> Result<(), String> {
    let expected = if key == "apiVersion" { api_version } else { kind };
    match value {
        Some(v) if v != expected => {
            Err(at(&format!("{path}.{key}"), format_args!("{v:?}, not the {expected:?} asked")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_the_sdk_s_with_field_masks() {
        let mut asked = Vec::new();
        let mut host = |op: &str, payload: &[u8]| {
            asked.push((op.to_string(), String::from_utf8(payload.to_vec()).unwrap()));
            Ok(b"{}".to_vec())
        };
        list(
            &mut host,
            "aquasecurity.github.io/v1alpha1",
            "VulnerabilityReport",
            "team-a",
            &["metadata.name", "report"],
        )
        .unwrap();
        assert_eq!(
            asked,
            [(
                LIST_BY_NAMESPACE.to_string(),
                r#"{"api_version":"aquasecurity.github.io/v1alpha1","kind":"VulnerabilityReport","namespace":"team-a","label_selector":null,"field_selector":null,"field_masks":["metadata.name","report"]}"#
                    .to_string()
            )]
        );
    }

    fn names(raw: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        items(raw.as_bytes(), "v1", "Pod", |i, p, first| {
            object_from(p, first, &format!("items[{i}]"), |key, p| match key {
                "name" => {
                    out.extend(string(p, "name")?);
                    Ok(())
                }
                _ => skip(p),
            })
        })?;
        Ok(out)
    }

    #[test]
    fn lists_are_walked_strictly() {
        assert_eq!(
            names(
                r#"{"apiVersion":"v1","kind":"PodList","metadata":{"x":[1]},"items":[{"name":"a","o":{}},{"name":"b"}]}"#
            ),
            Ok(vec!["a".to_string(), "b".to_string()])
        );
        for (raw, error) in [
            (r#"{"items":[{"name":"a","name":"b"}]}"#, "items[0]: the key \"name\" appears twice"),
            (r#"{"items":[],"items":[]}"#, "the answer: the key \"items\" appears twice"),
            (r#"{"kind":"SecretList","items":[]}"#, "kind: \"SecretList\", not a list of Pod"),
            (r#"{"apiVersion":"v2","items":[]}"#, "apiVersion: \"v2\", not the \"v1\" asked"),
            (r#"{"items":[{"name":5}]}"#, "name: expected a string, found the number 5"),
            (r#"{"items":[1]}"#, "items[0]: expected a mapping, found the number 1"),
            (r#"{"items":{}}"#, "items: expected a list, found a mapping"),
            (r#"{}"#, "the answer is not a Kubernetes List: it has no items"),
            (r#"{"items":[]} x"#, "invalid JSON"),
            (r#"{"items":[{"name":"a"}"#, "unexpected end of input"),
        ] {
            let e = names(raw).unwrap_err();
            assert!(e.contains(error), "{raw}: {e}");
        }
    }

    #[test]
    fn counts_are_whole_and_bounded() {
        let read = |raw: &str| count(&mut Parser::new(raw.as_bytes()), "c");
        assert_eq!(read("3"), Ok(Some(3)));
        assert_eq!(read("null"), Ok(None));
        for bad in ["-1", "1e3", "1.5", "99999999999999999999999", "1000001", "\"3\""] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn oversize_answers_are_refused() {
        let mut host = |_: &str, _: &[u8]| Ok(vec![b' '; MAX_ANSWER + 1]);
        assert!(list(&mut host, "v1", "Pod", "a", &[]).unwrap_err().contains("more than the"));
    }
}
