//! Which registry an image reference *means*, for matching: one canonical
//! spelling per registry, so that no alternative spelling slips past a rule.
//!
//! - The host is lowercased (`Evil.COM` and `evil.com` are one host: DNS is
//!   case-insensitive).
//! - Port 443 is the default HTTPS port: `reg.io:443` is `reg.io`.
//! - A bracketed IPv6 host is written in its canonical form
//!   (`[0:0::1]` is `[::1]`).
//! - `docker.io`, `index.docker.io` and `registry-1.docker.io` (on the
//!   default port) are one registry, Docker Hub, canonically `docker.io`.
//!   Patterns are matched against all three of its names.
//! - A reference with no registry (the grammar's `foo_bar.com/app` quirk), a
//!   port outside 1-65535 or a bracketed host that is not an IPv6 address
//!   cannot be pulled from anywhere we could name: it is refused.

use std::borrow::Cow;
use std::fmt;

use crate::references::reference::{DOCKER_HUB, split_host_port};

/// The names Docker Hub answers to; the first is canonical.
pub const DOCKER_HUB_NAMES: [&str; 3] = [DOCKER_HUB, "index.docker.io", "registry-1.docker.io"];

/// The port a registry is reached on when none is written.
const DEFAULT_PORT: u16 = 443;

/// A registry in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry<'a> {
    /// Lowercase host; `[canonical-ipv6]` for IPv6; `docker.io` for Docker Hub.
    pub host: Cow<'a, str>,
    /// `None` for the default port (none written, or 443).
    pub port: Option<u16>,
    /// How messages write the registry when its canonical form would not read
    /// back as one: `Evil/app` pulls from the host `evil`, but `evil/app` is
    /// a Docker Hub image, so messages keep `Evil` (likewise `o:443`).
    shown_as: Option<&'a str>,
}

/// Why a domain does not name a registry we can match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryError {
    NoRegistry,
    PortOutOfRange(String),
    InvalidIpv6(String),
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRegistry => f.write_str(
                "the reference names no registry host (its first component is neither a host nor a Docker Hub namespace)",
            ),
            Self::PortOutOfRange(port) => write!(f, "registry port {port} is outside 1-65535"),
            Self::InvalidIpv6(host) => write!(f, "registry host {host} is not an IPv6 address"),
        }
    }
}

impl<'a> Registry<'a> {
    /// Canonical registry of a domain that passed the reference grammar
    /// (`host[:port]`), or of a literal host pattern.
    pub fn from_domain(domain: &'a str) -> Result<Self, RegistryError> {
        if domain.is_empty() {
            return Err(RegistryError::NoRegistry);
        }
        let (host, port) = split_host_port(domain);
        let port = match port {
            None => None,
            Some(digits) => match parse_port(digits) {
                Some(DEFAULT_PORT) => None,
                Some(port) => Some(port),
                None => return Err(RegistryError::PortOutOfRange(digits.to_string())),
            },
        };
        let host = canonical_host(host)?;
        let host =
            if port.is_none() && DOCKER_HUB_NAMES.contains(&host.as_ref()) { Cow::Borrowed(DOCKER_HUB) } else { host };
        // Recognized as a host only for its case or its `:443`: messages keep
        // the domain as written (found by fuzzing: `o:443/r` shown as `o/r`).
        let shown_as = (port.is_none() && !crate::references::reference::looks_like_domain(&host)).then_some(domain);
        Ok(Registry { host, port, shown_as })
    }

    /// An owned copy, for registries kept in the compiled settings. Only for
    /// registries whose canonical form reads back as a registry (the display
    /// override is dropped).
    pub fn into_owned(self) -> Registry<'static> {
        Registry { host: Cow::Owned(self.host.into_owned()), port: self.port, shown_as: None }
    }

    pub fn is_docker_hub(&self) -> bool {
        self.port.is_none() && self.host == DOCKER_HUB
    }

    /// Every name the registry answers to (three for Docker Hub).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let hub = self.is_docker_hub();
        let aliases: &[&str] = if hub { &DOCKER_HUB_NAMES } else { &[] };
        (!hub).then_some(self.host.as_ref()).into_iter().chain(aliases.iter().copied())
    }
}

