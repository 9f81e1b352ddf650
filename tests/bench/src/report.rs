//! Measurements and the JSON lines they are printed as.

use std::time::Duration;

use serde_json::{Value, json};

/// Prints one measurement as one JSON object on one line.
pub fn emit(line: Value) {
    println!("{line}");
}

/// Operations per second and latency percentiles of a run.
pub struct Throughput {
    /// How many operations completed.
    pub ops: usize,
    /// How long the whole run took.
    pub elapsed: Duration,
    /// Each operation's latency.
    pub latencies: Vec<Duration>,
}

impl Throughput {
    /// The run as JSON fields: `ops`, `ops_per_sec`, `p50_us`, `p99_us`.
    pub fn fields(mut self) -> Value {
        self.latencies.sort_unstable();
        let percentile = |p: usize| {
            let index =
                (self.latencies.len() * p / 100).min(self.latencies.len().saturating_sub(1));
            self.latencies
                .get(index)
                .map_or(0, |d| d.as_micros() as u64)
        };
        let seconds = self.elapsed.as_secs_f64().max(f64::EPSILON);
        json!({
            "ops": self.ops,
            "ops_per_sec": (self.ops as f64 / seconds).round(),
            "p50_us": percentile(50),
            "p99_us": percentile(99),
        })
    }
}

/// Adds `extra` fields to a JSON object.
pub fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

/// The resident memory of this process in bytes (Linux), or 0 where unknown.
pub fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
