//! Reading every table into a [`Dump`], in the caller's (read-only, repeatable-read)
//! transaction. Table by table, whole: a dump is memory-sized anyway.

use std::collections::BTreeMap;

use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;

use shopbot_core::Error;
use shopbot_core::cart::{Cart, CartLine};
use shopbot_core::dump::{
    ChargeRecord, CheckoutRecord, Dump, LedgerRecord, NoticeChoice, NoticeKeyRecord, WalletRecord,
};
use shopbot_core::idempotency::Fingerprint;
use shopbot_core::ids::{HoldId, InvoiceId, OrderId, ProductId, UnitId, UserId};
use shopbot_core::invoice::PaymentProvider;
use shopbot_core::notice::NoticeKind;
use shopbot_core::order::{DeliveredUnit, Order};
use shopbot_core::stock::{StockUnit, UnitState};
use shopbot_core::text::{Note, StockPayload};
use shopbot_core::wallet::{Balance, Hold, HoldState};

use crate::convert::{from_db, money, parsed};
use crate::error::Attempt;
use crate::rows::{
    self, CATEGORY_COLUMNS, ENTRY_COLUMNS, INVOICE_COLUMNS, LineRow, ORDER_COLUMNS, OUTBOX_COLUMNS,
    PRODUCT_COLUMNS, USER_COLUMNS,
};

/// Every shop table, read in the caller's transaction.
pub(super) async fn everything(conn: &mut PgConnection) -> Attempt<Dump> {
    let units = units(conn).await?;
    let (orders, checkouts) = orders(conn, &units).await?;
    let last_invoice_number: i64 = sqlx::query_scalar("SELECT last FROM invoice_numbers")
        .fetch_one(&mut *conn)
        .await?;
    Ok(Dump {
        settings: crate::users::settings(conn).await?,
        currency: crate::users::shop_currency(conn).await?,
        users: all(
            conn,
            &format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"),
            rows::user,
        )
        .await?,
        categories: all(
            conn,
            &format!("SELECT {CATEGORY_COLUMNS} FROM categories ORDER BY id"),
            rows::category,
        )
        .await?,
        products: all(
            conn,
            &format!("SELECT {PRODUCT_COLUMNS} FROM products ORDER BY id"),
            rows::product,
        )
        .await?,
        units,
        carts: carts(conn).await?,
        orders,
        checkouts,
        entries: all(
            conn,
            &format!("SELECT fingerprint, {ENTRY_COLUMNS} FROM ledger_entries ORDER BY id"),
            |row| {
                let entry = rows::entry(row)?;
                Ok(LedgerRecord {
                    fingerprint: rows::entry_fingerprint(row, &entry)?,
                    entry,
                })
            },
        )
        .await?,
        holds: holds(conn).await?,
        wallets: wallets(conn).await?,
        invoices: all(
            conn,
            &format!("SELECT {INVOICE_COLUMNS} FROM invoices ORDER BY id"),
            rows::invoice,
        )
        .await?,
        charges: charges(conn).await?,
        dialogues: all(
            conn,
            "SELECT chat_id, user_id, state, expires_at FROM dialogues ORDER BY chat_id, user_id",
            rows::dialogue,
        )
        .await?,
        outbox: all(
            conn,
            &format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id"),
            rows::outbox,
        )
        .await?,
        audit: all(
            conn,
            "SELECT id, actor, action, at FROM audit_log ORDER BY id",
            rows::audit,
        )
        .await?,
        last_invoice_number: u64::try_from(last_invoice_number).map_err(Error::internal)?,
        notice_kinds: notice_kinds(conn).await?,
        notice_keys: all(
            conn,
            "SELECT key, notified_at FROM notice_keys ORDER BY key COLLATE \"C\"",
            |row| {
                Ok(NoticeKeyRecord {
                    key: row.try_get("key").map_err(Error::internal)?,
                    at: from_db(row.try_get("notified_at").map_err(Error::internal)?),
                })
            },
        )
        .await?,
        jobs: crate::job_records::records(conn).await?,
    })
}

