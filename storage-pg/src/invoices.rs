//! Invoices and payments.

use sqlx::PgConnection;
use sqlx::types::Json;

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::InvoiceId;
use shopbot_core::invoice::{
    Invoice, InvoiceError, InvoiceEvent, InvoiceFilter, InvoicePurpose, InvoiceStatus, NewInvoice,
    PaymentEvent, PaymentOutcome, PaymentProvider, PaymentRecord,
};
use shopbot_core::order::CheckoutError;
use shopbot_core::outbox::{NewOutboxMessage, OutboxBody};
use shopbot_core::text::IdempotencyKey;
use shopbot_core::time::Timestamp;
use shopbot_core::wallet::LedgerOp;

use crate::convert::to_db;
use crate::error::Attempt;
use crate::records::queue;
use crate::records::write_audit;
use crate::rows::{self, INVOICE_COLUMNS};

pub(crate) fn provider_name(provider: PaymentProvider) -> &'static str {
    match provider {
        PaymentProvider::Telegram => "telegram",
        PaymentProvider::Stars => "stars",
        PaymentProvider::Manual => "manual",
        PaymentProvider::Wallet => "wallet",
    }
}

pub(crate) async fn create(conn: &mut PgConnection, new: &NewInvoice) -> Attempt<Invoice> {
    crate::users::require(conn, new.user).await?;
    if matches!(new.purpose, InvoicePurpose::Order { .. }) {
        return Err(Error::invalid("order invoices are created by checkout").into());
    }
    insert(conn, new).await
}

/// Issues an invoice with the next number and tells the user. The counter row's lock makes
/// numbers gap-free: a transaction that rolls back gives its number back.
pub(crate) async fn insert(conn: &mut PgConnection, new: &NewInvoice) -> Attempt<Invoice> {
    let number: i64 =
        sqlx::query_scalar("UPDATE invoice_numbers SET last = last + 1 RETURNING last")
            .fetch_one(&mut *conn)
            .await?;
    let order = match new.purpose {
        InvoicePurpose::Order { order } => Some(order.0),
        _ => None,
    };
    let sql = format!(
        "INSERT INTO invoices (number, user_id, lines, tax_bp, subtotal_minor, tax_minor, \
         total_minor, currency, purpose, order_id, status, due_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12) \
         RETURNING {INVOICE_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(number)
        .bind(new.user.0)
        .bind(Json(&new.lines))
        .bind(i32::try_from(new.tax.bp()).map_err(Error::internal)?)
        .bind(new.totals.subtotal.minor)
        .bind(new.totals.tax.minor)
        .bind(new.totals.total.minor)
        .bind(new.totals.total.currency.code())
        .bind(Json(&new.purpose))
        .bind(order)
        .bind(new.due_at.map(to_db))
        .bind(to_db(new.at))
        .fetch_one(&mut *conn)
        .await?;
    let invoice = rows::invoice(&row)?;
    let body = OutboxBody::InvoiceIssued {
        invoice: invoice.id,
    };
    let message = NewOutboxMessage {
        user: invoice.user,
        body,
    };
    queue(conn, &message, new.at).await?;
    Ok(invoice)
}

pub(crate) async fn find(conn: &mut PgConnection, id: InvoiceId) -> Attempt<Option<Invoice>> {
    let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(conn).await?;
    Ok(row.as_ref().map(rows::invoice).transpose()?)
}

async fn lock(conn: &mut PgConnection, id: InvoiceId) -> Attempt<Invoice> {
    let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1 FOR UPDATE");
    let row = sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::not_found("invoice", id))?;
    Ok(rows::invoice(&row)?)
}

pub(crate) async fn list(conn: &mut PgConnection, filter: InvoiceFilter) -> Attempt<Vec<Invoice>> {
    let limit = i64::try_from(filter.effective_limit()).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE ($1::BIGINT IS NULL OR user_id = $1) \
         AND ($2::TEXT IS NULL OR status = $2) ORDER BY id DESC LIMIT $3"
    );
    let found = sqlx::query(&sql)
        .bind(filter.user.map(|u| u.0))
        .bind(filter.status.map(InvoiceStatus::as_str))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(found.iter().map(rows::invoice).collect::<Result<_, _>>()?)
}

pub(crate) async fn transition(
    conn: &mut PgConnection,
    id: InvoiceId,
    event: InvoiceEvent,
    at: Timestamp,
    audit: Option<&AuditRecord>,
) -> Attempt<Invoice> {
    if event == InvoiceEvent::Pay {
        return Err(Error::invalid("payments are applied with apply_payment").into());
    }
    let invoice = lock(conn, id).await?;
    let status = invoice.status.on(event)?;
    if let InvoicePurpose::Order { order } = invoice.purpose {
        crate::checkout::settle(conn, order, false).await?;
    }
    write_audit(conn, audit).await?;
    close(conn, id, status, at, None).await
}

