//! Writing a [`Dump`] into empty tables, in the caller's transaction: parents before children,
//! many rows per statement (`UNNEST` over one array per column, every value a bound parameter),
//! then the sequences and counters moved past the imported ids. Orders and money are in
//! `sales`; staff-notice choices and keys and job records in `notices_jobs`.

mod notices_jobs;
mod sales;

use sqlx::PgConnection;
use sqlx::types::Json;

use shopbot_core::Error;
use shopbot_core::dump::Dump;
use shopbot_core::outbox::OutboxStatus;
use shopbot_core::stock::UnitState;

use crate::convert::to_db;
use crate::error::Attempt;

/// Rows per statement: large enough that round trips do not dominate, small enough that one
/// statement's arrays stay a few megabytes.
const CHUNK: usize = 5_000;

/// Every record of `dump`, then the sequences and the invoice counter.
pub(super) async fn everything(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    let fingerprints = sales::checkout_fingerprints(dump)?;
    users(conn, dump).await?;
    categories(conn, dump).await?;
    products(conn, dump).await?;
    sales::orders(conn, dump, &fingerprints).await?;
    sales::order_lines(conn, dump).await?;
    units(conn, dump).await?;
    carts(conn, dump).await?;
    sales::wallets(conn, dump).await?;
    sales::entries(conn, dump).await?;
    sales::holds(conn, dump).await?;
    sales::invoices(conn, dump).await?;
    sales::order_invoices(conn, dump).await?;
    sales::charges(conn, dump).await?;
    dialogues(conn, dump).await?;
    outbox(conn, dump).await?;
    audit(conn, dump).await?;
    notices_jobs::notice_kinds(conn, dump).await?;
    notices_jobs::notice_keys(conn, dump).await?;
    notices_jobs::jobs(conn, dump).await?;
    counters(conn, dump).await
}

/// One column of `rows`, for an `UNNEST` array.
fn col<'a, T, U>(rows: &'a [T], value: impl Fn(&'a T) -> U) -> Vec<U> {
    rows.iter().map(value).collect()
}

fn int<T: TryInto<i64>>(value: T) -> Result<i64, Error>
where
    T::Error: std::error::Error + Send + Sync + 'static,
{
    value.try_into().map_err(Error::internal)
}

fn int32<T: TryInto<i32>>(value: T) -> Result<i32, Error>
where
    T::Error: std::error::Error + Send + Sync + 'static,
{
    value.try_into().map_err(Error::internal)
}

