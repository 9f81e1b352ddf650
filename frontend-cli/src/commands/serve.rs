//! `shopbot serve`: the shop's long-running process. It runs what the configuration enables
//! (the Telegram bot when a token is set, and the background jobs) until SIGINT or SIGTERM,
//! then finishes the work in hand, closes the store and exits 0.
//!
//! The jobs are the one list [`enabled_jobs`] makes. Each round is recorded in the store, a
//! restarted process continues each job's schedule from those records, and requests left by
//! `shopbot job run` are taken up within 3 seconds. On PostgreSQL only the elected leader runs
//! them, in a [`Term`] per epoch, writing through `PgStore::fenced(epoch)` so that a deposed
//! leader's late write changes nothing.
//!
//! `shopbot telegram` is this command with the bot required ([`serve`] with
//! [`Telegram::Required`]). Neither prints nor logs the token, nor the store URL's secrets.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use shopbot_core::flow::{Flow, FlowConfig};
use shopbot_core::jobs::{
    DELIVER_OUTBOX_EVERY, Job, Scheduler, ShopJobPeriods, deliver_outbox, shop_jobs,
};
use shopbot_core::ports::{Clock, Messenger, Storage};
use shopbot_core::services::Shop;
use shopbot_storage_pg::{Leader, PgStore};
use shopbot_telegram::{TelegramBot, TelegramConfig, TelegramError};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::config::Settings;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::live::Holder;
use crate::scheduled_backup::{self, ScheduledBackup};
use crate::store::{Backend, StoreUrl};

/// How long a job round in hand may go on after the stop signal before it is abandoned, so the
/// whole process stops within 10 seconds (the bot allows itself 8 seconds the same way).
const JOB_GRACE: Duration = Duration::from_secs(8);

/// How often a process asks whether it leads the jobs on PostgreSQL, and looks for requests
/// (`shopbot job run`), while it waits: a standby takes over this long (at most) after the
/// leader's connection is gone, well within 10 s.
const LEADERSHIP_CHECK_EVERY: Duration = Duration::from_secs(3);

/// How long one leadership check may take before its connection is given up as dead, so an
/// unresponsive server cannot stall the job loop.
const LEADERSHIP_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// `shopbot serve`
#[derive(Debug, Args)]
#[command(after_help = "\
Runs what the configuration enables, in one process:
  the Telegram bot   when a token is set (SHOPBOT_TELEGRAM_TOKEN or TELEGRAM_BOT_TOKEN, or
                     token under [telegram]); see `shopbot telegram --help`
  background jobs    always: expire-invoices (expires unpaid invoices past due and puts the
                     units they reserved back on sale; every expire_invoices_every under
                     [jobs], 1m by default) and sweep (forgets expired conversations and old
                     update ids; sweep_every, 1h). On the JSON store with backup_dir set under
                     [jobs]: backup (a copy every backup_every, the newest backup_keep kept).
                     With the bot: deliver-outbox (every second, sends people their keys and
                     invoices, and staff the notices they chose, through the bot).
                     Each round is recorded in the store (`shopbot job list`); `shopbot job
                     run NAME` asks for a round now. On PostgreSQL several serve processes may
                     share the database: one is elected to run the jobs and the others stand
                     by; one takes over within 10 s when the leader stops or loses its
                     connection

At start it logs (at info) one line: the version, the store kind, what runs and how many admins
are configured; never a secret. Starting and stopping to lead the jobs, and standing by, are
logged at info too. A failing job is logged and retried later; it never stops the process.
SIGINT (Ctrl-C) or SIGTERM stops it: the bot takes no new updates and the jobs start no new
round; what is in hand finishes (8 s at most), the store is closed, and it exits 0.

Examples:
  shopbot --store json:/var/lib/shopbot --log-level info serve
  TELEGRAM_BOT_TOKEN=123456:ABC-DEF SHOPBOT_SHOP_ADMINS=1001 shopbot --log-level info serve")]
pub struct ServeArgs {}

/// Whether the Telegram bot must run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Telegram {
    /// Run it if a token is configured (`shopbot serve`).
    IfConfigured,
    /// Refuse to start without a token (`shopbot telegram`).
    Required,
}

/// Runs `shopbot serve` until SIGINT or SIGTERM.
pub async fn run(_args: &ServeArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    serve(Telegram::IfConfigured, ctx, out).await
}

