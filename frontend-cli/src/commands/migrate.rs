//! `shopbot migrate --to URL`: copy the whole store into another one (JSON to PostgreSQL, back,
//! or between two stores of one kind), then prove the copy by reading it back.
//!
//! The copy goes through core's storage-neutral dump: the source exports everything with ids,
//! the target is built from it and exported again, and the two sides' counts per kind and
//! ledger totals per currency must agree. The source is only read; a target that already holds
//! a shop is refused before anything is written.

use std::io::Write;
use std::path::Path;

use clap::Args;
use serde::Serialize;
use shopbot_core::dump::{Kind, Summary};
use shopbot_core::money::Total;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{self, Table};
use crate::store::{Backend, StoreUrl};

/// `shopbot migrate`
#[derive(Debug, Args)]
#[command(after_help = "\
Copies everything the store holds (users, catalog, stock, carts, orders, wallets and their
ledgers, invoices, payments, conversations, the outbox and the audit log) with every id kept,
so order and invoice numbers stay the same. The source is only read. The target must hold no
shop yet: for json:PATH a directory without a store (created if missing), for postgres:// an
existing database without shop records (its schema is created). Afterwards both are read back
and their counts and ledger totals compared; any difference fails the command with exit code 5.

The copy is one consistent moment of the source. Stop the bot first (a JSON store is locked
while it runs; on PostgreSQL anything written after the copy would stay behind), then point
--store at the new store.

Examples:
  shopbot migrate --to postgres://shop@db.internal/shop
  shopbot --store postgres://shop@db.internal/shop migrate --to json:./shopbot-data-copy
  shopbot --json migrate --to json:/srv/shopbot-new")]
pub struct MigrateArgs {
    /// The store to copy into: json:PATH or postgres://USER@HOST/DB (must hold no shop yet)
    #[arg(long, value_name = "URL")]
    pub to: String,
}

/// What `migrate --json` prints.
#[derive(Debug, Serialize)]
struct MigrateView {
    source: String,
    target: String,
    /// Whether the target's counts and totals match the source's.
    verified: bool,
    differences: Vec<String>,
    source_summary: Summary,
    target_summary: Summary,
}

/// Runs `migrate`.
pub async fn run(args: &MigrateArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let target_url = StoreUrl::parse(&args.to).map_err(|e| e.context("--to"))?;
    let source_url = &ctx.settings().store;
    if same_store(source_url, &target_url) {
        return Err(CliError::invalid(format!(
            "--to: {target_url} is the store being copied (--store); give another store"
        )));
    }
    let source = ctx.existing_backend().await?;
    let dump = source.export_dump().await?;
    let source_summary = dump.summary();
    let target = Backend::create_from_dump(&target_url, dump).await?;
    let target_summary = target.export_dump().await?.summary();
    let differences = source_summary.differences(&target_summary);
    let view = MigrateView {
        source: source_url.to_string(),
        target: target_url.to_string(),
        verified: differences.is_empty(),
        differences,
        source_summary,
        target_summary,
    };
    if ctx.json() {
        output::json(out, &view)?;
    } else {
        write_report(&view, out)?;
    }
    if view.verified {
        return Ok(());
    }
    Err(CliError::refused(format!(
        "the copy in {} does not match {}: {}",
        view.target,
        view.source,
        view.differences.join("; ")
    )))
}

/// Whether two URLs name one store (the same directory, or the same database URL).
fn same_store(a: &StoreUrl, b: &StoreUrl) -> bool {
    match (a, b) {
        (StoreUrl::Json(a), StoreUrl::Json(b)) => a == b || same_directory(a, b),
        (StoreUrl::Postgres(a), StoreUrl::Postgres(b)) => a == b,
        _ => false,
    }
}

