//! A fake registry of image configs, for `kubewarden/oci/v1/oci_manifest`
//! and `kubewarden/oci/v1/oci_manifest_config` (`--image-configs FILE`): a
//! YAML mapping of image → what its config says, or the registry's error,
//! or a multi-platform image's configs, platform by platform.
//!
//! ```yaml
//! registry.corp.example/app:1.4:
//!   digest: sha256:…          # optional (a made-up one otherwise); also answers app@sha256:…
//!   created: 2025-01-03T10:00:00Z   # or `age: 30d`: that long before now (this machine's clock, or `--now`)
//!   user: "65532"
//!   labels: {org.opencontainers.image.source: https://github.com/acme/app}
//! quay.io/private/app:2:
//!   error: "unauthorized: authentication required"
//! ghcr.io/acme/multi:1:        # an index: each platform's config, as above
//!   digest: sha256:…          # the index digest (optional)
//!   platforms:
//!     linux/amd64: {user: "65532", age: 3d}
//!     linux/arm64/v8: {user: root, age: 3d}
//! ```
//!
//! Answered as the Kubewarden host answers: `oci_manifest` gives the image
//! manifest, or the index (with an attestation manifest, as BuildKit
//! pushes one); `oci_manifest_config` asked about an index, by tag or at
//! its digest, answers the linux/amd64 platform's config and digest (the
//! host picks its own platform), and fails when the index has none.
//!
//! Keys are normalized as the policy normalizes images, so `nginx:1.25`
//! answers `docker.io/library/nginx:1.25`; an entry with a `digest` also
//! answers `registry/path@digest`, which is what the policy asks for an image
//! it pinned. `age` exists because this runner cannot set the clock the
//! policy reads (wasmtime-provider 2.25 gives the guest the host's wall
//! clock): checks stay reproducible without a `--now`.

use std::collections::BTreeMap;

use crate::clock::now;
use registry_guard::references::image::Image;
use registry_guard::rules::image_config::{parse_age, rfc3339};
use serde_json::json;

#[derive(Debug)]
pub struct FakeConfigs {
    source: String,
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone)]
enum Entry {
    Config(Config),
    /// An index (found by tag or at its digest): each platform's
    /// (`linux/arm64/v8`, digest).
    Index {
        platforms: Vec<(String, String)>,
    },
    Error(String),
}

#[derive(Debug, Clone)]
struct Config {
    digest: String,
    created: Option<String>,
    user: Option<String>,
    labels: BTreeMap<String, String>,
    /// `os/architecture[/variant]`.
    platform: String,
}

const KEYS: &[&str] = &["digest", "created", "age", "user", "labels", "error", "platforms"];

/// The platform the Kubewarden host picks from an index: its own (the
/// PolicyServer's binary, linux/amd64 on these machines).
const HOST_PLATFORM: &str = "linux/amd64";

/// `registry/path:tag` (the implicit tag written out), or `registry/path@digest`.
fn key_of(image: &Image<'_>) -> String {
    match image.digest {
        Some(digest) => format!("{}/{}@{digest}", image.registry, image.path),
        None => image.to_string(),
    }
}

