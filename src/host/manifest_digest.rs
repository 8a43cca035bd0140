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

use super::{HostCall, quoted};
use crate::references::reference;
use crate::request::json::Document;

pub const OPERATION: &str = "v1/manifest_digest";

/// The host's digest for `image`, checked, or why there is none.
pub fn lookup(host: &mut HostCall<'_>, image: &str) -> Result<String, String> {
    let mut request = Vec::with_capacity(image.len() + 2);
    crate::response::write_string(&mut request, image);
    let raw = host(OPERATION, &request)?;
    checked_digest(&digest_of_answer(&raw)?)
}

/// The `digest` of the host's answer.
fn digest_of_answer(raw: &[u8]) -> Result<String, String> {
    match Document::parse(raw).as_ref().map(|answer| answer.get("digest")) {
        Ok(Some(Document::String(digest))) => Ok(digest.to_string()),
        _ => Err(format!("the host's answer is not {{\"digest\": \"…\"}}: {}", quoted(raw))),
    }
}

/// A digest the host answered, checked as the reference grammar checks
/// digests: an answer that is not one is a failed lookup, never written
/// into an object.
pub fn checked_digest(digest: &str) -> Result<String, String> {
    match reference::parse(&format!("x@{digest}")) {
        Ok(_) => Ok(digest.to_string()),
        Err(_) => Err(format!(
            "the host answered {:?}, which is not a digest (sha256, sha384 or sha512, then lowercase hex)",
            crate::response::shorten(digest)
        )),
    }
}

/// A fake registry: an image → its digest now, or the registry's error.
pub type Lookup<'l> = dyn FnMut(&str) -> Result<String, String> + 'l;

/// A `HostCall` that answers manifest digests with `digest_of` and refuses
/// every other capability: for tests and fuzzing that fake a registry.
pub fn answering<'l>(digest_of: &'l mut Lookup<'_>) -> impl FnMut(&str, &[u8]) -> Result<Vec<u8>, String> + 'l {
    move |operation, payload| {
        if operation != OPERATION {
            return Err(format!("host capability kubewarden/oci/{operation} is not available here"));
        }
        let image = match Document::parse(payload) {
            Ok(Document::String(image)) => image.into_owned(),
            _ => return Err(format!("the request is not an image as a JSON string: {}", quoted(payload))),
        };
        let digest = digest_of(&image)?;
        let mut answer = br#"{"digest":"#.to_vec();
        crate::response::write_string(&mut answer, &digest);
        answer.push(b'}');
        Ok(answer)
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

    #[test]
    fn answers_that_are_not_digests_fail_the_lookup() {
        let mut host = |_: &str, _: &[u8]| Ok(br#"{"digest":"latest"}"#.to_vec());
        assert!(lookup(&mut host, "nginx").unwrap_err().contains("which is not a digest"));
        let mut host = |_: &str, _: &[u8]| Err("manifest unknown".to_string());
        assert_eq!(lookup(&mut host, "nginx"), Err("manifest unknown".to_string()));
    }
}
