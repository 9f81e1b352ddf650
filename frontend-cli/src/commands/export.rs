//! `shopbot export orders|invoices|users|stock`: CSV written row by row as records are read, so memory
//! stays flat however large the store is.
//!
//! With `--out PATH` the rows go to a temporary file beside `PATH`, which becomes `PATH` only
//! once every row is written: a failed export never leaves half a file behind. `PATH` is
//! checked first ([`out_path::file`]): never inside a store directory, and never over an
//! existing file unless `--force` names a plain one.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::Serialize;
use shopbot_core::Error;
use shopbot_core::ids::{InvoiceId, OrderId};
use shopbot_core::invoice::{Invoice, InvoiceFilter, InvoicePurpose};
use shopbot_core::order::{Order, OrderFilter, OrderPayment};
use shopbot_core::ports::Page;
use shopbot_core::time::Timestamp;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::out_path;
use crate::output::{self, Csv, Field};
use crate::view::{order_status, provider_name};

/// How many users are read per page.
const PAGE: usize = 200;

/// `shopbot export`
#[derive(Debug, Args)]
#[command(after_help = "\
orders:   one row per order line (secrets of delivered units are not exported).
invoices: one row per invoice, with its totals, due date and payment.
users:    one row per user, with their wallet.
stock:    one row per stock-keeping product, with unit counts.

Examples:
  shopbot export orders > orders.csv
  shopbot export invoices --out invoices.csv
  shopbot export users --out users.csv
  shopbot export users --out users.csv --force
  shopbot --json export stock --out stock.csv

--out never writes inside a store directory, and never over an existing file unless --force is
given and that file is a plain file (not a directory, link or device).")]
pub struct ExportArgs {
    /// What to export
    #[arg(value_enum)]
    pub what: ExportWhat,
    /// The file format
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportFormat,
    /// Write to this file instead of standard output (a new file, outside any store)
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists (plain files only)
    #[arg(long, requires = "out")]
    pub force: bool,
}

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportWhat {
    /// Every order, one row per order line
    Orders,
    /// Every invoice, one row each
    Invoices,
    /// Every user with their wallet
    Users,
    /// Unit counts of every stock-keeping product
    Stock,
}

/// Export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Comma-separated values (RFC 4180), with a header row
    Csv,
}

/// What `export --json --out PATH` prints.
#[derive(Debug, Serialize)]
struct ExportView {
    export: ExportWhat,
    format: ExportFormat,
    rows: u64,
    out: String,
}

/// Runs `export`.
pub async fn run(args: &ExportArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let Some(path) = &args.out else {
        if ctx.json() {
            return Err(CliError::usage(
                "export writes CSV to standard output, so --json needs --out PATH (it then \
                 prints a JSON summary)",
            ));
        }
        write_export(args.what, ctx, &mut *out).await?;
        return Ok(());
    };
    let target = out_path::file(path, &ctx.settings().store, args.force)?;
    let rows = export_to_file(args.what, ctx, path, &target, args.force).await?;
    if ctx.json() {
        return output::json(
            out,
            &ExportView {
                export: args.what,
                format: args.format,
                rows,
                out: path.display().to_string(),
            },
        );
    }
    writeln!(out, "Exported {rows} row(s) to {}.", path.display())?;
    Ok(())
}

/// Writes the export into a temporary file beside `target` (the resolved `--out` path, so
/// outside any store), then moves it into place: over an existing file only with `force`.
async fn export_to_file(
    what: ExportWhat,
    ctx: &Ctx,
    given: &Path,
    target: &Path,
    force: bool,
) -> CliResult<u64> {
    let cannot = |e: std::io::Error| {
        CliError::invalid(format!(
            "--out: cannot write {}: {e}; give a file path in a writable directory",
            given.display()
        ))
    };
    let dir = target.parent().unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".shopbot-export-")
        .tempfile_in(dir)
        .map_err(cannot)?;
    let mut writer = BufWriter::new(temp);
    let rows = write_export(what, ctx, &mut writer).await?;
    let temp = writer.into_inner().map_err(|e| cannot(e.into_error()))?;
    temp.as_file().sync_all().map_err(cannot)?;
    // Without --force a file that appeared meanwhile is not replaced either.
    let persisted = match force {
        true => temp.persist(target),
        false => temp.persist_noclobber(target),
    };
    persisted.map_err(|e| cannot(e.error))?;
    Ok(rows)
}

