//! A map from strings to values for the compiled settings: built once,
//! sorted once (`finish`), then looked up by binary search. Used instead of
//! `HashMap` for literal hosts, images and tags: every `HashMap` key/value
//! type adds its own hashing, probing and rehashing code to policy.wasm
//! (about 3 KB each, measured with twiggy), while this sorts and searches
//! one `(String, u32)` index for all of them. A lookup in 1,000 rules is
//! ten string comparisons.
//!
//! Before `finish` (or after a later `push`), lookups scan every entry:
//! slower, never wrong.

/// Keys to values; one key may hold several values, found in insertion order.
#[derive(Debug)]
pub struct StrMap<V> {
    index: KeyIndex,
    values: Vec<V>,
}

impl<V> Default for StrMap<V> {
    fn default() -> Self {
        StrMap { index: KeyIndex::default(), values: Vec::new() }
    }
}

impl<V> StrMap<V> {
    pub fn push(&mut self, key: String, value: V) {
        self.index.push(key, self.values.len());
        self.values.push(value);
    }

    /// Sorts the keys, so that lookups search instead of scanning.
    pub fn finish(&mut self) {
        self.index.sort();
    }

    /// The first value under `key` (in insertion order) that `accept` takes.
    pub fn find(&self, key: &str, mut accept: impl FnMut(&V) -> bool) -> Option<&V> {
        self.index.positions(key).map(|i| &self.values[i]).find(|v| accept(v))
    }
}

/// The non-generic part: `(key, position)` pairs, sorted by key then
/// position once finished.
#[derive(Debug, Default)]
struct KeyIndex {
    entries: Vec<(String, usize)>,
    sorted: bool,
}

impl KeyIndex {
    fn push(&mut self, key: String, position: usize) {
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
            let start = self.entries.partition_point(|(k, _)| k.as_str() < key);
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
fn heapsort(entries: &mut [(String, usize)]) {
    fn sift_down(entries: &mut [(String, usize)], mut root: usize) {
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
            map.push(key.to_string(), value);
        }
        for finished in [false, true] {
            if finished {
                map.finish();
            }
            assert_eq!(map.find("b", |_| true), Some(&1));
            assert_eq!(map.find("b", |v| *v > 1), Some(&3));
            assert_eq!(map.find("b", |v| *v > 3), Some(&5));
            assert_eq!(map.find("a", |_| true), Some(&2));
            assert_eq!(map.find("d", |_| true), None);
            assert_eq!(map.find("", |_| true), None);
        }
        map.push("d".into(), 6);
        assert_eq!(map.find("d", |_| true), Some(&6), "a push after finish is still found");
    }

    #[test]
    fn heapsort_sorts_like_the_standard_library() {
        let mut seed = 7u64;
        for len in [0, 1, 2, 3, 10, 100, 1000] {
            let mut entries: Vec<(String, usize)> = (0..len)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (format!("k{}", (seed >> 33) % 37), i)
                })
                .collect();
            let mut expected = entries.clone();
            expected.sort();
            heapsort(&mut entries);
            assert_eq!(entries, expected, "{len}");
        }
    }
}
