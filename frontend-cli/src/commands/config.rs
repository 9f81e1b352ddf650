//! `shopbot config check`: the effective configuration, each key with its value (a secret's
//! shown as `<redacted>`) and where it came from. Opens no store: it works before there is
//! a shop, and on a store that does not open.

use std::io::Write;

use clap::Subcommand;
use serde::Serialize;

use crate::config::Effective;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{self, Table};

/// `shopbot config`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every configuration key, its effective value and where it came from
    #[command(after_help = "\
A value comes from a flag, the environment, the configuration file or the default, the first
that sets it winning. Secrets are shown as <redacted>. A key or value the configuration does not
accept stops this command (exit 2) like every other. Every key is described in
docs/configuration.md.

Examples:
  shopbot config check
  SHOPBOT_POSTGRES_POOL_SIZE=32 shopbot --json config check")]
    Check,
}

/// One row of `config check --json`.
#[derive(Debug, Serialize)]
struct KeyView<'a> {
    key: String,
    env: String,
    value: Option<&'a str>,
    source: &'static str,
    origin: Option<&'a str>,
    secret: bool,
}

/// Runs `shopbot config …`.
pub fn run(command: &ConfigCommand, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    match command {
        ConfigCommand::Check => {
            let note = crate::scheduled_backup::postgres_note(ctx.settings());
            check(&ctx.settings().effective, note, ctx.json(), out)
        }
    }
}

fn check(
    effective: &[Effective],
    note: Option<String>,
    json: bool,
    out: &mut impl Write,
) -> CliResult<()> {
    if json {
        let keys: Vec<KeyView<'_>> = effective
            .iter()
            .map(|e| KeyView {
                key: e.key.path(),
                env: e.key.env(),
                value: e.shown.as_deref(),
                source: e.source.kind(),
                origin: e.source.origin(),
                secret: e.key.secret,
            })
            .collect();
        let view = match note {
            Some(note) => serde_json::json!({ "keys": keys, "notes": [note] }),
            None => serde_json::json!({ "keys": keys }),
        };
        return output::json(out, &view);
    }
    let mut table = Table::new(&["KEY", "VALUE", "SOURCE"]);
    for e in effective {
        table.row([
            e.key.path(),
            e.shown.clone().unwrap_or_else(|| "(unset)".to_owned()),
            e.source.to_string(),
        ]);
    }
    table.write(out)?;
    if let Some(note) = note {
        writeln!(out, "\nNote: {note}.")?;
    }
    Ok(())
}
