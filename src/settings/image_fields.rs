//! Reads `imageFields`: where custom resources keep images.
//!
//! ```yaml
//! imageFields:
//!   - apiGroup: example.com        # optional: the kind in any group when absent
//!     kind: BatchRunner
//!     paths: ["spec.runners[*].image", "spec.cache.image"]
//! ```
//!
//! Paths are parsed here (`custom_fields::FieldPath`), so a malformed one is
//! a settings error with its path, never a path that silently matches
//! nothing.

use super::{Document, Reader, describe, get};
use crate::request::custom_fields::{FieldPath, FieldRule};

const ENTRY_KEYS: &[&str] = &["apiGroup", "kind", "paths"];

impl Reader<'_> {
    /// The `imageFields` list; empty when absent or null.
    // Out of line: inlined, every section made `Reader::policy` one
    // function of 17 KB, the largest Cranelift compiles (`make
    // compile-profile`).
    #[inline(never)]
    pub(super) fn image_fields<'d>(&mut self, value: &'d Document<'_>) -> Vec<FieldRule<'d>> {
        let items = match value {
            Document::Null => return Vec::new(),
            Document::Array(items) => items,
            other => {
                self.error(
                    "imageFields",
                    format_args!("expected a list of {{kind, paths}}, found {}", describe(other)),
                );
                return Vec::new();
            }
        };
        let mut rules = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("imageFields[{i}]");
            let Some(entry) = self.object(&path, item, ENTRY_KEYS) else {
                if matches!(item, Document::Null) {
                    self.error(&path, "expected a mapping with kind and paths, found null");
                }
                continue;
            };
            let api_group = match get(entry, "apiGroup") {
                None | Some(Document::Null) => None,
                Some(Document::String(group)) => Some(group.as_ref()),
                Some(other) => {
                    self.error(
                        &format!("{path}.apiGroup"),
                        format_args!("expected a string, found {}", describe(other)),
                    );
                    None
                }
            };
            let kind = self.text(&path, entry, "kind");
            if kind == Some("") {
                self.error(&format!("{path}.kind"), "is empty");
            }
            let mut paths = Vec::new();
            let list = format!("{path}.paths");
            match get(entry, "paths") {
                None | Some(Document::Null) => self.error(&path, "paths is missing"),
                value => match self.strings(&list, value) {
                    None => {}
                    Some(entries) if entries.is_empty() => self.error(&list, "is empty: name at least one path"),
                    Some(entries) => {
                        for (j, text) in entries {
                            match FieldPath::parse(text) {
                                Ok(parsed) => paths.push(parsed),
                                Err(why) => self.error(&format!("{list}[{j}]"), why),
                            }
                        }
                    }
                },
            }
            if let Some(kind) = kind.filter(|k| !k.is_empty()) {
                rules.push(FieldRule { api_group, kind, paths });
            }
        }
        rules
    }
}
