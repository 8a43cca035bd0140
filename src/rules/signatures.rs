//! Signature rules (`signatures`): which images must be signed, and by whom.
//!
//! Each rule has an image pattern, in the language of `images.allow`
//! (`image_pattern.rs`), matched against the image as written, normalized
//! (never the raw string: `GHCR.IO/acme/app`, `ghcr.io:443/acme/app` and
//! `ghcr.io/acme/app` are one image and meet the same rule), before any
//! mirror rewrites it: signatures live beside the image in its source
//! registry. An image must pass every rule it matches; an image that matches
//! none is not checked for signatures.
//!
//! What "signed" means is the host's: `kubewarden/oci/v2/verify` checks
//! Sigstore signatures (`host/sigstore.rs` builds the question). A rule holds
//! exactly one kind of signer, as verify-image-signatures' settings do.

use std::fmt;

use crate::references::image::Image;
use crate::rules::image_pattern::ImageSet;

/// One `signatures[i]` entry, validated.
#[derive(Debug)]
pub struct SignatureRule<'s> {
    /// Its index in `signatures`, for messages.
    pub index: usize,
    /// `image`, as written.
    pub image_written: &'s str,
    image: ImageSet<'s>,
    pub signers: Signers<'s>,
    /// Annotations every signature must carry, in the order written.
    pub annotations: Vec<(&'s str, &'s str)>,
}

/// Who must have signed.
#[derive(Debug)]
pub enum Signers<'s> {
    /// `pubKeys`: every key (PEM) must have signed.
    PubKeys(Vec<&'s str>),
    /// `keyless`: a signature for every issuer and exact subject.
    Keyless(Vec<Identity<'s>>),
    /// `keylessPrefix`: a signature for every issuer and subject URL prefix.
    KeylessPrefix(Vec<Identity<'s>>),
    /// `githubActions`: signed in a GitHub Actions workflow of `owner`
    /// (and `repo`, when given).
    GithubActions { owner: &'s str, repo: Option<&'s str> },
    /// `certificates`: every certificate (PEM) must have signed; each is
    /// verified against `chain` when given.
    Certificates { certificates: Vec<&'s str>, chain: Vec<&'s str>, require_rekor_bundle: bool },
}

/// An OIDC issuer and a subject (or subject URL prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'s> {
    pub issuer: &'s str,
    pub subject: &'s str,
}

impl<'s> SignatureRule<'s> {
    /// A rule for `image` (an image pattern); the error is a sentence about
    /// the pattern.
    pub fn new(
        index: usize,
        image: &'s str,
        signers: Signers<'s>,
        annotations: Vec<(&'s str, &'s str)>,
    ) -> Result<Self, String> {
        let mut set = ImageSet::default();
        set.insert(image)?;
        Ok(SignatureRule { index, image_written: image, image: set, signers, annotations })
    }

    /// The rule applies to `image` (as written, normalized).
    pub fn applies_to(&self, image: &Image<'_>) -> bool {
        self.image.find(image).is_some()
    }
}

/// The last characters of a PEM block's base64 body: enough to tell keys
/// apart in a message (their first characters are the algorithm's header,
/// the same for every key of a kind), without a hash function in the module.
fn pem_tail(pem: &str) -> String {
    // The base64 before the `-----END` armor (checked ASCII by the settings
    // reader), without padding and line breaks.
    let pem = pem.trim();
    let body = pem.strip_prefix("-----BEGIN").and_then(|rest| rest.split_once("-----")).map_or(pem, |(_, body)| body);
    let body = body.split_once("-----END").map_or(body, |(body, _)| body).as_bytes();
    let mut tail = Vec::with_capacity(12);
    for &b in body.iter().rev() {
        if tail.len() == 12 {
            break;
        }
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
            tail.push(b);
        }
    }
    tail.reverse();
    format!("…{}", String::from_utf8_lossy(&tail))
}

/// `a, b … and N more` for messages.
fn some<T>(items: &[T], show: impl Fn(&T) -> String) -> String {
    const SHOWN: usize = 3;
    let mut out = String::new();
    for (i, item) in items.iter().take(SHOWN).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&show(item));
    }
    if items.len() > SHOWN {
        out.push_str(&format!(", … and {} more", items.len() - SHOWN));
    }
    out
}