/// Runs the shop's process: the bot (as `telegram` says) and the background jobs, until SIGINT
/// or SIGTERM, then closes the store and writes "Stopped.".
pub async fn serve(telegram: Telegram, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let settings = ctx.settings();
    // The configuration is checked before the store is touched.
    let telegram_config = match (telegram_config(settings), telegram) {
        (Ok(config), _) => Some(config),
        (Err(_), Telegram::IfConfigured) => None,
        (Err(error), Telegram::Required) => return Err(error),
    };
    let signals = stop_signal()?;
    let result = serve_shop(ctx, telegram_config, signals).await;
    // The store is closed whether the shop stopped or failed to start.
    let closed = ctx.close().await;
    result?;
    closed?;
    writeln!(out, "Stopped.")?;
    Ok(())
}

/// Opens the shop and runs the bot (if configured) beside the job loop until `signals`
/// resolves or the bot fails to start.
async fn serve_shop(
    ctx: &Ctx,
    telegram_config: Option<TelegramConfig>,
    signals: impl Future<Output = ()>,
) -> CliResult<()> {
    let settings = ctx.settings();
    let backend = ctx.existing_backend().await?.clone();
    let holder = hold(&backend, settings)?;
    let shop = ctx.shop().await?.clone();
    // With the bot, its messenger delivers the outbox as a job, so on PostgreSQL only the
    // leader does; the bot leaves the outbox alone.
    let (telegram, delivery) = match telegram_config {
        Some(config) => {
            let bot = TelegramBot::new(config)
                .map_err(cli_error)?
                .without_outbox();
            let delivery = Delivery {
                messenger: Arc::new(bot.messenger()),
                flow: FlowConfig {
                    updates: settings.telegram.rate_limit,
                    support: settings.shop.support_contact.clone(),
                    ..FlowConfig::default()
                },
            };
            let flow = Flow::with_config(shop.clone(), delivery.flow.clone());
            (Some((bot, flow)), Some(delivery))
        }
        None => (None, None),
    };
    // The job list is checked once here; each leadership term builds its own from it.
    let mut jobs = enabled_jobs(&shop, settings, &backend);
    jobs.extend(delivery.as_ref().map(|delivery| delivery.job(&shop)));
    let job_names: Vec<&str> = jobs.iter().map(|job| job.name()).collect();
    Scheduler::new(Arc::clone(shop.clock()), jobs.clone())?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        store = store_kind(&settings.store),
        telegram = if telegram.is_some() { "yes" } else { "no" },
        jobs = %job_names.join(","),
        admins = settings.admins.len(),
        "shopbot serve started"
    );
    if let Some(note) = scheduled_backup::postgres_note(settings) {
        tracing::warn!("{note}");
    }

    let (stop_sender, stop_receiver) = watch::channel(false);
    let stop_on_signal = async {
        tokio::select! {
            () = signals => {}
            () = stopped(stop_receiver.clone()) => {}
        }
        stop_sender.send_replace(true);
    };
    let bot = async {
        let Some((bot, flow)) = telegram else {
            return Ok(());
        };
        let result = bot.run(flow, stopped(stop_receiver.clone())).await;
        // A bot that failed to start (or stopped) stops the jobs too: the process ends.
        stop_sender.send_replace(true);
        result.map_err(cli_error)
    };
    let leadership = match &backend {
        Backend::Json(_) | Backend::Remote(_) => Leadership::Always,
        Backend::Postgres(store) => Leadership::elected(Arc::clone(store)),
    };
    let terms = Terms {
        shop: &shop,
        settings,
        backend: &backend,
        delivery,
        current: None,
    };
    let job_loop = run_jobs(terms, leadership, stop_receiver.clone());
    let ((), bot_result, ()) = tokio::join!(stop_on_signal, bot, job_loop);
    if let Some(holder) = holder {
        holder.stop().await;
    }
    bot_result
}

/// Starts the shop socket of a JSON store this process holds, so that other commands work
/// on it while the shop runs ([`crate::live`]). A store another process holds is refused:
/// one shop runs on one embedded store.
pub fn hold(backend: &Backend, settings: &Settings) -> CliResult<Option<Holder>> {
    match (backend, &settings.store) {
        (Backend::Json(store), StoreUrl::Json(dir)) => Holder::start(dir, Arc::clone(store))
            .map(Some)
            .map_err(|e| {
                CliError::internal(format!(
                    "cannot open the shop socket of {}: {e}",
                    settings.store
                ))
            }),
        (Backend::Remote(_), _) => Err(CliError::refused(format!(
            "the store at {} is in use by a running shop: one shop runs on an embedded store \
             at a time (stop the other one, or administer it with the other shopbot commands)",
            settings.store
        ))),
        _ => Ok(None),
    }
}

