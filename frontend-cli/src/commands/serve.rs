//! `shopbot serve`: the shop's long-running process. It runs what the configuration enables
//! (the Telegram bot when a token is set, and the background jobs) until SIGINT or SIGTERM,
//! then finishes the work in hand, closes the store and exits 0.
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
    DELIVER_OUTBOX_EVERY, Scheduler, ShopJobPeriods, deliver_outbox, shop_jobs,
};
use shopbot_core::ports::Clock;
use shopbot_storage_pg::{Leader, PgStore};
use shopbot_telegram::{TelegramBot, TelegramConfig, TelegramError};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::config::Settings;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::store::{Backend, StoreUrl};

/// How long a job round in hand may go on after the stop signal before it is abandoned, so the
/// whole process stops within 10 seconds (the bot allows itself 8 seconds the same way).
const JOB_GRACE: Duration = Duration::from_secs(8);

/// How often a process asks whether it leads the jobs on PostgreSQL, while it waits: a standby
/// takes over this long (at most) after the leader's connection is gone, well within 10 s.
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
                     [jobs], 1m by default). On PostgreSQL several serve processes may share
                     the database: one is elected to run the jobs and the others stand by; one
                     takes over within 10 s when the leader stops or loses its connection

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
    let shop = ctx.shop().await?.clone();
    let periods = ShopJobPeriods {
        expire_invoices: settings.jobs.expire_invoices_every,
    };
    let mut jobs = shop_jobs(&shop, &periods);
    // The bot's messenger delivers the outbox as a job, so on PostgreSQL only the leader does.
    let telegram = match telegram_config {
        Some(config) => {
            let bot = TelegramBot::new(config)
                .map_err(cli_error)?
                .without_outbox();
            let flow_config = FlowConfig {
                updates: settings.telegram.rate_limit,
                support: settings.shop.support_contact.clone(),
                ..FlowConfig::default()
            };
            let flow = Flow::with_config(shop.clone(), flow_config);
            let messenger = Arc::new(bot.messenger());
            let threshold = shop.config().low_stock_threshold;
            jobs.push(deliver_outbox(
                &flow,
                messenger,
                DELIVER_OUTBOX_EVERY,
                threshold,
            ));
            Some((bot, flow))
        }
        None => None,
    };
    let job_names: Vec<&str> = jobs.iter().map(|job| job.name()).collect();
    let clock = Arc::clone(shop.clock());
    let scheduler = Scheduler::new(Arc::clone(&clock), jobs)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        store = store_kind(&settings.store),
        telegram = if telegram.is_some() { "yes" } else { "no" },
        jobs = %job_names.join(","),
        admins = settings.admins.len(),
        "shopbot serve started"
    );

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
    let leadership = match ctx.existing_backend().await? {
        Backend::Json(_) => Leadership::Always,
        Backend::Postgres(store) => Leadership::elected(Arc::clone(store)),
    };
    let job_loop = run_jobs(
        &scheduler,
        clock.as_ref(),
        leadership,
        stop_receiver.clone(),
    );
    let ((), bot_result, ()) = tokio::join!(stop_on_signal, bot, job_loop);
    bot_result
}

/// Runs the jobs as they fall due, while `leadership` allows, until `stop` is set. A round in
/// hand when it is set gets [`JOB_GRACE`] to finish. The scheduler logs each run's outcome and
/// keeps a failing job on its retry schedule, so a failure never ends this loop.
async fn run_jobs(
    scheduler: &Scheduler,
    clock: &dyn Clock,
    mut leadership: Leadership,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow_and_update() {
            leadership.step_down();
            return;
        }
        // A stop signal cuts a slow leadership check short, so the process still stops in time.
        let may_run = tokio::select! {
            may_run = leadership.may_run_jobs() => Some(may_run),
            _ = stop.changed() => None,
        };
        let Some(may_run) = may_run else {
            leadership.step_down();
            return;
        };
        let wait = if may_run {
            let round = scheduler.run_due();
            tokio::pin!(round);
            tokio::select! {
                _ = &mut round => {}
                _ = stop.changed() => {
                    if tokio::time::timeout(JOB_GRACE, &mut round).await.is_err() {
                        tracing::warn!("a job was still running at shutdown and was abandoned");
                    }
                    leadership.step_down();
                    return;
                }
            }
            let until_due = match scheduler.next_due() {
                Some(due) => until(clock, due.millis()),
                // Every job is running elsewhere (a concurrent call): look again shortly.
                None => Duration::from_secs(1),
            };
            leadership.cap_wait(until_due)
        } else {
            LEADERSHIP_CHECK_EVERY
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

/// Whether this process may run the background jobs.
///
/// A later change can fence the jobs' writes through the storage port with the epoch
/// [`Candidate::epoch`] holds; the loop already asks before every round.
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
        })
    }

    /// Whether this process may run a round of jobs now; on PostgreSQL this asks the server,
    /// and logs when this process starts or stops leading.
    async fn may_run_jobs(&mut self) -> bool {
        match self {
            Leadership::Always => true,
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
                epoch.is_some()
            }
        }
    }

    /// `wait`, cut short on PostgreSQL so leadership is checked every
    /// [`LEADERSHIP_CHECK_EVERY`] even when no job is due for long.
    fn cap_wait(&self, wait: Duration) -> Duration {
        match self {
            Leadership::Always => wait,
            Leadership::Elected(_) => wait.min(LEADERSHIP_CHECK_EVERY),
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
                self.leader = None;
                None
            }
            Err(_) => {
                tracing::warn!("the job leadership check timed out; will try again");
                self.leader = None;
                None
            }
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
fn instance_name() -> String {
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
