//! `shopbot telegram`: runs the Telegram bot on the store until SIGINT or SIGTERM, then
//! finishes the updates in hand and closes the store cleanly.
//!
//! The composition root of the bot: the token and the Bot API URL come from the environment
//! (checked before the store is touched), the shop from the same store and configuration as
//! every other command (`SHOPBOT_ADMINS` are owners), and the conversation is the same flow
//! `shopbot chat` drives. It never prints or logs the token.

use std::future::Future;
use std::io::Write;

use clap::Args;
use shopbot_core::flow::Flow;
use shopbot_telegram::{TelegramConfig, TelegramError};
use tokio::signal::unix::{SignalKind, signal};

use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// `shopbot telegram`
#[derive(Debug, Args)]
#[command(after_help = "\
Environment:
  TELEGRAM_BOT_TOKEN  the bot's token from BotFather (required; never printed)
  TELEGRAM_API_URL    the Bot API base URL (optional; a local Bot API server, or a fake one
                      in tests) [default: https://api.telegram.org]
  SHOPBOT_ADMINS      Telegram user ids who are the shop's owners, comma-separated

The bot long-polls for updates. SIGINT (Ctrl-C) or SIGTERM stops it: it takes no new updates,
finishes the ones in hand (8 s at most), closes the store and exits 0.

Examples:
  TELEGRAM_BOT_TOKEN=123456:ABC-DEF shopbot telegram
  SHOPBOT_ADMINS=1001 shopbot --store json:/var/lib/shopbot --log-level info telegram")]
pub struct TelegramArgs {}

/// Runs the bot until SIGINT or SIGTERM.
pub async fn run(_args: &TelegramArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let config = TelegramConfig::from_env().map_err(cli_error)?;
    let stop = stop_signal()?;
    let flow = Flow::new(ctx.shop().await?.clone());
    let result = shopbot_telegram::run(config, flow, stop).await;
    // The store is closed whether the bot stopped or failed to start.
    let closed = ctx.close().await;
    result.map_err(cli_error)?;
    closed?;
    writeln!(out, "Stopped.")?;
    Ok(())
}

/// A future that resolves at the first SIGINT or SIGTERM. The handlers are installed now, so
/// a signal that arrives while the bot starts is not lost.
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
