//! Asks the Kubewarden host for an image's manifest: the host capability
//! `kubewarden/oci/v1/oci_manifest`, whose request is the image as a JSON
//! string and whose answer is the manifest the registry holds there, as
//! the host re-serialized it (oci-client's `OciManifest`: an image manifest
//! or an image index; a Docker manifest list arrives as an index). The
//! answer is never hashed: its bytes are not the registry's.
//!
//! `imageConfig` needs it because the config capability answers one
//! platform only: asked by tag, the host picks the entry of an index whose
//! os and architecture are its own (and fails when none is); asked at an
//! index digest, it answers a platform manifest's config and digest. So the
//! policy reads the manifest first and, for an index, asks for each
//! platform's config at `repo@<platform digest>` (`evaluate.rs`).
//!
//! Read strictly, like every host answer: an answer that is both or
//! neither kind of manifest, an entry without a valid digest, an index
//! inside an index, is a failed lookup.

use std::fmt;

use super::{HostCall, quoted};
use crate::host::manifest_digest::checked_digest;
use crate::request::json::Document;

pub const OPERATION: &str = "v1/oci_manifest";

/// Answers larger than this are refused: an index of a few dozen platforms
/// is some KB.
const MAX_ANSWER: usize = 1 << 20;

/// An index with more image entries than this is refused, unless
/// `imageConfig.platforms` narrows them: each entry is a config lookup,
/// made while the API server waits. Official images list up to 10
/// platforms (and as many attestation manifests, which are not read).
pub const MAX_PLATFORMS: usize = 32;

/// What a registry holds at a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// One image: its config is read at the same reference.
    Image,
    /// A multi-platform image: the images a runtime may pick from, without
    /// attestation manifests and `unknown/unknown` entries, which are not
    /// images a node runs.
    Index(Vec<Entry>),
}

/// One image of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub digest: String,
    /// `None` when the entry names no platform: a runtime may then pick it
    /// on any node (containerd's matcher skips only entries whose platform
    /// does not match), so it is checked whatever `platforms` says.
    pub platform: Option<Platform>,
}

/// `os/architecture[/variant]`, as an index entry (or `docker pull
/// --platform`) writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(variant) => write!(f, "/{variant}"),
            None => Ok(()),
        }
    }
}

/// The manifest at `reference` (`registry/path:tag` or `registry/path@digest`).
pub fn lookup(host: &mut HostCall<'_>, reference: &str) -> Result<Manifest, String> {
    let mut request = Vec::with_capacity(reference.len() + 2);
    crate::response::write_string(&mut request, reference);
    let raw = host(OPERATION, &request)?;
    read_answer(&raw)
}