/// Each person's chosen notice kinds, one choice per person who chose any.
async fn notice_kinds(conn: &mut PgConnection) -> Attempt<Vec<NoticeChoice>> {
    let found: Vec<(i64, String)> =
        sqlx::query_as("SELECT user_id, kind FROM notice_kinds ORDER BY user_id")
            .fetch_all(conn)
            .await?;
    let mut chosen: BTreeMap<i64, Vec<NoticeKind>> = BTreeMap::new();
    for (user, kind) in found {
        let kind = parsed(kind.parse::<NoticeKind>(), "notice kind")?;
        chosen.entry(user).or_default().push(kind);
    }
    Ok(chosen
        .into_iter()
        .map(|(user, kinds)| NoticeChoice {
            user: UserId(user),
            kinds: kinds.into_iter().collect(),
        })
        .collect())
}

/// Every row `sql` returns, each read by `read`.
async fn all<T>(
    conn: &mut PgConnection,
    sql: &str,
    read: impl Fn(&sqlx::postgres::PgRow) -> Result<T, Error>,
) -> Attempt<Vec<T>> {
    let found = sqlx::query(sql).fetch_all(conn).await?;
    Ok(found.iter().map(read).collect::<Result<_, _>>()?)
}

async fn units(conn: &mut PgConnection) -> Attempt<Vec<StockUnit>> {
    let found: Vec<(i64, i64, String, String, Option<i64>, OffsetDateTime)> = sqlx::query_as(
        "SELECT id, product_id, payload, state, order_id, added_at FROM stock_units ORDER BY id",
    )
    .fetch_all(conn)
    .await?;
    let mut units = Vec::with_capacity(found.len());
    for (id, product, payload, state, order, added_at) in found {
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
                return Err(Error::internal_msg(message).into());
            }
        };
        units.push(StockUnit {
            id: UnitId(id),
            product: ProductId(product),
            payload: parsed(StockPayload::parse(&payload), "stock payload")?,
            state,
            added_at: from_db(added_at),
        });
    }
    Ok(units)
}

async fn carts(conn: &mut PgConnection) -> Attempt<Vec<Cart>> {
    let found: Vec<(i64, i64, Json<Vec<CartLine>>)> =
        sqlx::query_as("SELECT user_id, version, lines FROM carts ORDER BY user_id")
            .fetch_all(conn)
            .await?;
    found
        .into_iter()
        .map(|(user, version, Json(lines))| {
            Ok(Cart {
                user: UserId(user),
                lines,
                version: u64::try_from(version).map_err(Error::internal)?,
            })
        })
        .collect()
}