/// `1..=65535`, leading zeros allowed (`00443` is 443, as Go's strconv reads it).
pub fn parse_port(digits: &str) -> Option<u16> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    if trimmed.len() > 5 {
        return None;
    }
    trimmed.parse::<u32>().ok().filter(|p| (1..=65535).contains(p)).map(|p| p as u16)
}

/// Lowercase host, IPv6 in canonical form.
pub fn canonical_host(host: &str) -> Result<Cow<'_, str>, RegistryError> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return match canonical_ipv6(inner) {
            Some(ip) => Ok(Cow::Owned(format!("[{ip}]"))),
            None => Err(RegistryError::InvalidIpv6(host.to_string())),
        };
    }
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Ok(Cow::Owned(host.to_ascii_lowercase()))
    } else {
        Ok(Cow::Borrowed(host))
    }
}

/// An IPv6 address in hex groups (what the reference grammar allows inside
/// brackets: no dotted IPv4 tail, no zone), written as RFC 5952 says: lowercase,
/// no leading zeros, the longest run of two or more zero groups (the first,
/// on a tie) as `::`. Hand-written: std's parser and formatter cost 6.6 KB of
/// wasm for this one use.
pub fn canonical_ipv6(text: &str) -> Option<String> {
    fn groups(side: &str) -> Option<Vec<u16>> {
        if side.is_empty() {
            return Some(Vec::new());
        }
        // Hex digits only: `from_str_radix` alone also takes a leading `+`.
        let group = |g: &str| {
            let hex = (1..=4).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_hexdigit());
            hex.then(|| u16::from_str_radix(g, 16).ok()).flatten()
        };
        side.split(':').map(group).collect()
    }
    let mut words = [0u16; 8];
    match text.split_once("::") {
        None => {
            let all = groups(text)?;
            words.copy_from_slice(all.get(..8).filter(|_| all.len() == 8)?);
        }
        Some((left, right)) => {
            let (left, right) = (groups(left)?, groups(right)?);
            if right.len() + left.len() > 7 || text.matches("::").count() > 1 {
                return None;
            }
            words[..left.len()].copy_from_slice(&left);
            words[8 - right.len()..].copy_from_slice(&right);
        }
    }
    // The longest run of zero words, two or more long.
    let (mut best, mut run) = ((0, 0), (0, 0));
    for (i, w) in words.iter().enumerate() {
        run = if *w == 0 { (if run.1 == 0 { i } else { run.0 }, run.1 + 1) } else { (0, 0) };
        if run.1 > best.1 {
            best = run;
        }
    }
    let hex = |ws: &[u16]| ws.iter().map(|w| format!("{w:x}")).collect::<Vec<_>>().join(":");
    Some(if best.1 >= 2 {
        format!("{}::{}", hex(&words[..best.0]), hex(&words[best.0 + best.1..]))
    } else {
        hex(&words)
    })
}

impl fmt::Display for Registry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(self.shown_as.unwrap_or(&self.host)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_written_as_std_writes_it() {
        let cases = [
            "::",
            "::1",
            "1::",
            "fc00::1",
            "FC00:0:0:0:0:0:0:1",
            "2001:db8::",
            "2001:db8:0:0:1:0:0:1",
            "0:0:1:0:0:0:1:0",
            "1:2:3:4:5:6:7:8",
            "1:0:0:4:5:0:0:0",
            "2001:0db8:0000:0000:0000:ff00:0042:8329",
            "0:0:0:0:0:0:0:0",
        ];
        for case in cases {
            let std: std::net::Ipv6Addr = case.parse().unwrap();
            assert_eq!(canonical_ipv6(case), Some(std.to_string()), "{case}");
        }
    }

    #[test]
    fn what_is_not_an_ipv6_address_is_refused() {
        for bad in [
            "",
            ":",
            ":::",
            "1:::2",
            "1::2::3",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "12345::",
            "1::2:3:4:5:6:7:8",
            ":1:2:3:4:5:6:7",
            "g::",
            // `from_str_radix` takes a leading sign; an address does not.
            "+1::",
            "::+ab",
        ] {
            assert_eq!(canonical_ipv6(bad), None, "{bad}");
        }
    }
}
