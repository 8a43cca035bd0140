//! Remembers what the policy made of an image string, for the requests
//! that follow on the same instance. A PolicyServer keeps the instance and
//! the same images come again and again (a Deployment, its ReplicaSet and
//! every Pod carry the same template), while parsing, normalizing and
//! matching one image costs microseconds in wasm (string comparisons there
//! are byte loops).
//!
//! Only decisions that depend on nothing but the settings and the image
//! string are kept: never when `digests.pin` asks the host (a tag may move
//! between requests). The cache belongs to one compiled settings document
//! and is cleared when another one comes. It is direct-mapped with a fixed
//! number of slots, so its memory is bounded whatever the traffic: a new
//! image takes the slot of an older one with the same hash.

use crate::evaluate::Outcome;

const SLOTS: usize = 128;
/// Longer images are decided every time (they are rare, and a slot holds a copy).
const LONGEST_CACHED: usize = 512;

#[derive(Default)]
pub struct VerdictCache {
    /// `slots[hash % SLOTS]`: the image and its outcome (the violation's
    /// field left empty: each use fills in its own).
    slots: Vec<Option<(String, Outcome)>>,
}

/// FNV-1a: a few instructions a byte, no tables, no hashing library.
fn slot_of(image: &str) -> usize {
    let mut hash: u32 = 0x811c_9dc5;
    for &byte in image.as_bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    hash as usize % SLOTS
}

impl VerdictCache {
    pub fn clear(&mut self) {
        self.slots.clear();
    }

    /// The outcome for `image`, computed by `decide` unless remembered; the
    /// violation (if any) is given `field`.
    pub fn outcome(&mut self, image: &str, field: &str, decide: impl FnOnce() -> Outcome) -> Outcome {
        if image.len() > LONGEST_CACHED {
            return decide();
        }
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        let slot = &mut self.slots[slot_of(image)];
        let mut outcome = match slot {
            Some((cached, outcome)) if cached == image => outcome.clone(),
            _ => {
                let outcome = decide();
                *slot = Some((image.to_string(), outcome.clone()));
                outcome
            }
        };
        if let Some(violation) = &mut outcome.violation {
            violation.field = field.to_string();
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::Violation;

    fn refused(field: &str) -> Outcome {
        let violation =
            Violation { field: field.into(), image: Some("a".into()), note: None, reasons: vec!["r".into()] };
        Outcome { violation: Some(violation), ..Outcome::default() }
    }

    #[test]
    fn an_image_is_decided_once_and_each_use_gets_its_own_field() {
        let mut cache = VerdictCache::default();
        let mut decided = 0;
        for field in ["spec.containers[0].image", "spec.initContainers[3].image"] {
            let outcome = cache.outcome("a", field, || {
                decided += 1;
                refused("whatever")
            });
            assert_eq!(outcome.violation.unwrap().field, field);
        }
        assert_eq!(decided, 1);
        cache.clear();
        cache.outcome("a", "f", || {
            decided += 1;
            Outcome::default()
        });
        assert_eq!(decided, 2, "cleared");
    }

    #[test]
    fn colliding_images_replace_each_other_and_are_never_confused() {
        let mut cache = VerdictCache::default();
        let images: Vec<String> = (0..1000).map(|i| format!("img{i}")).collect();
        for round in 0..2 {
            for (i, image) in images.iter().enumerate() {
                let outcome =
                    cache.outcome(image, "f", || Outcome { rewrite: Some(format!("{i}")), ..Outcome::default() });
                assert_eq!(outcome.rewrite, Some(format!("{i}")), "round {round}");
            }
        }
        assert_eq!(cache.slots.len(), SLOTS, "bounded");
    }

    #[test]
    fn long_images_are_not_kept() {
        let mut cache = VerdictCache::default();
        let long = "a".repeat(LONGEST_CACHED + 1);
        cache.outcome(&long, "f", Outcome::default);
        assert!(cache.slots.is_empty());
    }
}
