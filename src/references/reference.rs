//! Parses container image references exactly as Docker and containerd do
//! (`ParseNormalizedNamed` of distribution/reference, digests checked as
//! go-digest does). One pass over the input, no regular expressions, no
//! backtracking: linear in the length of the reference.
//!
//! The grammar, as distribution/reference states it:
//!
//! ```text
//! reference       := name [ ":" tag ] [ "@" digest ]
//! name            := [domain '/'] remote-name
//! domain          := host [':' port-number]
//! host            := domain-name | '[' ipv6-chars ']'
//! domain-name     := label ('.' label)*
//! label           := [A-Za-z0-9] | [A-Za-z0-9] [A-Za-z0-9-]* [A-Za-z0-9]
//! ipv6-chars      := [0-9A-Fa-f:]+
//! port-number     := [0-9]+
//! remote-name     := path-component ('/' path-component)*
//! path-component  := [a-z0-9]+ (separator [a-z0-9]+)*
//! separator       := '.' | '_' | '__' | '-'+
//! tag             := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! digest          := algorithm ':' encoded
//! algorithm       := component ([+._-] component)*
//! component       := [A-Za-z] [A-Za-z0-9]*
//! encoded         := [0-9A-Fa-f]{32,}
//! ```
//!
//! Normalization (`splitDockerDomain`), applied before the grammar:
//! - an input of exactly 64 lowercase hex characters is refused (it is an
//!   image ID, not a name);
//! - with no `/`, the domain is `docker.io` and the path `library/<input>`;
//! - otherwise the first component is the domain when it is `localhost`,
//!   contains `.` or `:`, or contains an uppercase letter; else the domain is
//!   `docker.io` and the whole input is the path;
//! - the exact domain `index.docker.io` becomes `docker.io`; a `docker.io`
//!   path of one component gets the `library/` prefix;
//! - the path (up to the first `:`) must be lowercase, and at most 255 bytes.
//!
//! Digests: `sha256`, `sha384` and `sha512` are supported (what Docker and
//! containerd binaries link), with exactly 64, 96 and 128 lowercase hex
//! characters; any other algorithm is refused as unsupported.
//!
//! This module only parses: which registry a reference *means* (Docker Hub
//! aliases, port 443, case) is decided in `registry.rs`.

use std::borrow::Cow;
use std::fmt;

/// Longest path (repository name without the domain) the grammar accepts.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// Longest tag the grammar accepts.
const TAG_LENGTH_MAX: usize = 128;

/// Docker Hub's canonical domain, implied when a reference names none.
pub const DOCKER_HUB: &str = "docker.io";
/// The legacy spelling distribution/reference rewrites to `docker.io`.
const LEGACY_DOCKER_HUB: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";

/// A reference as Docker and containerd read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference<'a> {
    /// The domain as written (`docker.io` when implied or spelled
    /// `index.docker.io`). Empty for the grammar's one quirk, a first
    /// component with `.` that is not a valid host (`foo_bar.com/app`).
    pub domain: &'a str,
    /// The repository path, with `library/` added for official images.
    pub path: Cow<'a, str>,
    /// The tag as written; `None` when the reference has none.
    pub tag: Option<&'a str>,
    /// The digest (`algorithm:hex`) as written.
    pub digest: Option<&'a str>,
}

impl Reference<'_> {
    /// Neither tag nor digest written: runtimes pull `:latest`.
    pub fn implicit_latest(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }
}

impl fmt::Display for Reference<'_> {
    /// The fully qualified form (`String()` in distribution/reference).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.domain.is_empty() {
            write!(f, "{}/", self.domain)?;
        }
        f.write_str(&self.path)?;
        if let Some(tag) = self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Why a reference was refused; one variant per error of distribution/reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceError {
    /// 64 hex characters: an image ID, not a reference.
    HexIdentifier,
    /// The repository path has an uppercase letter.
    NameContainsUppercase,
    /// The text does not follow the grammar.
    InvalidFormat,
    /// The repository path is longer than 255 bytes.
    NameTooLong,
    /// The digest's hex part has the wrong length for its algorithm.
    DigestInvalidLength,
    /// The digest's hex part is not lowercase hex.
    DigestInvalidFormat,
    /// The digest algorithm is not one runtimes support.
    DigestUnsupported,
}

