//! The `live` benchmark: what administering a running shop through its socket costs (issue
//! 24).
//!
//! One JSON store in a temporary directory, stocked like a small shop (a dozen products,
//! funded customers).
//!
//! * `live_admin`: each admin command (`product list`, `user credit`, `stock add` of a few
//!   keys) run as real `shopbot` processes, one after another: first on the store directly
//!   (each process opens it; the open it logs at debug level is taken off its time, so both
//!   paths are timed after the store is open), then while the live module's own [`Holder`]
//!   serves the store from a thread of this process, as `shopbot serve` does, so that the
//!   processes find it locked and work through its socket. The ratio of p50s against the
//!   target of 1.5.
//! * `live_round_trip` / `live_connect`: one storage call through the socket, and one
//!   connection with its hello, as [`RemoteStorage`] (the CLI's client) makes them: what each
//!   call and each command pays for crossing.
//! * `live_customers_idle` / `live_customers_import`: K customers pressing through menu,
//!   catalog, product, buy now and confirm through [`Flow`] on a [`Shop`] over the held store
//!   (on this one-thread runtime, as `serve` runs the bot), on an idle shop, then while a
//!   large `stock add` runs through the socket from a thread and runtime of its own, as a
//!   separate CLI process would; `live_import` says how long the import took and whether
//!   every key landed; `live_customers_ratio` compares the p99s against the target of 2.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shopbot_cli::live::remote::random_request_key;
use shopbot_cli::live::{Holder, RemoteStorage};
use shopbot_core::flow::{Action, Flow, FlowConfig, Incoming, RateLimit, Reply};
use shopbot_core::ids::{ChatId, ProductId, UserId};
use shopbot_core::ports::{Storage, SystemClock};
use shopbot_core::services::{Shop, ShopConfig};
use shopbot_core::stock::OnDuplicate;
use shopbot_core::{Error, Result};
use shopbot_storage_json::JsonStore;

use crate::json::{OWNER, buyer, profile, stocked_shop_with};
use crate::report::{Throughput, emit, with};

/// How much work each measurement does.
pub struct Scale {
    /// Storage calls timed through the socket.
    calls: usize,
    /// `shopbot` processes run per command and path.
    process_runs: usize,
    customers: usize,
    idle_rounds: usize,
    import_keys: usize,
}

impl Scale {
    /// The sizes the targets are stated for.
    pub fn full() -> Scale {
        Scale {
            calls: 3_000,
            process_runs: 40,
            customers: 8,
            idle_rounds: 400,
            import_keys: 100_000,
        }
    }

    /// A run of under a minute, with a smaller import.
    pub fn quick() -> Scale {
        Scale {
            calls: 600,
            process_runs: 10,
            customers: 8,
            idle_rounds: 100,
            import_keys: 20_000,
        }
    }
}

/// Products in the benchmark's catalog.
const PRODUCTS: usize = 12;

/// Keys each product starts with, plenty for every customer's purchases.
const KEYS_PER_PRODUCT: usize = 5_000;

/// The admin-latency target: through the shop at most this many times the direct time.
const ADMIN_TARGET: f64 = 1.5;

/// The customer target: p99 during the import at most this many times the idle p99.
const CUSTOMER_TARGET: f64 = 2.0;

const ADMIN_NOTES: &str = "each run is a shopbot process, wall time from spawn to exit; a direct \
                           run opens the store itself and the open it logs is taken off its \
                           time; a live run finds the store held by shopbot_cli::live::Holder \
                           (as in serve) and works through its socket";

const NOTES: &str = "in-process: shopbot_cli::live::Holder serves the store's real socket on its \
                     own thread as in serve; admin calls through shopbot_cli::live::RemoteStorage \
                     (the CLI's client), a new connection per command; customers through core \
                     Flow on the holder's store on a one-thread runtime as in serve; the import \
                     client on a thread of its own";

