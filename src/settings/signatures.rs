//! Reads `signatures` (and `modifyImagesWithDigest`), in the shape
//! Kubewarden's verify-image-signatures policy takes, so its settings are
//! accepted unchanged:
//!
//! ```yaml
//! signatures:
//!   - image: "registry.example.com/*"      # an image pattern, as in images.allow
//!     pubKeys: ["-----BEGIN PUBLIC KEY-----…"]                   # or one of:
//!     # keyless: [{issuer: https://…, subject: …}]
//!     # keylessPrefix: [{issuer: https://…, urlPrefix: https://…}]
//!     # githubActions: {owner: acme, repo: ci}                  (repo optional)
//!     # certificates: [PEM…], certificateChain: [PEM…], requireRekorBundle: bool
//!     annotations: {env: prod}             # optional, every signature must carry them
//! modifyImagesWithDigest: true             # default true
//! ```
//!
//! Each entry has `image` and exactly one kind of signer. Keys and
//! certificates must be PEM blocks of the right type, issuers and URL
//! prefixes https URLs; every problem is reported with its path
//! (`signatures[2].pubKeys[0]: …`). The one difference from
//! verify-image-signatures is the meaning of `image`: a normalized image
//! pattern, not a glob over the string as written.

use super::{Document, Map, Reader, describe, get};
use crate::rules::signatures::{Identity, SignatureRule, Signers};

const ENTRY_KEYS: &[&str] = &[
    "image",
    "pubKeys",
    "keyless",
    "keylessPrefix",
    "githubActions",
    "certificates",
    "certificateChain",
    "requireRekorBundle",
    "annotations",
];
const KINDS: &[&str] = &["pubKeys", "keyless", "keylessPrefix", "githubActions", "certificates"];
const KINDS_SENTENCE: &str = "pubKeys, keyless, keylessPrefix, githubActions or certificates";

