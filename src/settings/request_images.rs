//! On `validate`, long rule lists are compiled only where they can match
//! the request's images (see `RequestImages`): a PolicyServer hands the
//! settings to every request, each in a fresh instance, and 1,000 rules
//! must cost a scan of their bytes, not a parse each.

use crate::references::image::Image;
use crate::request::discovery::Found;
use crate::request::json::Document;

/// Every name of every registry a request's images pull from (Docker Hub's
/// three), for compiling `registries.allow` / `reject` lazily on `validate`:
/// a rule that is a plain host name (no wildcard, port, IPv6 or capital:
/// `is_plain_host`) matches an image only by being equal to one of these
/// names, and `*.` followed by a plain name only by being a dot-suffix of
/// one; a plain rule that cannot match is counted for messages (which name
/// the first few as written) but neither validated nor compiled. 1,000
/// literal registries then cost a scan of their bytes, not a parse and an
/// index entry each.
///
/// Not validating those rules on `validate` is a decision, not a gap: the
/// host runs `validate_settings` (which checks every rule) before the policy
/// serves any request, and refuses to load it when that fails; an invalid
/// plain rule is never equal to a valid registry name, so it could only ever
/// be skipped here. Rules that are not plain are always compiled.
///
/// Off (every rule compiled) when the registry an image is decided on may
/// not be the one it was found with: `mirrors` rewrite it before the rules,
/// and `imageFields` images are found after the settings are compiled.
///
/// The names are gathered on the first list long enough to pay for it
/// (`LAZY_FROM` rules): parsing the request's images costs about as much as
/// compiling a dozen rules.
///
/// Image lists (`images.allow` / `reject`, `exemptImages`) are read the same
/// way: a pattern without wildcards matches an image only when its
/// repository path is the image's, so one whose last path component (the
/// repository's name, which normalizing never changes) is none of the
/// request's images' is counted but not parsed.
pub struct RequestImages<'f> {
    found: &'f [Found<'f>],
    gathered: Option<Gathered>,
}

/// What `RequestImages` gathers from the request's images, once.
#[derive(Clone, Default)]
pub(super) struct Gathered {
    /// Every name of every registry.
    pub(super) names: Vec<String>,
    /// The last component of every repository path (`nginx` for
    /// `docker.io/library/nginx`).
    pub(super) repositories: Vec<String>,
}

/// The text after the last '/' (all of it without one).
fn last_component(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, last)| last)
}

/// Lists shorter than this are compiled whole (see `RequestImages`).
pub(super) const LAZY_FROM: usize = 32;