/// Runs every `live` measurement in `dir`; `shopbot` is the CLI binary the admin commands
/// run as.
pub async fn run(scale: &Scale, dir: &Path, shopbot: &Path) -> Result<()> {
    let path = dir.join("live-store");
    let store = Arc::new(JsonStore::open(&path).map_err(Error::internal)?);
    let (shop, products) = stocked_shop_with(
        Arc::clone(&store) as Arc<dyn Storage>,
        scale.customers,
        PRODUCTS,
        PRODUCTS * KEYS_PER_PRODUCT,
    )
    .await?;
    let target = products
        .first()
        .copied()
        .ok_or_else(|| Error::internal_msg("no product"))?;
    drop(shop);
    store.close().await?;
    drop(store);

    // Direct: each command is a `shopbot` process that opens the store itself; the time the
    // open took (the process logs it) is set aside: both paths are timed after the store is
    // open.
    let commands = AdminCommands::new(dir, target)?;
    let mut direct = Vec::new();
    for command in COMMANDS {
        direct.push(processes(
            scale.process_runs,
            shopbot,
            &path,
            &commands,
            command,
            "direct",
        )?);
    }

    // Live: the store is held and served as `shopbot serve` holds it; the same processes
    // find it locked and work through its socket.
    let store = Arc::new(JsonStore::open(&path).map_err(Error::internal)?);
    let shop = Shop::new(
        Arc::clone(&store) as Arc<dyn Storage>,
        Arc::new(SystemClock),
        config(),
    );
    let holder = Holder::start(&path, Arc::clone(&store)).map_err(Error::internal)?;
    let socket = holder.path().to_path_buf();
    for (command, direct) in COMMANDS.into_iter().zip(direct) {
        let live = processes(
            scale.process_runs,
            shopbot,
            &path,
            &commands,
            command,
            "live",
        )?;
        emit_admin(command, direct, live);
    }
    round_trips(scale.calls, &socket).await?;

    customers(scale, &shop, &products, &socket, target).await?;
    holder.stop().await;
    Ok(())
}

/// The admin commands measured, by their CLI name.
const COMMANDS: [&str; 3] = ["product list", "user credit", "stock add"];

/// The arguments of each measured command, with the key files `stock add` reads.
struct AdminCommands {
    dir: PathBuf,
    product: ProductId,
}

impl AdminCommands {
    fn new(dir: &Path, product: ProductId) -> Result<AdminCommands> {
        let dir = dir.join("admin-files");
        std::fs::create_dir_all(&dir).map_err(Error::internal)?;
        Ok(AdminCommands { dir, product })
    }

    /// The arguments of run `run` of `command` on `path` (`stock add` writes its own file
    /// of five new keys first).
    fn args(&self, command: &str, path_kind: &str, run: usize) -> Result<Vec<String>> {
        let args: Vec<String> = match command {
            "product list" => vec!["product".into(), "list".into()],
            "user credit" => [
                "user", "credit", "--user", "1000", "--amount", "1", "--reason",
            ]
            .into_iter()
            .map(String::from)
            .chain([format!("bench {path_kind} {run}")])
            .collect(),
            _ => {
                let file = self.dir.join(format!("{path_kind}-{run}.txt"));
                let keys: String = (0..5)
                    .map(|k| format!("ADM-{path_kind}-{run}-{k}\n"))
                    .collect();
                std::fs::write(&file, keys).map_err(Error::internal)?;
                vec![
                    "stock".into(),
                    "add".into(),
                    "--product".into(),
                    self.product.0.to_string(),
                    "--file".into(),
                    file.display().to_string(),
                ]
            }
        };
        Ok(args)
    }
}

/// A command's runs, and how long their direct opens of the store took.
struct Runs {
    /// Wall time from spawn to exit, less the store's open.
    after_open: Throughput,
    /// The opens, as the process logged them (zero through the shop).
    opening: Vec<Duration>,
}