/// Media types of an index inside an index: not followed (no runtime
/// nests them in practice, and each level would be more lookups).
const INDEX_TYPES: &[&str] =
    &["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];

/// Reads the host's answer.
pub fn read_answer(raw: &[u8]) -> Result<Manifest, String> {
    if raw.len() > MAX_ANSWER {
        return Err(format!("the host's answer is {} bytes, more than the {MAX_ANSWER} read", raw.len()));
    }
    let malformed =
        |what: &str| format!("the host's answer is not an image manifest or index ({what}): {}", quoted(raw));
    let answer = Document::parse(raw).map_err(|e| malformed(&e))?;
    match (answer.get("manifests"), answer.get("config")) {
        (None, Some(Document::Object(_))) => Ok(Manifest::Image),
        (Some(Document::Array(entries)), None) => {
            let mut images = Vec::new();
            for (i, entry) in entries.iter().enumerate() {
                let at = |what: &str| malformed(&format!("manifests[{i}]: {what}"));
                let Some(digest) = entry.get("digest") else { return Err(at("no digest")) };
                let Document::String(digest) = digest else { return Err(at("the digest is not a string")) };
                let digest = checked_digest(digest)?;
                if let Some(Document::String(media_type)) = entry.get("mediaType")
                    && INDEX_TYPES.contains(&media_type.as_ref())
                {
                    return Err(format!(
                        "manifests[{i}] ({digest}) is an index inside the index, which registry-guard does not read"
                    ));
                }
                if is_attestation(entry) {
                    continue;
                }
                let platform = match entry.get("platform") {
                    None | Some(Document::Null) => None,
                    Some(platform) => Some(read_platform(platform).map_err(|what| at(&what))?),
                };
                if platform.as_ref().is_some_and(|p| p.os == "unknown" && p.architecture == "unknown") {
                    continue;
                }
                images.push(Entry { digest, platform });
            }
            if images.is_empty() {
                return Err("the index lists no image (only attestations, or nothing)".into());
            }
            Ok(Manifest::Index(images))
        }
        (Some(_), Some(_)) => Err(malformed("both manifests and config")),
        (Some(_), None) => Err(malformed("manifests is not a list")),
        (None, Some(_)) => Err(malformed("config is not a mapping")),
        (None, None) => Err(malformed("neither manifests nor config")),
    }
}

/// BuildKit's attestation manifests (SBOM, provenance): annotated
/// `vnd.docker.reference.type: attestation-manifest`, and listed as
/// `unknown/unknown`; no node runs them.
fn is_attestation(entry: &Document<'_>) -> bool {
    matches!(
        entry.get("annotations").and_then(|a| a.get("vnd.docker.reference.type")),
        Some(Document::String(kind)) if kind == "attestation-manifest"
    )
}

fn read_platform(platform: &Document<'_>) -> Result<Platform, String> {
    let Document::Object(_) = platform else { return Err("platform is not a mapping".into()) };
    let text = |key: &str, required: bool| match platform.get(key) {
        Some(Document::String(s)) if !s.is_empty() => Ok(Some(s.to_string())),
        None | Some(Document::Null) if !required => Ok(None),
        Some(Document::String(_)) if !required => Ok(None),
        _ => Err(format!("platform.{key} is not a non-empty string")),
    };
    Ok(Platform {
        os: text("os", true)?.unwrap_or_default(),
        architecture: text("architecture", true)?.unwrap_or_default(),
        variant: text("variant", false)?,
    })
}

/// A `HostCall` answer for tests: an image manifest.
#[cfg(test)]
pub const IMAGE_MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":2},"layers":[]}"#;

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

    fn platform(os: &str, architecture: &str, variant: Option<&str>) -> Option<Platform> {
        Some(Platform { os: os.into(), architecture: architecture.into(), variant: variant.map(Into::into) })
    }

    #[test]
    fn an_image_manifest_is_one_image() {
        assert_eq!(read_answer(IMAGE_MANIFEST.as_bytes()), Ok(Manifest::Image));
    }

    #[test]
    fn an_index_lists_its_images_without_attestations() {
        // As BuildKit pushes a two-platform image with provenance.
        let raw = format!(
            r#"{{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
              {{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "{A}", "size": 1,
                "platform": {{"architecture": "amd64", "os": "linux"}}}},
              {{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "{B}", "size": 1,
                "platform": {{"architecture": "arm64", "os": "linux", "variant": "v8"}}}},
              {{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "{C}", "size": 1,
                "platform": {{"architecture": "unknown", "os": "unknown"}},
                "annotations": {{"vnd.docker.reference.digest": "{A}", "vnd.docker.reference.type": "attestation-manifest"}}}}
            ]}}"#
        );
        assert_eq!(
            read_answer(raw.as_bytes()),
            Ok(Manifest::Index(vec![
                Entry { digest: A.into(), platform: platform("linux", "amd64", None) },
                Entry { digest: B.into(), platform: platform("linux", "arm64", Some("v8")) },
            ]))
        );
        assert_eq!(platform("linux", "arm64", Some("v8")).unwrap().to_string(), "linux/arm64/v8");
        // An entry with no platform may be picked on any node: kept.
        let raw = format!(r#"{{"manifests": [{{"digest": "{A}"}}]}}"#);
        assert_eq!(read_answer(raw.as_bytes()), Ok(Manifest::Index(vec![Entry { digest: A.into(), platform: None }])));
    }

    #[test]
    fn malformed_answers_are_failed_lookups() {
        for (raw, what) in [
            ("nope".to_string(), "invalid JSON"),
            ("{}".to_string(), "neither manifests nor config"),
            (r#"{"manifests": [], "config": {}}"#.to_string(), "both manifests and config"),
            (r#"{"manifests": {}}"#.to_string(), "manifests is not a list"),
            (r#"{"config": "x"}"#.to_string(), "config is not a mapping"),
            (r#"{"manifests": []}"#.to_string(), "lists no image"),
            (r#"{"manifests": [{"size": 1}]}"#.to_string(), "manifests[0]: no digest"),
            (r#"{"manifests": [{"digest": "sha256:short"}]}"#.to_string(), "which is not a digest"),
            (
                format!(r#"{{"manifests": [{{"digest": "{A}", "platform": {{"os": "linux"}}}}]}}"#),
                "platform.architecture",
            ),
            (
                format!(r#"{{"manifests": [{{"digest": "{A}", "platform": "linux/amd64"}}]}}"#),
                "platform is not a mapping",
            ),
            (
                format!(
                    r#"{{"manifests": [{{"digest": "{A}", "mediaType": "application/vnd.oci.image.index.v1+json"}}]}}"#
                ),
                "an index inside the index",
            ),
            (format!(r#"{{"manifests": [{{"digest": "{A}", "digest": "{B}"}}]}}"#), "appears twice"),
        ] {
            let error = read_answer(raw.as_bytes()).unwrap_err();
            assert!(error.contains(what), "{raw}: {error}");
        }
        assert!(read_answer(&vec![b' '; MAX_ANSWER + 1]).unwrap_err().contains("more than the"));
    }
}