fn same_directory(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn write_report(view: &MigrateView, out: &mut impl Write) -> CliResult<()> {
    if view.verified {
        writeln!(
            out,
            "Copied {} into {}: every count and ledger total matches.",
            view.source, view.target
        )?;
    } else {
        writeln!(
            out,
            "Copied {} into {}, but the copy does not match:",
            view.source, view.target
        )?;
        for difference in &view.differences {
            writeln!(out, "  - {}", output::clean(difference))?;
        }
    }
    writeln!(out)?;
    let (source, target) = (&view.source_summary, &view.target_summary);
    let mut table = Table::new(&["RECORDS", "SOURCE", "TARGET"]);
    for kind in Kind::ALL {
        let count = |s: &Summary| s.counts.get(&kind).copied().unwrap_or(0).to_string();
        table.row([kind.as_str().to_owned(), count(source), count(target)]);
    }
    let currencies: std::collections::BTreeSet<_> =
        source.ledger.keys().chain(target.ledger.keys()).collect();
    for currency in currencies {
        let totals = |s: &Summary| s.ledger.get(currency).copied().unwrap_or_default();
        let (a, b) = (totals(source), totals(target));
        // Totals of a whole ledger may pass what one amount holds: shown exactly, never clamped.
        let money = |minor: i128| Total::new(minor, *currency).to_string();
        table.row([
            format!("{currency} ledger entries"),
            a.entries.to_string(),
            b.entries.to_string(),
        ]);
        table.row([
            format!("{currency} wallet balances"),
            money(a.balance_delta),
            money(b.balance_delta),
        ]);
        table.row([
            format!("{currency} held"),
            money(a.held_delta),
            money(b.held_delta),
        ]);
    }
    table.row([
        "last invoice number".to_owned(),
        source.last_invoice_number.to_string(),
        target.last_invoice_number.to_string(),
    ]);
    let on_off = |on: bool| if on { "on" } else { "off" }.to_owned();
    table.row([
        "maintenance mode".to_owned(),
        on_off(source.maintenance),
        on_off(target.maintenance),
    ]);
    table.write(out)?;
    if view.verified {
        writeln!(
            out,
            "\nNext: use the copy with --store {} (or SHOPBOT_STORE); \
             `shopbot store check` checks it.",
            view.target
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use shopbot_core::dump::LedgerTotals;
    use shopbot_core::money::Currency;

    use super::*;

    fn view(source: Summary, target: Summary) -> MigrateView {
        let differences = source.differences(&target);
        MigrateView {
            source: "json:./a".into(),
            target: "json:./b".into(),
            verified: differences.is_empty(),
            differences,
            source_summary: source,
            target_summary: target,
        }
    }

    #[test]
    fn a_copy_that_differs_is_reported_line_by_line_beside_the_counts() {
        let mut source = Summary::default();
        source.counts.insert(Kind::Units, 12);
        source.ledger.insert(
            Currency::USD,
            LedgerTotals {
                entries: 2,
                balance_delta: 1_050,
                held_delta: 0,
            },
        );
        let mut target = source.clone();
        target.counts.insert(Kind::Units, 11);
        let mut out = Vec::new();

        write_report(&view(source, target), &mut out).unwrap();

        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("Copied json:./a into json:./b, but the copy does not match:")
        );
        assert_eq!(
            lines.next(),
            Some("  - units: 12 in the source, 11 in the target")
        );
        assert!(
            text.contains("\nunits                12         11\n"),
            "{text}"
        );
        assert!(
            text.contains("\nUSD wallet balances  10.50 USD  10.50 USD\n"),
            "{text}"
        );
        assert!(!text.contains("Next:"), "{text}");
    }

    #[test]
    fn two_spellings_of_one_directory_are_one_store() {
        let dir = tempfile::tempdir().unwrap();
        let a = StoreUrl::Json(dir.path().to_path_buf());
        let b = StoreUrl::Json(
            dir.path()
                .join(".")
                .join("..")
                .join(dir.path().file_name().unwrap()),
        );
        assert!(same_store(&a, &b));
        let other = StoreUrl::Json(dir.path().join("other"));
        assert!(!same_store(&a, &other));
        let pg = StoreUrl::Postgres("postgres://u@h/db".into());
        assert!(!same_store(&a, &pg));
        assert!(same_store(&pg, &pg.clone()));
    }
}
