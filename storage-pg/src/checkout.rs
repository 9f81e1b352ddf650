//! Checkout, orders and refunds.

use std::collections::BTreeMap;

use sqlx::{PgConnection, Row};

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::{OrderId, ProductId, UnitId, UserId};
use shopbot_core::order::{
    self, CheckoutError, CheckoutPayment, CheckoutRequest, DeliveredUnit, Order, OrderFilter,
    OrderStatus, RefundRequest,
};
use shopbot_core::outbox::{NewOutboxMessage, OutboxBody};
use shopbot_core::text::{IdempotencyKey, StockPayload};
use shopbot_core::wallet::LedgerOp;

use crate::catalog::{cart_for_update, products_for_share, save_cart};
use crate::convert::{parsed, to_db};
use crate::error::Attempt;
use crate::records::queue;
use crate::rows::{self, LineRow, ORDER_COLUMNS};
use crate::users::write_audit;

pub(crate) fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::AwaitingPayment => "awaiting_payment",
        OrderStatus::Paid => "paid",
        OrderStatus::Refunded => "refunded",
        OrderStatus::Cancelled => "cancelled",
    }
}

pub(crate) fn status_of(name: &str) -> Result<OrderStatus, Error> {
    Ok(match name {
        "awaiting_payment" => OrderStatus::AwaitingPayment,
        "paid" => OrderStatus::Paid,
        "refunded" => OrderStatus::Refunded,
        "cancelled" => OrderStatus::Cancelled,
        _ => return Err(Error::internal_msg("stored order status unknown")),
    })
}

pub(crate) async fn commit_checkout(
    conn: &mut PgConnection,
    request: &CheckoutRequest,
) -> Attempt<Order> {
    let user = request.user;
    crate::users::require(conn, user).await?;
    // The cart's lock comes first: a concurrent twin of this checkout waits here, and then
    // finds the order the first one recorded.
    let mut cart = cart_for_update(conn, user).await?;
    let recorded: Option<(String, i64)> =
        sqlx::query_as("SELECT fingerprint, id FROM orders WHERE user_id = $1 AND idem_key = $2")
            .bind(user.0)
            .bind(request.key.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((fingerprint, id)) = recorded {
        if fingerprint != request.fingerprint().0 {
            let message = "this idempotency key was used for another checkout".to_owned();
            return Err(Error::Conflict(message).into());
        }
        return load(conn, OrderId(id))
            .await?
            .ok_or_else(|| Error::internal_msg("checkout key points to no order").into());
    }

    if cart.version != request.cart_version {
        return Err(CheckoutError::CartChanged.into());
    }
    let ids: Vec<i64> = cart.lines.iter().map(|l| l.product.0).collect();
    let products = products_for_share(conn, &ids).await?;
    let lines = order::plan(&cart, |id| products.iter().find(|p| p.id == id))?;
    if lines != request.lines || order::total(&lines)? != request.total {
        return Err(CheckoutError::PriceChanged.into());
    }

    let paid = request.payment == CheckoutPayment::Wallet;
    let status = if paid {
        OrderStatus::Paid
    } else {
        OrderStatus::AwaitingPayment
    };
    let order_id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (user_id, idem_key, fingerprint, cart_version, total_minor, currency, \
         status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(user.0)
    .bind(request.key.as_str())
    .bind(&request.fingerprint().0)
    .bind(i64::try_from(request.cart_version).map_err(Error::internal)?)
    .bind(request.total.minor)
    .bind(request.total.currency.code())
    .bind(status_name(status))
    .bind(to_db(request.at))
    .fetch_one(&mut *conn)
    .await?;
    let order_id = OrderId(order_id);

    let unit_state = if paid { "sold" } else { "reserved" };
    for (line_no, line) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO order_lines (order_id, line_no, product_id, name, kind, quantity, \
             unit_price_minor) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(order_id.0)
        .bind(i32::try_from(line_no).map_err(Error::internal)?)
        .bind(line.product.0)
        .bind(line.name.as_str())
        .bind(line.kind.as_str())
        .bind(i32::try_from(line.quantity.get()).map_err(Error::internal)?)
        .bind(line.unit_price.minor)
        .execute(&mut *conn)
        .await?;
        if !line.kind.uses_stock() {
            continue;
        }
        // One statement claims the oldest free units; units other buyers hold locks on are
        // skipped, never waited for.
        let claimed = sqlx::query(
            "WITH free AS MATERIALIZED ( \
                 SELECT id FROM stock_units WHERE product_id = $1 AND state = 'available' \
                 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE stock_units u SET state = $3, order_id = $4 FROM free \
             WHERE u.id = free.id RETURNING u.id",
        )
        .bind(line.product.0)
        .bind(i64::from(line.quantity.get()))
        .bind(unit_state)
        .bind(order_id.0)
        .execute(&mut *conn)
        .await?;
        let wanted = u64::from(line.quantity.get());
        if claimed.rows_affected() < wanted {
            let available: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM stock_units WHERE product_id = $1 AND state = 'available'",
            )
            .bind(line.product.0)
            .fetch_one(&mut *conn)
            .await?;
            return Err(Error::OutOfStock {
                product: line.product,
                requested: line.quantity.get(),
                // Counted after this transaction took what it could, so add that back.
                available: u64::try_from(available)
                    .unwrap_or_default()
                    .saturating_add(claimed.rows_affected()),
            }
            .into());
        }
    }

    match request.payment {
        CheckoutPayment::Wallet => {
            let op = LedgerOp::Charge {
                amount: request.total,
                order: Some(order_id),
                invoice: None,
            };
            let key = IdempotencyKey::derived("checkout", &request.key);
            crate::wallet::post_entry(conn, user, key, op, None, request.at).await?;
            let body = OutboxBody::OrderDelivered { order: order_id };
            queue(conn, &NewOutboxMessage { user, body }, request.at).await?;
        }
        CheckoutPayment::Invoice { .. } => {
            let new = request
                .order_invoice(order_id)?
                .ok_or_else(|| Error::internal_msg("an invoice checkout without an invoice"))?;
            let invoice = crate::invoices::insert(conn, &new).await?;
            sqlx::query("UPDATE orders SET invoice_id = $2 WHERE id = $1")
                .bind(order_id.0)
                .bind(invoice.id.0)
                .execute(&mut *conn)
                .await?;
        }
    }
    cart.lines.clear();
    cart.version += 1;
    save_cart(conn, &cart).await?;
    load(conn, order_id)
        .await?
        .ok_or_else(|| Error::internal_msg("the new order vanished").into())
}