impl<'f> RequestImages<'f> {
    pub(super) fn of(document: &Document<'_>, found: &'f [Found<'f>]) -> Option<Self> {
        let set = |key| document.get(key).is_some_and(|v| *v != Document::Null);
        if set("mirrors") || set("imageFields") {
            return None;
        }
        Some(RequestImages { found, gathered: None })
    }

    /// The request's registry names and repository names, gathered on
    /// first use.
    pub(super) fn gathered(&mut self) -> &Gathered {
        let found = self.found;
        self.gathered.get_or_insert_with(|| {
            let mut gathered = Gathered::default();
            let add = |list: &mut Vec<String>, item: &str| {
                if !list.iter().any(|n| n == item) {
                    list.push(item.to_string());
                }
            };
            // An image that does not parse is refused before any rule is read.
            for image in found.iter().filter_map(|f| f.image.as_ref().ok()).filter_map(|w| Image::parse(w).ok()) {
                for name in image.registry.names() {
                    add(&mut gathered.names, name);
                }
                add(&mut gathered.repositories, last_component(&image.path));
            }
            gathered
        })
    }

    /// True when `pattern` has no wildcard and names a repository none of
    /// the request's images is in (its last path component differs): it
    /// cannot match any image of this request.
    pub(super) fn image_cannot_match(repositories: &[String], pattern: &str) -> bool {
        // `repo@digest`, `host:port/path/repo:tag`: the repository's name is
        // between the last '/' before any '@' and the ':' of a tag.
        let name = pattern.split_once('@').map_or(pattern, |(name, _)| name);
        let name = last_component(name);
        let name = name.split_once(':').map_or(name, |(name, _)| name);
        !pattern.bytes().any(|b| matches!(b, b'*' | b'?')) && !repositories.iter().any(|r| r == name)
    }

    /// True when `rule` is a plain host name (or `*.` and one) that no name
    /// of the request's registries is (or ends with, after a label): it
    /// cannot match any image of this request.
    pub(super) fn cannot_match(names: &[String], rule: &str) -> bool {
        let (suffix, plain) = match rule.as_bytes() {
            [b'*', b'.', ..] => (&rule[1..], true),
            [b'*', ..] => (rule, false),
            _ => (rule, true),
        };
        plain
            && is_plain_host(suffix.as_bytes())
            && !names.iter().any(|name| match rule.len() == suffix.len() {
                true => name == rule,
                false => name.len() > suffix.len() && name.ends_with(suffix),
            })
    }
}

/// Whether a rule needs no canonical form to be compared with a registry
/// name: none of its bytes is a capital, `*`, `?`, `:` (a port), `[` or `]`
/// (IPv6), or >= 0x80. Eight bytes at a time: this is the one test each of
/// 1,000 rules pays. Among the bytes a valid rule may hold (letters,
/// digits, `.-*?:[]`) those are exactly the ones in 0x2A-0x2C or
/// 0x3A-0x5D, so two range tests decide. A byte no valid rule holds (`_`,
/// `;`, ...) may land on either side: such a rule was refused by
/// `validate_settings` and equals no registry name, so skipping it and
/// compiling it are both right.
pub(super) fn is_plain_host(rule: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let special = |v: u64| {
        // Per byte, exactly (no carry crosses a byte): the high bit of
        // `low + (0x80 - lo)` is set when the byte is at least `lo`.
        let low = v & LOW7;
        let at_least = |lo: u64| low + ONES * (0x80 - lo);
        let in_range = |lo: u64, hi: u64| at_least(lo) & !at_least(hi + 1);
        (in_range(0x2A, 0x2C) | in_range(0x3A, 0x5D) | v) & HIGHS
    };
    let chunk = |at: usize| u64::from_le_bytes(rule[at..at + 8].try_into().expect("8 bytes"));
    if rule.len() < 8 {
        // Padded with a plain byte.
        let mut short = [b'a'; 8];
        short[..rule.len()].copy_from_slice(rule);
        return special(u64::from_le_bytes(short)) == 0;
    }
    // Eight bytes at a time; the last eight overlap the chunk before them
    // (a byte tested twice is the same answer).
    (0..rule.len() / 8).all(|i| special(chunk(i * 8)) == 0) && special(chunk(rule.len() - 8)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_plain_host` refuses a rule exactly when one of its bytes is a
    /// capital, `*`, `?`, `:`, `[` or >= 0x80, wherever it stands.
    #[test]
    fn plain_hosts_are_told_at_every_offset() {
        // Bytes of valid rules: the special ones must be told; the others
        // (invalid in any rule) may go either way, but as the ranges say.
        let special = |b: u8| matches!(b, 0x2A..=0x2C | 0x3A..=0x5D | 0x80..);
        for len in 0..20 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut rule = vec![b'a'; len];
                    rule[at] = byte;
                    assert_eq!(is_plain_host(&rule), !special(byte), "{byte:#x} at {at} of {len}");
                    let valid = byte.is_ascii_alphanumeric() || b".-*?:[]".contains(&byte);
                    if valid {
                        let needs_parsing = byte.is_ascii_uppercase() || b"*?:[]".contains(&byte);
                        assert_eq!(is_plain_host(&rule), !needs_parsing, "{byte:#x} at {at} of {len}");
                    }
                }
            }
        }
    }
}
