//! A full check of the stored invariants the schema cannot express by itself: what an
//! operator's `store check` runs. Reads everything; changes nothing.
//!
//! Sums are exact: `SUM` over `bigint` columns is `numeric` in PostgreSQL, so a ledger that
//! adds up past what a wallet can hold shows as a mismatch instead of overflowing.

use sqlx::PgPool;

use shopbot_core::{Error, Result};

/// Each query returns one row per problem, described.
const CHECKS: [(&str, &str); 6] = [
    (
        "wallets that do not match their ledger",
        "SELECT format('wallet of user %s (%s) does not match its ledger: balance %s, ledger %s; \
                held %s, ledger %s (minor units)', w.user_id, w.currency, w.balance_minor, \
                COALESCE(l.b, 0), w.held_minor, COALESCE(l.h, 0)) \
         FROM wallets w LEFT JOIN ( \
             SELECT user_id, currency, SUM(balance_delta_minor) AS b, SUM(held_delta_minor) AS h \
             FROM ledger_entries GROUP BY user_id, currency) l \
         ON l.user_id = w.user_id AND l.currency = w.currency \
         WHERE w.balance_minor <> COALESCE(l.b, 0) OR w.held_minor <> COALESCE(l.h, 0)",
    ),
    (
        "held amounts that do not match open holds",
        "SELECT format('wallet of user %s (%s) holds %s but its open holds sum to %s', \
                w.user_id, w.currency, w.held_minor, COALESCE(h.s, 0)) \
         FROM wallets w LEFT JOIN ( \
             SELECT user_id, currency, SUM(amount_minor) AS s FROM holds \
             WHERE state = 'open' GROUP BY user_id, currency) h \
         ON h.user_id = w.user_id AND h.currency = w.currency \
         WHERE w.held_minor <> COALESCE(h.s, 0)",
    ),
    (
        "orders whose units do not match their lines",
        "SELECT format('order %s holds %s units of product %s for a line of %s', \
                l.order_id, COALESCE(u.n, 0), l.product_id, l.quantity) \
         FROM order_lines l JOIN orders o ON o.id = l.order_id \
         LEFT JOIN (SELECT order_id, product_id, count(*) AS n FROM stock_units \
                    WHERE order_id IS NOT NULL GROUP BY order_id, product_id) u \
         ON u.order_id = l.order_id AND u.product_id = l.product_id \
         WHERE l.kind <> 'service' AND o.status <> 'cancelled' AND COALESCE(u.n, 0) <> l.quantity",
    ),
    (
        "units in the wrong state for their order",
        "SELECT format('unit %s is %s for order %s, which is %s', u.id, u.state, o.id, o.status) \
         FROM stock_units u JOIN orders o ON o.id = u.order_id \
         WHERE (u.state = 'sold' AND o.status NOT IN ('paid', 'refunded')) \
            OR (u.state = 'reserved' AND o.status <> 'awaiting_payment')",
    ),
    (
        "gaps in invoice numbers",
        "SELECT format('invoice numbers run to %s but there are %s invoices', \
                COALESCE(MAX(number), 0), count(*)) \
         FROM invoices HAVING COALESCE(MAX(number), 0) <> count(*)",
    ),
    (
        "charges that are not their invoice's payment",
        "SELECT format('charge %s is not the payment of invoice %s', p.charge_id, p.invoice_id) \
         FROM payments p JOIN invoices i ON i.id = p.invoice_id \
         WHERE i.payment->>'charge_id' IS DISTINCT FROM p.charge_id",
    ),
];

/// Every broken invariant, described; empty when the store is sound.
pub(crate) async fn check(pool: &PgPool) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for (_, sql) in CHECKS {
        let found: Vec<String> = sqlx::query_scalar(sql)
            .fetch_all(pool)
            .await
            .map_err(Error::internal)?;
        problems.extend(found);
    }
    Ok(problems)
}
