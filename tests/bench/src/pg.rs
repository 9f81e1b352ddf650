//! The `pg` benchmark: shopbot checkouts against a PostgreSQL server, on one hot product and
//! spread over many, each between two runs of pgbench's TPC-B-like load at the same
//! concurrency, the anchor.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use shopbot_core::ports::Storage;
use shopbot_core::{Error, Result};
use shopbot_storage_pg::testing::TestDatabase;
use shopbot_storage_pg::{PgOptions, PgStore, PurchasePath};

use crate::json::{Purchase, checkouts_on, filled_cart_checkouts_on, stocked_shop_with};
use crate::report::{CpuSpent, Throughput, emit, with};

/// The concurrencies measured, pgbench's clients and shopbot's buyers alike.
pub const CONCURRENCIES: [u32; 2] = [8, 64];

/// The purchase paths measured side by side: through the lanes, and each command on its own.
const PATHS: [PurchasePath; 2] = [PurchasePath::Lanes(1), PurchasePath::Direct];

/// `path` as the JSON lines name it.
fn path_name(path: PurchasePath) -> &'static str {
    match path {
        PurchasePath::Lanes(_) => "lanes",
        PurchasePath::Direct => "direct",
    }
}

/// How long each measurement runs.
pub struct Scale {
    pgbench_seconds: u32,
    pgbench_scale: u32,
    /// Purchases per measurement, whatever the concurrency, so that each runs for seconds
    /// at 8 buyers as at 64: a run of a second or two moves with the machine's mood.
    checkouts_per_run: usize,
}

impl Scale {
    /// The full run.
    pub fn full() -> Scale {
        Scale {
            pgbench_seconds: 20,
            pgbench_scale: 10,
            checkouts_per_run: 12_800,
        }
    }

    /// Under a minute.
    pub fn quick() -> Scale {
        Scale {
            pgbench_seconds: 4,
            pgbench_scale: 2,
            checkouts_per_run: 640,
        }
    }
}

/// pgbench TPC-B-like TPS at `clients`, or `None` when pgbench is not installed.
fn pgbench(url: &str, clients: u32, scale: &Scale) -> Option<f64> {
    let output = Command::new("pgbench")
        .args(["-n", "-c", &clients.to_string(), "-j", "2"])
        .args(["-T", &scale.pgbench_seconds.to_string(), url])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Runs the measurements `runs` times, then prints the median of each figure over the runs
/// (`pg_median`) and, for each purchase, how many times faster the lanes were than the direct
/// path (`pg_lanes_vs_direct`, the ratio of the medians).
pub async fn run(scale: &Scale, _dir: &Path, concurrencies: &[u32], runs: usize) -> Result<()> {
    let mut measured = Vec::new();
    for run in 1..=runs.max(1) {
        measured.extend(run_once(scale, concurrencies, run).await?);
    }
    for line in medians(&measured) {
        emit(line);
    }
    Ok(())
}

/// One full run. At each concurrency pgbench runs before shopbot's measurements on one hot
/// product (each purchase path in turn), between them and those spread over many products,
/// and after those, and each ratio is to the mean of the two runs on either side: this
/// machine's speed drifts over minutes, and an anchor taken minutes away would drift with it.
async fn run_once(
    scale: &Scale,
    concurrencies: &[u32],
    run: usize,
) -> Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    // Fixed names: a run clears away what an interrupted one left; each is dropped when done.
    let anchor_db = TestDatabase::recreate("shopbot_bench_pgbench")
        .await
        .map_err(Error::internal)?;
    let url = anchor_db.url().to_owned();
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", &scale.pgbench_scale.to_string(), &url])
        .output();
    let anchor_url = match init {
        Ok(out) if out.status.success() => Some(url),
        _ => {
            emit(json!({"bench": "pgbench_tpcb", "skipped": "pgbench is not installed"}));
            None
        }
    };
    let anchor = |clients: u32, when: &str, out: &mut Vec<serde_json::Value>| {
        let tps = anchor_url
            .as_ref()
            .and_then(|url| pgbench(url, clients, scale));
        if anchor_url.is_some() {
            keep(
                json!({"bench": "pgbench_tpcb", "concurrency": clients, "when": when,
                        "tps": tps}),
                run,
                out,
            );
        }
        tps
    };
    for &clients in concurrencies {
        let mut before = anchor(clients, "before", &mut out);
        for (spread, when) in [(false, "between"), (true, "after")] {
            let mut lines = Vec::new();
            for path in PATHS {
                lines.extend(shopbot(scale, clients as usize, spread, path).await?);
            }
            let after = anchor(clients, when, &mut out);
            let tps = before.zip(after).map(|(b, a)| (b + a) / 2.0);
            for line in lines {
                keep(against(line, tps), run, &mut out);
            }
            before = after;
        }
    }
    drop(anchor_db);
    Ok(out)
}

