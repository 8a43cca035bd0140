//! Host capability calls and their answers, which are untrusted input: each
//! answer is read strictly, and one that cannot be read is a failed lookup.
//!
//! - `manifest_digest.rs`: `kubewarden/oci/v1/manifest_digest`, the digest a
//!   tag points to now (`digests.pin`).

pub mod manifest_digest;
