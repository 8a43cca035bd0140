//! Asks the Kubewarden host for the digest an image reference points to
//! now: the host capability `kubewarden/oci/v1/manifest_digest`, whose
//! request is the image as a JSON string and whose answer is
//! `{"digest": "sha256:…"}`.
//!
//! This is what `kubewarden_policy_sdk::host_capabilities::oci::get_manifest_digest`
//! sends; it is called here through waPC directly and the answer read with
//! `json.rs`, because the SDK's function deserializes with serde, which
//! would bring serde_json's deserializer (tens of KB) into policy.wasm for
//! one field.

use kubewarden_policy_sdk::wapc_guest::host_call;

use crate::request::json::Document;

/// The host's digest for `image`, or its error.
pub fn manifest_digest(image: &str) -> Result<String, String> {
    let mut request = Vec::with_capacity(image.len() + 2);
    crate::response::write_string(&mut request, image);
    let raw = host_call("kubewarden", "oci", "v1/manifest_digest", &request).map_err(|e| {
        // wapc-guest words every host error as "Host error: <the host's message>".
        let message = e.to_string();
        let message = message.strip_prefix("Host error: ").unwrap_or(&message);
        if message.is_empty() { "the host gave no answer".to_string() } else { message.to_string() }
    })?;
    digest_of_answer(&raw)
}

/// The `digest` of the host's answer.
fn digest_of_answer(raw: &[u8]) -> Result<String, String> {
    match Document::parse(raw).as_ref().map(|answer| answer.get("digest")) {
        Ok(Some(Document::String(digest))) => Ok(digest.to_string()),
        _ => Err(format!(
            "the host's answer is not {{\"digest\": \"…\"}}: {}",
            crate::response::shorten(std::str::from_utf8(raw).unwrap_or("(not UTF-8)"))
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_read_from_the_answer() {
        assert_eq!(digest_of_answer(br#"{"digest":"sha256:abc"}"#), Ok("sha256:abc".to_string()));
        assert_eq!(
            digest_of_answer(br#"{"digest":1}"#),
            Err("the host's answer is not {\"digest\": \"…\"}: {\"digest\":1}".to_string())
        );
        assert!(digest_of_answer(b"").is_err());
    }
}
