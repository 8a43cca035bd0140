//! `registry-guard bench`: measures policy.wasm against a baseline policy
//! that parses the whole request into a `serde_json::Value` and accepts, on
//! the committed fixtures in `benches/fixtures/`, all in one run on one
//! machine, and reports ratios (ours / baseline) against the targets.
//!
//! - hot `validate`: one instance per settings document, warmed up, each
//!   call timed (median, p99); ratios are the median of per-round ratios,
//!   rounds of 50 calls alternating between the two sides;
//! - compile + instantiate: `PolicyModule::from_bytes` + `instantiate`, 15
//!   runs alternating with the baseline; medians, ratio of the pairs' median;
//! - memory: the smallest linear-memory cap under which a warm-up passes is
//!   found by bisection; then 100,000 evaluations run under that cap. The
//!   waPC host does not expose an instance's memory, but a cap does the job:
//!   any growth past it fails the guest's allocation and traps, which the
//!   host reports as a 500.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::host::{PolicyInstance, PolicyModule};

pub struct BenchConfig {
    pub policy: PathBuf,
    pub baseline: PathBuf,
    pub fixtures: PathBuf,
    /// Timed `validate` calls per fixture.
    pub iterations: usize,
    /// Evaluations in the memory check.
    pub evaluations: usize,
}

const WARM_UP: usize = 1_000;
const COMPILE_RUNS: usize = 15;
/// 64 KiB wasm pages; 16,384 pages is 1 GiB, the host's cap.
const PAGE: usize = 64 * 1024;
const MAX_PAGES: usize = 16_384;

struct Timing {
    median: Duration,
    p99: Duration,
}

fn read_json(dir: &Path, name: &str) -> Result<Value, String> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The payload a PolicyServer sends: `{"request": …, "settings": …}`.
fn payload(request: &Value, settings: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"request": request, "settings": settings})).expect("JSON serializes")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Calls per round: rounds alternate between the two sides, so that a
/// slow patch of the machine hits both.
const ROUND: usize = 50;

/// One side of a comparison: an instance and the payload it gets.
struct Side<'a> {
    instance: &'a PolicyInstance,
    payload: &'a [u8],
}

impl Side<'_> {
    fn call(&self) -> Result<Duration, String> {
        let started = Instant::now();
        let response = self.instance.validate_raw(self.payload);
        let elapsed = started.elapsed();
        if response.accepted {
            Ok(elapsed)
        } else {
            Err(format!("the fixture was not accepted: {:?}", response.message))
        }
    }
}