impl FakeConfigs {
    pub fn read(source: &str, text: &str) -> Result<FakeConfigs, String> {
        let document: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| format!("{source}: not YAML: {e}"))?;
        let serde_yaml::Value::Mapping(mapping) = document else {
            return Err(format!("{source}: expected a mapping of image: config"));
        };
        let mut entries = BTreeMap::new();
        for (key, value) in mapping {
            let Some(key) = key.as_str() else {
                return Err(format!("{source}: every key must be an image, found {key:?}"));
            };
            let at = |what: String| format!("{source}: {key:?}: {what}");
            let image = Image::parse(key).map_err(|e| at(e.to_string()))?;
            let serde_yaml::Value::Mapping(fields) = value else {
                return Err(at("expected a mapping (digest, created or age, user, labels) or {error: message}".into()));
            };
            let mut keys = vec![key_of(&image)];
            let digest_key = |digest: &str| format!("{}/{}@{digest}", image.registry, image.path);
            let entry = if let Some(platforms) = fields.get("platforms") {
                let digest = match (config_text(&fields, "digest").map_err(at)?, image.digest) {
                    (Some(digest), _) => digest,
                    (None, Some(digest)) => digest.to_string(),
                    (None, None) => made_up_digest(&keys[0]),
                };
                if fields.len() > 1 + usize::from(fields.contains_key("digest")) {
                    return Err(at("platforms stands alone, with the index digest".into()));
                }
                let serde_yaml::Value::Mapping(platforms) = platforms else {
                    return Err(at("platforms: expected a mapping of os/architecture: config".into()));
                };
                let mut listed = Vec::new();
                for (platform, fields) in platforms {
                    let Some(platform) = platform.as_str() else {
                        return Err(at(format!("platforms: every key must be os/architecture, found {platform:?}")));
                    };
                    let at = |what: String| at(format!("platforms: {platform}: {what}"));
                    let serde_yaml::Value::Mapping(fields) = fields else {
                        return Err(at("expected a mapping (digest, created or age, user, labels)".into()));
                    };
                    let config = read_config(fields, &format!("{}#{platform}", keys[0]), None, platform).map_err(at)?;
                    let key = digest_key(&config.digest);
                    listed.push((platform.to_string(), config.digest.clone()));
                    if entries.insert(key.clone(), Entry::Config(config)).is_some() {
                        return Err(at(format!("{key} is already in the file")));
                    }
                }
                if image.digest.is_none() {
                    keys.push(digest_key(&digest));
                }
                Entry::Index { platforms: listed }
            } else if let Some(error) = config_text(&fields, "error").map_err(at)? {
                if fields.len() > 1 {
                    return Err(at("error stands alone".into()));
                }
                Entry::Error(error)
            } else {
                let config = read_config(&fields, &keys[0], image.digest, HOST_PLATFORM).map_err(at)?;
                if image.digest.is_none() {
                    keys.push(digest_key(&config.digest));
                }
                Entry::Config(config)
            };
            for key in keys {
                if entries.insert(key.clone(), entry.clone()).is_some() {
                    return Err(at(format!("{key} is already in the file")));
                }
            }
        }
        Ok(FakeConfigs { source: source.to_string(), entries })
    }

    fn entry<'a>(&'a self, image: &'a str) -> Result<(&'a Entry, Image<'a>), String> {
        let parsed = Image::parse(image).map_err(|e| format!("{image:?} is {e}"))?;
        let key = key_of(&parsed);
        match self.entries.get(&key) {
            Some(Entry::Error(message)) => Err(message.clone()),
            Some(entry) => Ok((entry, parsed)),
            None => Err(format!("manifest unknown: {key} is not in {}", self.source)),
        }
    }

    /// The host's `oci_manifest` answer for `image`: an image manifest, or an
    /// index; or the registry's error.
    pub fn manifest(&self, image: &str) -> Result<String, String> {
        match self.entry(image)?.0 {
            Entry::Config(config) => Ok(image_manifest(&config.digest).to_string()),
            Entry::Index { platforms, .. } => {
                let mut manifests: Vec<serde_json::Value> = platforms
                    .iter()
                    .map(|(platform, digest)| {
                        let mut parts = platform.split('/');
                        let (os, architecture, variant) = (parts.next(), parts.next(), parts.next());
                        json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": 0,
                               "platform": {"os": os, "architecture": architecture, "variant": variant}})
                    })
                    .collect();
                // BuildKit's provenance, as every `docker buildx` push adds it.
                if let Some((_, first)) = platforms.first() {
                    manifests.push(json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": made_up_digest(&format!("attestation of {first}")), "size": 0,
                        "platform": {"os": "unknown", "architecture": "unknown"},
                        "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": first}}));
                }
                Ok(json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests})
                    .to_string())
            }
            Entry::Error(_) => unreachable!("entry() answers errors"),
        }
    }

    /// The host's `oci_manifest_config` answer for `image`:
    /// `{"manifest", "digest", "config"}`, or the registry's error. Asked
    /// about an index, the host's own platform's (`HOST_PLATFORM`).
    pub fn answer(&self, image: &str) -> Result<String, String> {
        let (entry, parsed) = self.entry(image)?;
        let config = match entry {
            Entry::Config(config) => config,
            Entry::Index { platforms, .. } => {
                let Some((_, digest)) = platforms.iter().find(|(p, _)| p == HOST_PLATFORM) else {
                    return Err(format!("no manifest of {image} matches the host's platform {HOST_PLATFORM}"));
                };
                let key = format!("{}/{}@{digest}", parsed.registry, parsed.path);
                match self.entries.get(&key) {
                    Some(Entry::Config(config)) => config,
                    _ => return Err(format!("manifest unknown: {key}")),
                }
            }
            Entry::Error(_) => unreachable!("entry() answers errors"),
        };
        let mut parts = config.platform.split('/');
        let (os, architecture, variant) = (parts.next(), parts.next(), parts.next());
        Ok(json!({
            "manifest": image_manifest(&config.digest),
            "digest": config.digest,
            "config": {
                "created": config.created,
                "architecture": architecture,
                "os": os,
                "variant": variant,
                "config": {"User": config.user, "Labels": config.labels},
                "rootfs": {"type": "layers", "diff_ids": []}
            }
        })
        .to_string())
    }
}