async fn close(
    conn: &mut PgConnection,
    id: InvoiceId,
    status: InvoiceStatus,
    at: Timestamp,
    payment: Option<&PaymentRecord>,
) -> Attempt<Invoice> {
    let sql = format!(
        "UPDATE invoices SET status = $2, closed_at = $3, payment = $4 WHERE id = $1 \
         RETURNING {INVOICE_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(id.0)
        .bind(status.as_str())
        .bind(to_db(at))
        .bind(payment.map(Json))
        .fetch_one(conn)
        .await?;
    Ok(rows::invoice(&row)?)
}

pub(crate) async fn apply_payment(
    conn: &mut PgConnection,
    payment: &PaymentEvent,
) -> Attempt<PaymentOutcome> {
    let provider = provider_name(payment.provider);
    // A charge seen before, for any invoice, is answered from the record.
    let paid: Option<i64> = sqlx::query_scalar(
        "SELECT invoice_id FROM payments WHERE provider = $1 AND charge_id = $2",
    )
    .bind(provider)
    .bind(payment.charge_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(paid) = paid {
        return recorded(conn, InvoiceId(paid), payment.invoice).await;
    }
    // The invoice's lock comes before the second look, so a concurrent delivery of the same
    // charge waits here and then finds the first one's record.
    let invoice = lock(conn, payment.invoice).await?;
    let paid: Option<i64> = sqlx::query_scalar(
        "SELECT invoice_id FROM payments WHERE provider = $1 AND charge_id = $2",
    )
    .bind(provider)
    .bind(payment.charge_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(paid) = paid {
        return recorded(conn, InvoiceId(paid), payment.invoice).await;
    }
    invoice.status.on(InvoiceEvent::Pay)?;
    if payment.amount != invoice.totals.total {
        return Err(InvoiceError::AmountMismatch {
            total: invoice.totals.total,
            paid: payment.amount,
        }
        .into());
    }
    let (id, user) = (invoice.id, invoice.user);
    if let InvoicePurpose::Order { order } = invoice.purpose {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM orders WHERE id = $1 FOR UPDATE")
                .bind(order.0)
                .fetch_optional(&mut *conn)
                .await?;
        if status.as_deref() != Some("awaiting_payment") {
            let status = shopbot_core::order::OrderStatus::Cancelled;
            return Err(CheckoutError::WrongStatus { order, status }.into());
        }
    }
    let key = IdempotencyKey::derived("invoice", id);
    let entry = match (payment.provider, invoice.purpose) {
        (PaymentProvider::Wallet, InvoicePurpose::WalletTopUp) => {
            return Err(InvoiceError::TopUpFromWallet.into());
        }
        (PaymentProvider::Wallet, purpose) => Some(LedgerOp::Charge {
            amount: invoice.totals.total,
            order: match purpose {
                InvoicePurpose::Order { order } => Some(order),
                _ => None,
            },
            invoice: Some(id),
        }),
        (_, InvoicePurpose::WalletTopUp) => Some(LedgerOp::Deposit {
            amount: invoice.totals.subtotal,
        }),
        _ => None,
    };
    if let Some(op) = entry {
        crate::wallet::post_entry(conn, user, key, op, None, payment.at).await?;
    }
    if let InvoicePurpose::Order { order } = invoice.purpose {
        crate::checkout::settle(conn, order, true).await?;
        let body = OutboxBody::OrderDelivered { order };
        queue(conn, &NewOutboxMessage { user, body }, payment.at).await?;
    }
    let body = OutboxBody::PaymentReceived { invoice: id };
    queue(conn, &NewOutboxMessage { user, body }, payment.at).await?;
    sqlx::query("INSERT INTO payments (provider, charge_id, invoice_id) VALUES ($1, $2, $3)")
        .bind(provider)
        .bind(payment.charge_id.as_str())
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    let record = PaymentRecord {
        provider: payment.provider,
        charge_id: payment.charge_id.clone(),
        amount: payment.amount,
        at: payment.at,
    };
    let invoice = close(conn, id, InvoiceStatus::Paid, payment.at, Some(&record)).await?;
    Ok(PaymentOutcome {
        invoice,
        newly_applied: true,
    })
}

/// The answer to a charge applied before: the invoice it paid, unless it is another one.
async fn recorded(
    conn: &mut PgConnection,
    paid: InvoiceId,
    asked: InvoiceId,
) -> Attempt<PaymentOutcome> {
    if paid != asked {
        return Err(InvoiceError::ChargeReused.into());
    }
    let invoice = find(conn, paid)
        .await?
        .ok_or_else(|| Error::internal_msg("a payment points to no invoice"))?;
    Ok(PaymentOutcome {
        invoice,
        newly_applied: false,
    })
}
