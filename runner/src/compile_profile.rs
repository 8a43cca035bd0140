//! `registry-guard bench --compile-profile MODULE`: what Cranelift spends on
//! each function of a module, as wasmtime reports it (its `log` records
//! "`symbol` translated to CLIF in …" and "`symbol` compiled in …" at debug
//! level, one pair per function). A PolicyServer compiles the whole module
//! at start, and the bench's "compile + instantiate" is the sum over these
//! functions (spread over the cores). Functions are named when the module
//! keeps its name section (`make compile-profile` builds one that does;
//! the shipped policy.wasm is stripped).

use std::sync::Mutex;
use std::time::Duration;

use crate::host::PolicyModule;

/// Time per function symbol, collected by `Collector` while one module
/// compiles.
static TIMES: Mutex<Vec<(String, Duration)>> = Mutex::new(Vec::new());

struct Collector;

impl log::Log for Collector {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Debug && metadata.target().starts_with("wasmtime")
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = record.args().to_string();
        let Some((symbol, time)) = text
            .strip_prefix('`')
            .and_then(|t| t.split_once("` compiled in ").or_else(|| t.split_once("` translated to CLIF in ")))
        else {
            return;
        };
        if let (Some(time), Ok(mut times)) = (parse_debug_duration(time), TIMES.lock()) {
            times.push((symbol.to_string(), time));
        }
    }

    fn flush(&self) {}
}

/// A `Duration` as `{:?}` writes it: `1.25ms`, `830.1µs`, `2s`, `500ns`.
fn parse_debug_duration(text: &str) -> Option<Duration> {
    let units = [("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)];
    let (number, scale) = units.iter().find_map(|(unit, scale)| Some((text.strip_suffix(unit)?, *scale)))?;
    number.parse::<f64>().ok().map(|n| Duration::from_secs_f64(n * scale))
}

/// Compiles `bytes` once and writes the `top` functions by Cranelift time
/// (translation and compilation added), with their share of the total.
pub fn run(bytes: &[u8], top: usize, out: &mut dyn std::io::Write) -> Result<(), String> {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if log::set_logger(&Collector).is_ok() {
            log::set_max_level(log::LevelFilter::Debug);
        }
    });
    TIMES.lock().map_err(|e| e.to_string())?.clear();
    PolicyModule::from_bytes(bytes).map_err(|e| e.0)?;
    let mut by_symbol: Vec<(String, Duration)> = Vec::new();
    for (symbol, time) in TIMES.lock().map_err(|e| e.to_string())?.drain(..) {
        match by_symbol.iter_mut().find(|(s, _)| *s == symbol) {
            Some((_, total)) => *total += time,
            None => by_symbol.push((symbol, time)),
        }
    }
    if by_symbol.is_empty() {
        return Err("wasmtime reported no compile times (is its `log` output compiled out?)".into());
    }
    by_symbol.sort_by_key(|(_, time)| std::cmp::Reverse(*time));
    let total: Duration = by_symbol.iter().map(|(_, t)| *t).sum();
    let w = |e: std::io::Error| e.to_string();
    writeln!(
        out,
        "Cranelift time by function ({} functions, {:.1} ms in all, summed over threads)",
        by_symbol.len(),
        total.as_secs_f64() * 1e3
    )
    .map_err(w)?;
    writeln!(out, "{:>9} {:>7} {:>7}  function", "ms", "share", "summed").map_err(w)?;
    let mut summed = Duration::ZERO;
    for (symbol, time) in by_symbol.iter().take(top) {
        summed += *time;
        let share = |d: Duration| 100.0 * d.as_secs_f64() / total.as_secs_f64();
        writeln!(out, "{:>9.2} {:>6.1}% {:>6.1}%  {symbol}", time.as_secs_f64() * 1e3, share(*time), share(summed))
            .map_err(w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_debug_writes_them() {
        for d in
            [Duration::from_nanos(500), Duration::from_micros(830), Duration::from_millis(12), Duration::from_secs(2)]
        {
            let read = parse_debug_duration(&format!("{d:?}")).unwrap();
            assert!((read.as_secs_f64() - d.as_secs_f64()).abs() < 1e-9, "{d:?}");
        }
        assert_eq!(parse_debug_duration("1.5ms"), Some(Duration::from_micros(1500)));
        assert_eq!(parse_debug_duration("soon"), None);
    }
}
