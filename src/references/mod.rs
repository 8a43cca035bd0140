//! Image references as container runtimes read them: the grammar
//! (`reference.rs`), what a registry host means (`registry.rs`: case, ports,
//! Docker Hub's names), and the normalized image every rule sees
//! (`image.rs`).

pub mod image;
pub mod reference;
pub mod registry;
