//! The JSON reader's skip path (a validating bracket counter, no events)
//! against its event path: on any bytes, the same verdict, the same error at
//! the same byte, the same end; and the verdict is serde_json's. The skip
//! path is how the walker passes over what it does not read (`metadata`,
//! `status`), so a difference here would be a document one path accepts and
//! the other refuses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry_guard::request::json::{JsonError, Parser};

/// The whole of `bytes` as one value, skipped by one path: the byte after
/// the value, or the error.
fn skip_whole(bytes: &[u8], skip_path: bool) -> Result<usize, JsonError> {
    let mut parser = Parser::new(bytes);
    if skip_path {
        parser.skip_value()?;
    } else {
        parser.skip_by_events()?;
    }
    let end = parser.position();
    match parser.next()? {
        None => Ok(end),
        Some(_) => Err(JsonError { what: "trailing characters after the value", at: end }),
    }
}

fuzz_target!(|data: &[u8]| {
    let skipped = skip_whole(data, true);
    assert_eq!(skipped, skip_whole(data, false));
    assert_eq!(skipped.is_ok(), serde_json::from_slice::<serde_json::Value>(data).is_ok());
    // The same bytes as a value inside containers, as the walker meets them.
    let mut nested = br#"{"metadata": [0, "#.to_vec();
    nested.extend_from_slice(data);
    nested.extend_from_slice(b"]}");
    assert_eq!(skip_whole(&nested, true), skip_whole(&nested, false));
});
