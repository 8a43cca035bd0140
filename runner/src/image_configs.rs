//! A fake registry of image configs, for `kubewarden/oci/v1/oci_manifest_config`
//! (`--image-configs FILE`): a YAML mapping of image → what its config says,
//! or the registry's error.
//!
//! ```yaml
//! registry.corp.example/app:1.4:
//!   digest: sha256:…          # optional (a made-up one otherwise); also answers app@sha256:…
//!   created: 2025-01-03T10:00:00Z   # or `age: 30d`: that long before now, by this machine's clock
//!   user: "65532"
//!   labels: {org.opencontainers.image.source: https://github.com/acme/app}
//! quay.io/private/app:2:
//!   error: "unauthorized: authentication required"
//! ```
//!
//! Keys are normalized as the policy normalizes images, so `nginx:1.25`
//! answers `docker.io/library/nginx:1.25`; an entry with a `digest` also
//! answers `registry/path@digest`, which is what the policy asks for an image
//! it pinned. `age` exists because this runner cannot set the clock the
//! policy reads (wasmtime-provider 2.25 gives the guest the host's wall
//! clock): checks stay reproducible without a `--now`.

use std::collections::BTreeMap;

use registry_guard::references::image::Image;
use registry_guard::rules::image_config::{now, parse_age, rfc3339};
use serde_json::json;

#[derive(Debug)]
pub struct FakeConfigs {
    source: String,
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone)]
enum Entry {
    Config { digest: String, created: Option<String>, user: Option<String>, labels: BTreeMap<String, String> },
    Error(String),
}

const KEYS: &[&str] = &["digest", "created", "age", "user", "labels", "error"];

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
            let text = |name: &str| -> Result<Option<String>, String> {
                match fields.get(name) {
                    None | Some(serde_yaml::Value::Null) => Ok(None),
                    Some(serde_yaml::Value::String(s)) => Ok(Some(s.clone())),
                    Some(serde_yaml::Value::Number(n)) => Ok(Some(n.to_string())),
                    Some(other) => Err(at(format!("{name}: expected a string, found {other:?}"))),
                }
            };
            for name in fields.keys() {
                if !name.as_str().is_some_and(|n| KEYS.contains(&n)) {
                    return Err(at(format!("unknown key {name:?}; expected one of: {}", KEYS.join(", "))));
                }
            }
            let mut keys = vec![key_of(&image)];
            let entry = if let Some(error) = text("error")? {
                if fields.len() > 1 {
                    return Err(at("error stands alone".into()));
                }
                Entry::Error(error)
            } else {
                let digest = match (text("digest")?, image.digest) {
                    (Some(digest), _) => digest,
                    (None, Some(digest)) => digest.to_string(),
                    (None, None) => made_up_digest(&keys[0]),
                };
                if image.digest.is_none() {
                    keys.push(format!("{}/{}@{digest}", image.registry, image.path));
                }
                let created = match (text("created")?, text("age")?) {
                    (Some(_), Some(_)) => return Err(at("give created or age, not both".into())),
                    (Some(created), None) => Some(created),
                    (None, Some(age)) => Some(rfc3339(now() - parse_age(&age).map_err(at)? as i64)),
                    (None, None) => None,
                };
                let labels = match fields.get("labels") {
                    None | Some(serde_yaml::Value::Null) => BTreeMap::new(),
                    Some(labels) => serde_yaml::from_value(labels.clone())
                        .map_err(|e| at(format!("labels: expected a mapping of strings: {e}")))?,
                };
                Entry::Config { digest, created, user: text("user")?, labels }
            };
            for key in keys {
                if entries.insert(key.clone(), entry.clone()).is_some() {
                    return Err(at(format!("{key} is already in the file")));
                }
            }
        }
        Ok(FakeConfigs { source: source.to_string(), entries })
    }

    /// The host's answer for `image`: `{"manifest", "digest", "config"}`, or
    /// the registry's error.
    pub fn answer(&self, image: &str) -> Result<String, String> {
        let parsed = Image::parse(image).map_err(|e| format!("{image:?} is {e}"))?;
        let key = key_of(&parsed);
        match self.entries.get(&key) {
            Some(Entry::Config { digest, created, user, labels }) => Ok(json!({
                "manifest": {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": made_up_digest(digest), "size": 0},
                    "layers": []
                },
                "digest": digest,
                "config": {
                    "created": created,
                    "architecture": "amd64",
                    "os": "linux",
                    "config": {"User": user, "Labels": labels},
                    "rootfs": {"type": "layers", "diff_ids": []}
                }
            })
            .to_string()),
            Some(Entry::Error(message)) => Err(message.clone()),
            None => Err(format!("manifest unknown: {key} is not in {}", self.source)),
        }
    }
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
                "c.yaml: \"nginx:1\": unknown key String(\"usr\"); expected one of: digest, created, age, user, labels, error",
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