/// Every background job this configuration enables, over `shop` (whose storage the jobs
/// write through), in the order they run. This is the one job list: `serve` runs it, `job list`
/// shows it and `job run` runs one of it.
pub fn enabled_jobs(shop: &Shop, settings: &Settings, backend: &Backend) -> Vec<Job> {
    let periods = ShopJobPeriods {
        expire_invoices: settings.jobs.expire_invoices_every,
        sweep: settings.jobs.sweep_every,
    };
    let mut jobs = shop_jobs(shop, &periods);
    if let (Backend::Json(store), Some(dir)) = (backend, &settings.jobs.backup_dir) {
        let backup = ScheduledBackup {
            store: Arc::clone(store),
            url: settings.store.clone(),
            dir: dir.clone(),
            keep: settings.jobs.backup_keep,
            clock: Arc::clone(shop.clock()),
        };
        jobs.push(backup.job(settings.jobs.backup_every));
    }
    jobs
}

/// What the `deliver-outbox` job needs when the bot runs: the bot's messenger, and the
/// conversation's settings to render messages with.
struct Delivery {
    messenger: Arc<dyn Messenger>,
    flow: FlowConfig,
}

impl Delivery {
    /// The `deliver-outbox` job over `shop` (a term's, so its writes are fenced on PostgreSQL).
    fn job(&self, shop: &Shop) -> Job {
        let flow = Flow::with_config(shop.clone(), self.flow.clone());
        let messenger = Arc::clone(&self.messenger);
        let threshold = shop.config().low_stock_threshold;
        deliver_outbox(&flow, messenger, DELIVER_OUTBOX_EVERY, threshold)
    }
}

/// The storage a leadership term's jobs write through: on PostgreSQL a handle fenced by the
/// term's epoch, so a deposed leader's late write is refused; the JSON store as it is.
pub fn term_storage(backend: &Backend, term: Term) -> Arc<dyn Storage> {
    match (backend, term) {
        (Backend::Postgres(store), Term::Epoch(epoch)) => fenced(store, epoch),
        _ => backend.storage(),
    }
}

/// A PostgreSQL handle whose writes are refused once `epoch` is no longer current.
fn fenced(store: &PgStore, epoch: i64) -> Arc<dyn Storage> {
    Arc::new(store.fenced(epoch))
}

/// A scheduler of every enabled job over `storage` that records its rounds there, with each
/// job's schedule continued from the store's records (a failure to read them is logged, and
/// the jobs start on their first-run rules).
pub async fn recording_scheduler(
    shop: &Shop,
    settings: &Settings,
    backend: &Backend,
    storage: Arc<dyn Storage>,
) -> CliResult<Scheduler> {
    recording_scheduler_with(shop, settings, backend, storage, None).await
}

/// [`recording_scheduler`], with the `deliver-outbox` job when the bot runs.
async fn recording_scheduler_with(
    shop: &Shop,
    settings: &Settings,
    backend: &Backend,
    storage: Arc<dyn Storage>,
    delivery: Option<&Delivery>,
) -> CliResult<Scheduler> {
    let shop = Shop::new(
        Arc::clone(&storage),
        Arc::clone(shop.clock()),
        shop.config().clone(),
    );
    let mut jobs = enabled_jobs(&shop, settings, backend);
    jobs.extend(delivery.map(|delivery| delivery.job(&shop)));
    let scheduler = Scheduler::new(Arc::clone(shop.clock()), jobs)?.recording(storage);
    if let Err(error) = scheduler.restore().await {
        tracing::warn!(%error, "cannot read the jobs' records; each job starts afresh");
    }
    Ok(scheduler)
}

/// One spell of running the jobs: the JSON store's whole run, or one leader's epoch on
/// PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    /// This process alone can run jobs on the store (the JSON store's lock).
    Sole,
    /// This process leads under this epoch.
    Epoch(i64),
}

/// The scheduler of the current term, built when a term starts.
struct Terms<'a> {
    shop: &'a Shop,
    settings: &'a Settings,
    backend: &'a Backend,
    delivery: Option<Delivery>,
    current: Option<(Term, Scheduler)>,
}

impl Terms<'_> {
    /// The scheduler for `term`: the current one, or a new one when the term changed. `None`
    /// when it cannot be built (logged; tried again at the next look).
    async fn scheduler(&mut self, term: Term) -> Option<&Scheduler> {
        if self
            .current
            .as_ref()
            .is_none_or(|(current, _)| *current != term)
        {
            self.current = None;
            let storage = term_storage(self.backend, term);
            let delivery = self.delivery.as_ref();
            let scheduler =
                recording_scheduler_with(self.shop, self.settings, self.backend, storage, delivery);
            match scheduler.await {
                Ok(scheduler) => self.current = Some((term, scheduler)),
                Err(error) => {
                    tracing::error!(%error, "cannot set up the background jobs");
                    return None;
                }
            }
        }
        self.current.as_ref().map(|(_, scheduler)| scheduler)
    }

    /// Forgets the scheduler: this process no longer leads.
    fn end(&mut self) {
        self.current = None;
    }
}