/// Prints `line` as it comes, with its run's number, and keeps it for the medians.
fn keep(line: serde_json::Value, run: usize, out: &mut Vec<serde_json::Value>) {
    emit(with(line.clone(), json!({ "run": run })));
    out.push(line);
}

/// The median over the runs of each measurement's checkouts per second and ratio to pgbench,
/// and of pgbench's TPS; then the lanes against the direct path for each purchase.
fn medians(lines: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let text = |line: &serde_json::Value, key: &str| {
        line.get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let number = |line: &serde_json::Value, key: &str| line.get(key).and_then(|v| v.as_f64());
    let mut runs: BTreeMap<Measurement, Vec<(f64, Option<f64>)>> = BTreeMap::new();
    let mut anchors: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for line in lines {
        let concurrency = line
            .get("concurrency")
            .and_then(|v| v.as_u64())
            .unwrap_or_default();
        match line.get("bench").and_then(|v| v.as_str()) {
            Some("pg_checkout") => {
                let key = (
                    concurrency,
                    text(line, "products"),
                    text(line, "steps"),
                    text(line, "path"),
                );
                if let Some(ops) = number(line, "ops_per_sec") {
                    let ratio = number(line, "vs_pgbench_tps");
                    runs.entry(key).or_default().push((ops, ratio));
                }
            }
            Some("pgbench_tpcb") => {
                if let Some(tps) = number(line, "tps") {
                    anchors.entry(concurrency).or_default().push(tps);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (concurrency, tps) in anchors {
        out.push(json!({"bench": "pg_median", "of": "pgbench_tpcb",
                        "concurrency": concurrency, "tps": median(tps)}));
    }
    let mut of_path: BTreeMap<(u64, String, String), BTreeMap<String, f64>> = BTreeMap::new();
    for ((concurrency, products, steps, path), figures) in runs {
        let ops = median(figures.iter().map(|(ops, _)| *ops).collect());
        let ratios: Vec<f64> = figures.iter().filter_map(|(_, ratio)| *ratio).collect();
        out.push(
            json!({"bench": "pg_median", "of": "pg_checkout", "concurrency": concurrency,
                        "products": products, "steps": steps, "path": path,
                        "runs": figures.len(), "ops_per_sec": ops,
                        "vs_pgbench_tps": (!ratios.is_empty()).then(|| median(ratios))}),
        );
        of_path
            .entry((concurrency, products, steps))
            .or_default()
            .insert(path, ops);
    }
    for ((concurrency, products, steps), paths) in of_path {
        if let (Some(lanes), Some(direct)) = (paths.get("lanes"), paths.get("direct")) {
            let times = (lanes / direct * 100.0).round() / 100.0;
            out.push(
                json!({"bench": "pg_lanes_vs_direct", "concurrency": concurrency,
                            "products": products, "steps": steps, "lanes_ops_per_sec": lanes,
                            "direct_ops_per_sec": direct, "lanes_times_direct": times}),
            );
        }
    }
    out
}

/// Which measurement a figure belongs to: concurrency, products, steps and path.
type Measurement = (u64, String, String, String);

/// The middle of `figures` (the mean of the two middle ones for an even count).
fn median(mut figures: Vec<f64>) -> f64 {
    figures.sort_by(f64::total_cmp);
    let middle = figures.len() / 2;
    match (figures.get(middle.wrapping_sub(1)), figures.get(middle)) {
        (Some(low), Some(high)) if figures.len().is_multiple_of(2) => (low + high) / 2.0,
        (_, Some(middle)) => *middle,
        _ => 0.0,
    }
}

/// shopbot's measurements at `concurrency` through `path`, on one hot product or `spread` over
/// many.
async fn shopbot(
    scale: &Scale,
    concurrency: usize,
    spread: bool,
    path: PurchasePath,
) -> Result<Vec<serde_json::Value>> {
    let mut lines = Vec::new();
    let products = if spread { "spread" } else { "hot" };
    let path_name = path_name(path);
    let name = format!("shopbot_bench_c{concurrency}_{products}_{path_name}");
    let database = TestDatabase::recreate(&name)
        .await
        .map_err(Error::internal)?;
    let options = PgOptions {
        max_connections: 64,
        acquire_timeout: Duration::from_secs(30),
        purchases: path,
        ..PgOptions::default()
    };
    let store = Arc::new(
        PgStore::connect_with(database.url(), options)
            .await
            .map_err(Error::internal)?,
    );
    let product_count = if spread { concurrency } else { 1 };
    let total = scale.checkouts_per_run;
    // The purchases of each kind, the filled carts' checkouts, and one spare unit per
    // buyer.
    let units = 3 * total + concurrency;
    let (shop, product_ids) = stocked_shop_with(
        store.clone() as Arc<dyn Storage>,
        concurrency + total,
        product_count,
        units,
    )
    .await?;
    // One untimed checkout per buyer first (the stock has one spare unit per buyer), as
    // pgbench's figure leaves out connecting: it opens the pool's connections and prepares
    // each one's statements and functions.
    let cart = Purchase::AddThenCheckout;
    checkouts_on(
        &shop,
        &product_ids,
        concurrency,
        concurrency,
        "warmup",
        cart,
    )
    .await?;
    for (how, steps) in [(cart, "add_then_checkout"), (Purchase::BuyNow, "buy_now")] {
        let cpu = CpuSpent::now();
        let run = checkouts_on(&shop, &product_ids, concurrency, total, steps, how).await?;
        let cpu = cpu.per_op_since(run.ops);
        lines.push(measured(steps, path_name, concurrency, products, run, cpu));
    }
    // The buyers after the first `concurrency` have had no cart yet.
    let filled = filled_cart_checkouts_on(&shop, &product_ids, concurrency, concurrency, total);
    let cpu = CpuSpent::now();
    let run = filled.await?;
    let cpu = cpu.per_op_since(run.ops);
    lines.push(measured(
        "checkout_of_filled_cart",
        path_name,
        concurrency,
        products,
        run,
        cpu,
    ));
    let oversold = oversold(store.pool()).await?;
    lines.push(
        json!({"bench": "pg_oversold", "path": path_name, "concurrency": concurrency,
                      "products": products, "oversold_units": oversold}),
    );
    store.close().await;
    drop(database);
    Ok(lines)
}

/// One measurement's JSON line: how the buyers bought (`steps`) and the run's figures.
fn measured(
    steps: &str,
    path: &str,
    concurrency: usize,
    products: &str,
    run: Throughput,
    cpu: serde_json::Value,
) -> serde_json::Value {
    let line = json!({"bench": "pg_checkout", "steps": steps, "path": path,
                      "concurrency": concurrency,
                      "products": products, "orders": run.ops});
    with(line, with(run.fields(), cpu))
}

/// `line` with its ratio to pgbench's TPS, if it is a measurement and pgbench ran.
fn against(line: serde_json::Value, tps: Option<f64>) -> serde_json::Value {
    match line.get("ops_per_sec").and_then(|v| v.as_f64()) {
        Some(ops_per_sec) => {
            let ratio = tps.map(|tps| (ops_per_sec / tps * 100.0).round() / 100.0);
            with(line, json!({"vs_pgbench_tps": ratio}))
        }
        None => line,
    }
}

/// Units sold beyond what orders bought, or sold twice: must be zero.
async fn oversold(pool: &sqlx::PgPool) -> Result<i64> {
    sqlx::query_scalar(
        "SELECT (SELECT COALESCE(SUM(quantity), 0) FROM order_lines)::BIGINT \
              - (SELECT count(*) FROM stock_units WHERE state = 'sold')",
    )
    .fetch_one(pool)
    .await
    .map(|diff: i64| diff.abs())
    .map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_figure_or_the_mean_of_the_two_middle_ones() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![7.0]), 7.0);
        assert_eq!(median(Vec::new()), 0.0);
    }

    #[test]
    fn the_lanes_are_compared_with_the_direct_path_on_the_medians_of_the_same_purchase() {
        let line = |path: &str, ops: f64| {
            json!({"bench": "pg_checkout", "concurrency": 8, "products": "hot",
                   "steps": "buy_now", "path": path, "ops_per_sec": ops})
        };
        let lines = [
            line("lanes", 300.0),
            line("direct", 100.0),
            line("lanes", 200.0),
            line("direct", 110.0),
            line("lanes", 250.0),
            line("direct", 90.0),
        ];
        let summary = medians(&lines);
        let compared = summary
            .iter()
            .find(|l| l["bench"] == "pg_lanes_vs_direct")
            .unwrap();
        assert_eq!(compared["lanes_ops_per_sec"], 250.0);
        assert_eq!(compared["direct_ops_per_sec"], 100.0);
        assert_eq!(compared["lanes_times_direct"], 2.5);
    }
}
