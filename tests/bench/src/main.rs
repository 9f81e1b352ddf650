//! shopbot's benchmark program. Each subcommand measures on the machine it runs on and prints
//! one JSON object per line.
//!
//! ```text
//! cargo run --release -p shopbot-bench -- json [--quick] [--dir DIR] [--only PART]…
//! cargo run --release -p shopbot-bench -- pg [--quick] [--runs N] [--concurrency N]…
//! cargo build --release -p shopbot-cli && cargo run --release -p shopbot-bench -- live [--quick] [--dir DIR] [--shopbot PATH]
//! ```
//!
//! `pg` uses the PostgreSQL server named by `DATABASE_URL` (default the local one), creating
//! and dropping its own databases.
//!
//! `--quick` runs in under a minute with the large stores scaled down; `--only` (anchor,
//! checkout, latency, recovery) runs some measurements; `--dir` chooses the disk measured;
//! `--concurrency` (8, 64) runs the `pg` measurements at that concurrency only; `--runs N`
//! repeats them N times and ends with the median of each figure.
//!
//! `live` measures admin commands (`shopbot` processes, the release binary beside this one
//! unless `--shopbot` names another) through a running shop's socket against a direct open,
//! and customers' button presses during a 100,000-key import through it (20,000 with
//! `--quick`).

mod json;
mod live;
mod pg;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: shopbot-bench json [--quick] [--dir DIR] \
                     [--only anchor|checkout|latency|recovery]… | pg [--quick] [--runs N] [--concurrency 8|64]… \
                     | live [--quick] [--dir DIR] [--shopbot PATH]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("json") => json_bench(args.get(1..).unwrap_or_default()),
        Some("pg") => pg_bench(args.get(1..).unwrap_or_default()),
        Some("live") => live_bench(args.get(1..).unwrap_or_default()),
        Some("json-open") => match args.get(1..5) {
            Some([path, units, orders, journal]) => {
                json::open_and_report(&PathBuf::from(path), units, orders, journal)
            }
            _ => Err(shopbot_core::Error::invalid(USAGE)),
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark failed: {e:?}");
            ExitCode::FAILURE
        }
    }
}

fn json_bench(args: &[String]) -> shopbot_core::Result<()> {
    let mut scale = json::Scale::full();
    let mut dir = None;
    let mut only = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => scale = json::Scale::quick(),
            "--dir" => dir = args.next().map(PathBuf::from),
            "--only" => match args
                .next()
                .and_then(|p| json::PARTS.iter().find(|k| *k == p))
            {
                Some(part) => only.push(*part),
                None => return Err(shopbot_core::Error::invalid(USAGE)),
            },
            other => return Err(shopbot_core::Error::invalid(format!("{other}? {USAGE}"))),
        }
    }
    let temp = match &dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .map_err(shopbot_core::Error::internal)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .build()
        .map_err(shopbot_core::Error::internal)?;
    let parts = if only.is_empty() {
        &json::PARTS[..]
    } else {
        &only[..]
    };
    runtime.block_on(json::run(&scale, temp.path(), parts))
}

fn live_bench(args: &[String]) -> shopbot_core::Result<()> {
    let mut scale = live::Scale::full();
    let mut dir = None;
    let mut shopbot = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => scale = live::Scale::quick(),
            "--shopbot" => shopbot = args.next().map(PathBuf::from),
            "--dir" => dir = args.next().map(PathBuf::from),
            other => return Err(shopbot_core::Error::invalid(format!("{other}? {USAGE}"))),
        }
    }
    let temp = match &dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .map_err(shopbot_core::Error::internal)?;
    // The shop runs on one thread, as `shopbot serve` runs it; the holder's socket has a
    // thread of its own (the live module starts it).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(shopbot_core::Error::internal)?;
    let shopbot = match shopbot {
        Some(path) => path,
        None => std::env::current_exe()
            .map_err(shopbot_core::Error::internal)?
            .with_file_name("shopbot"),
    };
    if !shopbot.is_file() {
        return Err(shopbot_core::Error::invalid(format!(
            "no shopbot binary at {}: build it first (cargo build --release -p shopbot-cli) \
             or name it with --shopbot PATH",
            shopbot.display()
        )));
    }
    runtime.block_on(live::run(&scale, temp.path(), &shopbot))
}

fn pg_bench(args: &[String]) -> shopbot_core::Result<()> {
    let mut scale = pg::Scale::full();
    let mut only = Vec::new();
    let mut runs = 1;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => scale = pg::Scale::quick(),
            "--runs" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => runs = n,
                _ => return Err(shopbot_core::Error::invalid(USAGE)),
            },
            "--concurrency" => match args
                .next()
                .and_then(|c| pg::CONCURRENCIES.iter().find(|k| k.to_string() == *c))
            {
                Some(clients) => only.push(*clients),
                None => return Err(shopbot_core::Error::invalid(USAGE)),
            },
            other => return Err(shopbot_core::Error::invalid(format!("{other}? {USAGE}"))),
        }
    }
    let concurrencies = if only.is_empty() {
        &pg::CONCURRENCIES[..]
    } else {
        &only[..]
    };
    let temp = tempfile::tempdir().map_err(shopbot_core::Error::internal)?;
    // The store runs as `shopbot telegram` runs it: on one thread (frontend-cli's runtime).
    // The buyers, the store's lanes and their connections then hand work to each other
    // without waking another thread each time.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(shopbot_core::Error::internal)?;
    runtime.block_on(pg::run(&scale, temp.path(), concurrencies, runs))
}
