//! The JSON patch (RFC 6902) that turns an object into its mutation, as a
//! PolicyServer sends it to the API server, and base64 for the
//! AdmissionResponse's `patch`. Hand-written (40 lines) rather than the
//! `json-patch` and `base64` crates: the runner only diffs objects whose
//! shape the policy keeps, and two crates for this are not worth their
//! build time.

use serde_json::{Value, json};

/// Operations turning `from` into `to`: mappings are compared key by key,
/// lists of equal length element by element; anything else that differs is
/// replaced whole.
pub fn diff(from: &Value, to: &Value) -> Vec<Value> {
    let mut ops = Vec::new();
    diff_at(&mut String::new(), from, to, &mut ops);
    ops
}

fn diff_at(path: &mut String, from: &Value, to: &Value, ops: &mut Vec<Value>) {
    if from == to {
        return;
    }
    let len = path.len();
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, old) in a {
                push_segment(path, key);
                match b.get(key) {
                    Some(new) => diff_at(path, old, new, ops),
                    None => ops.push(json!({"op": "remove", "path": path})),
                }
                path.truncate(len);
            }
            for (key, new) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                push_segment(path, key);
                ops.push(json!({"op": "add", "path": path, "value": new}));
                path.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (old, new)) in a.iter().zip(b).enumerate() {
                push_segment(path, &i.to_string());
                diff_at(path, old, new, ops);
                path.truncate(len);
            }
        }
        _ => ops.push(json!({"op": "replace", "path": path, "value": to})),
    }
}

/// `/segment`, with `~` and `/` escaped as JSON Pointer requires.
fn push_segment(path: &mut String, segment: &str) {
    path.push('/');
    path.push_str(&segment.replace('~', "~0").replace('/', "~1"));
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_images_become_replace_operations() {
        let from = json!({"spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "redis"}]}});
        let mut to = from.clone();
        to["spec"]["containers"][1]["image"] = json!("redis@sha256:x");
        assert_eq!(
            diff(&from, &to),
            [json!({"op": "replace", "path": "/spec/containers/1/image", "value": "redis@sha256:x"})]
        );
        assert!(diff(&from, &from).is_empty());
    }

    #[test]
    fn keys_added_and_removed_and_escaped() {
        let ops = diff(&json!({"a/b": 1, "c~": 2}), &json!({"c~": 3, "d": [1]}));
        assert_eq!(
            ops,
            [
                json!({"op": "remove", "path": "/a~1b"}),
                json!({"op": "replace", "path": "/c~0", "value": 3}),
                json!({"op": "add", "path": "/d", "value": [1]})
            ]
        );
        assert_eq!(diff(&json!([1]), &json!([1, 2])), [json!({"op": "replace", "path": "", "value": [1, 2]})]);
    }

    #[test]
    fn base64_pads_like_the_standard() {
        for (input, encoded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(input.as_bytes()), encoded);
        }
    }
}
