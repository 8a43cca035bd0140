//! The bench's requests, natively, for a profiler:
//! `cargo build --release --example profile-request` then
//! `valgrind --tool=callgrind target/release/examples/profile-request 3-5`
//! (cases: `3-5`, `3-1000`, `100-5`; an optional count of calls, 1 by
//! default). Instruction counts under callgrind are what the README's
//! "where the time goes" quotes; wasm runs the same code at a similar shape.

use std::path::Path;

fn read(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures").join(name);
    serde_json::from_slice(&std::fs::read(&path).expect("fixture")).expect("fixture JSON")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "3-5".into());
    let calls: usize = args.next().map_or(1, |n| n.parse().expect("a count"));
    let (request, settings) = match case.as_str() {
        "3-5" => ("deployment-3-containers.json", "settings-5-rules.json"),
        "3-1000" => ("deployment-3-containers.json", "settings-1000-rules.json"),
        "100-5" => ("deployment-100-containers.json", "settings-5-rules.json"),
        other => panic!("unknown case {other}: 3-5, 3-1000 or 100-5"),
    };
    let payload =
        serde_json::to_vec(&serde_json::json!({"request": read(request), "settings": read(settings)})).expect("JSON");
    let mut no_lookups = |_: &str| -> Result<String, String> { Err("no lookups here".into()) };
    let mut bytes = 0;
    for _ in 0..calls {
        let answer = registry_guard::validate_with(std::hint::black_box(&payload), &mut no_lookups).expect("answer");
        bytes += answer.len();
    }
    println!("{case}: {calls} calls, {} payload bytes, {bytes} answer bytes", payload.len());
}
