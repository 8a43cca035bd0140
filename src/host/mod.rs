//! Host capability calls and their answers, which are untrusted input: each
//! answer is read strictly, and one that cannot be read is a failed lookup.
//!
//! - `manifest_digest.rs`: `kubewarden/oci/v1/manifest_digest`, the digest a
//!   tag points to now (`digests.pin`);
//! - `sigstore.rs`: `kubewarden/oci/v2/verify`, whether an image is signed
//!   by the signers a `signatures` rule names, and at which digest.
//!
//! Every call goes through a `HostCall`: the Kubewarden host in `validate`
//! (`wapc`), a fake in tests and fuzzing, always wrapped by `lib.rs` so that
//! one request asks each distinct question once.

pub mod image_config;
pub mod manifest_digest;
pub mod sigstore;

/// One call of a `kubewarden/oci` capability: `(operation, payload)` (such as
/// `("v1/manifest_digest", "\"nginx:1\"")`) → the answer's bytes, or the
/// host's error message.
pub type HostCall<'h> = dyn FnMut(&str, &[u8]) -> Result<Vec<u8>, String> + 'h;

/// The Kubewarden host, through waPC.
#[cfg(feature = "wapc")]
pub fn wapc(operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
    kubewarden_policy_sdk::wapc_guest::host_call("kubewarden", "oci", operation, payload)
        .map_err(|e| host_error(&e.to_string()))
}

/// The registry's or verifier's words in a host error. wapc-guest words
/// every host error as `Host error: <message>`, and policy-evaluator (kwctl
/// and the PolicyServer alike) hands a failed capability to the guest as
/// `Callback evaluation failure: {error:?}`, which with `RUST_BACKTRACE` set
/// ends in a multi-line `Stack backtrace:`. Users read the error alone, on
/// one line.
pub fn host_error(message: &str) -> String {
    let message = message.strip_prefix("Host error: ").unwrap_or(message);
    let message = message.strip_prefix("Callback evaluation failure: ").unwrap_or(message);
    let message = message.split_once("Stack backtrace:").map_or(message, |(before, _)| before);
    // One line: every run of white space becomes one space.
    let mut out = String::with_capacity(message.len());
    for word in message.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() { "the host gave no answer".to_string() } else { out }
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
            "no signatures found Caused by: 0: missing"
        );
        assert_eq!(host_error("Host error: "), "the host gave no answer");
    }
}
