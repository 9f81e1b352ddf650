//! Listing a product's units and taking available ones out of stock.

use sqlx::PgConnection;
use time::OffsetDateTime;

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::{OrderId, ProductId, UnitId};
use shopbot_core::stock::{StockRemoval, StockUnit, UnitState};
use shopbot_core::text::StockPayload;

use crate::convert::{from_db, parsed};
use crate::error::Attempt;
use crate::records::write_audit;

type UnitRow = (i64, i64, String, String, Option<i64>, OffsetDateTime);

/// A stored unit row as a [`StockUnit`]; an impossible state is an internal error.
pub(crate) fn unit(row: UnitRow) -> Result<StockUnit, Error> {
    let (id, product, payload, state, order, added_at) = row;
    let state = match (state.as_str(), order) {
        ("available", None) => UnitState::Available,
        ("reserved", Some(order)) => UnitState::Reserved {
            order: OrderId(order),
        },
        ("sold", Some(order)) => UnitState::Sold {
            order: OrderId(order),
        },
        _ => {
            let message = format!("stored unit {id} is {state} with order {order:?}");
            return Err(Error::internal_msg(message));
        }
    };
    Ok(StockUnit {
        id: UnitId(id),
        product: ProductId(product),
        payload: parsed(StockPayload::parse(&payload), "stock payload")?,
        state,
        added_at: from_db(added_at),
    })
}

pub(crate) async fn stock_units(
    conn: &mut PgConnection,
    product: ProductId,
) -> Attempt<Vec<StockUnit>> {
    let rows: Vec<UnitRow> = sqlx::query_as(
        "SELECT id, product_id, payload, state, order_id, added_at FROM stock_units \
         WHERE product_id = $1 ORDER BY id",
    )
    .bind(product.0)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(unit).collect::<Result<_, _>>()?)
}

/// Locks the named units, checks every one is an available unit of the product, then deletes
/// them all, in the caller's transaction.
pub(crate) async fn remove_stock(
    conn: &mut PgConnection,
    removal: &StockRemoval,
    audit: &AuditRecord,
) -> Attempt<u64> {
    let product = removal.product;
    let known: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE id = $1")
        .bind(product.0)
        .fetch_optional(&mut *conn)
        .await?;
    if known.is_none() {
        return Err(Error::not_found("product", product).into());
    }
    let ids: Vec<i64> = removal.units.iter().map(|u| u.0).collect();
    let found: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, state FROM stock_units WHERE product_id = $1 AND id = ANY($2) \
         ORDER BY id FOR UPDATE",
    )
    .bind(product.0)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    for id in &removal.units {
        match found.iter().find(|(found, _)| *found == id.0) {
            None => return Err(Error::not_found("stock unit", id).into()),
            Some((_, state)) if state != "available" => {
                let message = format!("unit {id} is reserved or sold and stays in stock");
                return Err(Error::Conflict(message).into());
            }
            Some(_) => {}
        }
    }
    let removed = sqlx::query("DELETE FROM stock_units WHERE id = ANY($1)")
        .bind(&ids)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    write_audit(conn, Some(audit)).await?;
    Ok(removed)
}

/// Locks the product, checks no order names it, then deletes its units and it.
pub(crate) async fn delete_product(
    conn: &mut PgConnection,
    id: ProductId,
    audit: &AuditRecord,
) -> Attempt<u64> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE id = $1 FOR UPDATE")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    if found.is_none() {
        return Err(Error::not_found("product", id).into());
    }
    let ordered: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM order_lines WHERE product_id = $1)")
            .bind(id.0)
            .fetch_one(&mut *conn)
            .await?;
    if ordered {
        let message = format!("product {id} has been ordered and stays; hide it instead");
        return Err(Error::Conflict(message).into());
    }
    let removed = sqlx::query("DELETE FROM stock_units WHERE product_id = $1")
        .bind(id.0)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM products WHERE id = $1")
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    write_audit(conn, Some(audit)).await?;
    Ok(removed)
}
