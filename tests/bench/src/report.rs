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

/// CPU time spent while a measurement ran: by this process, and by the whole machine (this
/// process, the database server and anything else), read from Linux's `/proc`.
pub struct CpuSpent {
    process: u64,
    machine: u64,
}

impl CpuSpent {
    /// The counters now.
    pub fn now() -> CpuSpent {
        CpuSpent {
            process: process_ticks(),
            machine: machine_busy_ticks(),
        }
    }

    /// Microseconds of CPU per operation since `self`, as JSON fields `bench_cpu_us_per_op`
    /// (this process) and `machine_cpu_us_per_op` (everything); zero where `/proc` is absent.
    pub fn per_op_since(&self, ops: usize) -> Value {
        let later = CpuSpent::now();
        // Linux reports both counters in USER_HZ ticks, 100 per second on every platform it
        // exposes to programs.
        let us = |ticks: u64| (ticks * 10_000) / (ops.max(1) as u64);
        json!({
            "bench_cpu_us_per_op": us(later.process.saturating_sub(self.process)),
            "machine_cpu_us_per_op": us(later.machine.saturating_sub(self.machine)),
        })
    }
}

/// User and system ticks of this process (fields 14 and 15 of `/proc/self/stat`).
fn process_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum()
}

/// Ticks every CPU of this machine spent working (`/proc/stat`).
fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    cpu.split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse::<u64>().ok())
        .enumerate()
        // user, nice, system, (idle), (iowait), irq, softirq; not steal, another guest's time
        .filter(|(i, _)| !matches!(i, 3 | 4) && *i < 7)
        .map(|(_, t)| t)
        .sum()
}