/// Times `iterations` hot `validate` calls on each side, interleaved in
/// rounds after a warm-up; the ratio is the median of the per-round ratios
/// of mean call times (robust to drift), the timings are per call.
fn compare(a: &Side<'_>, b: &Side<'_>, iterations: usize) -> Result<(Timing, Timing, f64), String> {
    for _ in 0..WARM_UP.min(iterations) {
        a.call()?;
        b.call()?;
    }
    let (mut a_samples, mut b_samples, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..iterations.div_ceil(ROUND) {
        let (mut a_sum, mut b_sum) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..ROUND {
            let d = a.call()?;
            a_sum += d;
            a_samples.push(d);
        }
        for _ in 0..ROUND {
            let d = b.call()?;
            b_sum += d;
            b_samples.push(d);
        }
        ratios.push(a_sum.as_secs_f64() / b_sum.as_secs_f64());
    }
    let timing = |mut samples: Vec<Duration>| {
        samples.sort();
        Timing { median: percentile(&samples, 0.5), p99: percentile(&samples, 0.99) }
    };
    ratios.sort_by(f64::total_cmp);
    Ok((timing(a_samples), timing(b_samples), ratios[ratios.len() / 2]))
}

fn compile_and_instantiate(bytes: &[u8]) -> Result<Duration, String> {
    let started = Instant::now();
    let module = PolicyModule::from_bytes(bytes).map_err(|e| e.0)?;
    module.instantiate().map_err(|e| e.0)?;
    Ok(started.elapsed())
}

/// Compile + instantiate both modules in alternation; medians, and the
/// median of the per-pair ratios.
fn compare_compile(ours: &[u8], baseline: &[u8]) -> Result<(Duration, Duration, f64), String> {
    let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..COMPILE_RUNS {
        let (x, y) = (compile_and_instantiate(ours)?, compile_and_instantiate(baseline)?);
        ratios.push(x.as_secs_f64() / y.as_secs_f64());
        a.push(x);
        b.push(y);
    }
    a.sort();
    b.sort();
    ratios.sort_by(f64::total_cmp);
    Ok((a[a.len() / 2], b[b.len() / 2], ratios[ratios.len() / 2]))
}

/// Runs `count` evaluations of the mix (one 100-container request in 100)
/// on one instance capped at `pages`; false when any fails.
fn runs_within(bytes: &[u8], pages: usize, mix: &[&[u8]; 2], count: usize) -> bool {
    let Ok(module) = PolicyModule::from_bytes_with_memory_limit(bytes, pages * PAGE) else {
        return false;
    };
    let Ok(instance) = module.instantiate() else {
        return false;
    };
    (0..count).all(|i| instance.validate_raw(mix[usize::from(i % 100 == 99)]).accepted)
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// Runs the benchmark and returns its report; `Ok(false)` when a target is missed.
pub fn run(config: &BenchConfig, out: &mut dyn std::io::Write) -> Result<bool, String> {
    let ours = std::fs::read(&config.policy).map_err(|e| format!("{}: {e}", config.policy.display()))?;
    let baseline = std::fs::read(&config.baseline).map_err(|e| {
        format!("{}: {e} (build it with `make bench`, which builds the baseline too)", config.baseline.display())
    })?;
    let fixtures = &config.fixtures;
    let small = read_json(fixtures, "deployment-3-containers.json")?;
    let large = read_json(fixtures, "deployment-100-containers.json")?;
    let five = read_json(fixtures, "settings-5-rules.json")?;
    let thousand = read_json(fixtures, "settings-1000-rules.json")?;
    let small_five = payload(&small, &five);
    let large_five = payload(&large, &five);
    let small_thousand = payload(&small, &thousand);

    let instance = |bytes: &[u8]| PolicyModule::from_bytes(bytes).and_then(|m| m.instantiate()).map_err(|e| e.0);
    // Each instance keeps one settings document, as under a PolicyServer.
    let (ours_5, ours_1000, base) = (instance(&ours)?, instance(&ours)?, instance(&baseline)?);
    let n = config.iterations;
    let side = |instance, payload| Side { instance, payload };
    let (ours_small, base_small, r_small) = compare(&side(&ours_5, &small_five), &side(&base, &small_five), n)?;
    let (ours_large, base_large, r_large) =
        compare(&side(&ours_5, &large_five), &side(&base, &large_five), n / 10 + 1)?;
    let (ours_thousand, _, r_thousand) = compare(&side(&ours_1000, &small_thousand), &side(&ours_5, &small_five), n)?;
    let (compile_ours, compile_base, r_compile) = compare_compile(&ours, &baseline)?;

    let mix: [&[u8]; 2] = [&small_five, &large_five];
    let (mut lo, mut hi) = (1, MAX_PAGES);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if runs_within(&ours, mid, &mix, WARM_UP) { hi = mid } else { lo = mid + 1 }
    }
    let memory_ok = runs_within(&ours, lo, &mix, config.evaluations);

    let size_kb = ours.len() as f64 / 1000.0;
    let checks = [r_small <= 0.5, r_large <= 0.5, r_thousand <= 1.5, r_compile <= 2.0, size_kb <= 600.0, memory_ok];

    let w = |out: &mut dyn std::io::Write, line: String| writeln!(out, "{line}").map_err(|e| e.to_string());
    w(
        out,
        format!(
            "registry-guard bench: {} vs baseline {} (one run, this machine)",
            config.policy.display(),
            config.baseline.display()
        ),
    )?;
    w(
        out,
        format!(
            "{:<34} {:>12} {:>12} {:>16} {:>14}",
            "hot validate", "ours median", "ours p99", "baseline median", "ratio"
        ),
    )?;
    let row = |name: &str, ours: &Timing, base: &Timing, ratio: f64| {
        format!(
            "{:<34} {:>12} {:>12} {:>16} {:>14}",
            name,
            micros(ours.median),
            micros(ours.p99),
            micros(base.median),
            format!("{ratio:.2}")
        )
    };
    w(out, row("Deployment 3+1 containers, 5 rules", &ours_small, &base_small, r_small))?;
    w(out, row("Deployment 100+1 containers, 5 rules", &ours_large, &base_large, r_large))?;
    w(
        out,
        format!(
            "{:<34} {:>12} {:>12} {:>16} {:>14}",
            "Deployment 3+1, 1,000 rules",
            micros(ours_thousand.median),
            micros(ours_thousand.p99),
            "-",
            format!("{r_thousand:.2} × 5 rules")
        ),
    )?;
    w(
        out,
        format!(
            "compile + instantiate: ours {}, baseline {}, ratio {r_compile:.2}",
            millis(compile_ours),
            millis(compile_base)
        ),
    )?;
    w(out, format!("policy.wasm: {size_kb:.1} KB (baseline {:.1} KB)", baseline.len() as f64 / 1000.0))?;
    w(
        out,
        format!(
            "memory: {} evaluations on one instance capped at the warm-up's {} pages ({} KiB): {}",
            config.evaluations,
            lo,
            lo * 64,
            if memory_ok { "no growth" } else { "GREW (or failed)" }
        ),
    )?;
    w(out, "targets:".to_string())?;
    let targets = [
        format!("hot validate, 3 containers, 5 rules ≤ 0.5 × baseline: {r_small:.2}"),
        format!("hot validate, 100 containers ≤ 0.5 × baseline: {r_large:.2}"),
        format!("1,000 rules ≤ 1.5 × our 5 rules: {r_thousand:.2}"),
        format!("compile + instantiate ≤ 2 × baseline: {r_compile:.2}"),
        format!("policy.wasm ≤ 600 KB: {size_kb:.1} KB"),
        format!("no linear memory growth after warm-up over {} evaluations", config.evaluations),
    ];
    for (target, ok) in targets.iter().zip(checks) {
        w(out, format!("  {:<6} {target}", verdict(ok)))?;
    }
    Ok(checks.iter().all(|ok| *ok))
}
