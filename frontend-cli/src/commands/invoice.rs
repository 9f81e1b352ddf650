//! `shopbot invoice create|list|show|void|mark-paid`.

use std::io::Write;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use shopbot_core::ids::{InvoiceId, UserId};
use shopbot_core::invoice::{Invoice, InvoiceFilter, InvoiceLine, InvoiceStatus, TaxRate};
use shopbot_core::money::Currency;
use shopbot_core::text::{Note, Quantity};

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{self, Details, Table};
use crate::parse;
use crate::view::{InvoiceView, invoice_purpose, provider_name};

/// `shopbot invoice …`
#[derive(Debug, Subcommand)]
pub enum InvoiceCommand {
    /// Bill a user: one or more lines, optional tax and due date
    #[command(after_help = "\
Each --line is DESCRIPTION:QUANTITY:UNIT_PRICE; the description may itself contain colons.
Totals are exact: tax is rounded half away from zero to the currency's minor unit.

Examples:
  shopbot invoice create --user 1001 --line \"Consulting:2:50.00\"
  shopbot invoice create --user 1001 --line \"Setup:1:25\" --line \"Support, March:3:10.00\" \\
      --tax-bp 1800 --due 2026-12-31")]
    Create(CreateArgs),
    /// List invoices, newest first
    #[command(after_help = "Examples:\n  shopbot invoice list\n  \
        shopbot invoice list --status open\n  shopbot --json invoice list --user 1001")]
    List(ListArgs),
    /// Show an invoice (by its id, not its number)
    #[command(after_help = "Examples:\n  shopbot invoice show 4")]
    Show(InvoiceArg),
    /// Cancel an open invoice; an order's reserved units go back to stock
    #[command(after_help = "Examples:\n  shopbot invoice void 4")]
    Void(InvoiceArg),
    /// Record a payment made outside the bot (a bank transfer, cash), once per reference
    #[command(
        after_help = "Examples:\n  shopbot invoice mark-paid 4 --reference \"bank ref 2026-0042\""
    )]
    MarkPaid(MarkPaidArgs),
}

/// `shopbot invoice create`
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Who pays
    #[arg(long)]
    pub user: String,
    /// DESCRIPTION:QUANTITY:UNIT_PRICE (repeat for more lines)
    #[arg(long = "line", required = true, value_name = "DESC:QTY:PRICE")]
    pub lines: Vec<String>,
    /// Tax in basis points: 1800 is 18 %
    #[arg(
        long,
        default_value = "0",
        value_name = "BP",
        allow_hyphen_values = true
    )]
    pub tax_bp: String,
    /// The last day to pay (YYYY-MM-DD, UTC; not in the past); the invoice expires after it
    #[arg(long, value_name = "DATE")]
    pub due: Option<String>,
}

/// An invoice status, for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Waiting for payment
    Open,
    /// Paid
    Paid,
    /// Cancelled
    Void,
    /// Not paid in time
    Expired,
}

impl From<StatusArg> for InvoiceStatus {
    fn from(status: StatusArg) -> InvoiceStatus {
        match status {
            StatusArg::Open => InvoiceStatus::Open,
            StatusArg::Paid => InvoiceStatus::Paid,
            StatusArg::Void => InvoiceStatus::Void,
            StatusArg::Expired => InvoiceStatus::Expired,
        }
    }
}

/// `shopbot invoice list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only invoices in this status
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Only this user's invoices
    #[arg(long)]
    pub user: Option<String>,
    /// How many invoices to show at most
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
}

/// An invoice's id.
#[derive(Debug, Args)]
pub struct InvoiceArg {
    /// The invoice's id (see `shopbot invoice list`)
    pub id: String,
}

/// `shopbot invoice mark-paid`
#[derive(Debug, Args)]
pub struct MarkPaidArgs {
    /// The invoice's id
    pub id: String,
    /// What identifies the payment (a bank reference, a receipt number); applied once
    #[arg(long)]
    pub reference: String,
}