/// Runs the jobs as they fall due, and those requested (`shopbot job run`), while
/// `leadership` allows, until `stop` is set. A round in hand when it is set gets [`JOB_GRACE`]
/// to finish. The scheduler logs each run's outcome and keeps a failing job on its retry
/// schedule, so a failure never ends this loop. Requests and leadership are looked at every
/// [`LEADERSHIP_CHECK_EVERY`] at least.
async fn run_jobs(
    mut terms: Terms<'_>,
    mut leadership: Leadership,
    mut stop: watch::Receiver<bool>,
) {
    let clock = Arc::clone(terms.shop.clock());
    loop {
        if *stop.borrow_and_update() {
            leadership.step_down();
            return;
        }
        // A stop signal cuts a slow leadership check short, so the process still stops in time.
        let term = tokio::select! {
            term = leadership.term() => term,
            _ = stop.changed() => {
                leadership.step_down();
                return;
            }
        };
        let scheduler = match term {
            Some(term) => terms.scheduler(term).await,
            None => {
                terms.end();
                None
            }
        };
        let wait = match scheduler {
            Some(scheduler) => {
                let round = async {
                    if let Err(error) = scheduler.run_requested().await {
                        tracing::warn!(%error, "cannot read the requests to run jobs");
                    }
                    scheduler.run_due().await;
                };
                tokio::pin!(round);
                tokio::select! {
                    () = &mut round => {}
                    _ = stop.changed() => {
                        if tokio::time::timeout(JOB_GRACE, &mut round).await.is_err() {
                            tracing::warn!("a job was still running at shutdown and was abandoned");
                        }
                        leadership.step_down();
                        return;
                    }
                }
                match scheduler.next_due() {
                    Some(due) => until(clock.as_ref(), due.millis()).min(LEADERSHIP_CHECK_EVERY),
                    // Every job is running elsewhere (a concurrent call): look again shortly.
                    None => Duration::from_secs(1),
                }
            }
            None => LEADERSHIP_CHECK_EVERY,
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {
                leadership.step_down();
                return;
            }
        }
    }
}

/// Whether this process may run the background jobs, and in which [`Term`]: on PostgreSQL the
/// jobs' writes are fenced by the epoch of the term they run in.
enum Leadership {
    /// The JSON store: this process holds the store's lock, so it alone runs the jobs.
    Always,
    /// PostgreSQL: several processes may share the database; the elected leader runs them.
    Elected(Candidate),
}

/// A process that takes part in the election of the job leader on PostgreSQL.
struct Candidate {
    store: Arc<PgStore>,
    /// Which process this is, for people: host and process id, never a secret.
    name: String,
    /// The election's connection; `None` until made, and again after it failed.
    leader: Option<Leader>,
    /// The epoch this process leads under, while it leads.
    epoch: Option<i64>,
    /// Whether it already said that it stands by while another process leads.
    standing_by: bool,
    /// Checks to sit out before standing again, after this process lost the election's
    /// connection while leading: a standby, which checks as often, then takes over first.
    sit_out: u8,
}

impl Leadership {
    /// Takes part in the election on `store`.
    fn elected(store: Arc<PgStore>) -> Leadership {
        Leadership::Elected(Candidate {
            store,
            name: instance_name(),
            leader: None,
            epoch: None,
            standing_by: false,
            sit_out: 0,
        })
    }

    /// The term in which this process may run a round of jobs now, `None` while it may not; on
    /// PostgreSQL this asks the server, and logs when this process starts or stops leading.
    async fn term(&mut self) -> Option<Term> {
        match self {
            Leadership::Always => Some(Term::Sole),
            Leadership::Elected(candidate) => {
                let epoch = candidate.check().await;
                if epoch.is_none() && candidate.epoch.is_none() && !candidate.standing_by {
                    tracing::info!(
                        instance = %candidate.name,
                        "standing by: another process leads the background jobs"
                    );
                    candidate.standing_by = true;
                }
                candidate.note(epoch);
                epoch.map(Term::Epoch)
            }
        }
    }

    /// Gives up leading at shutdown: the election's connection closes with it, so another
    /// process can take over at its next check.
    fn step_down(&mut self) {
        if let Leadership::Elected(candidate) = self {
            candidate.note(None);
            candidate.leader = None;
        }
    }
}

