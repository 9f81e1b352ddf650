//! `shopbot store check`: verify a store's integrity and invariants, changing nothing; and
//! `shopbot store repair`: the explicit step that cuts a damaged JSON store back to what can
//! be read, keeping what it cuts.

use std::io::Write;

use clap::Subcommand;
use serde::Serialize;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;
use crate::store::Backend;

/// `shopbot store …`
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Verify the store: its files, and every invariant (stock sold once, wallets never below
    /// zero, invoice numbers without gaps, …); exit 5 when anything is wrong
    #[command(after_help = "Examples:\n  shopbot store check\n  \
                            shopbot --store json:/srv/shop --json store check")]
    Check,
    /// Repair a JSON store that refuses to open: cut its journal at the first damage and
    /// rebuild a damaged snapshot from the previous one. Records after the damage leave the
    /// store; every byte taken out is kept in a file beside the journal
    #[command(after_help = "\
Run it only when `shopbot store check` names damage and no backup is newer: the records after the
damage are lost from the store (they stay in the *.damaged-at-* files it prints). Stop the bot
first. On a sound store it changes nothing.

Examples:
  shopbot store repair
  shopbot --store json:/srv/shop --json store repair")]
    Repair,
}

/// What `store repair --json` prints.
#[derive(Debug, Serialize)]
struct RepairView {
    store: String,
    set_aside: Vec<String>,
    damaged_snapshot: Option<String>,
    problems: Vec<String>,
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
        StoreCommand::Repair => repair(ctx, out).await,
    }
}

async fn repair(ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let url = &ctx.settings().store;
    let (backend, report) = Backend::repair(url).await?;
    let problems = backend.check().await?;
    backend.close().await?;
    let view = RepairView {
        store: url.to_string(),
        set_aside: report.set_aside,
        damaged_snapshot: report
            .damaged_snapshot
            .map(|path| path.display().to_string()),
        problems,
    };
    if ctx.json() {
        output::json(out, &view)?;
    } else if view.set_aside.is_empty() && view.damaged_snapshot.is_none() {
        writeln!(out, "Store {} needed no repair.", view.store)?;
    } else {
        writeln!(out, "Repaired store {}:", view.store)?;
        if let Some(moved) = &view.damaged_snapshot {
            writeln!(
                out,
                "  - the damaged snapshot was moved to {}; the store was rebuilt from the \
                 previous snapshot and the journal",
                output::clean(moved)
            )?;
        }
        for cut in &view.set_aside {
            writeln!(out, "  - set aside: {}", output::clean(cut))?;
        }
    }
    if !view.problems.is_empty() {
        return Err(CliError::refused(format!(
            "the repaired store still has {} problem(s): {}",
            view.problems.len(),
            view.problems.join("; ")
        )));
    }
    Ok(())
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
