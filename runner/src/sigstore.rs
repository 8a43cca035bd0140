//! A fake Sigstore verifier for `kubewarden/oci/v2/verify`, answered from a
//! YAML file given with `--sigstore`: which images are signed, at which
//! digest, by which keys, identities and certificates, with which
//! annotations.
//!
//! ```yaml
//! ghcr.io/acme/app:1:                 # an image, any spelling, with its tag
//!   digest: sha256:…                  # what the tag points to
//!   signatures:
//!     - pubKey: "-----BEGIN PUBLIC KEY-----…"
//!       annotations: {env: prod}      # optional
//!     - keyless: {issuer: "https://token.actions.githubusercontent.com", subject: "https://github.com/acme/ci/…"}
//!     - certificate: "-----BEGIN CERTIFICATE-----…"
//! quay.io/acme/broken:1:
//!   error: "registry unreachable"     # the verifier fails with this error
//! ```
//!
//! A request is answered as policy-evaluator's verifier answers it: trusted,
//! with the digest, when every signer it names has a signature on the image
//! carrying every annotation it names; otherwise an error. The image may be
//! asked for by tag or by the digest of an entry. Matching, as Kubewarden's
//! verifier does it: public keys and certificates by their PEM text,
//! keyless identities by exact issuer and subject, a keyless prefix by
//! issuer and a subject under the URL prefix (a `/` is added to a prefix
//! that lacks one, so `https://github.com/acme` does not admit
//! `https://github.com/acme-evil/…`), GitHub Actions by the Actions issuer
//! and a subject under `https://github.com/<owner>/[<repo>/]`.

use std::collections::BTreeMap;

use registry_guard::references::image::Image;
use serde::{Deserialize, Serialize};

