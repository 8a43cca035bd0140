//! Tag patterns (`tags.allow` / `tags.reject`): `*` and `?` wildcards over
//! the tag as written, case-sensitive (registries treat `latest` and `LATEST`
//! as different tags). Literal tags are looked up in a sorted map.

use std::borrow::Cow;

use crate::references::reference::is_tag;
use crate::rules::glob::Glob;
use crate::rules::str_map::StrMap;

#[derive(Debug, Default)]
pub struct TagSet<'p> {
    rules: Vec<&'p str>,
    literal: StrMap<'p, usize>,
    globs: Vec<(Glob, usize)>,
}

impl<'p> TagSet<'p> {
    /// Validates and adds a pattern; the error is a sentence about `pattern`.
    pub fn insert(&mut self, pattern: &'p str) -> Result<(), String> {
        // A tag once each wildcard stands for one letter.
        let wildcards = Glob::has_wildcards(pattern);
        if !(if wildcards { is_tag(&pattern.replace(['*', '?'], "a")) } else { is_tag(pattern) }) {
            return Err(format!(
                "{pattern:?} is not a tag pattern; a tag is 1-128 of A-Z a-z 0-9 _ . - (not starting with . or -), plus the wildcards * and ?"
            ));
        }
        let index = self.rules.len();
        self.rules.push(pattern);
        if wildcards {
            self.globs.push((Glob::new(pattern), index));
        } else {
            self.literal.push(Cow::Borrowed(pattern), index);
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Makes lookups searches when `lookups` pay for it (see `str_map.rs`);
    /// call once all rules are in.
    pub fn finish(&mut self, lookups: usize) {
        self.literal.finish(lookups);
    }

    /// The rules as written, for messages.
    pub fn first_rules(&self) -> &[&'p str] {
        &self.rules
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The first rule (as written) that matches the tag.
    pub fn find(&self, tag: &str) -> Option<&str> {
        let index = self
            .literal
            .find(tag, |_| true)
            .copied()
            .or_else(|| self.globs.iter().find(|(g, _)| g.matches(tag)).map(|(_, i)| *i))?;
        Some(self.rules[index])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_wildcard_tags() {
        let mut set = TagSet::default();
        for p in ["latest", "*-rc*", "v?"] {
            set.insert(p).unwrap();
        }
        assert_eq!(set.find("latest"), Some("latest"));
        assert_eq!(set.find("LATEST"), None);
        assert_eq!(set.find("1.0-rc2"), Some("*-rc*"));
        assert_eq!(set.find("v1"), Some("v?"));
        assert_eq!(set.find("v10"), None);
    }

    #[test]
    fn invalid_tag_patterns_say_why() {
        for bad in ["", "-x", ".x", "a/b", "a:b", "a b", &"x".repeat(129)] {
            let err = TagSet::default().insert(bad).unwrap_err();
            assert!(err.contains("is not a tag pattern"), "{bad}: {err}");
        }
        assert!(TagSet::default().insert("*").is_ok());
    }
}