/// Writes the CSV of `what` to `out`, returning how many rows (the header aside).
pub async fn write_export<W: Write>(what: ExportWhat, ctx: &Ctx, out: W) -> CliResult<u64> {
    match what {
        ExportWhat::Orders => orders(ctx, out).await,
        ExportWhat::Invoices => invoices(ctx, out).await,
        ExportWhat::Users => users(ctx, out).await,
        ExportWhat::Stock => stock(ctx, out).await,
    }
}

async fn orders<W: Write>(ctx: &Ctx, out: W) -> CliResult<u64> {
    let mut csv = Csv::new(
        out,
        &[
            "order_id",
            "placed_at",
            "user_id",
            "status",
            "payment",
            "invoice_id",
            "product_id",
            "product_name",
            "kind",
            "quantity",
            "unit_price",
            "line_total",
            "order_total",
            "currency",
        ],
    )?;
    let shop = ctx.shop().await?;
    let admin = shop.admin();
    // The port lists orders newest first with a limit but has no cursor, so walk ids from the
    // first to the newest one by one: one order in memory at a time.
    let newest = OrderFilter {
        limit: 1,
        ..OrderFilter::default()
    };
    let last = admin
        .orders(ctx.actor(), newest)
        .await?
        .first()
        .map_or(0, |o| o.id.0);
    for id in 1..=last {
        match admin.order(ctx.actor(), OrderId(id)).await {
            Ok(order) => order_rows(&mut csv, &order)?,
            Err(Error::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(csv.finish_rows()?)
}

fn order_rows<W: Write>(csv: &mut Csv<W>, order: &Order) -> CliResult<()> {
    let (payment, invoice) = match order.payment {
        OrderPayment::Wallet => ("wallet", String::new()),
        OrderPayment::Invoice { invoice } => ("invoice", invoice.to_string()),
    };
    let id = order.id.to_string();
    let placed = output::time_rfc3339(order.created_at);
    let user = order.user.to_string();
    let total = order.total.amount_text();
    let currency = order.total.currency.code().to_owned();
    for line in &order.lines {
        let line_total = line
            .unit_price
            .checked_mul(i64::from(line.quantity.get()))
            .map(|m| m.amount_text())
            .map_err(|e| CliError::internal(format!("order {id}: {e}")))?;
        csv.row([
            Field::Raw(&id),
            Field::Raw(&placed),
            Field::Raw(&user),
            Field::Raw(order_status(order.status)),
            Field::Raw(payment),
            Field::Raw(&invoice),
            Field::Raw(&line.product.to_string()),
            Field::Text(line.name.as_str()),
            Field::Raw(line.kind.as_str()),
            Field::Raw(&line.quantity.to_string()),
            Field::Raw(&line.unit_price.amount_text()),
            Field::Raw(&line_total),
            Field::Raw(&total),
            Field::Raw(&currency),
        ])?;
    }
    Ok(())
}

async fn invoices<W: Write>(ctx: &Ctx, out: W) -> CliResult<u64> {
    let mut csv = Csv::new(
        out,
        &[
            "invoice_id",
            "number",
            "issued_at",
            "user_id",
            "status",
            "purpose",
            "order_id",
            "lines",
            "subtotal",
            "tax_bp",
            "tax",
            "total",
            "currency",
            "due_at",
            "due_date",
            "closed_at",
            "paid_by",
            "paid_at",
        ],
    )?;
    let shop = ctx.shop().await?;
    let service = shop.invoices();
    // Listed newest first with a limit and no cursor, like orders: walk ids from the first to
    // the newest, one invoice in memory at a time.
    let newest = InvoiceFilter {
        limit: 1,
        ..InvoiceFilter::default()
    };
    let last = service
        .list(ctx.actor(), newest)
        .await?
        .first()
        .map_or(0, |i| i.id.0);
    for id in 1..=last {
        match service.show(ctx.actor(), InvoiceId(id)).await {
            Ok(invoice) => invoice_row(&mut csv, &invoice)?,
            Err(Error::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(csv.finish_rows()?)
}

fn invoice_row<W: Write>(csv: &mut Csv<W>, invoice: &Invoice) -> CliResult<()> {
    let (purpose, order) = match invoice.purpose {
        InvoicePurpose::WalletTopUp => ("wallet_top_up", String::new()),
        InvoicePurpose::Order { order } => ("order", order.to_string()),
        InvoicePurpose::Custom => ("custom", String::new()),
    };
    let optional_time = |at: Option<Timestamp>| at.map(output::time_rfc3339).unwrap_or_default();
    let totals = &invoice.totals;
    csv.row([
        Field::Raw(&invoice.id.to_string()),
        Field::Raw(&invoice.number.to_string()),
        Field::Raw(&output::time_rfc3339(invoice.created_at)),
        Field::Raw(&invoice.user.to_string()),
        Field::Raw(invoice.status.as_str()),
        Field::Raw(purpose),
        Field::Raw(&order),
        Field::Raw(&invoice.lines.len().to_string()),
        Field::Raw(&totals.subtotal.amount_text()),
        Field::Raw(&invoice.tax.bp().to_string()),
        Field::Raw(&totals.tax.amount_text()),
        Field::Raw(&totals.total.amount_text()),
        Field::Raw(totals.total.currency.code()),
        Field::Raw(&optional_time(invoice.due_at)),
        Field::Raw(
            &invoice
                .due_at
                .and_then(Timestamp::day_ending)
                .unwrap_or_default(),
        ),
        Field::Raw(&optional_time(invoice.closed_at)),
        Field::Raw(
            invoice
                .payment
                .as_ref()
                .map_or("", |p| provider_name(p.provider)),
        ),
        Field::Raw(&optional_time(invoice.payment.as_ref().map(|p| p.at))),
    ])?;
    Ok(())
}

async fn users<W: Write>(ctx: &Ctx, out: W) -> CliResult<u64> {
    let mut csv = Csv::new(
        out,
        &[
            "user_id",
            "name",
            "role",
            "configured_owner",
            "banned",
            "created_at",
            "balance",
            "held",
            "available",
            "currency",
        ],
    )?;
    let shop = ctx.shop().await?;
    let admin = shop.admin();
    let mut offset = 0;
    loop {
        let page = admin
            .users(
                ctx.actor(),
                Page {
                    offset,
                    limit: PAGE,
                },
            )
            .await?;
        for user in &page {
            let (user, wallet) = admin.user(ctx.actor(), user.id).await?;
            let owner = shop.config().owners.contains(&user.id);
            csv.row([
                Field::Raw(&user.id.to_string()),
                Field::Text(user.name.as_str()),
                Field::Raw(user.role.as_str()),
                Field::Raw(if owner { "true" } else { "false" }),
                Field::Raw(if user.banned { "true" } else { "false" }),
                Field::Raw(&output::time_rfc3339(user.created_at)),
                Field::Raw(&wallet.balance.amount_text()),
                Field::Raw(&wallet.held.amount_text()),
                Field::Raw(&wallet.available().amount_text()),
                Field::Raw(wallet.balance.currency.code()),
            ])?;
        }
        if page.len() < PAGE {
            break;
        }
        offset += page.len();
    }
    Ok(csv.finish_rows()?)
}

async fn stock<W: Write>(ctx: &Ctx, out: W) -> CliResult<u64> {
    let mut csv = Csv::new(
        out,
        &[
            "product_id",
            "name",
            "kind",
            "hidden",
            "price",
            "currency",
            "available",
            "reserved",
            "sold",
        ],
    )?;
    let shop = ctx.shop().await?;
    for (product, counts) in shop.admin().stock_levels(ctx.actor()).await? {
        csv.row([
            Field::Raw(&product.id.to_string()),
            Field::Text(product.name.as_str()),
            Field::Raw(product.kind.as_str()),
            Field::Raw(if product.hidden { "true" } else { "false" }),
            Field::Raw(&product.price.amount_text()),
            Field::Raw(product.price.currency.code()),
            Field::Raw(&counts.available.to_string()),
            Field::Raw(&counts.reserved.to_string()),
            Field::Raw(&counts.sold.to_string()),
        ])?;
    }
    Ok(csv.finish_rows()?)
}
