//! Renaming and deleting categories.

use sqlx::PgConnection;

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::catalog::Category;
use shopbot_core::ids::CategoryId;
use shopbot_core::text::CategoryName;

use crate::error::Attempt;
use crate::records::write_audit;
use crate::rows::{self, CATEGORY_COLUMNS};

pub(crate) async fn rename(
    conn: &mut PgConnection,
    id: CategoryId,
    name: &CategoryName,
    audit: &AuditRecord,
) -> Attempt<Category> {
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM categories WHERE lower(name) = lower($1) AND id <> $2)",
    )
    .bind(name.as_str())
    .bind(id.0)
    .fetch_one(&mut *conn)
    .await?;
    if taken {
        let message = format!("a category named {:?} exists", name.as_str());
        return Err(Error::Conflict(message).into());
    }
    let sql = format!("UPDATE categories SET name = $1 WHERE id = $2 RETURNING {CATEGORY_COLUMNS}");
    let row = sqlx::query(&sql)
        .bind(name.as_str())
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::not_found("category", id))?;
    write_audit(conn, Some(audit)).await?;
    Ok(rows::category(&row)?)
}

/// Locks the category, counts its products, and deletes it only when it holds none.
pub(crate) async fn delete(
    conn: &mut PgConnection,
    id: CategoryId,
    audit: &AuditRecord,
) -> Attempt<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM categories WHERE id = $1 FOR UPDATE")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
    if found.is_none() {
        return Err(Error::not_found("category", id).into());
    }
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM products WHERE category_id = $1")
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await?;
    if held > 0 {
        let message = format!("category {id} holds {held} product(s); move or delete them first");
        return Err(Error::Conflict(message).into());
    }
    sqlx::query("DELETE FROM categories WHERE id = $1")
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    write_audit(conn, Some(audit)).await?;
    Ok(())
}
