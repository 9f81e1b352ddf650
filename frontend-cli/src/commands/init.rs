//! `shopbot init [--currency CODE]`: creates a new, empty shop where `--store` points, selling
//! in its currency for good, and says what to run next.
//!
//! The one command (with `demo`) that creates a store: every other command refuses where there
//! is no shop. It refuses, changing nothing, where a shop already is, and where a new store may
//! not be made (a directory holding other files, a parent directory that does not exist).

use std::io::Write;

use clap::Args;
use serde::Serialize;
use shopbot_core::money::Currency;
use shopbot_core::services::DEFAULT_CURRENCY;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::parse;
use crate::store::{DEFAULT_STORE, StoreUrl};

/// `shopbot init`
#[derive(Debug, Args)]
#[command(after_help = "\
The store is json:PATH (a new directory whose parent exists, or an empty one) or an empty
PostgreSQL database (postgres://USER@HOST/DATABASE). The currency is recorded with the shop
and never changes: every command afterwards sells in it, and one configured with another
currency (SHOPBOT_CURRENCY, or currency in shopbot.toml) is refused.

Examples:
  shopbot init
  shopbot --store json:/var/lib/shopbot init --currency EUR
  shopbot --store postgres://shop@db.internal/shop init --currency XTR")]
pub struct InitArgs {
    /// The shop's currency: an ISO 4217 code such as USD, EUR or RUB, or XTR for Telegram
    /// Stars [default: the configured currency, else USD]
    #[arg(long, value_name = "CODE")]
    pub currency: Option<String>,
}

/// What `init --json` prints.
#[derive(Debug, Serialize)]
struct InitView {
    store: String,
    currency: String,
    try_next: Vec<String>,
}

/// Runs `init`.
pub async fn run(args: &InitArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let configured = ctx.settings().currency;
    let currency = match &args.currency {
        Some(code) => parse::value("--currency", Currency::parse(code))?,
        None => configured.unwrap_or(DEFAULT_CURRENCY),
    };
    // A shop in one currency while the configuration names another would refuse every
    // command after this one: say so now, before anything exists.
    if let Some(configured) = configured.filter(|c| *c != currency) {
        return Err(CliError::refused(format!(
            "--currency {currency}, but {configured} is configured (SHOPBOT_CURRENCY or \
             `currency` in the configuration file): make them agree; nothing was created"
        )));
    }
    ctx.create_shop(currency).await?;
    let store = &ctx.settings().store;
    let view = InitView {
        store: store.to_string(),
        currency: currency.to_string(),
        try_next: try_next(store),
    };
    if ctx.json() {
        return crate::output::json(out, &view);
    }
    writeln!(
        out,
        "Created a new shop in {}, selling in {}.",
        view.store, view.currency
    )?;
    writeln!(out, "\nTry next:")?;
    for command in &view.try_next {
        writeln!(out, "  {command}")?;
    }
    Ok(())
}

/// What to run next, on this store (named unless it is the default one).
fn try_next(store: &StoreUrl) -> Vec<String> {
    let default = StoreUrl::parse(DEFAULT_STORE).ok();
    let shopbot = if default.as_ref() == Some(store) {
        "shopbot".to_owned()
    } else {
        format!("shopbot --store {store}")
    };
    vec![
        format!("{shopbot} product add --name \"Game key\" --price 9.99"),
        format!("{shopbot} stock add --product 1 --file keys.txt"),
        format!("TELEGRAM_BOT_TOKEN=123456:ABC {shopbot} telegram"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_steps_name_the_store_unless_it_is_the_default() {
        let default = StoreUrl::parse(DEFAULT_STORE).unwrap();
        assert!(try_next(&default)[0].starts_with("shopbot product add"));
        let other = StoreUrl::parse("json:/srv/shop").unwrap();
        assert!(try_next(&other)[0].starts_with("shopbot --store json:/srv/shop product add"));
    }
}
