//! Reading the admission request: the strict streaming JSON reader
//! (`json.rs`) and the walk that finds every image in the object and reads
//! the settings in the same pass (`discovery.rs`).

pub mod custom_fields;
pub mod discovery;
pub mod json;
pub mod kinds;
pub mod openshift;
pub mod operators;
