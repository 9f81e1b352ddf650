//! Staff notices: who opted into which kinds (`notice_kinds`), and announcing a notice once per
//! key (`notice_keys`) as one outbox message to every opted-in, unbanned person.
//!
//! Exactly once per key, however concurrent: the key's row is inserted in the same transaction
//! as the messages, with `ON CONFLICT DO NOTHING` on its primary key. A second caller with the
//! same key waits for the first one's transaction; if it committed, the second inserts nothing
//! and queues nothing (0); if it rolled back, the second one announces.

use sqlx::PgConnection;
use sqlx::types::Json;

use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::UserId;
use shopbot_core::notice::{Notice, NoticeKind, NoticeKinds, check_notice_key};
use shopbot_core::outbox::OutboxBody;
use shopbot_core::time::Timestamp;
use shopbot_core::{Error, Result};

use crate::convert::to_db;
use crate::error::Attempt;
use crate::records::write_audit;

/// The kinds `user` opted into (none for an unknown user).
pub(crate) async fn kinds(conn: &mut PgConnection, user: UserId) -> Attempt<NoticeKinds> {
    let names: Vec<String> = sqlx::query_scalar("SELECT kind FROM notice_kinds WHERE user_id = $1")
        .bind(user.0)
        .fetch_all(conn)
        .await?;
    Ok(names
        .iter()
        .map(|name| stored_kind(name))
        .collect::<Result<_>>()?)
}

/// Replaces `user`'s kinds whole and audits it, in the caller's transaction. The user's row is
/// locked first, so concurrent replacements (and a role change) of one person take turns.
pub(crate) async fn set_kinds(
    conn: &mut PgConnection,
    user: UserId,
    kinds: &NoticeKinds,
    audit: &AuditRecord,
) -> Attempt<NoticeKinds> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1 FOR UPDATE")
        .bind(user.0)
        .fetch_optional(&mut *conn)
        .await?;
    if found.is_none() {
        return Err(Error::not_found("user", user).into());
    }
    clear_kinds(conn, user).await?;
    let names: Vec<&str> = kinds.iter().map(NoticeKind::name).collect();
    sqlx::query("INSERT INTO notice_kinds (user_id, kind) SELECT $1, unnest($2::TEXT[])")
        .bind(user.0)
        .bind(&names)
        .execute(&mut *conn)
        .await?;
    write_audit(conn, Some(audit)).await?;
    Ok(kinds.clone())
}

/// Forgets every kind `user` opted into, in the caller's transaction (a role change to
/// customer).
pub(crate) async fn clear_kinds(conn: &mut PgConnection, user: UserId) -> Attempt<()> {
    sqlx::query("DELETE FROM notice_kinds WHERE user_id = $1")
        .bind(user.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Announces `notice` under `key`, in the caller's transaction: one pending message to every
/// unbanned person opted into its kind, ids in user id order, unless the key was announced
/// before. How many messages it queued.
pub(crate) async fn notify(
    conn: &mut PgConnection,
    notice: &Notice,
    key: &str,
    at: Timestamp,
) -> Attempt<u64> {
    check_notice_key(key)?;
    let first = sqlx::query(
        "INSERT INTO notice_keys (key, notified_at) VALUES ($1, $2) \
         ON CONFLICT ON CONSTRAINT notice_keys_pkey DO NOTHING",
    )
    .bind(key)
    .bind(to_db(at))
    .execute(&mut *conn)
    .await?;
    if first.rows_affected() == 0 {
        return Ok(0);
    }
    let body = OutboxBody::StaffNotice {
        notice: notice.clone(),
    };
    // Ids are drawn in the order the sorted rows are inserted: user id order.
    let queued = sqlx::query(
        "INSERT INTO outbox (user_id, body, status, attempts, not_before, created_at) \
         SELECT k.user_id, $2, 'pending', 0, $3, $3 \
           FROM notice_kinds k JOIN users u ON u.id = k.user_id \
          WHERE k.kind = $1 AND NOT u.banned \
          ORDER BY k.user_id",
    )
    .bind(notice.kind().name())
    .bind(Json(&body))
    .bind(to_db(at))
    .execute(conn)
    .await?;
    Ok(queued.rows_affected())
}

fn stored_kind(name: &str) -> Result<NoticeKind> {
    crate::convert::parsed(name.parse::<NoticeKind>(), "notice kind")
}
