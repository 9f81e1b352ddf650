//! Checkout, orders and refunds.

use std::collections::BTreeMap;

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::{InvoiceId, OrderId, ProductId, UnitId, UserId};
use shopbot_core::order::{
    self, CheckoutError, CheckoutOutcome, CheckoutRequest, DeliveredUnit, Order, OrderFilter,
    OrderLine, OrderPayment, OrderStatus, RefundOutcome, RefundRequest,
};
use shopbot_core::outbox::{NewOutboxMessage, OutboxBody};
use shopbot_core::text::{IdempotencyKey, StockPayload};
use shopbot_core::wallet::LedgerOp;

use crate::claims::ClaimStarts;
use crate::command::CommitCheckout;
use crate::convert::{from_db, parsed, status_of, to_db};
use crate::error::{Attempt, PgError};
use crate::purchases::Purchases;
use crate::records::{queue, write_audit};
use crate::refusal;
use crate::rows::{self, LineRow, ORDER_COLUMNS};

/// Commits a checkout as one call of `shop_commit_checkout` (see the purchase commands in the
/// migration) through the store's purchase path (`purchases.rs`). Everything the function needs
/// from core's rules (the fingerprint, which kinds keep stock, whether the total adds up, the
/// invoice's lines and totals, the ledger key and operation) is worked out first
/// (`command.rs`).
pub(crate) async fn commit_checkout(
    purchases: &Purchases,
    claim_starts: &ClaimStarts,
    pool: &PgPool,
    request: &CheckoutRequest,
) -> Attempt<CheckoutOutcome> {
    let lines = &request.lines;
    let free_after = claim_starts.of(lines.iter().map(|l| l.product));
    let command = CommitCheckout::new(request, free_after)?;
    let row = match purchases.run(command.into()).await {
        Ok(row) => row,
        Err(PgError::Refused { code, .. }) if code == refusal::TOTAL_DOES_NOT_ADD_UP => {
            // The lines are as planned; their sum is not the request's total.
            return Err(match order::total(lines) {
                Err(e) => e.into(),
                Ok(_) => CheckoutError::PriceChanged.into(),
            });
        }
        Err(e) => return Err(e),
    };
    let order_id = OrderId(row.try_get("order_id")?);
    if row.try_get("recorded")? {
        // The key's order, committed earlier (its fingerprint matched).
        let mut connection = pool.acquire().await?;
        let order = load(&mut connection, order_id)
            .await?
            .ok_or_else(|| Error::internal_msg("checkout key points to no order"))?;
        return Ok(CheckoutOutcome {
            order,
            replayed: true,
        });
    }
    let unit_ids: Vec<i64> = row.try_get("unit_ids")?;
    let unit_products: Vec<i64> = row.try_get("unit_products")?;
    let unit_payloads: Vec<String> = row.try_get("unit_payloads")?;
    claim_starts.sold(
        unit_products
            .iter()
            .zip(&unit_ids)
            .map(|(product, unit)| (ProductId(*product), *unit)),
    );
    let mut units = by_product(
        unit_ids
            .into_iter()
            .zip(unit_products)
            .zip(unit_payloads)
            .map(|((unit, product), payload)| (unit, product, payload)),
    )?;
    let invoice: Option<i64> = row.try_get("invoice_id")?;
    let order = Order {
        id: order_id,
        user: request.user,
        lines: lines
            .iter()
            .map(|line| OrderLine {
                product: line.product,
                name: line.name.clone(),
                kind: line.kind,
                quantity: line.quantity,
                unit_price: line.unit_price,
                units: units.remove(&line.product).unwrap_or_default(),
            })
            .collect(),
        total: request.total,
        status: match invoice {
            Some(_) => OrderStatus::AwaitingPayment,
            None => OrderStatus::Paid,
        },
        payment: match invoice {
            Some(invoice) => OrderPayment::Invoice {
                invoice: InvoiceId(invoice),
            },
            None => OrderPayment::Wallet,
        },
        key: request.key.clone(),
        cart_version: request.cart_version,
        created_at: from_db(to_db(request.at)),
    };
    Ok(CheckoutOutcome {
        order,
        replayed: false,
    })
}

/// An order's units (id, product, payload, in id order) grouped by product.
fn by_product(
    units: impl IntoIterator<Item = (i64, i64, String)>,
) -> Result<BTreeMap<ProductId, Vec<DeliveredUnit>>, Error> {
    let mut grouped: BTreeMap<ProductId, Vec<DeliveredUnit>> = BTreeMap::new();
    for (unit, product, payload) in units {
        grouped
            .entry(ProductId(product))
            .or_default()
            .push(DeliveredUnit {
                unit: UnitId(unit),
                payload: parsed(StockPayload::parse(&payload), "stock payload")?,
            });
    }
    Ok(grouped)
}

/// An order with its lines and units.
pub(crate) async fn load(conn: &mut PgConnection, id: OrderId) -> Attempt<Option<Order>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
    let found = sqlx::query(&sql).bind(id.0).fetch_all(&mut *conn).await?;
    Ok(with_lines(conn, found).await?.pop())
}

