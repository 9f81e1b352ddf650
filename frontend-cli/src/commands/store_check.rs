//! `shopbot store check`: verify a store's integrity and invariants.

use std::io::Write;

use clap::Subcommand;
use serde::Serialize;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;

/// `shopbot store …`
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Verify the store: its files, and every invariant (stock sold once, wallets never below
    /// zero, invoice numbers without gaps, …); exit 5 when anything is wrong
    #[command(after_help = "Examples:\n  shopbot store check\n  \
                            shopbot --store json:/srv/shop --json store check")]
    Check,
}

/// What `store check --json` prints.
#[derive(Debug, Serialize)]
struct CheckView {
    store: String,
    ok: bool,
    problems: Vec<String>,
}

/// Runs a `store` subcommand.
pub async fn run(command: &StoreCommand, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    match command {
        StoreCommand::Check => check(ctx, out).await,
    }
}

async fn check(ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let problems = ctx.integrity_problems().await?;
    let view = CheckView {
        store: ctx.settings().store.to_string(),
        ok: problems.is_empty(),
        problems,
    };
    if ctx.json() {
        output::json(out, &view)?;
    } else if view.ok {
        writeln!(out, "Store {} is sound: no problems found.", view.store)?;
    } else {
        writeln!(
            out,
            "Store {} has {} problem(s):",
            view.store,
            view.problems.len()
        )?;
        for problem in &view.problems {
            writeln!(out, "  - {}", output::clean(problem))?;
        }
    }
    if view.ok {
        Ok(())
    } else {
        Err(CliError::refused(format!(
            "the store has {} problem(s)",
            view.problems.len()
        )))
    }
}
