//! Asks the Kubewarden host whether an image is signed as a `signatures`
//! rule requires: the host capability `kubewarden/oci/v2/verify`, whose
//! request is the JSON of the SDK's `SigstoreVerificationInputV2`
//! (internally tagged by `type`, fields as the SDK serializes them; a test
//! compares the two) and whose answer is
//! `{"is_trusted": true, "digest": "sha256:…"}`, or an error.
//!
//! Written by hand, as `manifest_digest.rs` is, so that no serde code enters
//! policy.wasm. The answer is untrusted: anything but `is_trusted: true`
//! with a valid digest is a failure, and so is a digest other than the one
//! the image names.

use super::manifest_digest::checked_digest;
use super::{HostCall, quoted};
use crate::request::json::Document;
use crate::response::write_string;
use crate::rules::signatures::{Identity, SignatureRule, Signers};

pub const OPERATION: &str = "v2/verify";

/// Verifies `reference` (the image, normalized: `registry/path:tag` or
/// `registry/path@digest`) against `rule`: the digest the signatures were
/// verified at, or why not. A `certificates` rule with several certificates
/// asks once for each (the host takes one at a time); they must agree.
pub fn verify(host: &mut HostCall<'_>, reference: &str, rule: &SignatureRule<'_>) -> Result<String, String> {
    let mut requests = Vec::with_capacity(1);
    match &rule.signers {
        Signers::Certificates { certificates, chain, require_rekor_bundle } => {
            for certificate in certificates {
                requests.push(request(reference, rule, Some((certificate, chain, *require_rekor_bundle))));
            }
        }
        _ => requests.push(request(reference, rule, None)),
    }
    let mut verified: Option<String> = None;
    for request in requests {
        let digest = digest_of_answer(&host(OPERATION, &request)?)?;
        match &verified {
            Some(earlier) if *earlier != digest => {
                return Err(format!(
                    "the host verified two digests ({earlier} and {digest}): the tag moved while it was checked"
                ));
            }
            _ => verified = Some(digest),
        }
    }
    verified.ok_or_else(|| "the rule names no signer".to_string())
}

/// The verified digest of an answer.
fn digest_of_answer(raw: &[u8]) -> Result<String, String> {
    let answer = Document::parse(raw);
    match answer.as_ref().map(|a| (a.get("is_trusted"), a.get("digest"))) {
        Ok((Some(Document::Bool(true)), Some(Document::String(digest)))) => checked_digest(digest),
        Ok((Some(Document::Bool(false)), _)) => Err("the host answered that the image is not trusted".into()),
        _ => Err(format!("the host's answer is not {{\"is_trusted\": true, \"digest\": \"…\"}}: {}", quoted(raw))),
    }
}

/// A certificate to verify with, its chain, and `requireRekorBundle`.
type Certificate<'a> = (&'a str, &'a [&'a str], bool);

