//! Orders, their lines and checkout records, wallets, the ledger, holds, invoices and payment
//! charges: the part of a dump that is about money.

use std::collections::BTreeMap;

use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;

use shopbot_core::Error;
use shopbot_core::dump::{CheckoutRecord, Dump};
use shopbot_core::idempotency::Fingerprint;
use shopbot_core::ids::OrderId;
use shopbot_core::invoice::InvoicePurpose;
use shopbot_core::order::OrderPayment;
use shopbot_core::text::Note;
use shopbot_core::wallet::HoldState;

use super::{CHUNK, col, int, int32};
use crate::convert::status_name;
use crate::convert::to_db;
use crate::error::Attempt;
use crate::invoices::provider_name;

/// Each order's checkout fingerprint. PostgreSQL keeps it on the order row, so every order
/// needs exactly one checkout record with its key, and every record an order.
pub(super) fn checkout_fingerprints(dump: &Dump) -> Result<BTreeMap<OrderId, &Fingerprint>, Error> {
    let records: BTreeMap<OrderId, &CheckoutRecord> =
        dump.checkouts.iter().map(|c| (c.order, c)).collect();
    if records.len() != dump.checkouts.len() || records.len() != dump.orders.len() {
        return Err(Error::invalid(format!(
            "the dump has {} orders but {} checkout records for {} orders; each order needs \
             exactly one",
            dump.orders.len(),
            dump.checkouts.len(),
            records.len()
        )));
    }
    let mut fingerprints = BTreeMap::new();
    for order in &dump.orders {
        match records.get(&order.id) {
            Some(record) if record.user == order.user && record.key == order.key => {
                fingerprints.insert(order.id, &record.fingerprint);
            }
            _ => {
                return Err(Error::invalid(format!(
                    "order {} of the dump has no checkout record with its user and key",
                    order.id
                )));
            }
        }
    }
    Ok(fingerprints)
}