/// Runs an `invoice` subcommand.
pub async fn run(command: &InvoiceCommand, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    match command {
        InvoiceCommand::Create(args) => create(args, ctx, out).await,
        InvoiceCommand::List(args) => list(args, ctx, out).await,
        InvoiceCommand::Show(args) => {
            let id: InvoiceId = parse::id("INVOICE", &args.id)?;
            let shop = ctx.shop().await?;
            let invoice = shop.invoices().show(ctx.actor(), id).await?;
            print_invoice(ctx, &invoice, out)
        }
        InvoiceCommand::Void(args) => {
            let id: InvoiceId = parse::id("INVOICE", &args.id)?;
            let shop = ctx.shop().await?;
            let invoice = shop.invoices().void(ctx.actor(), id).await?;
            if !ctx.json() {
                writeln!(out, "Invoice {id} (number {}) is void.", invoice.number)?;
            }
            print_invoice(ctx, &invoice, out)
        }
        InvoiceCommand::MarkPaid(args) => {
            let id: InvoiceId = parse::id("INVOICE", &args.id)?;
            let reference = parse::text(
                "--reference",
                Note::parse(&args.reference),
                "one line of 1–256 characters",
            )?;
            let shop = ctx.shop().await?;
            let invoice = shop
                .invoices()
                .mark_paid(ctx.actor(), id, reference)
                .await?;
            if !ctx.json() {
                writeln!(out, "Invoice {id} (number {}) is paid.", invoice.number)?;
            }
            print_invoice(ctx, &invoice, out)
        }
    }
}

/// Parses `DESCRIPTION:QUANTITY:UNIT_PRICE`; the description may contain colons.
pub fn parse_line(text: &str, currency: Currency) -> CliResult<InvoiceLine> {
    let shown: String = output::clean(&text.chars().take(64).collect::<String>());
    let mut parts = text.rsplitn(3, ':');
    let (Some(price), Some(quantity), Some(description)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(CliError::invalid(format!(
            "--line `{shown}`: use DESCRIPTION:QUANTITY:UNIT_PRICE, for example \
             \"Consulting:2:50.00\""
        )));
    };
    let context = |e: CliError| e.context(format!("--line `{shown}`"));
    let description = parse::text(
        "description",
        Note::parse(description),
        "one line of 1–256 characters",
    )
    .map_err(context)?;
    let quantity = parse::value("quantity", Quantity::parse(quantity)).map_err(context)?;
    let unit_price = parse::money("unit price", price, currency).map_err(context)?;
    Ok(InvoiceLine {
        description,
        quantity,
        unit_price,
    })
}

/// Parses `--tax-bp`.
pub fn parse_tax(text: &str) -> CliResult<TaxRate> {
    let bp = text.trim().parse::<u32>().map_err(|_| {
        CliError::invalid(format!(
            "--tax-bp: `{}` is not a whole number; use basis points from 0 to 10000 (1800 = 18%)",
            output::clean(&text.chars().take(32).collect::<String>())
        ))
    })?;
    parse::value("--tax-bp", TaxRate::from_bp(bp))
}

async fn create(args: &CreateArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let user: UserId = parse::id("--user", &args.user)?;
    let tax = parse_tax(&args.tax_bp)?;
    // Due at the end of the given day: the day named is still a day to pay on.
    let due = match &args.due {
        Some(text) => Some(parse::date("--due", text)?.plus(Duration::from_secs(24 * 60 * 60))),
        None => None,
    };
    // Prices are in the shop's currency, which only the store knows.
    let currency = ctx.currency().await?;
    let lines = args
        .lines
        .iter()
        .map(|l| parse_line(l, currency))
        .collect::<CliResult<Vec<_>>>()?;
    let shop = ctx.shop().await?;
    let invoice = shop
        .invoices()
        .create(ctx.actor(), user, lines, tax, due)
        .await?;
    if !ctx.json() {
        writeln!(
            out,
            "Issued invoice {} (number {}) to user {user} for {}.",
            invoice.id,
            invoice.number,
            output::money(invoice.totals.total)
        )?;
    }
    print_invoice(ctx, &invoice, out)
}