/// The JSON of one `SigstoreVerificationInputV2`.
fn request(reference: &str, rule: &SignatureRule<'_>, certificate: Option<Certificate<'_>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let kind = match &rule.signers {
        Signers::PubKeys(_) => "SigstorePubKeyVerify",
        Signers::Keyless(_) => "SigstoreKeylessVerify",
        Signers::KeylessPrefix(_) => "SigstoreKeylessPrefixVerify",
        Signers::GithubActions { .. } => "SigstoreGithubActionsVerify",
        Signers::Certificates { .. } => "SigstoreCertificateVerify",
    };
    out.extend_from_slice(br#"{"type":"#);
    write_string(&mut out, kind);
    out.extend_from_slice(br#","image":"#);
    write_string(&mut out, reference);
    match &rule.signers {
        Signers::PubKeys(keys) => {
            out.extend_from_slice(br#","pub_keys":"#);
            write_list(&mut out, keys, |out, key| write_string(out, key));
        }
        Signers::Keyless(identities) => {
            out.extend_from_slice(br#","keyless":"#);
            write_identities(&mut out, identities, "subject");
        }
        Signers::KeylessPrefix(identities) => {
            out.extend_from_slice(br#","keyless_prefix":"#);
            write_identities(&mut out, identities, "url_prefix");
        }
        Signers::GithubActions { owner, repo } => {
            out.extend_from_slice(br#","owner":"#);
            write_string(&mut out, owner);
            out.extend_from_slice(br#","repo":"#);
            match repo {
                Some(repo) => write_string(&mut out, repo),
                None => out.extend_from_slice(b"null"),
            }
        }
        Signers::Certificates { .. } => {
            let (certificate, chain, require_rekor_bundle) = certificate.unwrap_or(("", &[], false));
            // The SDK sends PEM text as bytes (`Vec<u8>`): a list of numbers.
            out.extend_from_slice(br#","certificate":"#);
            write_bytes(&mut out, certificate.as_bytes());
            out.extend_from_slice(br#","certificate_chain":"#);
            if chain.is_empty() {
                out.extend_from_slice(b"null");
            } else {
                write_list(&mut out, chain, |out, pem| write_bytes(out, pem.as_bytes()));
            }
            out.extend_from_slice(br#","require_rekor_bundle":"#);
            out.extend_from_slice(if require_rekor_bundle { b"true" } else { b"false" });
        }
    }
    out.extend_from_slice(br#","annotations":"#);
    if rule.annotations.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        out.push(b'{');
        for (i, (name, value)) in rule.annotations.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_string(&mut out, name);
            out.push(b':');
            write_string(&mut out, value);
        }
        out.push(b'}');
    }
    out.push(b'}');
    out
}

/// `[item,item,…]`, each written by `write`.
fn write_list<T>(out: &mut Vec<u8>, items: &[T], write: impl Fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// `[{"issuer":…,"<subject>":…},…]`.
fn write_identities(out: &mut Vec<u8>, identities: &[Identity<'_>], subject: &str) {
    write_list(out, identities, |out, identity| {
        out.extend_from_slice(br#"{"issuer":"#);
        write_string(out, identity.issuer);
        out.push(b',');
        write_string(out, subject);
        out.push(b':');
        write_string(out, identity.subject);
        out.push(b'}');
    });
}

/// Bytes as the SDK serializes `Vec<u8>`: a list of decimal numbers.
fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_list(out, bytes, |out, byte| {
        let (hundreds, tens, ones) = (byte / 100, byte / 10 % 10, byte % 10);
        if hundreds > 0 {
            out.push(b'0' + hundreds);
        }
        if hundreds > 0 || tens > 0 {
            out.push(b'0' + tens);
        }
        out.push(b'0' + ones);
    });
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use kubewarden_policy_sdk::host_capabilities::SigstoreVerificationInputV2 as Sdk;
    use kubewarden_policy_sdk::host_capabilities::verification::{KeylessInfo, KeylessPrefixInfo};
    use serde_json::Value;

    use super::*;

    const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----";
    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const IMAGE: &str = "ghcr.io/acme/app:1";

    fn rule(signers: Signers<'static>, annotations: Vec<(&'static str, &'static str)>) -> SignatureRule<'static> {
        SignatureRule::new(0, "ghcr.io/acme/*", signers, annotations).unwrap()
    }

    fn ours(rule: &SignatureRule<'_>) -> Vec<Value> {
        let mut asked = Vec::new();
        let mut host = |operation: &str, payload: &[u8]| {
            assert_eq!(operation, "v2/verify");
            asked.push(serde_json::from_slice::<Value>(payload).unwrap());
            Ok(format!(r#"{{"is_trusted":true,"digest":"{DIGEST}"}}"#).into_bytes())
        };
        assert_eq!(verify(&mut host, IMAGE, rule), Ok(DIGEST.to_string()));
        asked
    }

    fn sdk(input: Sdk) -> Value {
        serde_json::to_value(input).unwrap()
    }

    #[test]
    fn requests_are_what_the_sdk_serializes() {
        let annotations = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let keyless = vec![Identity { issuer: "https://issuer.example", subject: "me@example.com" }];
        let cases = [
            (
                rule(Signers::PubKeys(vec![KEY, KEY]), vec![("env", "prod")]),
                vec![sdk(Sdk::SigstorePubKeyVerify {
                    image: IMAGE.into(),
                    pub_keys: vec![KEY.into(), KEY.into()],
                    annotations: Some(annotations.clone()),
                })],
            ),
            (
                rule(Signers::Keyless(keyless.clone()), vec![]),
                vec![sdk(Sdk::SigstoreKeylessVerify {
                    image: IMAGE.into(),
                    keyless: vec![KeylessInfo {
                        issuer: "https://issuer.example".into(),
                        subject: "me@example.com".into(),
                    }],
                    annotations: None,
                })],
            ),
            (
                rule(
                    Signers::KeylessPrefix(vec![Identity {
                        issuer: "https://i.example",
                        subject: "https://github.com/acme/",
                    }]),
                    vec![],
                ),
                vec![sdk(Sdk::SigstoreKeylessPrefixVerify {
                    image: IMAGE.into(),
                    keyless_prefix: vec![KeylessPrefixInfo {
                        issuer: "https://i.example".into(),
                        url_prefix: "https://github.com/acme/".into(),
                    }],
                    annotations: None,
                })],
            ),
            (
                rule(Signers::GithubActions { owner: "acme", repo: None }, vec![]),
                vec![sdk(Sdk::SigstoreGithubActionsVerify {
                    image: IMAGE.into(),
                    owner: "acme".into(),
                    repo: None,
                    annotations: None,
                })],
            ),
            (
                rule(
                    Signers::Certificates {
                        certificates: vec![CERT, KEY],
                        chain: vec![CERT],
                        require_rekor_bundle: true,
                    },
                    vec![],
                ),
                vec![
                    sdk(Sdk::SigstoreCertificateVerify {
                        image: IMAGE.into(),
                        certificate: CERT.as_bytes().to_vec(),
                        certificate_chain: Some(vec![CERT.as_bytes().to_vec()]),
                        require_rekor_bundle: true,
                        annotations: None,
                    }),
                    sdk(Sdk::SigstoreCertificateVerify {
                        image: IMAGE.into(),
                        certificate: KEY.as_bytes().to_vec(),
                        certificate_chain: Some(vec![CERT.as_bytes().to_vec()]),
                        require_rekor_bundle: true,
                        annotations: None,
                    }),
                ],
            ),
        ];
        for (rule, expected) in cases {
            assert_eq!(ours(&rule), expected, "{rule}");
        }
        let rule = rule(
            Signers::Certificates { certificates: vec![CERT], chain: vec![], require_rekor_bundle: false },
            vec![],
        );
        assert_eq!(ours(&rule)[0]["certificate_chain"], Value::Null);
        assert_eq!(ours(&rule)[0]["require_rekor_bundle"], Value::Bool(false));
    }

    #[test]
    fn only_a_trusted_answer_with_a_digest_passes() {
        let rule = rule(Signers::PubKeys(vec![KEY]), vec![]);
        for (answer, expected) in [
            (
                format!(r#"{{"is_trusted":false,"digest":"{DIGEST}"}}"#),
                "the host answered that the image is not trusted",
            ),
            (r#"{"is_trusted":true,"digest":"latest"}"#.to_string(), "which is not a digest"),
            (r#"{"is_trusted":true}"#.to_string(), "the host's answer is not {\"is_trusted\": true"),
            ("not json".to_string(), "the host's answer is not"),
            (format!(r#"{{"is_trusted":"yes","digest":"{DIGEST}"}}"#), "the host's answer is not"),
        ] {
            let mut host = |_: &str, _: &[u8]| Ok(answer.clone().into_bytes());
            let error = verify(&mut host, IMAGE, &rule).unwrap_err();
            assert!(error.contains(expected), "{answer}: {error}");
        }
        let mut host = |_: &str, _: &[u8]| Err("no signatures found".to_string());
        assert_eq!(verify(&mut host, IMAGE, &rule), Err("no signatures found".to_string()));
    }

    #[test]
    fn certificates_must_agree_on_the_digest() {
        let rule = rule(
            Signers::Certificates { certificates: vec![CERT, CERT], chain: vec![], require_rekor_bundle: false },
            vec![],
        );
        let mut n = 0;
        let mut host = |_: &str, _: &[u8]| {
            n += 1;
            Ok(format!(r#"{{"is_trusted":true,"digest":"sha256:{}"}}"#, n.to_string().repeat(64)).into_bytes())
        };
        assert!(verify(&mut host, IMAGE, &rule).unwrap_err().contains("the tag moved while it was checked"));
    }
}
