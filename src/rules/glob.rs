//! Wildcard patterns: `*` matches any run of characters (including none, and
//! including `.`, `/`, `:` and `@`), `?` matches exactly one character;
//! every other character matches itself. Callers lowercase both sides where
//! matching is case-insensitive.
//!
//! No backtracking: the pattern is split at `*` into segments; the first must
//! be a prefix, the last a suffix, and each middle segment is taken at its
//! leftmost occurrence after the previous one (leftmost is always safe when
//! only `*` separates segments). A literal segment is found with the standard
//! library's two-way search, linear in the input; a segment holding `?` is
//! compared at each position, so the worst case is O(input × pattern) and
//! never exponential.
//!
//! Matching is byte-wise: every string matched here (hosts, tags, image
//! references) has passed the ASCII-only reference grammar first.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern split at `*`: one segment more than there are stars.
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    text: String,
    has_question_mark: bool,
}

impl Segment {
    fn new(text: &str) -> Self {
        Segment { text: text.to_string(), has_question_mark: text.contains('?') }
    }

    fn len(&self) -> usize {
        self.text.len()
    }

    /// `candidate` has the segment's length.
    fn matches_exactly(&self, candidate: &[u8]) -> bool {
        if !self.has_question_mark {
            return self.text.as_bytes() == candidate;
        }
        self.text.bytes().zip(candidate).all(|(p, c)| p == b'?' || p == *c)
    }

    /// Leftmost position in `haystack` where the segment matches.
    fn find_in(&self, haystack: &[u8]) -> Option<usize> {
        if !self.has_question_mark {
            // Two-way search on str: linear. Our inputs are ASCII, so any byte
            // offset is a char boundary; a non-ASCII input simply never matches.
            return std::str::from_utf8(haystack).ok()?.find(self.text.as_str());
        }
        let n = self.len();
        (0..=haystack.len().checked_sub(n)?).find(|&i| self.matches_exactly(&haystack[i..i + n]))
    }
}

impl Glob {
    pub fn new(pattern: &str) -> Self {
        Glob { segments: pattern.split('*').map(Segment::new).collect() }
    }

    /// The pattern holds `*` or `?`.
    pub fn has_wildcards(pattern: &str) -> bool {
        pattern.contains(['*', '?'])
    }

    pub fn matches(&self, candidate: &str) -> bool {
        let s = candidate.as_bytes();
        let (first, rest) = self.segments.split_first().expect("split yields at least one segment");
        let Some((last, middle)) = rest.split_last() else {
            return s.len() == first.len() && first.matches_exactly(s);
        };
        if s.len() < first.len() + last.len()
            || !first.matches_exactly(&s[..first.len()])
            || !last.matches_exactly(&s[s.len() - last.len()..])
        {
            return false;
        }
        let end = s.len() - last.len();
        let mut pos = first.len();
        for segment in middle {
            match segment.find_in(&s[pos..end]) {
                Some(at) => pos += at + segment.len(),
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_question_mark() {
        let cases = [
            ("*", "", true),
            ("*", "anything/at:all@x", true),
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a*c", "ac", true),
            ("a*c", "ab", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*.corp.example", "a.corp.example", true),
            ("*.corp.example", "a.b.corp.example", true),
            ("*.corp.example", "corp.example", false),
            ("*.corp.example", "evilcorp.example", false),
            ("*.corp.example", "a.corp.example.evil.io", false),
            ("*-rc*", "1.0-rc1", true),
            ("*-rc*", "1.0-beta", false),
            ("a*b*a", "aba", true),
            ("a*b*a", "ab", false),
            ("a*?b*c", "axbyc", true),
            ("??", "a", false),
            ("x**y", "xy", true),
            ("literal", "literal", true),
            ("literal", "literals", false),
        ];
        for (pattern, candidate, want) in cases {
            assert_eq!(Glob::new(pattern).matches(candidate), want, "{pattern} ~ {candidate}");
        }
    }

    #[test]
    fn adversarial_patterns_do_not_blow_up() {
        // Would take 2^50-ish steps with a naive backtracking matcher.
        let pattern = format!("{}b", "a*".repeat(100));
        let candidate = "a".repeat(10_000);
        assert!(!Glob::new(&pattern).matches(&candidate));
        let pattern = "*?".repeat(100);
        assert!(Glob::new(&pattern).matches(&candidate));
    }
}