/// An image manifest whose config digest is made up from `digest`.
fn image_manifest(digest: &str) -> serde_json::Value {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": made_up_digest(digest), "size": 0},
        "layers": []
    })
}

/// A field of an entry: a string (a number is read as its text), or none.
fn config_text(fields: &serde_yaml::Mapping, name: &str) -> Result<Option<String>, String> {
    match fields.get(name) {
        None | Some(serde_yaml::Value::Null) => Ok(None),
        Some(serde_yaml::Value::String(s)) => Ok(Some(s.clone())),
        Some(serde_yaml::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("{name}: expected a string, found {other:?}")),
    }
}

/// One image's config: digest (or `written`'s, or one made up from `seed`),
/// created or age, user, labels.
fn read_config(
    fields: &serde_yaml::Mapping,
    seed: &str,
    written: Option<&str>,
    platform: &str,
) -> Result<Config, String> {
    for name in fields.keys() {
        if !name.as_str().is_some_and(|n| KEYS[..5].contains(&n)) {
            return Err(format!("unknown key {name:?}; expected one of: {}", KEYS.join(", ")));
        }
    }
    let digest = match (config_text(fields, "digest")?, written) {
        (Some(digest), _) => digest,
        (None, Some(digest)) => digest.to_string(),
        (None, None) => made_up_digest(seed),
    };
    let created = match (config_text(fields, "created")?, config_text(fields, "age")?) {
        (Some(_), Some(_)) => return Err("give created or age, not both".into()),
        (Some(created), None) => Some(created),
        (None, Some(age)) => Some(rfc3339(now() - parse_age(&age)? as i64)),
        (None, None) => None,
    };
    let labels = match fields.get("labels") {
        None | Some(serde_yaml::Value::Null) => BTreeMap::new(),
        Some(labels) => {
            serde_yaml::from_value(labels.clone()).map_err(|e| format!("labels: expected a mapping of strings: {e}"))?
        }
    };
    Ok(Config { digest, created, user: config_text(fields, "user")?, labels, platform: platform.to_string() })
}

