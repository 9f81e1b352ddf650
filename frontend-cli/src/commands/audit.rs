//! `shopbot audit list`.

use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::Serialize;
use shopbot_core::audit::{AuditEntry, AuditFilter};
use shopbot_core::ids::UserId;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{self, Table, time_rfc3339};
use crate::parse;

/// `shopbot audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List what staff changed, newest first
    #[command(after_help = "Examples:\n  shopbot audit list\n  \
        shopbot audit list --actor 0 --action price --since 2026-01-01 --until 2026-01-31\n  \
        shopbot --json audit list --limit 10")]
    List(ListArgs),
}

/// `shopbot audit list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only what this user did
    #[arg(long, value_name = "ID")]
    pub actor: Option<String>,
    /// Only entries whose action contains this text (any case)
    #[arg(long, value_name = "TEXT")]
    pub action: Option<String>,
    /// Only entries written on or after this day (YYYY-MM-DD, UTC)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only entries written on or before this day (YYYY-MM-DD, UTC)
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// How many entries to show at most
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
}

/// One audit entry, as `--json` prints it.
#[derive(Debug, Serialize)]
struct AuditView {
    /// Its id.
    id: i64,
    /// Who acted.
    actor: i64,
    /// What they did.
    action: String,
    /// When (RFC 3339).
    at: String,
}

impl From<&AuditEntry> for AuditView {
    fn from(entry: &AuditEntry) -> AuditView {
        AuditView {
            id: entry.id.0,
            actor: entry.record.actor.0,
            action: entry.record.action.clone(),
            at: time_rfc3339(entry.record.at),
        }
    }
}

const DAY: Duration = Duration::from_secs(86_400);

/// Runs an `audit` subcommand.
pub async fn run(command: &AuditCommand, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    match command {
        AuditCommand::List(args) => list(args, ctx, out).await,
    }
}

async fn list(args: &ListArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let filter = filter(args)?;
    let shop = ctx.shop().await?;
    let entries = shop.admin().audit(ctx.actor(), &filter).await?;
    if ctx.json() {
        let views: Vec<AuditView> = entries.iter().map(AuditView::from).collect();
        return output::json(out, &views);
    }
    if entries.is_empty() {
        writeln!(out, "No audit entries.")?;
        return Ok(());
    }
    let mut table = Table::new(&["ID", "ACTOR", "AT", "ACTION"]);
    for entry in &entries {
        table.row([
            entry.id.to_string(),
            entry.record.actor.to_string(),
            output::time(entry.record.at),
            entry.record.action.clone(),
        ]);
    }
    table.write(out)?;
    Ok(())
}

fn filter(args: &ListArgs) -> CliResult<AuditFilter> {
    let action = match &args.action {
        Some(text) if text.trim().is_empty() => {
            return Err(CliError::invalid("--action: give some text to look for"));
        }
        Some(text) => Some(text.trim().to_owned()),
        None => None,
    };
    let since = match &args.since {
        Some(text) => Some(parse::date("--since", text)?),
        None => None,
    };
    // The whole day of --until is included.
    let until = match &args.until {
        Some(text) => Some(parse::date("--until", text)?.plus(DAY)),
        None => None,
    };
    if let (Some(since), Some(until)) = (since, until)
        && until <= since
    {
        return Err(CliError::invalid("--until: the day is before --since"));
    }
    Ok(AuditFilter {
        actor: match &args.actor {
            Some(text) => Some(parse::id::<UserId>("--actor", text)?),
            None => None,
        },
        action,
        since,
        until,
        limit: usize::from(args.limit),
    })
}
