//! `shopbot stock list|remove`: a product's units one by one, and taking mistakes back out.

use std::io::Write;

use clap::Args;
use serde::Serialize;
use shopbot_core::ids::{ProductId, UnitId};
use shopbot_core::stock::{ListedUnit, UnitState};

use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{self, Table, time_rfc3339};
use crate::parse;

/// `shopbot stock list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The product's id
    #[arg(long)]
    pub product: String,
    /// Show the payloads in full (written to the audit log)
    #[arg(long)]
    pub reveal: bool,
}

/// `shopbot stock remove`
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The product's id
    #[arg(long)]
    pub product: String,
    /// The units' ids (see `shopbot stock list`)
    #[arg(value_name = "UNIT_ID", required_unless_present = "unit")]
    pub units: Vec<String>,
    /// A unit's id, as a flag (may be repeated)
    #[arg(long = "unit", value_name = "UNIT_ID")]
    pub unit: Vec<String>,
}

/// One unit, as `--json` prints it.
#[derive(Debug, Serialize)]
struct UnitView {
    /// Its id.
    id: i64,
    /// `available`, `reserved` or `sold`.
    status: &'static str,
    /// The order holding it, if any.
    order: Option<i64>,
    /// The payload, masked unless revealed.
    payload: String,
    /// When it was imported (RFC 3339).
    added_at: String,
}

/// What `stock remove --json` prints.
#[derive(Debug, Serialize)]
struct RemovedView {
    /// The product.
    product: i64,
    /// How many units were removed.
    removed: u64,
}

fn status(state: UnitState) -> (&'static str, Option<i64>) {
    match state {
        UnitState::Available => ("available", None),
        UnitState::Reserved { order } => ("reserved", Some(order.0)),
        UnitState::Sold { order } => ("sold", Some(order.0)),
    }
}

impl From<&ListedUnit> for UnitView {
    fn from(unit: &ListedUnit) -> UnitView {
        let (status, order) = status(unit.state);
        UnitView {
            id: unit.id.0,
            status,
            order,
            payload: unit.payload.clone(),
            added_at: time_rfc3339(unit.added_at),
        }
    }
}

/// `shopbot stock list`.
pub async fn list(args: &ListArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let product: ProductId = parse::id("--product", &args.product)?;
    let shop = ctx.shop().await?;
    let units = shop
        .admin()
        .stock_units(ctx.actor(), product, args.reveal)
        .await?;
    if ctx.json() {
        let views: Vec<UnitView> = units.iter().map(UnitView::from).collect();
        return output::json(out, &views);
    }
    if units.is_empty() {
        writeln!(out, "Product {product} has no units.")?;
        return Ok(());
    }
    let mut table = Table::new(&["ID", "STATUS", "ORDER", "PAYLOAD", "ADDED"]);
    for unit in &units {
        let (status, order) = status(unit.state);
        table.row([
            unit.id.to_string(),
            status.to_owned(),
            order.map(|o| o.to_string()).unwrap_or_default(),
            output::clean(&unit.payload),
            output::time(unit.added_at),
        ]);
    }
    table.write(out)?;
    Ok(())
}

/// `shopbot stock remove`.
pub async fn remove(args: &RemoveArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let product: ProductId = parse::id("--product", &args.product)?;
    let units = args
        .units
        .iter()
        .chain(&args.unit)
        .map(|text| parse::id::<UnitId>("UNIT_ID", text))
        .collect::<CliResult<Vec<UnitId>>>()?;
    let shop = ctx.shop().await?;
    let removed = shop
        .admin()
        .remove_stock(ctx.actor(), product, units)
        .await?;
    if ctx.json() {
        let view = RemovedView {
            product: product.0,
            removed,
        };
        return output::json(out, &view);
    }
    writeln!(out, "Removed {removed} unit(s) from product {product}.")?;
    Ok(())
}
