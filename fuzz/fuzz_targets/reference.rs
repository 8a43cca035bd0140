//! The reference parser and the image normalization: no panic on any input,
//! and a normalized image reads back as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry_guard::references::image::Image;
use registry_guard::references::reference;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(parsed) = reference::parse(text) {
        let normalized = parsed.to_string();
        let again = reference::parse(&normalized).expect("a normalized reference parses");
        assert_eq!(again, parsed);
    }
    if let Ok(image) = Image::parse(text) {
        let shown = image.to_string();
        let again = Image::parse(&shown).expect("a normalized image parses");
        assert_eq!(again.to_string(), shown);
    }
});
