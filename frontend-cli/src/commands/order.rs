//! `shopbot order list|show|refund`.

use std::io::Write;

use clap::{Args, Subcommand};
use shopbot_core::ids::{OrderId, UserId};
use shopbot_core::order::{Order, OrderFilter};

use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{self, Details, Table};
use crate::parse;
use crate::view::{OrderView, RefundView, order_payment, order_status};

/// `shopbot order …`
#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// List orders, newest first
    #[command(after_help = "Examples:\n  shopbot order list\n  \
        shopbot order list --user 1001 --since 2026-01-01\n  shopbot --json order list --limit 10")]
    List(ListArgs),
    /// Show an order with the units delivered to the buyer
    #[command(after_help = "Examples:\n  shopbot order show 12\n  shopbot --json order show 12")]
    Show(OrderArg),
    /// Refund a paid order to the buyer's wallet
    #[command(
        after_help = "A paid order is refunded once. Refunding it again changes nothing: \
        it says the order was already refunded\n(\"already_refunded\": true with --json) and \
        exits 0, since the order is refunded either way.\nAn order that is not paid exits 5.\n\n\
        Examples:\n  shopbot order refund 12\n  shopbot --json order refund 12"
    )]
    Refund(OrderArg),
}

/// `shopbot order list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this buyer's orders
    #[arg(long)]
    pub user: Option<String>,
    /// Only orders placed on or after this day (YYYY-MM-DD, UTC)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// How many orders to show at most
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
}

/// An order's id.
#[derive(Debug, Args)]
pub struct OrderArg {
    /// The order's id
    pub id: String,
}

/// Runs an `order` subcommand.
pub async fn run(command: &OrderCommand, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    match command {
        OrderCommand::List(args) => list(args, ctx, out).await,
        OrderCommand::Show(args) => {
            let id: OrderId = parse::id("ORDER", &args.id)?;
            let shop = ctx.shop().await?;
            let order = shop.admin().order(ctx.actor(), id).await?;
            print_order(ctx, &order, out)
        }
        OrderCommand::Refund(args) => {
            let id: OrderId = parse::id("ORDER", &args.id)?;
            let shop = ctx.shop().await?;
            let refund = shop.admin().refund_order(ctx.actor(), id).await?;
            let order = &refund.order;
            if ctx.json() {
                let view = RefundView {
                    order: OrderView::from(order),
                    already_refunded: refund.already_refunded,
                };
                return output::json(out, &view);
            }
            if refund.already_refunded {
                writeln!(out, "Order {id} was already refunded; nothing changed.")?;
            } else {
                writeln!(
                    out,
                    "Order {id} is refunded: {} went back to user {}'s wallet.",
                    output::money(order.total),
                    order.user
                )?;
            }
            print_order(ctx, order, out)
        }
    }
}

async fn list(args: &ListArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let filter = OrderFilter {
        user: match &args.user {
            Some(text) => Some(parse::id::<UserId>("--user", text)?),
            None => None,
        },
        since: match &args.since {
            Some(text) => Some(parse::date("--since", text)?),
            None => None,
        },
        limit: usize::from(args.limit),
    };
    let shop = ctx.shop().await?;
    let orders = shop.admin().orders(ctx.actor(), filter).await?;
    if ctx.json() {
        let views: Vec<OrderView> = orders.iter().map(OrderView::from).collect();
        return output::json(out, &views);
    }
    if orders.is_empty() {
        writeln!(out, "No orders.")?;
        return Ok(());
    }
    let mut table = Table::new(&[
        "ID", "USER", "STATUS", "PAYMENT", "ITEMS", "TOTAL", "PLACED",
    ]);
    for order in &orders {
        table.row([
            order.id.to_string(),
            order.user.to_string(),
            order_status(order.status).to_owned(),
            order_payment(order.payment),
            items(order),
            output::money(order.total),
            output::time(order.created_at),
        ]);
    }
    table.write(out)?;
    Ok(())
}

/// `2× Space Trader, 1× Setup call`.
fn items(order: &Order) -> String {
    let parts: Vec<String> = order
        .lines
        .iter()
        .map(|l| format!("{}× {}", l.quantity, l.name))
        .collect();
    parts.join(", ")
}

fn print_order(ctx: &Ctx, order: &Order, out: &mut impl Write) -> CliResult<()> {
    if ctx.json() {
        return output::json(out, &OrderView::from(order));
    }
    Details::new()
        .field("id", order.id.to_string())
        .field("user", order.user.to_string())
        .field("status", order_status(order.status))
        .field("payment", order_payment(order.payment))
        .field("total", output::money(order.total))
        .field("placed", output::time(order.created_at))
        .write(out)?;
    writeln!(out)?;
    let mut lines = Table::new(&["PRODUCT", "NAME", "KIND", "QTY", "UNIT PRICE"]);
    for line in &order.lines {
        lines.row([
            line.product.to_string(),
            line.name.to_string(),
            line.kind.as_str().to_owned(),
            line.quantity.to_string(),
            output::money(line.unit_price),
        ]);
    }
    lines.write(out)?;
    let mut delivered = Table::new(&["UNIT", "PRODUCT", "DELIVERED"]);
    for (line, unit) in order.delivered_units() {
        delivered.row([
            unit.unit.to_string(),
            line.name.to_string(),
            unit.payload.to_string(),
        ]);
    }
    if !delivered.is_empty() {
        writeln!(out)?;
        delivered.write(out)?;
    }
    Ok(())
}
