//! The bench's requests, natively, for a profiler:
//! `cargo build --release --example profile-request` then
//! `valgrind --tool=callgrind target/release/examples/profile-request 3-5`
//! (cases: `3-5`, `3-1000`, `100-5`; an optional count of calls, 1 by
//! default; 0 prints the heap one call uses instead). Instruction counts under callgrind are what the README's
//! "where the time goes" quotes; wasm runs the same code at a similar shape.
//!
//! `profile-request json-speed` prints the reader's bytes per second
//! natively, skip path and event path, on the documents `registry-guard
//! bench` reads in wasm (`runner/src/bench_json.rs`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Counts the heap the policy uses (`alloc` mode): in a fresh instance every
/// page of linear memory first touched is a page fault, so the peak of live
/// bytes is part of a request's cost (README, Performance).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        ALLOCATED.fetch_add(layout.size(), Relaxed);
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn read(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures").join(name);
    serde_json::from_slice(&std::fs::read(&path).expect("fixture")).expect("fixture JSON")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "3-5".into());
    if case == "json-speed" {
        return json_speed();
    }
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
    if calls == 0 {
        // `alloc` mode: the heap one validate call uses, beyond its payload.
        let before = LIVE.load(Relaxed);
        PEAK.store(before, Relaxed);
        let (allocated, allocations) = (ALLOCATED.load(Relaxed), ALLOCATIONS.load(Relaxed));
        let answer = registry_guard::validate_with(&payload, &mut no_lookups).expect("answer");
        println!(
            "{case}: {} allocations, {} bytes allocated, peak {} bytes live beyond the payload ({} answer bytes)",
            ALLOCATIONS.load(Relaxed) - allocations,
            ALLOCATED.load(Relaxed) - allocated,
            PEAK.load(Relaxed) - before,
            answer.len()
        );
        return;
    }
    let mut bytes = 0;
    for _ in 0..calls {
        let answer = registry_guard::validate_with(std::hint::black_box(&payload), &mut no_lookups).expect("answer");
        bytes += answer.len();
    }
    println!("{case}: {calls} calls, {} payload bytes, {bytes} answer bytes", payload.len());
}

/// Megabytes (10^6 bytes) per second of `read` over `document`: the median
/// of 31 rounds of at least a millisecond each.
fn rate(document: &[u8], read: fn(&[u8]) -> bool) -> f64 {
    assert!(read(document), "the document reads");
    let per_round = (1_000_000 / document.len()).clamp(1, 1_000);
    let mut times: Vec<std::time::Duration> = (0..31)
        .map(|_| {
            let started = std::time::Instant::now();
            for _ in 0..per_round {
                std::hint::black_box(read(std::hint::black_box(document)));
            }
            started.elapsed() / per_round as u32
        })
        .collect();
    times.sort();
    document.len() as f64 / times[15].as_secs_f64() / 1e6
}

fn json_speed() {
    use registry_guard::request::json::Parser;
    let skip = |d: &[u8]| {
        let mut p = Parser::new(d);
        p.skip_value().is_ok() && p.next() == Ok(None)
    };
    let events = |d: &[u8]| {
        let mut p = Parser::new(d);
        loop {
            match p.next() {
                Ok(Some(_)) => {}
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    };
    let small = read("deployment-3-containers.json");
    let large =
        serde_json::to_vec(&serde_json::json!({"request": read("deployment-100-containers.json"), "settings": read("settings-5-rules.json")}))
            .expect("JSON");
    let metadata = serde_json::to_vec(&small["object"]["metadata"]).expect("JSON");
    println!("JSON reading speed natively (this machine, release build; median of 31 rounds)");
    println!("{:<36}{:>10}{:>14}{:>14}{:>8}", "", "bytes", "skip path", "event path", "ratio");
    for (name, document) in [("Deployment 100+1 payload", &large), ("metadata of the 3+1 Deployment", &metadata)] {
        let (s, e) = (rate(document, skip), rate(document, events));
        println!("{name:<36}{:>10}{s:>9.0} MB/s{e:>9.0} MB/s{:>8.2}", document.len(), s / e);
    }
}
