//! `shopbot telegram`: runs the Telegram bot on the store until SIGINT or SIGTERM, then
//! finishes the updates in hand and closes the store cleanly.
//!
//! The composition root of the bot: the token, the Bot API URL and the limits come from the
//! `[telegram]` settings (checked before the store is touched), the shop from the same store
//! and configuration as every other command (`shop.admins` are owners), and the conversation
//! is the same flow `shopbot chat` drives. It never prints or logs the token.

use std::future::Future;
use std::io::Write;

use clap::Args;
use shopbot_core::flow::{Flow, FlowConfig};
use shopbot_telegram::{TelegramConfig, TelegramError};
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Settings;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};

/// `shopbot telegram`
#[derive(Debug, Args)]
#[command(after_help = "\
Configuration ([telegram] in shopbot.toml, or the environment; see docs/configuration.md):
  SHOPBOT_TELEGRAM_TOKEN    the bot's token from BotFather (required; never printed);
                            TELEGRAM_BOT_TOKEN is accepted too
  SHOPBOT_TELEGRAM_API_URL  the Bot API base URL (optional; a local Bot API server, or a fake
                            one in tests) [default: https://api.telegram.org]; or TELEGRAM_API_URL
  SHOPBOT_SHOP_ADMINS       Telegram user ids who are the shop's owners, comma-separated

The bot long-polls for updates. SIGINT (Ctrl-C) or SIGTERM stops it: it takes no new updates,
finishes the ones in hand (8 s at most), closes the store and exits 0.

Examples:
  TELEGRAM_BOT_TOKEN=123456:ABC-DEF shopbot telegram
  SHOPBOT_ADMINS=1001 shopbot --store json:/var/lib/shopbot --log-level info telegram")]
pub struct TelegramArgs {}

/// Runs the bot until SIGINT or SIGTERM.
pub async fn run(_args: &TelegramArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let settings = ctx.settings();
    let config = telegram_config(settings)?;
    let stop = stop_signal()?;
    let flow_config = FlowConfig {
        updates: settings.telegram.rate_limit,
        support: settings.shop.support_contact.clone(),
        ..FlowConfig::default()
    };
    let flow = Flow::with_config(ctx.shop().await?.clone(), flow_config);
    let result = shopbot_telegram::run(config, flow, stop).await;
    // The store is closed whether the bot stopped or failed to start.
    let closed = ctx.close().await;
    result.map_err(cli_error)?;
    closed?;
    writeln!(out, "Stopped.")?;
    Ok(())
}

/// The bot's configuration from the `[telegram]` settings (the API URL was checked when the
/// settings were read).
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
