//! The whole database as a storage-neutral [`Dump`], and an empty database filled from one:
//! the PostgreSQL side of `shopbot migrate`.
//!
//! An export reads every table in one read-only, repeatable-read transaction, so the dump is
//! one consistent moment even while bot instances keep working. An import writes everything in
//! one transaction into a database that holds no shop yet, with every id preserved, then moves
//! each id sequence and the invoice counter past the highest imported value; it either lands
//! whole or not at all. Neither direction repairs anything, and neither touches the
//! infrastructure tables (leadership epochs, processed update ids), which belong to the running
//! instances rather than to the shop. Staff-notice choices and keys and job records are the
//! shop's, and travel with it.
//!
//! PostgreSQL derives an order's units from the units' own state, so the units a cancelled
//! order once reserved (returned to stock) are neither stored nor exported.

mod read;
mod write;

use sqlx::PgConnection;

use shopbot_core::dump::Dump;
use shopbot_core::{Error, Result};

use crate::PgStore;
use crate::error::{Attempt, PgError};

/// The tables a shop lives in: an import needs every one of them empty, and locks them all.
const SHOP_TABLES: [&str; 18] = [
    "users",
    "categories",
    "products",
    "stock_units",
    "carts",
    "orders",
    "order_lines",
    "wallets",
    "ledger_entries",
    "holds",
    "invoices",
    "payments",
    "dialogues",
    "outbox",
    "audit_log",
    "notice_kinds",
    "notice_keys",
    "job_records",
];

impl PgStore {
    /// Everything the database holds, as of one moment, in canonical order.
    pub async fn export_dump(&self) -> Result<Dump> {
        let attempt: Attempt<Dump> = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            unbounded_statements(&mut tx).await?;
            let mut dump = read::everything(&mut tx).await?;
            tx.commit().await?;
            dump.sort();
            Ok(dump)
        }
        .await;
        attempt.map_err(PgError::into_core)
    }

    /// Fills this database, which must hold no shop yet, with exactly `dump`, in one
    /// transaction: ids are kept, id sequences continue after the highest imported ids, and
    /// the next invoice number follows the dump's last one.
    ///
    /// A database that already holds any shop record is refused with
    /// [`Error::Conflict`] naming the tables, and is left as it was; so is one whose shop
    /// recorded another currency than the dump's (one set up for the same currency, and
    /// holding nothing yet, takes the copy). A dump whose records do
    /// not fit together (an order without its checkout record, a unit of a missing product)
    /// is refused whole with [`Error::Invalid`] or by the schema's constraints.
    pub async fn import_dump(&self, dump: &Dump) -> Result<()> {
        let attempt: Attempt<()> = async {
            let mut tx = self.pool.begin().await?;
            if let Some(epoch) = self.fence {
                crate::leader::hold_fence(&mut tx, epoch).await?;
            }
            unbounded_statements(&mut tx).await?;
            // Running instances wait here instead of writing into a half-imported shop.
            let lock = format!("LOCK TABLE {} IN EXCLUSIVE MODE", SHOP_TABLES.join(", "));
            sqlx::query(&lock).execute(&mut *tx).await?;
            refuse_unless_empty(&mut tx).await?;
            refuse_another_currency(&mut tx, dump).await?;
            write::everything(&mut tx, dump).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        attempt.map_err(PgError::into_core)
    }
}

/// A copy reads or writes whole tables, which may take longer than one command's statement
/// timeout; the limit is lifted for this transaction only.
async fn unbounded_statements(conn: &mut PgConnection) -> Attempt<()> {
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(conn)
        .await?;
    Ok(())
}

async fn refuse_another_currency(conn: &mut PgConnection, dump: &Dump) -> Attempt<()> {
    match crate::users::shop_currency(conn).await? {
        Some(recorded) if Some(recorded) != dump.currency => Err(Error::Conflict(format!(
            "the database's shop sells in {recorded}, the copy in {}: import into a database \
             without a shop",
            dump.currency
                .map_or_else(|| "no recorded currency".to_owned(), |c| c.to_string())
        ))
        .into()),
        _ => Ok(()),
    }
}

async fn refuse_unless_empty(conn: &mut PgConnection) -> Attempt<()> {
    let mut taken = Vec::new();
    for table in SHOP_TABLES {
        // Table names come from the constant list above, never from input.
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {table})");
        let used: bool = sqlx::query_scalar(&sql).fetch_one(&mut *conn).await?;
        if used {
            taken.push(table);
        }
    }
    if taken.is_empty() {
        return Ok(());
    }
    Err(Error::Conflict(format!(
        "the database already holds a shop (rows in {}): import into an empty database",
        taken.join(", ")
    ))
    .into())
}