impl Reader<'_> {
    /// The `signatures` list; empty when absent or null.
    // Out of line: inlined, every section made `Reader::policy` one
    // function of 17 KB, the largest Cranelift compiles (`make
    // compile-profile`).
    #[inline(never)]
    pub(super) fn signatures<'d>(&mut self, value: &'d Document<'_>) -> Vec<SignatureRule<'d>> {
        let items = match value {
            Document::Null => return Vec::new(),
            Document::Array(items) => items,
            other => {
                self.error(
                    "signatures",
                    format_args!(
                        "expected a list of {{image, and one of {KINDS_SENTENCE}}}, found {}",
                        describe(other)
                    ),
                );
                return Vec::new();
            }
        };
        let mut rules = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("signatures[{i}]");
            let Some(entry) = self.object(&path, item, ENTRY_KEYS) else {
                if matches!(item, Document::Null) {
                    self.error(&path, "expected a mapping with image and a kind of signer, found null");
                }
                continue;
            };
            if let Some(rule) = self.signature_entry(&path, i, entry) {
                rules.push(rule);
            }
        }
        rules
    }

    fn signature_entry<'d>(&mut self, path: &str, index: usize, entry: &'d Map<'_>) -> Option<SignatureRule<'d>> {
        let image = self.text(path, entry, "image");
        let mut kinds = Vec::with_capacity(1);
        for kind in KINDS {
            if get(entry, kind).is_some_and(|v| !matches!(v, Document::Null)) {
                kinds.push(*kind);
            }
        }
        let signers = match kinds.as_slice() {
            [] => {
                self.error(path, format_args!("has no signer; give one of {KINDS_SENTENCE}"));
                None
            }
            [kind] => self.signers(path, kind, entry),
            several => {
                self.error(
                    path,
                    format_args!(
                        "has {} kinds of signer ({}); give exactly one (write two entries to require both)",
                        several.len(),
                        several.join(", ")
                    ),
                );
                None
            }
        };
        if kinds != ["certificates"] {
            for key in ["certificateChain", "requireRekorBundle"] {
                if get(entry, key).is_some_and(|v| !matches!(v, Document::Null)) {
                    self.error(&format!("{path}.{key}"), "applies to certificates only");
                }
            }
        }
        let annotations = self.annotations(&format!("{path}.annotations"), get(entry, "annotations"));
        let (image, signers) = (image?, signers?);
        match SignatureRule::new(index, image, signers, annotations) {
            Ok(rule) => Some(rule),
            Err(why) => {
                self.error(&format!("{path}.image"), why);
                None
            }
        }
    }

    fn signers<'d>(&mut self, path: &str, kind: &str, entry: &'d Map<'_>) -> Option<Signers<'d>> {
        let at = format!("{path}.{kind}");
        let value = get(entry, kind)?;
        match kind {
            "pubKeys" => self.pem_list(&at, value, "PUBLIC KEY", "public key").map(Signers::PubKeys),
            "keyless" => self.identities(&at, value, "subject").map(Signers::Keyless),
            "keylessPrefix" => self.identities(&at, value, "urlPrefix").map(Signers::KeylessPrefix),
            "githubActions" => {
                let map = self.object(&at, value, &["owner", "repo"])?;
                let owner = self.text(&at, map, "owner").filter(|owner| self.non_empty(&format!("{at}.owner"), owner));
                let repo = match get(map, "repo") {
                    None | Some(Document::Null) => Some(None),
                    Some(Document::String(repo)) if !repo.is_empty() => Some(Some(repo.as_ref())),
                    Some(other) => {
                        self.error(
                            &format!("{at}.repo"),
                            format_args!("expected a repository name, found {}", describe(other)),
                        );
                        None
                    }
                };
                Some(Signers::GithubActions { owner: owner?, repo: repo? })
            }
            _ => {
                let certificates = self.pem_list(&at, value, "CERTIFICATE", "certificate");
                let chain_path = format!("{path}.certificateChain");
                let chain = match get(entry, "certificateChain") {
                    None | Some(Document::Null) => Some(Vec::new()),
                    Some(chain) => self.pem_list(&chain_path, chain, "CERTIFICATE", "certificate"),
                };
                let rekor = self.boolean(&format!("{path}.requireRekorBundle"), get(entry, "requireRekorBundle"));
                Some(Signers::Certificates { certificates: certificates?, chain: chain?, require_rekor_bundle: rekor })
            }
        }
    }

    fn non_empty(&mut self, path: &str, value: &str) -> bool {
        if value.is_empty() {
            self.error(path, "is empty");
        }
        !value.is_empty()
    }

    /// A non-empty list of PEM blocks of `label` (`PUBLIC KEY`, `CERTIFICATE`).
    fn pem_list<'d>(&mut self, path: &str, value: &'d Document<'_>, label: &str, what: &str) -> Option<Vec<&'d str>> {
        let entries = match self.strings(path, Some(value)) {
            Some(entries) if entries.is_empty() => {
                self.error(path, format_args!("is empty; give at least one {what}"));
                return None;
            }
            entries => entries?,
        };
        let before = self.errors.len();
        let mut pems = Vec::with_capacity(entries.len());
        for (i, pem) in entries {
            match check_pem(pem, label) {
                Ok(()) => pems.push(pem),
                Err(why) => self.error(&format!("{path}[{i}]"), format_args!("not a PEM {what}: {why}")),
            }
        }
        (self.errors.len() == before).then_some(pems)
    }

    /// A non-empty list of `{issuer, <subject>}`.
    fn identities<'d>(&mut self, path: &str, value: &'d Document<'_>, subject: &str) -> Option<Vec<Identity<'d>>> {
        let items = match value {
            Document::Array(items) if !items.is_empty() => items,
            Document::Array(_) => {
                self.error(path, format_args!("is empty; give at least one {{issuer, {subject}}}"));
                return None;
            }
            other => {
                self.error(path, format_args!("expected a list of {{issuer, {subject}}}, found {}", describe(other)));
                return None;
            }
        };
        let before = self.errors.len();
        let mut identities = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let Some(map) = self.object(&at, item, &["issuer", subject]) else {
                if matches!(item, Document::Null) {
                    self.error(&at, format_args!("expected {{issuer, {subject}}}, found null"));
                }
                continue;
            };
            let issuer = self.text(&at, map, "issuer").filter(|issuer| self.https(&format!("{at}.issuer"), issuer));
            let value = self.text(&at, map, subject).filter(|value| {
                if subject == "urlPrefix" {
                    self.https(&format!("{at}.{subject}"), value)
                } else {
                    self.non_empty(&format!("{at}.{subject}"), value)
                }
            });
            if let (Some(issuer), Some(subject)) = (issuer, value) {
                identities.push(Identity { issuer, subject });
            }
        }
        (self.errors.len() == before).then_some(identities)
    }

    /// `https://host…`; an error naming `path` otherwise.
    fn https(&mut self, path: &str, url: &str) -> bool {
        // A host after the scheme, and no white space anywhere.
        let ok = url.strip_prefix("https://").is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
            && !url.bytes().any(|b| b.is_ascii_whitespace());
        if !ok {
            self.error(path, format_args!("{url:?} is not an https URL"));
        }
        ok
    }

    /// `{name: value}` of strings; empty when absent or null.
    fn annotations<'d>(&mut self, path: &str, value: Option<&'d Document<'_>>) -> Vec<(&'d str, &'d str)> {
        let map = match value {
            None | Some(Document::Null) => return Vec::new(),
            Some(Document::Object(map)) => map,
            Some(other) => {
                self.error(path, format_args!("expected a mapping of names to values, found {}", describe(other)));
                return Vec::new();
            }
        };
        let mut annotations = Vec::with_capacity(map.len());
        for (name, value) in map {
            match value {
                Document::String(value) => annotations.push((name.as_ref(), value.as_ref())),
                other => self.error(
                    &format!("{path}.{name}"),
                    format_args!("expected a string, found {} (quote it: annotations are strings)", describe(other)),
                ),
            }
        }
        annotations
    }
}

