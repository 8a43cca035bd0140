//! Settings validation: any bytes get a verdict (valid, or a message).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = registry_guard::validate_settings(data).expect("validate_settings always answers");
    let answer: serde_json::Value = serde_json::from_slice(&raw).expect("the answer is JSON");
    assert!(answer["valid"].is_boolean());
    assert_eq!(answer["valid"] == false, answer["message"].is_string());
});
