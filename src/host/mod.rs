//! Host capability calls and their answers, which are untrusted input: each
//! answer is read strictly, and one that cannot be read is a failed lookup.
//!
//! - `manifest_digest.rs`: `kubewarden/oci/v1/manifest_digest`, the digest a
//!   tag points to now (`digests.pin`);
//! - `sigstore.rs`: `kubewarden/oci/v2/verify`, whether an image is signed
//!   by the signers a `signatures` rule names, and at which digest;
//! - `oci_manifest.rs`: `kubewarden/oci/v1/oci_manifest`, whether an image
//!   is one image or an index of platforms (`imageConfig`);
//! - `image_config.rs`: `kubewarden/oci/v1/oci_manifest_config`, what one
//!   image's OCI config says (`imageConfig`);
//! - `kubernetes.rs`: `kubewarden/kubernetes/list_resources_by_namespace`,
//!   the objects of one kind in one namespace (`vulnerabilities`), read by
//!   `vulnerability_reports.rs`.
//!
//! Every call goes through a `HostCall`: the Kubewarden host in `validate`
//! (`wapc`), a fake in tests and fuzzing, always wrapped by `lib.rs` so that
//! one request asks each distinct question once.

pub mod image_config;
pub mod kubernetes;
pub mod manifest_digest;
pub mod oci_manifest;
pub mod sigstore;
pub mod vulnerability_reports;

/// One call of a `kubewarden/oci` capability: `(operation, payload)` (such as
/// `("v1/manifest_digest", "\"nginx:1\"")`) → the answer's bytes, or the
/// host's error message. A `kubewarden/kubernetes` capability's operation
/// is written with its namespace (`kubernetes/list_resources_by_namespace`).
pub type HostCall<'h> = dyn FnMut(&str, &[u8]) -> Result<Vec<u8>, String> + 'h;

/// The Kubewarden host, through waPC.
#[cfg(feature = "wapc")]
pub fn wapc(operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
    let (namespace, operation) = match operation.strip_prefix("kubernetes/") {
        Some(operation) => ("kubernetes", operation),
        None => ("oci", operation),
    };
    kubewarden_policy_sdk::wapc_guest::host_call("kubewarden", namespace, operation, payload)
        .map_err(|e| host_error(&e.to_string()))
}

/// The registry's or verifier's words in a host error. wapc-guest words
/// every host error as `Host error: <message>`, and policy-evaluator (kwctl
/// and the PolicyServer alike) hands a failed capability to the guest as
/// `Callback evaluation failure: {error:?}`: anyhow's chain, `message`, then
/// `Caused by:` and numbered causes, and with `RUST_BACKTRACE` set a
/// multi-line `Stack backtrace:`. Users read one line, which messages cut at
/// 200 characters: the deepest cause comes first (`Connection refused (os
/// error 111)`, `tcp connect error: deadline has elapsed`), the outer
/// message after it in parentheses, so the cut never hides why.
pub fn host_error(message: &str) -> String {
    let message = message.strip_prefix("Host error: ").unwrap_or(message);
    let message = message.strip_prefix("Callback evaluation failure: ").unwrap_or(message);
    let message = message.split_once("Stack backtrace:").map_or(message, |(before, _)| before);
    let (head, causes) = message.split_once("Caused by:").unwrap_or((message, ""));
    // `    0: first\n    1: deepest`, or one unnumbered cause.
    let deepest = causes
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| match line.split_once(": ") {
            Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => rest,
            _ => line,
        })
        .next_back();
    let head = one_line(head);
    match deepest.map(one_line) {
        Some(cause) if !cause.is_empty() && !head.contains(&cause) => format!("{cause} ({head})"),
        _ if head.is_empty() => "the host gave no answer".to_string(),
        _ => head,
    }
}

/// Every run of white space becomes one space.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The host's answer, quoted in a message: at most 200 characters.
fn quoted(raw: &[u8]) -> String {
    crate::response::shorten(std::str::from_utf8(raw).unwrap_or("(not UTF-8)")).into_owned()
}

#[cfg(test)]
mod tests {
    use super::host_error;

    #[test]
    fn host_errors_are_the_registry_words_on_one_line() {
        assert_eq!(
            host_error("Host error: Callback evaluation failure: unauthorized: authentication required"),
            "unauthorized: authentication required"
        );
        assert_eq!(
            host_error(
                "Callback evaluation failure: no signatures found\n\nCaused by:\n    0: missing\n\nStack backtrace:\n   0: <unknown>\n"
            ),
            "missing (no signatures found)"
        );
        // A connection refused, as policy-evaluator words it: the deepest
        // cause first, so that a 200-character cut keeps it.
        assert_eq!(
            host_error(
                "Host error: Callback evaluation failure: Fail to interact with OCI registry: error sending request for url (https://127.0.0.1:1/v2/a/manifests/1)\n\nCaused by:\n    0: error sending request for url (https://127.0.0.1:1/v2/a/manifests/1)\n    1: client error (Connect)\n    2: tcp connect error: Connection refused (os error 111)\n    3: Connection refused (os error 111)\n"
            ),
            "Connection refused (os error 111) (Fail to interact with OCI registry: error sending request for url (https://127.0.0.1:1/v2/a/manifests/1))"
        );
        assert_eq!(host_error("Host error: "), "the host gave no answer");
    }
}