/// Orders with their lines and units (as [`crate::checkout::load`] assembles one order), and
/// each order's checkout record.
async fn orders(
    conn: &mut PgConnection,
    units: &[StockUnit],
) -> Attempt<(Vec<Order>, Vec<CheckoutRecord>)> {
    let mut delivered: BTreeMap<(OrderId, ProductId), Vec<DeliveredUnit>> = BTreeMap::new();
    for unit in units {
        if let UnitState::Reserved { order } | UnitState::Sold { order } = unit.state {
            delivered
                .entry((order, unit.product))
                .or_default()
                .push(DeliveredUnit {
                    unit: unit.id,
                    payload: unit.payload.clone(),
                });
        }
    }
    type OrderLineRow = (i64, i64, String, String, i32, i64);
    let lines: Vec<OrderLineRow> = sqlx::query_as(
        "SELECT order_id, product_id, name, kind, quantity, unit_price_minor FROM order_lines \
         ORDER BY order_id, line_no",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut lines_of: BTreeMap<i64, Vec<LineRow>> = BTreeMap::new();
    for (order, product, name, kind, quantity, price) in lines {
        lines_of
            .entry(order)
            .or_default()
            .push((product, name, kind, quantity, price));
    }
    let sql = format!("SELECT {ORDER_COLUMNS}, fingerprint FROM orders ORDER BY id");
    let found = sqlx::query(&sql).fetch_all(&mut *conn).await?;
    let mut orders = Vec::with_capacity(found.len());
    let mut checkouts = Vec::with_capacity(found.len());
    for row in found {
        let id = OrderId(row.try_get("id")?);
        let currency: String = row.try_get("currency")?;
        let lines = lines_of
            .remove(&id.0)
            .unwrap_or_default()
            .into_iter()
            .map(|line| {
                let held = delivered
                    .remove(&(id, ProductId(line.0)))
                    .unwrap_or_default();
                rows::order_line(line, &currency, held)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let order = rows::order(&row, lines)?;
        checkouts.push(CheckoutRecord {
            user: order.user,
            key: order.key.clone(),
            fingerprint: Fingerprint(row.try_get("fingerprint")?),
            order: id,
        });
        orders.push(order);
    }
    Ok((orders, checkouts))
}

async fn holds(conn: &mut PgConnection) -> Attempt<Vec<Hold>> {
    let found: Vec<(i64, i64, i64, String, String)> =
        sqlx::query_as("SELECT id, user_id, amount_minor, currency, state FROM holds ORDER BY id")
            .fetch_all(conn)
            .await?;
    let mut holds = Vec::with_capacity(found.len());
    for (id, user, amount, currency, state) in found {
        let state = match state.as_str() {
            "open" => HoldState::Open,
            "captured" => HoldState::Captured,
            "released" => HoldState::Released,
            _ => return Err(Error::internal_msg("stored hold state unknown").into()),
        };
        holds.push(Hold {
            id: HoldId(id),
            user: UserId(user),
            amount: money(amount, &currency)?,
            state,
        });
    }
    Ok(holds)
}

async fn wallets(conn: &mut PgConnection) -> Attempt<Vec<WalletRecord>> {
    let found: Vec<(i64, String, i64, i64)> = sqlx::query_as(
        "SELECT user_id, currency, balance_minor, held_minor FROM wallets \
         ORDER BY user_id, currency",
    )
    .fetch_all(conn)
    .await?;
    let mut wallets = Vec::with_capacity(found.len());
    for (user, currency, balance, held) in found {
        wallets.push(WalletRecord {
            user: UserId(user),
            balance: Balance {
                balance: money(balance, &currency)?,
                held: money(held, &currency)?,
            },
        });
    }
    Ok(wallets)
}

/// The provider a stored name stands for; the inverse of [`crate::invoices::provider_name`].
fn provider_of(name: &str) -> Result<PaymentProvider, Error> {
    Ok(match name {
        "telegram" => PaymentProvider::Telegram,
        "stars" => PaymentProvider::Stars,
        "manual" => PaymentProvider::Manual,
        "wallet" => PaymentProvider::Wallet,
        _ => return Err(Error::internal_msg("stored payment provider unknown")),
    })
}

async fn charges(conn: &mut PgConnection) -> Attempt<Vec<ChargeRecord>> {
    let found: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT provider, charge_id, invoice_id FROM payments")
            .fetch_all(conn)
            .await?;
    let mut charges = Vec::with_capacity(found.len());
    for (provider, charge_id, invoice) in found {
        charges.push(ChargeRecord {
            provider: provider_of(&provider)?,
            charge_id: parsed(Note::parse(&charge_id), "charge id")?,
            invoice: InvoiceId(invoice),
        });
    }
    Ok(charges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_name_reads_back_as_its_provider() {
        for provider in [
            PaymentProvider::Telegram,
            PaymentProvider::Stars,
            PaymentProvider::Manual,
            PaymentProvider::Wallet,
        ] {
            let name = crate::invoices::provider_name(provider);
            assert_eq!(provider_of(name).ok(), Some(provider));
        }
        assert!(provider_of("cash").is_err());
    }
}