async fn list(args: &ListArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let filter = InvoiceFilter {
        user: match &args.user {
            Some(text) => Some(parse::id::<UserId>("--user", text)?),
            None => None,
        },
        status: args.status.map(InvoiceStatus::from),
        limit: usize::from(args.limit),
    };
    let shop = ctx.shop().await?;
    let invoices = shop.invoices().list(ctx.actor(), filter).await?;
    if ctx.json() {
        let views: Vec<InvoiceView> = invoices.iter().map(InvoiceView::from).collect();
        return output::json(out, &views);
    }
    if invoices.is_empty() {
        writeln!(out, "No invoices.")?;
        return Ok(());
    }
    let mut table = Table::new(&[
        "ID", "NUMBER", "USER", "STATUS", "FOR", "TOTAL", "DUE", "ISSUED",
    ]);
    for invoice in &invoices {
        table.row([
            invoice.id.to_string(),
            invoice.number.to_string(),
            invoice.user.to_string(),
            invoice.status.as_str().to_owned(),
            invoice_purpose(invoice.purpose),
            output::money(invoice.totals.total),
            invoice
                .due_at
                .map_or_else(|| "-".to_owned(), output::deadline),
            output::time(invoice.created_at),
        ]);
    }
    table.write(out)?;
    Ok(())
}

fn print_invoice(ctx: &Ctx, invoice: &Invoice, out: &mut impl Write) -> CliResult<()> {
    if ctx.json() {
        return output::json(out, &InvoiceView::from(invoice));
    }
    let mut details = Details::new();
    details
        .field("id", invoice.id.to_string())
        .field("number", invoice.number.to_string())
        .field("user", invoice.user.to_string())
        .field("status", invoice.status.as_str())
        .field("for", invoice_purpose(invoice.purpose))
        .field("subtotal", output::money(invoice.totals.subtotal))
        .field(
            "tax",
            format!(
                "{} ({} bp)",
                output::money(invoice.totals.tax),
                invoice.tax.bp()
            ),
        )
        .field("total", output::money(invoice.totals.total))
        .field("issued", output::time(invoice.created_at));
    if let Some(due) = invoice.due_at {
        details.field("due", output::deadline(due));
    }
    if let Some(closed) = invoice.closed_at {
        details.field("closed", output::time(closed));
    }
    if let Some(payment) = &invoice.payment {
        details.field(
            "payment",
            format!(
                "{} via {}, reference {}",
                output::money(payment.amount),
                provider_name(payment.provider),
                payment.charge_id
            ),
        );
    }
    details.write(out)?;
    writeln!(out)?;
    let mut lines = Table::new(&["DESCRIPTION", "QTY", "UNIT PRICE"]);
    for line in &invoice.lines {
        lines.row([
            line.description.to_string(),
            line.quantity.to_string(),
            output::money(line.unit_price),
        ]);
    }
    lines.write(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitStatus;

    #[test]
    fn lines_split_from_the_right_so_descriptions_keep_their_colons() {
        let line = parse_line("Support: March:3:10.50", Currency::USD).unwrap();
        assert_eq!(line.description.as_str(), "Support: March");
        assert_eq!(line.quantity.get(), 3);
        assert_eq!(line.unit_price.minor, 1050);
    }

    #[test]
    fn malformed_lines_say_what_is_accepted() {
        for bad in [
            "Consulting",
            "Consulting:2",
            ":1:5",
            "x:0:5",
            "x:1:abc",
            "x:1:1.999",
        ] {
            let e = parse_line(bad, Currency::USD).unwrap_err();
            assert_eq!(e.status(), ExitStatus::Invalid, "{bad}");
            assert!(e.message().starts_with("--line `"), "{}", e.message());
        }
    }

    #[test]
    fn tax_is_basis_points_up_to_ten_thousand() {
        assert_eq!(parse_tax("1800").unwrap().bp(), 1800);
        assert!(parse_tax("10001").is_err());
        assert!(parse_tax("18%").is_err());
        assert!(parse_tax("-1").is_err());
    }
}