impl ReferenceError {
    /// The category name used by the reference test vectors.
    pub fn code(self) -> &'static str {
        match self {
            Self::HexIdentifier => "hex_identifier",
            Self::NameContainsUppercase => "name_contains_uppercase",
            Self::InvalidFormat => "invalid_reference_format",
            Self::NameTooLong => "name_too_long",
            Self::DigestInvalidLength => "digest_invalid_length",
            Self::DigestInvalidFormat => "digest_invalid_format",
            Self::DigestUnsupported => "digest_unsupported",
        }
    }
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HexIdentifier => "a 64-character hexadecimal string is an image ID, not an image reference",
            Self::NameContainsUppercase => "the repository name must be lowercase",
            Self::InvalidFormat => "invalid reference format",
            Self::NameTooLong => "the repository name is longer than 255 characters",
            Self::DigestInvalidLength => "the digest has the wrong length for its algorithm",
            Self::DigestInvalidFormat => "the digest is not lowercase hexadecimal",
            Self::DigestUnsupported => "unsupported digest algorithm (use sha256, sha384 or sha512)",
        })
    }
}

impl std::error::Error for ReferenceError {}

/// Parses `input` as `ParseNormalizedNamed` does.
pub fn parse(input: &str) -> Result<Reference<'_>, ReferenceError> {
    if input.len() == 64 && input.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ReferenceError::HexIdentifier);
    }
    let (domain, remainder) = split_docker_domain(input);
    // distribution/reference checks case on everything before the first ':'
    // of the remainder (so an uppercase digest algorithm counts too).
    let remote_name = remainder.split(':').next().unwrap_or_default();
    if remote_name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::NameContainsUppercase);
    }
    let parts = match match_reference(domain, remainder) {
        Some(parts) => parts,
        None => {
            // As distribution/reference: when the lowercased text would have
            // matched, the error is the uppercase letter.
            let (d, r) = (domain.to_ascii_lowercase(), remainder.to_ascii_lowercase());
            return Err(if (d.as_str(), r.as_str()) != (domain, remainder) && match_reference(&d, &r).is_some() {
                ReferenceError::NameContainsUppercase
            } else {
                ReferenceError::InvalidFormat
            });
        }
    };
    let path: Cow<'_, str> = if parts.no_domain {
        // `foo_bar.com/app`: the would-be domain, which is always a prefix of
        // the input here, is the first path component.
        Cow::Borrowed(&input[..domain.len() + 1 + parts.path.len()])
    } else if domain == DOCKER_HUB && !parts.path.contains('/') {
        Cow::Owned(format!("{OFFICIAL_REPO_PREFIX}{}", parts.path))
    } else {
        Cow::Borrowed(parts.path)
    };
    if path.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong);
    }
    if let Some(digest) = parts.digest {
        validate_digest(digest)?;
    }
    Ok(Reference { domain: if parts.no_domain { "" } else { domain }, path, tag: parts.tag, digest: parts.digest })
}

/// `splitDockerDomain`: which part of the input names the registry.
/// Returns the domain and the rest; the `library/` prefix is decided later,
/// once the path is known, so that nothing is allocated here.
fn split_docker_domain(input: &str) -> (&str, &str) {
    let (domain, remainder) = match input.split_once('/') {
        Some((first, rest)) if looks_like_domain(first) => (first, rest),
        _ => (DOCKER_HUB, input),
    };
    if domain == LEGACY_DOCKER_HUB { (DOCKER_HUB, remainder) } else { (domain, remainder) }
}

/// The first path component names a registry when it is `localhost`,
/// contains `.` or `:`, or holds an uppercase letter.
pub fn looks_like_domain(first: &str) -> bool {
    first == "localhost" || first.bytes().any(|b| b == b'.' || b == b':' || b.is_ascii_uppercase())
}

/// The pieces of a reference that matched the grammar.
struct Parts<'a> {
    /// The path within the remainder (no `library/` prefix yet).
    path: &'a str,
    /// The domain is not a valid host but a path component: the reference
    /// has no domain and the domain text belongs to the path.
    no_domain: bool,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// Matches `domain + "/" + remainder` against the anchored reference grammar
/// without building that string. As in distribution/reference, the domain is
/// kept only when it is a valid `host[:port]`; otherwise it must itself be a
/// path component and the reference has no domain.
fn match_reference<'a>(domain: &str, remainder: &'a str) -> Option<Parts<'a>> {
    let (name_and_tag, digest) = match remainder.split_once('@') {
        Some((name, digest)) if is_digest_syntax(digest) => (name, Some(digest)),
        Some(_) => return None,
        None => (remainder, None),
    };
    // Path components cannot hold ':', so the first ':' left of the digest
    // starts the tag.
    let (path, tag) = match name_and_tag.split_once(':') {
        Some((path, tag)) if is_tag(tag) => (path, Some(tag)),
        Some(_) => return None,
        None => (name_and_tag, None),
    };
    if !path.split('/').all(is_path_component) {
        return None;
    }
    let no_domain = if is_domain(domain) {
        false
    } else if is_path_component(domain) {
        true
    } else {
        return None;
    };
    Some(Parts { path, no_domain, tag, digest })
}

