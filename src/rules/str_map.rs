//! A map from strings to values for the compiled settings: built once,
//! sorted once (`finish`) when the lookups expected pay for it, then looked
//! up by binary search. Used instead of
//! `HashMap` for literal hosts, images and tags: every `HashMap` key/value
//! type adds its own hashing, probing and rehashing code to policy.wasm
//! (about 3 KB each, measured with twiggy), while this sorts and searches
//! one `(String, u32)` index for all of them. A lookup in 1,000 rules is
//! ten string comparisons.
//!
//! Before `finish` (or after a later `push`), lookups scan every entry:
//! slower, never wrong.

use std::borrow::Cow;

/// A sort's comparisons cost about this many of a scan's (a scan mostly
/// compares lengths; a sort compares bytes and moves entries).
const SORT_COST: usize = 4;

/// Keys to values; one key may hold several values, found in insertion order.
/// Keys borrow from the settings document where they can.
#[derive(Debug)]
pub struct StrMap<'k, V> {
    index: KeyIndex<'k>,
    values: Vec<V>,
}

impl<V> Default for StrMap<'_, V> {
    fn default() -> Self {
        StrMap { index: KeyIndex::default(), values: Vec::new() }
    }
}

impl<'k, V> StrMap<'k, V> {
    pub fn push(&mut self, key: Cow<'k, str>, value: V) {
        self.index.push(key, self.values.len());
        self.values.push(value);
    }

    /// Sorts the keys, so that lookups search instead of scanning, when the
    /// `lookups` expected make it pay: a scan costs one comparison per key
    /// (most fail on the length), a sort about `n·log2(n)` of them, so a
    /// request with a few images is answered faster by scanning. Settings
    /// are compiled for every request (a fresh instance each), so this
    /// choice is made every time.
    pub fn finish(&mut self, lookups: usize) {
        let n = self.values.len();
        let log2 = usize::BITS - n.leading_zeros();
        if lookups.saturating_mul(n) > SORT_COST * n * log2 as usize {
            self.index.sort();
        }
    }

    /// The first value under `key` (in insertion order) that `accept` takes.
    pub fn find(&self, key: &str, mut accept: impl FnMut(&V) -> bool) -> Option<&V> {
        self.index.positions(key).map(|i| &self.values[i]).find(|v| accept(v))
    }
}

/// The non-generic part: `(key, position)` pairs, sorted by key then
/// position once finished.
#[derive(Debug, Default)]
struct KeyIndex<'k> {
    entries: Vec<(Cow<'k, str>, usize)>,
    sorted: bool,
}

impl<'k> KeyIndex<'k> {
    fn push(&mut self, key: Cow<'k, str>, position: usize) {
        self.entries.push((key, position));
        self.sorted = false;
    }

    fn sort(&mut self) {
        heapsort(&mut self.entries);
        self.sorted = true;
    }

    /// Positions of the values under `key`, in insertion order.
    fn positions<'a>(&'a self, key: &'a str) -> impl Iterator<Item = usize> + 'a {
        let candidates = if self.sorted {
            let start = self.entries.partition_point(|(k, _)| k.as_ref() < key);
            let len = self.entries[start..].partition_point(|(k, _)| k == key);
            &self.entries[start..start + len]
        } else {
            &self.entries[..]
        };
        candidates.iter().filter(move |(k, _)| k == key).map(|(_, i)| *i)
    }
}

/// Sorts by key, then position. Hand-written: the standard library's
/// `sort_unstable` added 4.5 KB of code to policy.wasm for this one call
/// (ipnsort, quicksort, heapsort and small-sort networks, measured with
/// twiggy), for settings that are sorted once. Heapsort: O(n log n) in
/// every case, no allocation, a few hundred bytes.
fn heapsort(entries: &mut [(Cow<'_, str>, usize)]) {
    fn sift_down(entries: &mut [(Cow<'_, str>, usize)], mut root: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= entries.len() {
                return;
            }
            if child + 1 < entries.len() && entries[child] < entries[child + 1] {
                child += 1;
            }
            if entries[root] >= entries[child] {
                return;
            }
            entries.swap(root, child);
            root = child;
        }
    }
    for root in (0..entries.len() / 2).rev() {
        sift_down(entries, root);
    }
    for end in (1..entries.len()).rev() {
        entries.swap(0, end);
        sift_down(&mut entries[..end], 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_found_in_insertion_order_before_and_after_finish() {
        let mut map = StrMap::default();
        for (key, value) in [("b", 1), ("a", 2), ("b", 3), ("c", 4), ("b", 5)] {
            map.push(key.into(), value);
        }
        for finished in [false, true] {
            if finished {
                map.finish(usize::MAX);
                assert!(map.index.sorted);
            }
            assert_eq!(map.find("b", |_| true), Some(&1));
            assert_eq!(map.find("b", |v| *v > 1), Some(&3));
            assert_eq!(map.find("b", |v| *v > 3), Some(&5));
            assert_eq!(map.find("a", |_| true), Some(&2));
            assert_eq!(map.find("d", |_| true), None);
            assert_eq!(map.find("", |_| true), None);
        }
        map.push("d".into(), 6);
        map.finish(1);
        assert!(!map.index.sorted, "one lookup does not pay for a sort");
        assert_eq!(map.find("d", |_| true), Some(&6), "a push after finish is still found");
    }

    #[test]
    fn heapsort_sorts_like_the_standard_library() {
        let mut seed = 7u64;
        for len in [0, 1, 2, 3, 10, 100, 1000] {
            let mut entries: Vec<(Cow<'_, str>, usize)> = (0..len)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (format!("k{}", (seed >> 33) % 37).into(), i)
                })
                .collect();
            let mut expected = entries.clone();
            expected.sort();
            heapsort(&mut entries);
            assert_eq!(entries, expected, "{len}");
        }
    }
}