/// Orders without their invoice: invoices refer to orders, so the link is set afterwards by
/// [`order_invoices`].
pub(super) async fn orders(
    conn: &mut PgConnection,
    dump: &Dump,
    fingerprints: &BTreeMap<OrderId, &Fingerprint>,
) -> Attempt<()> {
    for chunk in dump.orders.chunks(CHUNK) {
        let mut fingerprint = Vec::with_capacity(chunk.len());
        let mut cart_version = Vec::with_capacity(chunk.len());
        for order in chunk {
            let found = fingerprints
                .get(&order.id)
                .ok_or_else(|| Error::internal_msg("order fingerprint missing"))?;
            fingerprint.push(found.0.as_str());
            cart_version.push(order.cart_version.map(int).transpose()?);
        }
        sqlx::query(
            "INSERT INTO orders (id, user_id, idem_key, fingerprint, cart_version, total_minor, \
             currency, status, created_at) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], \
             $5::BIGINT[], $6::BIGINT[], $7::TEXT[], $8::TEXT[], $9::TIMESTAMPTZ[])",
        )
        .bind(col(chunk, |o| o.id.0))
        .bind(col(chunk, |o| o.user.0))
        .bind(col(chunk, |o| o.key.as_str()))
        .bind(fingerprint)
        .bind(cart_version)
        .bind(col(chunk, |o| o.total.minor))
        .bind(col(chunk, |o| o.total.currency.code()))
        .bind(col(chunk, |o| status_name(o.status)))
        .bind(col(chunk, |o| to_db(o.created_at)))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Order lines. Their units are not written here: PostgreSQL derives an order's units from
/// the units' state, which [`units`] writes.
pub(super) async fn order_lines(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    let mut rows = Vec::new();
    for order in &dump.orders {
        for (line_no, line) in order.lines.iter().enumerate() {
            rows.push((order.id.0, int32(line_no)?, line));
        }
    }
    for chunk in rows.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO order_lines (order_id, line_no, product_id, name, kind, quantity, \
             unit_price_minor) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::INT[], $3::BIGINT[], $4::TEXT[], \
             $5::TEXT[], $6::INT[], $7::BIGINT[])",
        )
        .bind(col(chunk, |r| r.0))
        .bind(col(chunk, |r| r.1))
        .bind(col(chunk, |r| r.2.product.0))
        .bind(col(chunk, |r| r.2.name.as_str()))
        .bind(col(chunk, |r| r.2.kind.as_str()))
        .bind(
            chunk
                .iter()
                .map(|r| int32(r.2.quantity.get()))
                .collect::<Result<Vec<_>, _>>()?,
        )
        .bind(col(chunk, |r| r.2.unit_price.minor))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn wallets(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.wallets.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO wallets (user_id, currency, balance_minor, held_minor) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[])",
        )
        .bind(col(chunk, |w| w.user.0))
        .bind(col(chunk, |w| w.balance.balance.currency.code()))
        .bind(col(chunk, |w| w.balance.balance.minor))
        .bind(col(chunk, |w| w.balance.held.minor))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn entries(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.entries.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO ledger_entries (id, user_id, idem_key, fingerprint, op, currency, \
             balance_delta_minor, held_delta_minor, note, at) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], \
             $5::JSONB[], $6::TEXT[], $7::BIGINT[], $8::BIGINT[], $9::TEXT[], \
             $10::TIMESTAMPTZ[])",
        )
        .bind(col(chunk, |r| r.entry.id.0))
        .bind(col(chunk, |r| r.entry.user.0))
        .bind(col(chunk, |r| r.entry.key.as_str()))
        .bind(col(chunk, |r| r.fingerprint.0.as_str()))
        .bind(col(chunk, |r| Json(&r.entry.op)))
        .bind(col(chunk, |r| r.entry.balance_delta.currency.code()))
        .bind(col(chunk, |r| r.entry.balance_delta.minor))
        .bind(col(chunk, |r| r.entry.held_delta.minor))
        .bind(col(chunk, |r| r.entry.note.as_ref().map(Note::as_str)))
        .bind(col(chunk, |r| to_db(r.entry.at)))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn holds(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.holds.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO holds (id, user_id, amount_minor, currency, state) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[], \
             $5::TEXT[])",
        )
        .bind(col(chunk, |h| h.id.0))
        .bind(col(chunk, |h| h.user.0))
        .bind(col(chunk, |h| h.amount.minor))
        .bind(col(chunk, |h| h.amount.currency.code()))
        .bind(col(chunk, |h| match h.state {
            HoldState::Open => "open",
            HoldState::Captured => "captured",
            HoldState::Released => "released",
        }))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn invoices(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.invoices.chunks(CHUNK) {
        let mut number = Vec::with_capacity(chunk.len());
        let mut tax_bp = Vec::with_capacity(chunk.len());
        for invoice in chunk {
            number.push(int(invoice.number)?);
            tax_bp.push(int32(invoice.tax.bp())?);
        }
        let order = |purpose: InvoicePurpose| match purpose {
            InvoicePurpose::Order { order } => Some(order.0),
            _ => None,
        };
        sqlx::query(
            "INSERT INTO invoices (id, number, user_id, lines, tax_bp, subtotal_minor, \
             tax_minor, total_minor, currency, purpose, order_id, status, payment, due_at, \
             created_at, closed_at) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::JSONB[], \
             $5::INT[], $6::BIGINT[], $7::BIGINT[], $8::BIGINT[], $9::TEXT[], $10::JSONB[], \
             $11::BIGINT[], $12::TEXT[], $13::JSONB[], $14::TIMESTAMPTZ[], \
             $15::TIMESTAMPTZ[], $16::TIMESTAMPTZ[])",
        )
        .bind(col(chunk, |i| i.id.0))
        .bind(number)
        .bind(col(chunk, |i| i.user.0))
        .bind(col(chunk, |i| Json(&i.lines)))
        .bind(tax_bp)
        .bind(col(chunk, |i| i.totals.subtotal.minor))
        .bind(col(chunk, |i| i.totals.tax.minor))
        .bind(col(chunk, |i| i.totals.total.minor))
        .bind(col(chunk, |i| i.totals.total.currency.code()))
        .bind(col(chunk, |i| Json(i.purpose)))
        .bind(col(chunk, |i| order(i.purpose)))
        .bind(col(chunk, |i| i.status.as_str()))
        .bind(col(chunk, |i| i.payment.as_ref().map(Json)))
        .bind(
            chunk
                .iter()
                .map(|i| i.due_at.map(to_db))
                .collect::<Vec<Option<OffsetDateTime>>>(),
        )
        .bind(col(chunk, |i| to_db(i.created_at)))
        .bind(
            chunk
                .iter()
                .map(|i| i.closed_at.map(to_db))
                .collect::<Vec<Option<OffsetDateTime>>>(),
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Links each order paid by invoice to its invoice, now that both exist.
pub(super) async fn order_invoices(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    let links: Vec<(i64, i64)> = dump
        .orders
        .iter()
        .filter_map(|o| match o.payment {
            OrderPayment::Invoice { invoice } => Some((o.id.0, invoice.0)),
            OrderPayment::Wallet => None,
        })
        .collect();
    for chunk in links.chunks(CHUNK) {
        sqlx::query(
            "UPDATE orders o SET invoice_id = t.invoice \
             FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS t(id, invoice) WHERE o.id = t.id",
        )
        .bind(col(chunk, |l| l.0))
        .bind(col(chunk, |l| l.1))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn charges(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.charges.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO payments (provider, charge_id, invoice_id) \
             SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[])",
        )
        .bind(col(chunk, |c| provider_name(c.provider)))
        .bind(col(chunk, |c| c.charge_id.as_str()))
        .bind(col(chunk, |c| c.invoice.0))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