/// The orders of `found` (rows of [`ORDER_COLUMNS`]) in the same order, with their lines and
/// units: two more queries, however many orders.
async fn with_lines(conn: &mut PgConnection, found: Vec<PgRow>) -> Attempt<Vec<Order>> {
    let ids = found
        .iter()
        .map(|row| row.try_get::<i64, _>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    let held: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "SELECT order_id, id, product_id, payload FROM stock_units \
         WHERE order_id = ANY($1) ORDER BY id",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut units: BTreeMap<i64, Vec<(i64, i64, String)>> = BTreeMap::new();
    for (order, unit, product, payload) in held {
        units
            .entry(order)
            .or_default()
            .push((unit, product, payload));
    }
    let lines: Vec<(i64, i64, String, String, i32, i64)> = sqlx::query_as(
        "SELECT order_id, product_id, name, kind, quantity, unit_price_minor FROM order_lines \
         WHERE order_id = ANY($1) ORDER BY order_id, line_no",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut lines_of: BTreeMap<i64, Vec<LineRow>> = BTreeMap::new();
    for (order, product, name, kind, quantity, price) in lines {
        let line = (product, name, kind, quantity, price);
        lines_of.entry(order).or_default().push(line);
    }
    let mut orders = Vec::with_capacity(found.len());
    for (row, id) in found.iter().zip(ids) {
        let currency: String = row.try_get("currency")?;
        let mut held = by_product(units.remove(&id).unwrap_or_default())?;
        let lines = lines_of
            .remove(&id)
            .unwrap_or_default()
            .into_iter()
            .map(|line| {
                let units = held.remove(&ProductId(line.0)).unwrap_or_default();
                rows::order_line(line, &currency, units)
            })
            .collect::<Result<Vec<_>, _>>()?;
        orders.push(rows::order(row, lines)?);
    }
    Ok(orders)
}

pub(crate) async fn checkout_by_key(
    conn: &mut PgConnection,
    user: UserId,
    key: &IdempotencyKey,
) -> Attempt<Option<Order>> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM orders WHERE user_id = $1 AND idem_key = $2")
            .bind(user.0)
            .bind(key.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    match id {
        Some(id) => load(conn, OrderId(id)).await,
        None => Ok(None),
    }
}

pub(crate) async fn orders(conn: &mut PgConnection, filter: OrderFilter) -> Attempt<Vec<Order>> {
    let limit = i64::try_from(filter.effective_limit()).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE ($1::BIGINT IS NULL OR user_id = $1) \
         AND ($2::TIMESTAMPTZ IS NULL OR created_at >= $2) ORDER BY id DESC LIMIT $3"
    );
    let found = sqlx::query(&sql)
        .bind(filter.user.map(|u| u.0))
        .bind(filter.since.map(to_db))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    with_lines(conn, found).await
}

pub(crate) async fn refund(
    conn: &mut PgConnection,
    request: &RefundRequest,
    audit: &AuditRecord,
) -> Attempt<RefundOutcome> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT user_id, status FROM orders WHERE id = $1 FOR UPDATE")
            .bind(request.order.0)
            .fetch_optional(&mut *conn)
            .await?;
    let (user, status) = row.ok_or_else(|| Error::not_found("order", request.order))?;
    let order = load(conn, request.order)
        .await?
        .ok_or_else(|| Error::not_found("order", request.order))?;
    match status_of(&status)? {
        OrderStatus::Refunded => {
            return Ok(RefundOutcome {
                order,
                already_refunded: true,
            });
        }
        OrderStatus::Paid => {}
        status => {
            let order = order.id;
            return Err(CheckoutError::WrongStatus { order, status }.into());
        }
    }
    let user = UserId(user);
    let op = LedgerOp::Refund {
        amount: order.total,
        order: Some(order.id),
    };
    let key = IdempotencyKey::derived("refund", order.id);
    crate::wallet::post_entry(conn, user, key, op, None, request.at).await?;
    let body = OutboxBody::OrderRefunded { order: order.id };
    queue(conn, &NewOutboxMessage { user, body }, request.at).await?;
    write_audit(conn, Some(audit)).await?;
    sqlx::query("UPDATE orders SET status = 'refunded' WHERE id = $1")
        .bind(order.id.0)
        .execute(&mut *conn)
        .await?;
    let order = Order {
        status: OrderStatus::Refunded,
        ..order
    };
    Ok(RefundOutcome {
        order,
        already_refunded: false,
    })
}

/// Settles an order awaiting payment: paid sells its reserved units; otherwise they go back
/// to stock and the order is cancelled.
pub(crate) async fn settle(conn: &mut PgConnection, id: OrderId, paid: bool) -> Attempt<()> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM orders WHERE id = $1 FOR UPDATE")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
    if status.as_deref() != Some("awaiting_payment") {
        return Ok(());
    }
    let (status, units) = if paid {
        (
            "paid",
            "UPDATE stock_units SET state = 'sold' WHERE order_id = $1 AND state = 'reserved'",
        )
    } else {
        (
            "cancelled",
            "UPDATE stock_units SET state = 'available', order_id = NULL \
             WHERE order_id = $1 AND state = 'reserved'",
        )
    };
    sqlx::query(units).bind(id.0).execute(&mut *conn).await?;
    sqlx::query("UPDATE orders SET status = $2 WHERE id = $1")
        .bind(id.0)
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}