async fn users(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.users.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO users (id, name, role, banned, created_at) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::BOOLEAN[], \
             $5::TIMESTAMPTZ[])",
        )
        .bind(col(chunk, |u| u.id.0))
        .bind(col(chunk, |u| u.name.as_str()))
        .bind(col(chunk, |u| u.role.as_str()))
        .bind(col(chunk, |u| u.banned))
        .bind(col(chunk, |u| to_db(u.created_at)))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn categories(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.categories.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO categories (id, name, created_at) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TIMESTAMPTZ[])",
        )
        .bind(col(chunk, |c| c.id.0))
        .bind(col(chunk, |c| c.name.as_str()))
        .bind(col(chunk, |c| to_db(c.created_at)))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn products(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.products.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO products (id, category_id, name, description, kind, price_minor, \
             currency, hidden, image, created_at) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], \
             $5::TEXT[], $6::BIGINT[], $7::TEXT[], $8::BOOLEAN[], $9::TEXT[], \
             $10::TIMESTAMPTZ[])",
        )
        .bind(col(chunk, |p| p.id.0))
        .bind(col(chunk, |p| p.category.map(|c| c.0)))
        .bind(col(chunk, |p| p.name.as_str()))
        .bind(col(chunk, |p| p.description.as_str()))
        .bind(col(chunk, |p| p.kind.as_str()))
        .bind(col(chunk, |p| p.price.minor))
        .bind(col(chunk, |p| p.price.currency.code()))
        .bind(col(chunk, |p| p.hidden))
        .bind(col(chunk, |p| p.image.as_ref().map(|i| i.as_str())))
        .bind(col(chunk, |p| to_db(p.created_at)))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn units(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.units.chunks(CHUNK) {
        let (state, order): (Vec<&str>, Vec<Option<i64>>) = chunk
            .iter()
            .map(|u| match u.state {
                UnitState::Available => ("available", None),
                UnitState::Reserved { order } => ("reserved", Some(order.0)),
                UnitState::Sold { order } => ("sold", Some(order.0)),
            })
            .unzip();
        sqlx::query(
            "INSERT INTO stock_units (id, product_id, payload, state, order_id, added_at) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], \
             $5::BIGINT[], $6::TIMESTAMPTZ[])",
        )
        .bind(col(chunk, |u| u.id.0))
        .bind(col(chunk, |u| u.product.0))
        .bind(col(chunk, |u| u.payload.as_str()))
        .bind(state)
        .bind(order)
        .bind(col(chunk, |u| to_db(u.added_at)))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn carts(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.carts.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO carts (user_id, version, lines) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::JSONB[])",
        )
        .bind(col(chunk, |c| c.user.0))
        .bind(
            chunk
                .iter()
                .map(|c| int(c.version))
                .collect::<Result<Vec<_>, _>>()?,
        )
        .bind(col(chunk, |c| Json(&c.lines)))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn dialogues(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.dialogues.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO dialogues (chat_id, user_id, state, expires_at) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TIMESTAMPTZ[])",
        )
        .bind(col(chunk, |d| d.chat.0))
        .bind(col(chunk, |d| d.user.0))
        .bind(col(chunk, |d| d.state.as_str()))
        .bind(col(chunk, |d| to_db(d.expires_at)))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn outbox(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.outbox.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO outbox (id, user_id, body, status, attempts, not_before, created_at) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::JSONB[], $4::TEXT[], \
             $5::INT[], $6::TIMESTAMPTZ[], $7::TIMESTAMPTZ[])",
        )
        .bind(col(chunk, |m| m.id.0))
        .bind(col(chunk, |m| m.user.0))
        .bind(col(chunk, |m| Json(&m.body)))
        .bind(col(chunk, |m| match m.status {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
        }))
        .bind(
            chunk
                .iter()
                .map(|m| int32(m.attempts))
                .collect::<Result<Vec<_>, _>>()?,
        )
        .bind(col(chunk, |m| to_db(m.not_before)))
        .bind(col(chunk, |m| to_db(m.created_at)))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn audit(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    for chunk in dump.audit.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO audit_log (id, actor, action, at) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TIMESTAMPTZ[])",
        )
        .bind(col(chunk, |a| a.id.0))
        .bind(col(chunk, |a| a.record.actor.0))
        .bind(col(chunk, |a| a.record.action.as_str()))
        .bind(col(chunk, |a| to_db(a.record.at)))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The settings, the invoice counter, and every id sequence moved past the highest imported
/// id, so the next record of each kind gets a fresh id.
async fn counters(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    sqlx::query("UPDATE settings SET maintenance = $1, currency = COALESCE($2, currency)")
        .bind(dump.settings.maintenance)
        .bind(dump.currency.map(|c| c.code().to_owned()))
        .execute(&mut *conn)
        .await?;
    let highest = dump.highest_ids();
    sqlx::query("UPDATE invoice_numbers SET last = $1")
        .bind(int(highest.invoice_number)?)
        .execute(&mut *conn)
        .await?;
    let sequences = [
        ("categories", highest.category),
        ("products", highest.product),
        ("stock_units", highest.unit),
        ("orders", highest.order),
        ("invoices", highest.invoice),
        ("ledger_entries", highest.entry),
        ("outbox", highest.outbox),
        ("audit_log", highest.audit),
    ];
    for (table, last) in sequences {
        // With no rows, the sequence starts over at 1 (`is_called` false).
        sqlx::query("SELECT setval(pg_get_serial_sequence($1, 'id'), $2, $3)")
            .bind(table)
            .bind(last.max(1))
            .bind(last > 0)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
