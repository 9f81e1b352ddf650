//! Dialogues, the outbox and the audit log, and the housekeeping sweep that forgets expired
//! dialogues and old processed-update ids.

use sqlx::PgConnection;
use sqlx::types::Json;

use shopbot_core::Error;
use shopbot_core::audit::{AuditEntry, AuditRecord};
use shopbot_core::dialogue::{Dialogue, MAX_STATE_BYTES};
use shopbot_core::housekeeping::{Sweep, SweepReport};
use shopbot_core::ids::{ChatId, OutboxId, UpdateId, UserId};
use shopbot_core::outbox::{DeliveryOutcome, NewOutboxMessage, OutboxClaim, OutboxMessage};
use shopbot_core::ports::Page;
use shopbot_core::time::Timestamp;

use crate::convert::{to_db, window};
use crate::error::Attempt;
use crate::rows::{self, OUTBOX_COLUMNS};

pub(crate) async fn dialogue(
    conn: &mut PgConnection,
    chat: ChatId,
    user: UserId,
    now: Timestamp,
) -> Attempt<Option<Dialogue>> {
    let row = sqlx::query(
        "SELECT chat_id, user_id, state, expires_at FROM dialogues \
         WHERE chat_id = $1 AND user_id = $2 AND expires_at > $3",
    )
    .bind(chat.0)
    .bind(user.0)
    .bind(to_db(now))
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(rows::dialogue).transpose()?)
}

pub(crate) async fn save_dialogue(conn: &mut PgConnection, dialogue: &Dialogue) -> Attempt<()> {
    if dialogue.state.len() > MAX_STATE_BYTES {
        let message = format!("dialogue state is over {MAX_STATE_BYTES} bytes");
        return Err(Error::invalid(message).into());
    }
    sqlx::query(
        "INSERT INTO dialogues (chat_id, user_id, state, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (chat_id, user_id) \
         DO UPDATE SET state = EXCLUDED.state, expires_at = EXCLUDED.expires_at",
    )
    .bind(dialogue.chat.0)
    .bind(dialogue.user.0)
    .bind(&dialogue.state)
    .bind(to_db(dialogue.expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn clear_dialogue(
    conn: &mut PgConnection,
    chat: ChatId,
    user: UserId,
) -> Attempt<()> {
    sqlx::query("DELETE FROM dialogues WHERE chat_id = $1 AND user_id = $2")
        .bind(chat.0)
        .bind(user.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a handled update; true the first time. Every thousandth id also forgets the ids
/// handled over a day before, so the table stays small without a job.
pub(crate) async fn mark_update_processed(
    conn: &mut PgConnection,
    update: UpdateId,
    at: Timestamp,
) -> Attempt<bool> {
    let inserted = sqlx::query(
        "INSERT INTO processed_updates (update_id, processed_at) VALUES ($1, $2) \
         ON CONFLICT (update_id) DO NOTHING",
    )
    .bind(update.0)
    .bind(to_db(at))
    .execute(&mut *conn)
    .await?;
    if update.0 % 1000 == 0 {
        sqlx::query("DELETE FROM processed_updates WHERE processed_at < $1")
            .bind(to_db(Timestamp(at.0.saturating_sub(24 * 60 * 60 * 1000))))
            .execute(&mut *conn)
            .await?;
    }
    Ok(inserted.rows_affected() == 1)
}

/// Forgets what `sweep` names, in the caller's transaction, and counts it.
pub(crate) async fn sweep(conn: &mut PgConnection, sweep: &Sweep) -> Attempt<SweepReport> {
    let dialogues = sqlx::query("DELETE FROM dialogues WHERE expires_at <= $1")
        .bind(to_db(sweep.dialogues_expired_by))
        .execute(&mut *conn)
        .await?;
    let updates = sqlx::query("DELETE FROM processed_updates WHERE processed_at < $1")
        .bind(to_db(sweep.updates_before))
        .execute(conn)
        .await?;
    Ok(SweepReport {
        dialogues: dialogues.rows_affected(),
        updates: updates.rows_affected(),
    })
}

/// Queues a message in the caller's transaction.
pub(crate) async fn queue(
    conn: &mut PgConnection,
    message: &NewOutboxMessage,
    at: Timestamp,
) -> Attempt<()> {
    sqlx::query(
        "INSERT INTO outbox (user_id, body, status, attempts, not_before, created_at) \
         VALUES ($1, $2, 'pending', 0, $3, $3)",
    )
    .bind(message.user.0)
    .bind(Json(&message.body))
    .bind(to_db(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims due messages; `SKIP LOCKED` keeps two workers from ever taking the same one.
pub(crate) async fn claim(
    conn: &mut PgConnection,
    claim: &OutboxClaim,
) -> Attempt<Vec<OutboxMessage>> {
    let sql = format!(
        "WITH due AS MATERIALIZED ( \
             SELECT id FROM outbox WHERE status = 'pending' AND not_before <= $1 \
             ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) \
         UPDATE outbox o SET attempts = o.attempts + 1, not_before = $3 \
         FROM due WHERE o.id = due.id RETURNING {}",
        rows::qualified("o", OUTBOX_COLUMNS)
    );
    let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
    let found = sqlx::query(&sql)
        .bind(to_db(claim.now))
        .bind(limit)
        .bind(to_db(claim.lease_until))
        .fetch_all(conn)
        .await?;
    let mut messages = found
        .iter()
        .map(rows::outbox)
        .collect::<Result<Vec<_>, _>>()?;
    messages.sort_by_key(|m| m.id);
    Ok(messages)
}

pub(crate) async fn complete(
    conn: &mut PgConnection,
    id: OutboxId,
    outcome: DeliveryOutcome,
) -> Attempt<()> {
    let (status, not_before) = match outcome {
        DeliveryOutcome::Sent => (Some("sent"), None),
        DeliveryOutcome::Failed => (Some("failed"), None),
        DeliveryOutcome::RetryAt { at } => (None, Some(to_db(at))),
    };
    let updated = sqlx::query(
        "UPDATE outbox SET status = COALESCE($2, status), not_before = COALESCE($3, not_before) \
         WHERE id = $1",
    )
    .bind(id.0)
    .bind(status)
    .bind(not_before)
    .execute(conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(Error::not_found("outbox message", id).into());
    }
    Ok(())
}

pub(crate) async fn audit_log(conn: &mut PgConnection, page: Page) -> Attempt<Vec<AuditEntry>> {
    let (limit, offset) = window(page);
    let found = sqlx::query(
        "SELECT id, actor, action, at FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?;
    Ok(found.iter().map(rows::audit).collect::<Result<_, _>>()?)
}

/// Writes an audit record, if any, in the caller's transaction.
pub(crate) async fn write_audit(
    conn: &mut PgConnection,
    audit: Option<&AuditRecord>,
) -> Attempt<()> {
    if let Some(audit) = audit {
        sqlx::query("INSERT INTO audit_log (actor, action, at) VALUES ($1, $2, $3)")
            .bind(audit.actor.0)
            .bind(&audit.action)
            .bind(to_db(audit.at))
            .execute(conn)
            .await?;
    }
    Ok(())
}