/// An order with its lines and units.
pub(crate) async fn load(conn: &mut PgConnection, id: OrderId) -> Attempt<Option<Order>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
    let Some(row) = sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let currency: String = row.try_get("currency")?;
    let mut units: BTreeMap<ProductId, Vec<DeliveredUnit>> = BTreeMap::new();
    let found: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT id, product_id, payload FROM stock_units WHERE order_id = $1 ORDER BY id",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    for (unit, product, payload) in found {
        units
            .entry(ProductId(product))
            .or_default()
            .push(DeliveredUnit {
                unit: UnitId(unit),
                payload: parsed(StockPayload::parse(&payload), "stock payload")?,
            });
    }
    let lines: Vec<LineRow> = sqlx::query_as(
        "SELECT product_id, name, kind, quantity, unit_price_minor FROM order_lines \
         WHERE order_id = $1 ORDER BY line_no",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    let lines = lines
        .into_iter()
        .map(|line| {
            let held = units.remove(&ProductId(line.0)).unwrap_or_default();
            rows::order_line(line, &currency, held)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(rows::order(&row, lines)?))
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
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM orders WHERE ($1::BIGINT IS NULL OR user_id = $1) \
         AND ($2::TIMESTAMPTZ IS NULL OR created_at >= $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(filter.user.map(|u| u.0))
    .bind(filter.since.map(to_db))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut orders = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(order) = load(conn, OrderId(id)).await? {
            orders.push(order);
        }
    }
    Ok(orders)
}

pub(crate) async fn refund(
    conn: &mut PgConnection,
    request: &RefundRequest,
    audit: &AuditRecord,
) -> Attempt<Order> {
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
        OrderStatus::Refunded => return Ok(order),
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
    Ok(Order {
        status: OrderStatus::Refunded,
        ..order
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
