//! `validate` on arbitrary payload bytes: always a ValidationResponse, and
//! anything that is not a readable request is rejected.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = registry_guard::validate(data).expect("validate always answers");
    let answer: serde_json::Value = serde_json::from_slice(&raw).expect("the answer is JSON");
    if serde_json::from_slice::<serde_json::Value>(data).is_err() {
        assert_eq!(answer["accepted"], false, "a payload that is not JSON was accepted");
    }
});
