//! `shopbot telegram`: runs the Telegram bot on the store until SIGINT or SIGTERM, then
//! finishes the updates in hand and closes the store cleanly.
//!
//! The composition root of the bot: the token, the Bot API URL and the limits come from the
//! `[telegram]` settings (checked before the store is touched), the shop from the same store
//! and configuration as every other command (`shop.admins` are owners), and the conversation
//! is the same flow `shopbot chat` drives. It never prints or logs the token. It is
//! `shopbot serve` with the bot required, so the background jobs run beside it.

use std::io::Write;

use clap::Args;

use crate::commands::serve::{Telegram, serve};
use crate::context::Ctx;
use crate::error::CliResult;

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
finishes the ones in hand (8 s at most), closes the store and exits 0. The background jobs run
beside the bot, as in `shopbot serve`.

Examples:
  TELEGRAM_BOT_TOKEN=123456:ABC-DEF shopbot telegram
  SHOPBOT_ADMINS=1001 shopbot --store json:/var/lib/shopbot --log-level info telegram")]
pub struct TelegramArgs {}

/// Runs the bot, and the background jobs beside it, until SIGINT or SIGTERM: `shopbot serve`
/// with the bot required.
pub async fn run(_args: &TelegramArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    serve(Telegram::Required, ctx, out).await
}