impl fmt::Display for SignatureRule<'_> {
    /// `signatures[1] (keyless: issuer "…" subject "…")`: the rule and whom
    /// it trusts, shortened.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |s: &str| crate::response::shorten_to(s, 60).into_owned();
        let identities = |ids: &Vec<Identity<'_>>, what: &str| {
            some(ids, |id| format!("issuer {:?} {what} {:?}", short(id.issuer), short(id.subject)))
        };
        let signers = match &self.signers {
            Signers::PubKeys(keys) => format!("pubKeys: {}", some(keys, |k| format!("key {}", pem_tail(k)))),
            Signers::Keyless(ids) => format!("keyless: {}", identities(ids, "subject")),
            Signers::KeylessPrefix(ids) => format!("keylessPrefix: {}", identities(ids, "urlPrefix")),
            Signers::GithubActions { owner, repo: Some(repo) } => {
                format!("githubActions: owner {:?} repo {:?}", short(owner), short(repo))
            }
            Signers::GithubActions { owner, repo: None } => format!("githubActions: owner {:?}", short(owner)),
            Signers::Certificates { certificates, .. } => {
                format!("certificates: {}", some(certificates, |c| format!("certificate {}", pem_tail(c))))
            }
        };
        write!(f, "signatures[{}] ({signers})", self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQiTy5S+2JFvVlhUwWPLziM7iTM2j\nbyTx8ReKnaFCtY3tbaZrS+tcALFr3hWO5H/fZ6wrUGZX6T3yHDdz8vVcmA==\n-----END PUBLIC KEY-----\n";

    #[test]
    fn rules_match_every_spelling_of_their_images() {
        let rule = SignatureRule::new(0, "ghcr.io/acme/*", Signers::PubKeys(vec![KEY]), vec![]).unwrap();
        for image in [
            "ghcr.io/acme/app:1",
            "GHCR.IO/acme/app",
            "ghcr.io:443/acme/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        ] {
            assert!(rule.applies_to(&Image::parse(image).unwrap()), "{image}");
        }
        for image in ["ghcr.io/acme-evil/app", "ghcr.io.evil.com/acme/app", "evil.com/ghcr.io/acme/app", "acme/app"] {
            assert!(!rule.applies_to(&Image::parse(image).unwrap()), "{image}");
        }
        let hub = SignatureRule::new(0, "docker.io/library/nginx", Signers::PubKeys(vec![KEY]), vec![]).unwrap();
        for image in ["nginx", "index.docker.io/library/nginx:1", "registry-1.docker.io/nginx", "docker.io:443/nginx"] {
            assert!(hub.applies_to(&Image::parse(image).unwrap()), "{image}");
        }
    }

    #[test]
    fn rules_are_described_with_shortened_signers() {
        let rule = SignatureRule::new(2, "ghcr.io/acme/*", Signers::PubKeys(vec![KEY, KEY]), vec![]).unwrap();
        assert_eq!(rule.to_string(), "signatures[2] (pubKeys: key …3yHDdz8vVcmA, key …3yHDdz8vVcmA)");
        let ids = vec![Identity {
            issuer: "https://token.actions.githubusercontent.com",
            subject: "https://github.com/acme/",
        }];
        let rule = SignatureRule::new(0, "ghcr.io/acme/*", Signers::KeylessPrefix(ids), vec![]).unwrap();
        assert_eq!(
            rule.to_string(),
            "signatures[0] (keylessPrefix: issuer \"https://token.actions.githubusercontent.com\" urlPrefix \"https://github.com/acme/\")"
        );
        let rule =
            SignatureRule::new(1, "ghcr.io/acme/*", Signers::GithubActions { owner: "acme", repo: None }, vec![])
                .unwrap();
        assert_eq!(rule.to_string(), "signatures[1] (githubActions: owner \"acme\")");
    }

    #[test]
    fn every_image_of_every_registry_is_written_with_a_registry_wildcard() {
        // verify-image-signatures' `*`; here `*` alone is refused as ambiguous.
        let every = SignatureRule::new(0, "*:*/*", Signers::PubKeys(vec![KEY]), vec![]).unwrap();
        for image in [
            "nginx",
            "ghcr.io/acme/app:1",
            "localhost:5000/x@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "[::1]/a/b/c",
        ] {
            assert!(every.applies_to(&Image::parse(image).unwrap()), "{image}");
        }
        assert!(SignatureRule::new(0, "*", Signers::PubKeys(vec![KEY]), vec![]).is_err());
    }

    #[test]
    fn an_invalid_image_pattern_is_refused() {
        assert!(SignatureRule::new(0, "Ghcr.io/ACME", Signers::PubKeys(vec![KEY]), vec![]).is_err());
    }
}