/// `host [':' port]`.
pub fn is_domain(s: &str) -> bool {
    let (host, port) = split_host_port(s);
    is_host(host) && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Splits `host[:port]`, understanding bracketed IPv6 hosts.
pub fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if s.starts_with('[') {
        match s.find(']') {
            Some(end) => match &s[end + 1..] {
                "" => (s, None),
                rest => match rest.strip_prefix(':') {
                    Some(port) => (&s[..=end], Some(port)),
                    // Something other than ":port" after ']': not a host;
                    // returning the whole string makes is_host refuse it.
                    None => (s, None),
                },
            },
            None => (s, None),
        }
    } else {
        match s.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        }
    }
}

/// `domain-name | '[' [0-9A-Fa-f:]+ ']'`.
pub fn is_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[') {
        return match inner.strip_suffix(']') {
            Some(ip) => !ip.is_empty() && ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'),
            None => false,
        };
    }
    is_dns_name(host.as_bytes(), &ALPHANUMERIC)
}

/// A host name in canonical form already: `is_host` without uppercase
/// letters or brackets. Settings patterns are mostly such names, and they
/// are read on every request.
pub fn is_lowercase_host_name(host: &str) -> bool {
    is_dns_name(host.as_bytes(), &LOWERCASE_ALPHANUMERIC)
}

/// Which bytes are letters or digits in a host name: a table, because a
/// byte class test per byte was a fifth of compiling 1,000 host rules.
const fn byte_class(lowercase_only: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_lowercase() || c.is_ascii_digit() || (!lowercase_only && c.is_ascii_uppercase());
        b += 1;
    }
    table
}
static ALPHANUMERIC: [bool; 256] = byte_class(false);
static LOWERCASE_ALPHANUMERIC: [bool; 256] = byte_class(true);

/// Dot-separated labels, each of letters (as `letters` says), digits and
/// `-`, starting and ending with a letter or digit. One pass over the bytes.
fn is_dns_name(bytes: &[u8], letters: &[bool; 256]) -> bool {
    let mut previous = b'.';
    for &b in bytes {
        if !letters[usize::from(b)] {
            let fits = match b {
                b'.' => previous != b'.' && previous != b'-',
                b'-' => previous != b'.',
                _ => false,
            };
            if !fits {
                return false;
            }
        }
        previous = b;
    }
    previous != b'.' && previous != b'-'
}

