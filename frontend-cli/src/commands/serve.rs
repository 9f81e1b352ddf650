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
use shopbot_core::jobs::{Scheduler, ShopJobPeriods, shop_jobs};
use shopbot_core::ports::Clock;
use shopbot_telegram::{TelegramConfig, TelegramError};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::config::Settings;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::store::StoreUrl;

/// How long a job round in hand may go on after the stop signal before it is abandoned, so the
/// whole process stops within 10 seconds (the bot allows itself 8 seconds the same way).
const JOB_GRACE: Duration = Duration::from_secs(8);

/// `shopbot serve`
#[derive(Debug, Args)]
#[command(after_help = "\
Runs what the configuration enables, in one process:
  the Telegram bot   when a token is set (SHOPBOT_TELEGRAM_TOKEN or TELEGRAM_BOT_TOKEN, or
                     token under [telegram]); see `shopbot telegram --help`
  background jobs    always: expire-invoices (expires unpaid invoices past due and puts the
                     units they reserved back on sale; every expire_invoices_every under
                     [jobs], 1m by default)

At start it logs (at info) one line: the version, the store kind, what runs and how many admins
are configured; never a secret. A failing job is logged and retried later; it never stops the
process. SIGINT (Ctrl-C) or SIGTERM stops it: the bot takes no new updates and the jobs start no
new round; what is in hand finishes (8 s at most), the store is closed, and it exits 0.

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
    let jobs = shop_jobs(&shop, &periods);
    let job_names: Vec<&str> = jobs.iter().map(|job| job.name()).collect();
    let clock = Arc::clone(shop.clock());
    let scheduler = Scheduler::new(Arc::clone(&clock), jobs)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        store = store_kind(&settings.store),
        telegram = if telegram_config.is_some() { "yes" } else { "no" },
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
        let Some(config) = telegram_config else {
            return Ok(());
        };
        let flow_config = FlowConfig {
            updates: settings.telegram.rate_limit,
            support: settings.shop.support_contact.clone(),
            ..FlowConfig::default()
        };
        let flow = Flow::with_config(shop.clone(), flow_config);
        let result = shopbot_telegram::run(config, flow, stopped(stop_receiver.clone())).await;
        // A bot that failed to start (or stopped) stops the jobs too: the process ends.
        stop_sender.send_replace(true);
        result.map_err(cli_error)
    };
    let job_loop = run_jobs(&scheduler, clock.as_ref(), stop_receiver.clone());
    let ((), bot_result, ()) = tokio::join!(stop_on_signal, bot, job_loop);
    bot_result
}

/// Runs the jobs as they fall due until `stop` is set. A round in hand when it is set gets
/// [`JOB_GRACE`] to finish. The scheduler logs each run's outcome and keeps a failing job on
/// its retry schedule, so a failure never ends this loop.
async fn run_jobs(scheduler: &Scheduler, clock: &dyn Clock, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        let round = scheduler.run_due();
        tokio::pin!(round);
        tokio::select! {
            _ = &mut round => {}
            _ = stop.changed() => {
                if tokio::time::timeout(JOB_GRACE, &mut round).await.is_err() {
                    tracing::warn!("a job was still running at shutdown and was abandoned");
                }
                return;
            }
        }
        let wait = match scheduler.next_due() {
            Some(due) => until(clock, due.millis()),
            // Every job is running elsewhere (a concurrent call): look again shortly.
            None => Duration::from_secs(1),
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
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