/// The issuer of GitHub Actions' OIDC tokens.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The verification request the policy sends (the SDK's
/// `SigstoreVerificationInputV2`, internally tagged).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Request {
    SigstorePubKeyVerify {
        image: String,
        pub_keys: Vec<String>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessVerify {
        image: String,
        keyless: Vec<Keyless>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessPrefixVerify {
        image: String,
        keyless_prefix: Vec<KeylessPrefix>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreGithubActionsVerify {
        image: String,
        owner: String,
        repo: Option<String>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreCertificateVerify {
        image: String,
        certificate: Vec<u8>,
        certificate_chain: Option<Vec<Vec<u8>>>,
        require_rekor_bundle: bool,
        annotations: Option<BTreeMap<String, String>>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Keyless {
    pub issuer: String,
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeylessPrefix {
    pub issuer: String,
    pub url_prefix: String,
}

/// The same request as policy-evaluator's `CallbackRequestType` (externally
/// tagged), which is what kwctl sessions record.
#[derive(Debug, Serialize)]
pub enum SessionRequest<'a> {
    SigstorePubKeyVerify {
        image: &'a str,
        pub_keys: &'a [String],
        annotations: &'a Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessVerify {
        image: &'a str,
        keyless: &'a [Keyless],
        annotations: &'a Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessPrefixVerify {
        image: &'a str,
        keyless_prefix: &'a [KeylessPrefix],
        annotations: &'a Option<BTreeMap<String, String>>,
    },
    SigstoreGithubActionsVerify {
        image: &'a str,
        owner: &'a str,
        repo: &'a Option<String>,
        annotations: &'a Option<BTreeMap<String, String>>,
    },
    SigstoreCertificateVerify {
        image: &'a str,
        certificate: &'a [u8],
        certificate_chain: &'a Option<Vec<Vec<u8>>>,
        require_rekor_bundle: bool,
        annotations: &'a Option<BTreeMap<String, String>>,
    },
}

impl Request {
    /// Reads the policy's JSON.
    pub fn parse(payload: &[u8]) -> Result<Request, String> {
        serde_json::from_slice(payload).map_err(|e| format!("not a SigstoreVerificationInputV2: {e}"))
    }

    pub fn image(&self) -> &str {
        match self {
            Request::SigstorePubKeyVerify { image, .. }
            | Request::SigstoreKeylessVerify { image, .. }
            | Request::SigstoreKeylessPrefixVerify { image, .. }
            | Request::SigstoreGithubActionsVerify { image, .. }
            | Request::SigstoreCertificateVerify { image, .. } => image,
        }
    }

    fn annotations(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            Request::SigstorePubKeyVerify { annotations, .. }
            | Request::SigstoreKeylessVerify { annotations, .. }
            | Request::SigstoreKeylessPrefixVerify { annotations, .. }
            | Request::SigstoreGithubActionsVerify { annotations, .. }
            | Request::SigstoreCertificateVerify { annotations, .. } => annotations.as_ref(),
        }
    }

    /// As kwctl records it.
    pub fn for_session(&self) -> SessionRequest<'_> {
        match self {
            Request::SigstorePubKeyVerify { image, pub_keys, annotations } => {
                SessionRequest::SigstorePubKeyVerify { image, pub_keys, annotations }
            }
            Request::SigstoreKeylessVerify { image, keyless, annotations } => {
                SessionRequest::SigstoreKeylessVerify { image, keyless, annotations }
            }
            Request::SigstoreKeylessPrefixVerify { image, keyless_prefix, annotations } => {
                SessionRequest::SigstoreKeylessPrefixVerify { image, keyless_prefix, annotations }
            }
            Request::SigstoreGithubActionsVerify { image, owner, repo, annotations } => {
                SessionRequest::SigstoreGithubActionsVerify { image, owner, repo, annotations }
            }
            Request::SigstoreCertificateVerify {
                image,
                certificate,
                certificate_chain,
                require_rekor_bundle,
                annotations,
            } => SessionRequest::SigstoreCertificateVerify {
                image,
                certificate,
                certificate_chain,
                require_rekor_bundle: *require_rekor_bundle,
                annotations,
            },
        }
    }
}

/// The `--sigstore` file, read.
#[derive(Debug, Default)]
pub struct FakeSigstore {
    source: String,
    images: Vec<FileImage>,
}

/// One image of the file: its repository, tag and digest, and how it is
/// signed (or the error verifying it gives).
type FileImage = (String, Option<String>, Option<String>, Result<Signed, String>);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    digest: Option<String>,
    #[serde(default)]
    signatures: Vec<FileSignature>,
    error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileSignature {
    pub_key: Option<String>,
    keyless: Option<Keyless>,
    certificate: Option<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Signed {
    digest: String,
    signatures: Vec<FileSignature>,
}

/// `registry/path`, and the tag and digest, of an image in any spelling.
fn split(image: &str) -> Result<(String, Option<String>, Option<String>), String> {
    let image = Image::parse(image).map_err(|e| format!("{image:?}: {e}"))?;
    let repository = format!("{}/{}", image.registry, image.path);
    Ok((repository, image.tag.map(str::to_string), image.digest.map(str::to_string)))
}

impl FakeSigstore {
    /// Reads the YAML text of a `--sigstore` file (`source` names it).
    pub fn read(source: &str, text: &str) -> Result<FakeSigstore, String> {
        let entries: BTreeMap<String, FileEntry> = serde_yaml::from_str(text)
            .map_err(|e| format!("{source}: not a mapping of image: {{digest, signatures}}: {e}"))?;
        let mut images = Vec::new();
        for (key, entry) in entries {
            let (repository, tag, digest) = split(&key).map_err(|e| format!("{source}: {e}"))?;
            let signed = match (entry.error, entry.digest) {
                (Some(error), None) if entry.signatures.is_empty() => Err(error),
                (None, Some(digest)) => Ok(Signed { digest, signatures: entry.signatures }),
                _ => return Err(format!("{source}: {key:?}: give a digest (and signatures), or an error alone")),
            };
            for (i, signature) in signed.iter().flat_map(|s| s.signatures.iter()).enumerate() {
                let kinds = [signature.pub_key.is_some(), signature.keyless.is_some(), signature.certificate.is_some()];
                if kinds.iter().filter(|k| **k).count() != 1 {
                    return Err(format!(
                        "{source}: {key:?}: signatures[{i}]: give one of pubKey, keyless, certificate"
                    ));
                }
            }
            let digest = digest.or_else(|| signed.as_ref().ok().map(|s| s.digest.clone()));
            images.push((repository, tag, digest, signed));
        }
        Ok(FakeSigstore { source: source.to_string(), images })
    }

    /// The answer to one request: `{"is_trusted": true, "digest": …}`, or
    /// the verifier's error.
    pub fn verify(&self, request: &Request) -> Result<String, String> {
        let asked = request.image();
        let (repository, tag, digest) = split(asked)?;
        let entry = self
            .images
            .iter()
            .find(|(r, t, d, _)| *r == repository && if digest.is_some() { *d == digest } else { *t == tag });
        let signed = match entry {
            None => return Err(format!("no signatures found for {asked} (it is not in {})", self.source)),
            Some((_, _, _, Err(error))) => return Err(error.clone()),
            Some((_, _, _, Ok(signed))) => signed,
        };
        let empty = BTreeMap::new();
        let wanted = request.annotations().unwrap_or(&empty);
        let carries = |s: &FileSignature| wanted.iter().all(|(k, v)| s.annotations.get(k) == Some(v));
        let pem = |a: &str, b: &str| a.trim() == b.trim();
        let signed_by = |test: &dyn Fn(&FileSignature) -> bool| signed.signatures.iter().any(|s| test(s) && carries(s));
        let missing: Vec<String> = match request {
            Request::SigstorePubKeyVerify { pub_keys, .. } => pub_keys
                .iter()
                .filter(|key| !signed_by(&|s| s.pub_key.as_deref().is_some_and(|k| pem(k, key))))
                .map(|key| format!("public key ending {}", key.trim().lines().rev().nth(1).unwrap_or(key)))
                .collect(),
            Request::SigstoreKeylessVerify { keyless, .. } => keyless
                .iter()
                .filter(|id| !signed_by(&|s| s.keyless.as_ref() == Some(id)))
                .map(|id| format!("keyless issuer {} subject {}", id.issuer, id.subject))
                .collect(),
            Request::SigstoreKeylessPrefixVerify { keyless_prefix, .. } => keyless_prefix
                .iter()
                .filter(|p| {
                    let prefix =
                        if p.url_prefix.ends_with('/') { p.url_prefix.clone() } else { format!("{}/", p.url_prefix) };
                    !signed_by(&|s| {
                        s.keyless.as_ref().is_some_and(|k| k.issuer == p.issuer && k.subject.starts_with(&prefix))
                    })
                })
                .map(|p| format!("keyless issuer {} url prefix {}", p.issuer, p.url_prefix))
                .collect(),
            Request::SigstoreGithubActionsVerify { owner, repo, .. } => {
                let prefix = match repo {
                    Some(repo) => format!("https://github.com/{owner}/{repo}/"),
                    None => format!("https://github.com/{owner}/"),
                };
                let ok = signed_by(&|s| {
                    s.keyless
                        .as_ref()
                        .is_some_and(|k| k.issuer == GITHUB_ACTIONS_ISSUER && k.subject.starts_with(&prefix))
                });
                if ok { Vec::new() } else { vec![format!("GitHub Actions {prefix}")] }
            }
            Request::SigstoreCertificateVerify { certificate, .. } => {
                let certificate = String::from_utf8_lossy(certificate);
                if signed_by(&|s| s.certificate.as_deref().is_some_and(|c| pem(c, &certificate))) {
                    Vec::new()
                } else {
                    vec!["certificate".to_string()]
                }
            }
        };
        if !missing.is_empty() {
            let annotations = if wanted.is_empty() { String::new() } else { format!(" with annotations {wanted:?}") };
            return Err(format!("Image verification failed: missing signatures: {}{annotations}", missing.join(", ")));
        }
        Ok(serde_json::json!({"is_trusted": true, "digest": signed.digest}).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const KEY: &str = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";

    fn fake() -> FakeSigstore {
        let text = format!(
            "ghcr.io/acme/app:1:\n  digest: {DIGEST}\n  signatures:\n    - pubKey: \"{}\"\n      annotations: {{env: prod}}\n    - keyless: {{issuer: \"{GITHUB_ACTIONS_ISSUER}\", subject: \"https://github.com/acme/ci/.github/workflows/r.yml@refs/tags/v1\"}}\nquay.io/x:1:\n  error: registry unreachable\n",
            KEY.replace('\n', "\\n")
        );
        FakeSigstore::read("sigstore.yaml", &text).unwrap()
    }

    fn ask(request: serde_json::Value) -> Result<String, String> {
        fake().verify(&Request::parse(request.to_string().as_bytes()).unwrap())
    }

    #[test]
    fn requests_are_answered_as_the_verifier_answers_them() {
        let trusted = Ok(format!("{{\"digest\":\"{DIGEST}\",\"is_trusted\":true}}"));
        let keys = |image: &str, annotations: serde_json::Value| serde_json::json!({"type": "SigstorePubKeyVerify", "image": image, "pub_keys": [KEY], "annotations": annotations});
        assert_eq!(ask(keys("ghcr.io/acme/app:1", serde_json::Value::Null)), trusted);
        assert_eq!(ask(keys("GHCR.IO/acme/app:1", serde_json::json!({"env": "prod"}))), trusted);
        assert_eq!(ask(keys(&format!("ghcr.io/acme/app@{DIGEST}"), serde_json::Value::Null)), trusted);
        assert!(
            ask(keys("ghcr.io/acme/app:1", serde_json::json!({"env": "dev"})))
                .unwrap_err()
                .starts_with("Image verification failed: missing signatures")
        );
        assert!(
            ask(keys("ghcr.io/acme/app:2", serde_json::Value::Null))
                .unwrap_err()
                .starts_with("no signatures found for ghcr.io/acme/app:2")
        );
        assert_eq!(ask(keys("quay.io/x:1", serde_json::Value::Null)), Err("registry unreachable".into()));
        let prefix = |p: &str| {
            serde_json::json!({"type": "SigstoreKeylessPrefixVerify", "image": "ghcr.io/acme/app:1",
                "keyless_prefix": [{"issuer": GITHUB_ACTIONS_ISSUER, "url_prefix": p}], "annotations": null})
        };
        assert_eq!(ask(prefix("https://github.com/acme")), trusted);
        assert!(ask(prefix("https://github.com/ac")).is_err(), "a prefix is a URL prefix");
        let actions = |owner: &str| serde_json::json!({"type": "SigstoreGithubActionsVerify", "image": "ghcr.io/acme/app:1", "owner": owner, "repo": null, "annotations": null});
        assert_eq!(ask(actions("acme")), trusted);
        assert!(ask(actions("evil")).is_err());
    }

    #[test]
    fn sessions_record_requests_as_policy_evaluator_does() {
        let request = Request::parse(
            serde_json::json!({"type": "SigstorePubKeyVerify", "image": "ghcr.io/acme/app:1", "pub_keys": [KEY], "annotations": {"env": "prod"}})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            serde_yaml::to_string(&request.for_session()).unwrap(),
            "!SigstorePubKeyVerify\nimage: ghcr.io/acme/app:1\npub_keys:\n- |-\n  -----BEGIN PUBLIC KEY-----\n  AAAA\n  -----END PUBLIC KEY-----\nannotations:\n  env: prod\n"
        );
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(FakeSigstore::read("s.yaml", "- x").is_err());
        assert!(FakeSigstore::read("s.yaml", "ghcr.io/a:1: {digest: x, error: y}").is_err());
        assert!(
            FakeSigstore::read("s.yaml", "ghcr.io/a:1: {digest: x, signatures: [{pubKey: k, certificate: c}]}")
                .is_err()
        );
        assert!(FakeSigstore::read("s.yaml", "Ghcr.io/A:1: {digest: x}").is_err());
    }
}