/// A stable, well-formed digest for an entry that names none (FNV-1a,
/// not a hash of any content: nothing here has content).
fn made_up_digest(seed: &str) -> String {
    let mut out = String::from("sha256:");
    for round in 0..4u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ round;
        for byte in seed.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.push_str(&format!("{hash:016x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry_guard::rules::image_config::unix_seconds;

    const DIGEST: &str = "sha256:5555555555555555555555555555555555555555555555555555555555555555";

    #[test]
    fn answers_by_normalized_name_and_by_digest() {
        let text = format!(
            "nginx:1.25:\n  digest: {DIGEST}\n  created: 2025-01-03T10:00:00Z\n  user: \"101\"\n  labels: {{a: b}}\nquay.io/x:1:\n  error: denied\n"
        );
        let configs = FakeConfigs::read("configs.yaml", &text).unwrap();
        let answer: serde_json::Value =
            serde_json::from_str(&configs.answer("docker.io/library/nginx:1.25").unwrap()).unwrap();
        assert_eq!(answer["digest"], DIGEST);
        assert_eq!(answer["config"]["created"], "2025-01-03T10:00:00Z");
        assert_eq!(answer["config"]["config"], json!({"User": "101", "Labels": {"a": "b"}}));
        assert!(configs.answer(&format!("docker.io/library/nginx@{DIGEST}")).is_ok());
        assert_eq!(configs.answer("quay.io/x:1").unwrap_err(), "denied");
        assert_eq!(configs.answer("quay.io/y:1").unwrap_err(), "manifest unknown: quay.io/y:1 is not in configs.yaml");
    }

    #[test]
    fn an_index_answers_its_manifest_and_the_host_platform_config() {
        let text =
            "ghcr.io/acme/multi:1:\n  platforms:\n    linux/amd64: {user: \"1\"}\n    linux/arm64/v8: {user: root}\n";
        let configs = FakeConfigs::read("c.yaml", text).unwrap();
        let index: serde_json::Value =
            serde_json::from_str(&configs.manifest("ghcr.io/acme/multi:1").unwrap()).unwrap();
        let manifests = index["manifests"].as_array().unwrap();
        assert_eq!(manifests.len(), 3, "two platforms and an attestation");
        assert_eq!(manifests[1]["platform"], json!({"os": "linux", "architecture": "arm64", "variant": "v8"}));
        let arm64 = manifests[1]["digest"].as_str().unwrap();
        let config: serde_json::Value =
            serde_json::from_str(&configs.answer(&format!("ghcr.io/acme/multi@{arm64}")).unwrap()).unwrap();
        assert_eq!((config["digest"].as_str(), &config["config"]["config"]["User"]), (Some(arm64), &json!("root")));
        // By tag, the host's own platform, as the Kubewarden host picks it.
        let config: serde_json::Value = serde_json::from_str(&configs.answer("ghcr.io/acme/multi:1").unwrap()).unwrap();
        assert_eq!(config["config"]["architecture"], "amd64");
        assert_eq!(config["digest"], manifests[0]["digest"]);
        // A single image's manifest is an image manifest.
        let configs = FakeConfigs::read("c.yaml", "nginx:1: {user: root}\n").unwrap();
        let manifest: serde_json::Value = serde_json::from_str(&configs.manifest("nginx:1").unwrap()).unwrap();
        assert!(manifest["config"].is_object() && manifest.get("manifests").is_none());
    }

    #[test]
    fn ages_are_relative_to_now_and_mistakes_are_named() {
        let configs = FakeConfigs::read("c.yaml", "nginx:1:\n  age: 10d\n").unwrap();
        let answer: serde_json::Value = serde_json::from_str(&configs.answer("nginx:1").unwrap()).unwrap();
        let created = unix_seconds(answer["config"]["created"].as_str().unwrap()).unwrap();
        assert!((now() - 10 * 86_400 - created).abs() <= 2);
        for (text, error) in [
            ("nginx:1:\n  age: 10\n", "c.yaml: \"nginx:1\": \"10\" has no unit; write it as 10d, 10h, 10m or 10s"),
            ("nginx:1:\n  created: x\n  age: 1d\n", "c.yaml: \"nginx:1\": give created or age, not both"),
            (
                "nginx:1:\n  usr: root\n",
                "c.yaml: \"nginx:1\": unknown key String(\"usr\"); expected one of: digest, created, age, user, labels, error, platforms",
            ),
            ("nginx:1:\n  error: x\n  user: root\n", "c.yaml: \"nginx:1\": error stands alone"),
            (
                "nginx:1: 5\n",
                "c.yaml: \"nginx:1\": expected a mapping (digest, created or age, user, labels) or {error: message}",
            ),
        ] {
            assert_eq!(FakeConfigs::read("c.yaml", text).unwrap_err(), error);
        }
    }
}
