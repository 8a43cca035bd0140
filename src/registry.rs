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
use std::net::Ipv6Addr;

use crate::reference::{DOCKER_HUB, split_host_port};

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
        Ok(Registry { host, port })
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
        return match inner.parse::<Ipv6Addr>() {
            Ok(ip) => Ok(Cow::Owned(format!("[{ip}]"))),
            Err(_) => Err(RegistryError::InvalidIpv6(host.to_string())),
        };
    }
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Ok(Cow::Owned(host.to_ascii_lowercase()))
    } else {
        Ok(Cow::Borrowed(host))
    }
}

impl fmt::Display for Registry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}