/// One PEM block of `label`: the armor lines, and base64 between them.
fn check_pem(pem: &str, label: &str) -> Result<(), String> {
    let text = pem.trim();
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let Some(inner) = text.strip_prefix(begin.as_str()).and_then(|rest| rest.strip_suffix(end.as_str())) else {
        return Err(format!("it must start with {begin:?} and end with {end:?}"));
    };
    let mut body = Vec::with_capacity(inner.len());
    for b in inner.bytes() {
        if !b.is_ascii_whitespace() {
            body.push(b);
        }
    }
    let padding = body.iter().rev().take_while(|b| **b == b'=').count();
    let base64 = body[..body.len() - padding].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/');
    if body.is_empty() || !base64 || padding > 2 || !body.len().is_multiple_of(4) {
        return Err("its body is not base64".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_pem;
    use crate::request::json::Document;
    use serde_json::json;

    const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQiTy5S+2JFvVlhUwWPLziM7iTM2j\nbyTx8ReKnaFCtY3tbaZrS+tcALFr3hWO5H/fZ6wrUGZX6T3yHDdz8vVcmA==\n-----END PUBLIC KEY-----\n";
    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIU\n-----END CERTIFICATE-----\n";

    fn errors(settings: serde_json::Value) -> Vec<String> {
        let text = settings.to_string();
        let document = Document::parse(text.as_bytes()).unwrap();
        super::super::compile(&document).err().map(|e| e.0).unwrap_or_default()
    }

    #[test]
    fn verify_image_signatures_settings_are_accepted_unchanged() {
        // The shape of kubewarden/verify-image-signatures' README examples.
        let settings = json!({
            "signatures": [
                {"image": "registry.example.com/*", "pubKeys": [KEY], "annotations": {"env": "prod"}},
                {"image": "ghcr.io/acme/ci", "keyless": [{"issuer": "https://token.actions.githubusercontent.com", "subject": "https://github.com/acme/ci/.github/workflows/release.yml@refs/tags/v1"}]},
                {"image": "ghcr.io/acme/*", "keylessPrefix": [{"issuer": "https://token.actions.githubusercontent.com", "urlPrefix": "https://github.com/acme/"}]},
                {"image": "ghcr.io/acme/*", "githubActions": {"owner": "acme", "repo": "ci"}},
                {"image": "ghcr.io/acme/*", "githubActions": {"owner": "acme"}},
                {"image": "registry.corp.example/*", "certificates": [CERT], "certificateChain": [CERT], "requireRekorBundle": true}
            ],
            "modifyImagesWithDigest": true
        });
        assert_eq!(errors(settings), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let found = errors(json!({
            "signatures": [
                {"image": "ghcr.io/acme/*"},
                {"image": "ghcr.io/acme/*", "pubKeys": [KEY], "keyless": [{"issuer": "https://a.example", "subject": "s"}]},
                {"image": "ghcr.io/acme/*", "pubKeys": ["ssh-ed25519 AAAA", KEY, 1]},
                {"image": "ghcr.io/acme/*", "pubkeys": [KEY]},
                {"image": "ghcr.io/acme/*", "pubKeys": []},
                {"image": "ghcr.io/acme/*", "keyless": [{"issuer": "http://a.example", "subject": ""}]},
                {"image": "ghcr.io/acme/*", "keylessPrefix": [{"issuer": "https://a.example", "urlPrefix": "github.com/acme"}]},
                {"image": "ghcr.io/acme/*", "certificates": [KEY]},
                {"image": "ghcr.io/acme/*", "pubKeys": [KEY], "requireRekorBundle": true},
                {"image": "Ghcr.io/ACME", "githubActions": {"owner": ""}},
                {"pubKeys": [KEY], "annotations": {"n": 1}},
                "ghcr.io/acme/*"
            ],
            "modifyImagesWithDigest": "yes"
        }));
        assert_eq!(
            found,
            [
                "signatures[0]: has no signer; give one of pubKeys, keyless, keylessPrefix, githubActions or certificates",
                "signatures[1]: has 2 kinds of signer (pubKeys, keyless); give exactly one (write two entries to require both)",
                "signatures[2].pubKeys[2]: expected a string, found the number 1",
                "signatures[2].pubKeys[0]: not a PEM public key: it must start with \"-----BEGIN PUBLIC KEY-----\" and end with \"-----END PUBLIC KEY-----\"",
                "unknown setting \"signatures[3].pubkeys\"; expected one of: image, pubKeys, keyless, keylessPrefix, githubActions, certificates, certificateChain, requireRekorBundle, annotations",
                "signatures[3]: has no signer; give one of pubKeys, keyless, keylessPrefix, githubActions or certificates",
                "signatures[4].pubKeys: is empty; give at least one public key",
                "signatures[5].keyless[0].issuer: \"http://a.example\" is not an https URL",
                "signatures[5].keyless[0].subject: is empty",
                "signatures[6].keylessPrefix[0].urlPrefix: \"github.com/acme\" is not an https URL",
                "signatures[7].certificates[0]: not a PEM certificate: it must start with \"-----BEGIN CERTIFICATE-----\" and end with \"-----END CERTIFICATE-----\"",
                "signatures[8].requireRekorBundle: applies to certificates only",
                "signatures[9].githubActions.owner: is empty",
                "signatures[10]: image is missing",
                "signatures[10].annotations.n: expected a string, found the number 1 (quote it: annotations are strings)",
                "signatures[11]: expected a mapping, found the string \"ghcr.io/acme/*\"",
                "modifyImagesWithDigest: expected true or false, found the string \"yes\"",
            ]
        );
    }

    #[test]
    fn pem_blocks_are_checked_by_label_and_body() {
        let key = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQiTy5S+2JFvVlhUwWPLziM7iTM2j\nbyTx8ReKnaFCtY3tbaZrS+tcALFr3hWO5H/fZ6wrUGZX6T3yHDdz8vVcmA==\n-----END PUBLIC KEY-----\n";
        assert_eq!(check_pem(key, "PUBLIC KEY"), Ok(()));
        assert!(check_pem(key, "CERTIFICATE").unwrap_err().starts_with("it must start with"));
        assert_eq!(
            check_pem("-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----", "PUBLIC KEY"),
            Err("its body is not base64".into())
        );
        assert!(check_pem("-----BEGIN PUBLIC KEY----------END PUBLIC KEY-----", "PUBLIC KEY").is_err());
        assert!(check_pem("ssh-ed25519 AAAA", "PUBLIC KEY").is_err());
    }
}
