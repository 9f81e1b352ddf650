//! The wallet ledger: every entry checked by core's rules under the wallet's row lock, and
//! backed by the schema's checks.

use sqlx::PgConnection;
use sqlx::types::Json;

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::{HoldId, UserId};
use shopbot_core::money::Currency;
use shopbot_core::ports::Page;
use shopbot_core::text::{IdempotencyKey, Note};
use shopbot_core::time::Timestamp;
use shopbot_core::wallet::{
    self, Balance, Hold, HoldState, LedgerEntry, LedgerOp, LedgerRequest, WalletError,
};

use crate::convert::{money, to_db, window};
use crate::error::Attempt;
use crate::records::write_audit;
use crate::rows::{self, ENTRY_COLUMNS};

/// The user's wallet in `currency`, created empty if missing and locked until the
/// transaction ends.
async fn lock_wallet(
    conn: &mut PgConnection,
    user: UserId,
    currency: Currency,
) -> Attempt<Balance> {
    sqlx::query(
        "INSERT INTO wallets (user_id, currency, balance_minor, held_minor) \
         VALUES ($1, $2, 0, 0) ON CONFLICT (user_id, currency) DO NOTHING",
    )
    .bind(user.0)
    .bind(currency.code())
    .execute(&mut *conn)
    .await?;
    let (balance, held): (i64, i64) = sqlx::query_as(
        "SELECT balance_minor, held_minor FROM wallets \
         WHERE user_id = $1 AND currency = $2 FOR UPDATE",
    )
    .bind(user.0)
    .bind(currency.code())
    .fetch_one(conn)
    .await?;
    Ok(Balance {
        balance: shopbot_core::money::Money::new(balance, currency),
        held: shopbot_core::money::Money::new(held, currency),
    })
}

async fn hold_for_update(conn: &mut PgConnection, id: HoldId) -> Attempt<Option<Hold>> {
    let row: Option<(i64, i64, String, String)> = sqlx::query_as(
        "SELECT user_id, amount_minor, currency, state FROM holds WHERE id = $1 FOR UPDATE",
    )
    .bind(id.0)
    .fetch_optional(conn)
    .await?;
    let Some((user, amount, currency, state)) = row else {
        return Ok(None);
    };
    let state = match state.as_str() {
        "open" => HoldState::Open,
        "captured" => HoldState::Captured,
        _ => HoldState::Released,
    };
    Ok(Some(Hold {
        id,
        user: UserId(user),
        amount: money(amount, &currency)?,
        state,
    }))
}

fn hold_state(state: HoldState) -> &'static str {
    match state {
        HoldState::Open => "open",
        HoldState::Captured => "captured",
        HoldState::Released => "released",
    }
}

/// Posts one entry in the caller's transaction: [`wallet::effect`] must accept the operation,
/// and the key must be unused in this wallet (the schema's unique key enforces it).
pub(crate) async fn post_entry(
    conn: &mut PgConnection,
    user: UserId,
    key: IdempotencyKey,
    op: LedgerOp,
    note: Option<Note>,
    at: Timestamp,
) -> Attempt<LedgerEntry> {
    crate::users::require(conn, user).await?;
    // A key already used in this wallet fails the insert below on `ledger_entries_user_key`;
    // the transaction then runs again and finds the recorded entry (or reports the conflict).
    let hold = match op.hold() {
        Some(id) => hold_for_update(conn, id).await?,
        None => None,
    };
    let currency = op
        .currency(hold.as_ref())
        .ok_or_else(|| WalletError::HoldNotFound(op.hold().unwrap_or(HoldId(0))))?;
    let before = lock_wallet(conn, user, currency).await?;
    let effect = wallet::effect(user, &op, &before, hold.as_ref())?;
    let after = before.after(&effect)?;
    sqlx::query(
        "UPDATE wallets SET balance_minor = $3, held_minor = $4 \
         WHERE user_id = $1 AND currency = $2",
    )
    .bind(user.0)
    .bind(currency.code())
    .bind(after.balance.minor)
    .bind(after.held.minor)
    .execute(&mut *conn)
    .await?;
    let request = LedgerRequest {
        user,
        key: key.clone(),
        op,
        note: note.clone(),
        at,
    };
    let sql = format!(
        "INSERT INTO ledger_entries (user_id, idem_key, fingerprint, op, currency, \
         balance_delta_minor, held_delta_minor, note, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {ENTRY_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(user.0)
        .bind(key.as_str())
        .bind(&request.fingerprint().0)
        .bind(Json(&op))
        .bind(currency.code())
        .bind(effect.balance_delta.minor)
        .bind(effect.held_delta.minor)
        .bind(note.as_ref().map(Note::as_str))
        .bind(to_db(at))
        .fetch_one(&mut *conn)
        .await?;
    let entry = rows::entry(&row)?;
    if let LedgerOp::Hold { amount } = op {
        sqlx::query(
            "INSERT INTO holds (id, user_id, amount_minor, currency, state) \
             VALUES ($1, $2, $3, $4, 'open')",
        )
        .bind(entry.id.0)
        .bind(user.0)
        .bind(amount.minor)
        .bind(amount.currency.code())
        .execute(&mut *conn)
        .await?;
    }
    if let (Some(id), Some(state)) = (op.hold(), effect.hold_state) {
        sqlx::query("UPDATE holds SET state = $2 WHERE id = $1")
            .bind(id.0)
            .bind(hold_state(state))
            .execute(conn)
            .await?;
    }
    Ok(entry)
}

pub(crate) async fn post_ledger_entry(
    conn: &mut PgConnection,
    request: &LedgerRequest,
    audit: Option<&AuditRecord>,
) -> Attempt<LedgerEntry> {
    let sql = format!(
        "SELECT fingerprint, {ENTRY_COLUMNS} FROM ledger_entries \
         WHERE user_id = $1 AND idem_key = $2"
    );
    let recorded = sqlx::query(&sql)
        .bind(request.user.0)
        .bind(request.key.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(row) = recorded {
        let entry = rows::entry(&row)?;
        if rows::entry_fingerprint(&row, &entry)? != request.fingerprint() {
            let message = format!("ledger key {} was used for a different entry", request.key);
            return Err(Error::Conflict(message).into());
        }
        return Ok(entry);
    }
    let entry = post_entry(
        conn,
        request.user,
        request.key.clone(),
        request.op,
        request.note.clone(),
        request.at,
    )
    .await?;
    write_audit(conn, audit).await?;
    Ok(entry)
}

pub(crate) async fn balance(
    conn: &mut PgConnection,
    user: UserId,
    currency: Currency,
) -> Attempt<Balance> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT balance_minor, held_minor FROM wallets WHERE user_id = $1 AND currency = $2",
    )
    .bind(user.0)
    .bind(currency.code())
    .fetch_optional(conn)
    .await?;
    let (balance, held) = row.unwrap_or_default();
    Ok(Balance {
        balance: shopbot_core::money::Money::new(balance, currency),
        held: shopbot_core::money::Money::new(held, currency),
    })
}

pub(crate) async fn ledger(
    conn: &mut PgConnection,
    user: UserId,
    page: Page,
) -> Attempt<Vec<LedgerEntry>> {
    let (limit, offset) = window(page);
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE user_id = $1 \
         ORDER BY id DESC LIMIT $2 OFFSET $3"
    );
    let found = sqlx::query(&sql)
        .bind(user.0)
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await?;
    Ok(found.iter().map(rows::entry).collect::<Result<_, _>>()?)
}