/// `[a-z0-9]+ (('.' | '_' | '__' | '-'+) [a-z0-9]+)*`.
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().is_some_and(|b| alnum(*b)) || !bytes.last().is_some_and(|b| alnum(*b)) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        // A separator run: one '.', one or two '_', or any number of '-'.
        let sep = bytes[i];
        let start = i;
        while i < bytes.len() && bytes[i] == sep {
            i += 1;
        }
        let ok = match sep {
            b'.' => i - start == 1,
            b'_' => i - start <= 2,
            b'-' => true,
            _ => false,
        };
        // The run must be followed by an alphanumeric (not another separator).
        if !ok || !bytes.get(i).is_some_and(|b| alnum(*b)) {
            return false;
        }
    }
    true
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn is_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= TAG_LENGTH_MAX
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The digest grammar (not yet the algorithm's own rules).
fn is_digest_syntax(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    is_algorithm(algorithm) && encoded.len() >= 32 && encoded.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `component ([+._-] component)*`, `component := [A-Za-z][A-Za-z0-9]*`.
fn is_algorithm(algorithm: &str) -> bool {
    algorithm.split(['+', '.', '_', '-']).all(|c| {
        c.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) && c.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// go-digest's `Digest.Validate` for the algorithms runtimes link.
fn validate_digest(digest: &str) -> Result<(), ReferenceError> {
    let (algorithm, encoded) = digest.split_once(':').ok_or(ReferenceError::DigestInvalidFormat)?;
    let hex_len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(ReferenceError::DigestUnsupported),
    };
    if encoded.len() != hex_len {
        return Err(ReferenceError::DigestInvalidLength);
    }
    if !encoded.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ReferenceError::DigestInvalidFormat);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Vectors {
        vectors: Vec<Vector>,
    }

    #[derive(Deserialize)]
    struct Vector {
        input: String,
        valid: bool,
        domain: Option<String>,
        path: Option<String>,
        tag: Option<String>,
        digest: Option<String>,
        implicit_latest: Option<bool>,
        normalized: Option<String>,
        error: Option<String>,
        #[serde(default)]
        environment_dependent: bool,
    }

    /// Every vector of tests/data/reference-vectors.json (a copy of the
    /// project's shared reference data).
    #[test]
    fn parser_matches_every_reference_vector() {
        let data = include_str!("../../tests/data/reference-vectors.json");
        let vectors: Vectors = serde_json::from_str(data).unwrap();
        assert_eq!(vectors.vectors.len(), 303);
        let mut failures = Vec::new();
        for v in &vectors.vectors {
            if v.environment_dependent {
                // sha512 digests: the vector records the upstream test
                // binary, which links no sha512. Runtimes do, and so do we.
                let parsed = parse(&v.input);
                assert!(parsed.is_ok(), "{}: {parsed:?}", v.input);
                continue;
            }
            match (parse(&v.input), v.valid) {
                (Ok(r), true) => {
                    let got = (
                        r.domain.to_string(),
                        r.path.to_string(),
                        r.tag.map(str::to_string),
                        r.digest.map(str::to_string),
                        r.implicit_latest(),
                        r.to_string(),
                    );
                    let want = (
                        v.domain.clone().unwrap(),
                        v.path.clone().unwrap(),
                        v.tag.clone(),
                        v.digest.clone(),
                        v.implicit_latest.unwrap(),
                        v.normalized.clone().unwrap(),
                    );
                    if got != want {
                        failures.push(format!("{:?}: got {got:?}, want {want:?}", v.input));
                    }
                }
                (Err(e), false) => {
                    if Some(e.code()) != v.error.as_deref() {
                        failures.push(format!("{:?}: got {}, want {:?}", v.input, e.code(), v.error));
                    }
                }
                (got, _) => failures.push(format!("{:?}: got {got:?}, want valid={}", v.input, v.valid)),
            }
        }
        assert!(failures.is_empty(), "{} vectors failed:\n{}", failures.len(), failures.join("\n"));
    }

    #[test]
    fn official_image_gets_library_prefix_and_implicit_latest() {
        let r = parse("nginx").unwrap();
        assert_eq!((r.domain, &*r.path, r.tag, r.implicit_latest()), ("docker.io", "library/nginx", None, true));
    }

    #[test]
    fn digest_only_reference_has_no_tag_and_no_implicit_latest() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let input = format!("nginx@{digest}");
        let r = parse(&input).unwrap();
        assert_eq!((r.tag, r.digest, r.implicit_latest()), (None, Some(digest.as_str()), false));
    }

    #[test]
    fn sha384_and_sha512_need_their_exact_lengths() {
        assert!(parse(&format!("a@sha384:{}", "b".repeat(96))).is_ok());
        assert_eq!(parse(&format!("a@sha384:{}", "b".repeat(64))), Err(ReferenceError::DigestInvalidLength));
        assert!(parse(&format!("a@sha512:{}", "c".repeat(128))).is_ok());
    }

    #[test]
    fn tag_of_128_characters_is_the_longest() {
        assert!(parse(&format!("a:{}", "t".repeat(128))).is_ok());
        assert_eq!(parse(&format!("a:{}", "t".repeat(129))), Err(ReferenceError::InvalidFormat));
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        for input in ["", "/", "@", ":", "[", "[]/a", "a/@", "\u{e9}/a", "a/b:@sha256:", "[::1]x/a", "a\n"] {
            assert!(parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn lowercase_host_names_are_the_hosts_without_uppercase_or_brackets() {
        for host in [
            "a",
            "a.b",
            "a-b.c",
            "a--b",
            "0.0",
            "registry-9.corp.internal",
            "",
            ".",
            "a.",
            ".a",
            "a..b",
            "-a",
            "a-",
            "a.-b",
            "a-.b",
            "A.b",
            "a_b",
            "[::1]",
            "a:5000",
            "a b",
            "\u{e9}",
        ] {
            let expected = is_host(host) && !host.starts_with('[') && !host.bytes().any(|b| b.is_ascii_uppercase());
            assert_eq!(is_lowercase_host_name(host), expected, "{host:?}");
        }
    }
}