impl Candidate {
    /// The epoch this process leads under now, or `None` while another leads or the server
    /// cannot be asked (then the connection is dropped and made again at the next check).
    async fn check(&mut self) -> Option<i64> {
        if self.sit_out > 0 {
            self.sit_out -= 1;
            return None;
        }
        let asked = tokio::time::timeout(LEADERSHIP_CHECK_TIMEOUT, async {
            if self.leader.is_none() {
                self.leader = Some(Leader::new(&self.store, &self.name).await?);
            }
            match self.leader.as_mut() {
                Some(leader) => leader.try_lead().await,
                None => Ok(None),
            }
        })
        .await;
        match asked {
            Ok(Ok(epoch)) => epoch,
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot check the job leadership; will try again");
                self.lose_connection();
                None
            }
            Err(_) => {
                tracing::warn!("the job leadership check timed out; will try again");
                self.lose_connection();
                None
            }
        }
    }

    /// Drops the election's connection after it failed; a leader that lost it sits out one
    /// check, so that the jobs move to a standby instead of racing it back to this process.
    fn lose_connection(&mut self) {
        self.leader = None;
        if self.epoch.is_some() {
            self.sit_out = 1;
        }
    }

    /// Logs one line when this process starts or stops leading, and remembers `epoch`.
    fn note(&mut self, epoch: Option<i64>) {
        // After either line, a later spell without leadership needs no line of its own.
        self.standing_by = true;
        match (self.epoch, epoch) {
            (None, Some(epoch)) => tracing::info!(
                instance = %self.name,
                epoch,
                "started leading the background jobs"
            ),
            (Some(epoch), None) => tracing::info!(
                instance = %self.name,
                epoch,
                "stopped leading the background jobs"
            ),
            // A new epoch without a gap seen here: another process led in between.
            (Some(old), Some(new)) if old != new => tracing::info!(
                instance = %self.name,
                epoch = new,
                "started leading the background jobs again"
            ),
            _ => {}
        }
        self.epoch = epoch;
    }
}

/// This process's name in the election: the host name and the process id.
pub(crate) fn instance_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!("{host}/{}", std::process::id())
}

/// How long from the clock's now until `due_millis` (zero when it has passed).
fn until(clock: &dyn Clock, due_millis: i64) -> Duration {
    let left = due_millis.saturating_sub(clock.now().millis());
    Duration::from_millis(u64::try_from(left).unwrap_or(0))
}

/// Resolves once `stop` is set (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    // An error means the sender was dropped, which only happens once everything stops.
    let _ = stop.wait_for(|stop| *stop).await;
}

/// The store's kind for the start line: never the URL, which can carry a password.
fn store_kind(store: &StoreUrl) -> &'static str {
    match store {
        StoreUrl::Json(_) => "json",
        StoreUrl::Postgres(_) => "postgres",
    }
}

/// The bot's configuration from the `[telegram]` settings (the API URL was checked when the
/// settings were read); a usage error when no token is set.
fn telegram_config(settings: &Settings) -> CliResult<TelegramConfig> {
    let Some(token) = &settings.telegram.token else {
        return Err(CliError::usage(
            "TELEGRAM_BOT_TOKEN is not set (nor SHOPBOT_TELEGRAM_TOKEN, nor token under \
             [telegram] in the configuration file): give the token BotFather issued for the bot",
        ));
    };
    let mut config = TelegramConfig::new(token.expose());
    config.api_url.clone_from(&settings.telegram.api_url);
    config.send_limit = Some(settings.telegram.send_limit);
    Ok(config)
}

/// A future that resolves at the first SIGINT or SIGTERM. The handlers are installed now, so
/// a signal that arrives while the shop starts is not lost.
fn stop_signal() -> CliResult<impl Future<Output = ()> + Send + 'static> {
    let install = |kind: SignalKind| {
        signal(kind).map_err(|e| CliError::internal(format!("cannot handle signals: {e}")))
    };
    let mut interrupt = install(SignalKind::interrupt())?;
    let mut terminate = install(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT: stopping"),
            _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
        }
    })
}

/// The bot's startup failures as exit codes: configuration is a usage error (2), an
/// unreachable Bot API an internal one (1).
fn cli_error(error: TelegramError) -> CliError {
    match error {
        TelegramError::MissingToken
        | TelegramError::InvalidApiUrl(_)
        | TelegramError::Unauthorized => CliError::usage(error.to_string()),
        other => CliError::internal(other.to_string()),
    }
}