/// Runs `command` as `runs` `shopbot` processes on the store at `store`, one after another.
fn processes(
    runs: usize,
    shopbot: &Path,
    store: &Path,
    commands: &AdminCommands,
    command: &str,
    path_kind: &str,
) -> Result<Runs> {
    let mut latencies = Vec::with_capacity(runs);
    let mut opening = Vec::with_capacity(runs);
    let start = Instant::now();
    for run in 0..runs {
        let args = commands.args(command, path_kind, run)?;
        let mut process = std::process::Command::new(shopbot);
        process
            .args(["--log-level", "debug", "--store"])
            .arg(format!("json:{}", store.display()))
            .args(&args)
            .current_dir(&commands.dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (key, _) in std::env::vars() {
            if key.starts_with("SHOPBOT_") {
                process.env_remove(key);
            }
        }
        let t = Instant::now();
        let output = process.output().map_err(Error::internal)?;
        let took = t.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        opening.push(open_time(&stderr));
        latencies.push(took.saturating_sub(open_time(&stderr)));
        if !output.status.success() {
            return Err(Error::internal_msg(format!(
                "`shopbot {}` ({path_kind}) failed: {}",
                args.join(" "),
                stderr
            )));
        }
    }
    Ok(Runs {
        after_open: Throughput {
            ops: runs,
            elapsed: start.elapsed(),
            latencies,
        },
        opening,
    })
}

/// How long the process's direct open of the store took, from its debug line `opened the
/// store took_us=N`; zero when it opened nothing (it went through the shop).
fn open_time(stderr: &str) -> Duration {
    stderr
        .lines()
        .filter(|line| line.contains("opened the store"))
        .find_map(|line| {
            let rest = line.split("took_us=").nth(1)?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .map_or(Duration::ZERO, Duration::from_micros)
}

/// One storage read through the socket, `calls` times on one connection: the cost of a
/// crossing, which every storage call of a command pays once.
async fn round_trips(calls: usize, socket: &Path) -> Result<()> {
    let (_, remote) = remote_shop(socket).await?;
    let mut latencies = Vec::with_capacity(calls);
    let start = Instant::now();
    for _ in 0..calls {
        let t = Instant::now();
        remote.user(OWNER).await?;
        latencies.push(t.elapsed());
    }
    let run = Throughput {
        ops: calls,
        elapsed: start.elapsed(),
        latencies,
    };
    emit(with(
        json!({"bench": "live_round_trip", "call": "user"}),
        run.fields(),
    ));
    let mut latencies = Vec::with_capacity(calls / 10);
    let start = Instant::now();
    for _ in 0..calls / 10 {
        let t = Instant::now();
        remote_shop(socket).await?;
        latencies.push(t.elapsed());
    }
    let run = Throughput {
        ops: calls / 10,
        elapsed: start.elapsed(),
        latencies,
    };
    emit(with(json!({"bench": "live_connect"}), run.fields()));
    Ok(())
}

/// A shop whose storage is a fresh connection to the holder, as one CLI run has.
async fn remote_shop(socket: &Path) -> Result<(Shop, Arc<RemoteStorage>)> {
    let remote = RemoteStorage::connect(socket, random_request_key())
        .await
        .map_err(|e| Error::internal_msg(format!("cannot connect to the holder: {e:?}")))?;
    let remote = Arc::new(remote);
    let shop = Shop::new(
        Arc::clone(&remote) as Arc<dyn Storage>,
        Arc::new(SystemClock),
        config(),
    );
    Ok((shop, remote))
}

fn config() -> ShopConfig {
    ShopConfig {
        owners: [OWNER].into(),
        ..ShopConfig::default()
    }
}

fn emit_admin(command: &str, direct: Runs, live: Runs) {
    let mut opening = direct.opening;
    opening.sort_unstable();
    let open_us = opening
        .get(opening.len() / 2)
        .map_or(0, |d| d.as_micros() as u64);
    let direct = direct.after_open.fields();
    let live = live.after_open.fields();
    let p50 = |v: &Value| v.get("p50_us").and_then(Value::as_u64).unwrap_or(0);
    let ratio = ratio(p50(&live), p50(&direct));
    emit(json!({
        "bench": "live_admin",
        "command": command,
        "direct_after_open": direct,
        "direct_open_p50_us": open_us,
        "live": live,
        "ratio_p50": ratio,
        "target_ratio": ADMIN_TARGET,
        "pass": ratio <= ADMIN_TARGET,
        "notes": ADMIN_NOTES,
    }));
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    (numerator as f64 / denominator.max(1) as f64 * 100.0).round() / 100.0
}

/// Customers on the idle shop, then during a large import through the socket.
async fn customers(
    scale: &Scale,
    shop: &Shop,
    products: &[ProductId],
    socket: &Path,
    target: ProductId,
) -> Result<()> {
    let flow = Flow::with_config(
        shop.clone(),
        FlowConfig {
            updates: RateLimit::unlimited(),
            expensive: RateLimit::unlimited(),
            support: None,
        },
    );
    let sold_before = sold(shop, products).await?;
    let (idle, purchases) = press(
        &flow,
        products,
        scale.customers,
        Until::Rounds(scale.idle_rounds),
    )
    .await?;
    let sold_idle = sold(shop, products).await?;
    all_bought("idle", purchases, sold_before, sold_idle)?;
    let idle = idle.fields();

    let text: String = (0..scale.import_keys)
        .map(|k| format!("IMPORT-{k:08}-ABCDE-FGHIJ\n"))
        .collect();
    let before = shop.storage().stock_counts(target).await?;
    let done = Arc::new(AtomicBool::new(false));
    // The import runs as a CLI process would: on a thread and runtime of its own.
    let importer = {
        let socket = socket.to_path_buf();
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let started = Instant::now();
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(Error::internal)
                .and_then(|runtime| {
                    runtime.block_on(async {
                        let (remote, _) = remote_shop(&socket).await?;
                        remote
                            .admin()
                            .import_stock_text(OWNER, target, &text, OnDuplicate::Refuse)
                            .await
                    })
                });
            done.store(true, Ordering::Release);
            result.map(|report| (report, started.elapsed()))
        })
    };
    let (during, purchases) = press(&flow, products, scale.customers, Until::Done(done)).await?;
    let (report, took) = tokio::task::spawn_blocking(move || importer.join())
        .await
        .map_err(Error::internal)?
        .map_err(|_| Error::internal_msg("the import's thread panicked"))??;
    all_bought(
        "during the import",
        purchases,
        sold_idle,
        sold(shop, products).await?,
    )?;
    let after = shop.storage().stock_counts(target).await?;
    let total = |c: shopbot_core::stock::StockCounts| c.available + c.reserved + c.sold;
    let landed = total(after).saturating_sub(total(before));
    emit(json!({
        "bench": "live_import",
        "keys": scale.import_keys,
        "added": report.added,
        "landed": landed,
        "all_landed": report.added == scale.import_keys && landed == scale.import_keys as u64,
        "took_ms": took.as_millis() as u64,
        "quick_scaled_down": scale.import_keys < 100_000,
    }));

    let idle_p99 = idle.get("p99_us").and_then(Value::as_u64).unwrap_or(0);
    let during = during.fields();
    let during_p99 = during.get("p99_us").and_then(Value::as_u64).unwrap_or(0);
    emit(with(
        json!({"bench": "live_customers_idle", "customers": scale.customers}),
        idle,
    ));
    emit(with(
        json!({
            "bench": "live_customers_import",
            "customers": scale.customers,
            "import_keys": scale.import_keys,
        }),
        during,
    ));
    let ratio = ratio(during_p99, idle_p99);
    emit(json!({
        "bench": "live_customers_ratio",
        "idle_p99_us": idle_p99,
        "import_p99_us": during_p99,
        "ratio_p99": ratio,
        "target_ratio": CUSTOMER_TARGET,
        "pass": ratio <= CUSTOMER_TARGET,
        "import_keys": scale.import_keys,
        "notes": NOTES,
    }));
    Ok(())
}

/// When customers stop pressing.
#[derive(Clone)]
enum Until {
    /// After this many rounds each.
    Rounds(usize),
    /// At the end of the round in which this turns true.
    Done(Arc<AtomicBool>),
}

/// `customers` customers at once, each pressing round after round: menu, catalog, a
/// product, buy now, confirm. Every press is timed; the run and its number of confirmed
/// purchases are returned.
async fn press(
    flow: &Flow,
    products: &[ProductId],
    customers: usize,
    until: Until,
) -> Result<(Throughput, usize)> {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..customers {
        let flow = flow.clone();
        let until = until.clone();
        let product = products
            .get(c % products.len().max(1))
            .copied()
            .ok_or_else(|| Error::internal_msg("no product"))?;
        tasks.spawn(async move {
            let user = buyer(c);
            let mut latencies = Vec::new();
            let mut round = 0;
            loop {
                match &until {
                    Until::Rounds(n) if round >= *n => break,
                    Until::Done(done) if done.load(Ordering::Acquire) => break,
                    _ => {}
                }
                round += 1;
                let steps = [
                    Action::Menu,
                    Action::Catalog { page: 0 },
                    Action::Product { product },
                ];
                for action in steps {
                    timed(&flow, user, action, &mut latencies).await;
                }
                let confirm = timed(&flow, user, Action::BuyNow { product }, &mut latencies).await;
                let confirm = confirm
                    .screen
                    .iter()
                    .flat_map(|s| s.buttons.iter().flatten())
                    .find(|b| matches!(b.action, Action::ConfirmBuyNow { .. }))
                    .map(|b| b.action)
                    .ok_or_else(|| Error::internal_msg("no confirm button after buy now"))?;
                timed(&flow, user, confirm, &mut latencies).await;
            }
            Ok::<_, Error>((latencies, round))
        });
    }
    let mut latencies = Vec::new();
    let mut purchases = 0;
    while let Some(done) = tasks.join_next().await {
        let (pressed, rounds) = done.map_err(Error::internal)??;
        latencies.extend(pressed);
        purchases += rounds;
    }
    let run = Throughput {
        ops: latencies.len(),
        elapsed: start.elapsed(),
        latencies,
    };
    Ok((run, purchases))
}

/// Keys sold of `products`, all told.
async fn sold(shop: &Shop, products: &[ProductId]) -> Result<u64> {
    let mut sold = 0;
    for product in products {
        sold += shop.storage().stock_counts(*product).await?.sold;
    }
    Ok(sold)
}

/// Fails the run unless every confirmed purchase sold a key: a customer's purchase that
/// failed during the import would otherwise hide as a fast press.
fn all_bought(phase: &str, purchases: usize, before: u64, after: u64) -> Result<()> {
    let sold = after.saturating_sub(before);
    if sold == purchases as u64 {
        Ok(())
    } else {
        Err(Error::internal_msg(format!(
            "{phase}: {purchases} purchases confirmed but {sold} keys sold"
        )))
    }
}

/// One button press by `user`, timed into `latencies`.
async fn timed(flow: &Flow, user: UserId, action: Action, latencies: &mut Vec<Duration>) -> Reply {
    let t = Instant::now();
    let reply = flow
        .handle(ChatId(user.0), profile(user), Incoming::Button(action))
        .await;
    latencies.push(t.elapsed());
    reply
}
