//! Users and shop-wide settings (the shop's currency among them).

use sqlx::PgConnection;

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::UserId;
use shopbot_core::money::Currency;
use shopbot_core::ports::Settings;
use shopbot_core::time::Timestamp;
use shopbot_core::user::{Role, User, UserProfile};

use crate::convert::to_db;
use crate::error::Attempt;
use crate::records::write_audit;
use crate::rows::{self, USER_COLUMNS};

pub(crate) async fn upsert(
    conn: &mut PgConnection,
    profile: &UserProfile,
    at: Timestamp,
) -> Attempt<User> {
    let sql = format!(
        "INSERT INTO users (id, name, role, banned, created_at) \
         VALUES ($1, $2, 'customer', FALSE, $3) \
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name RETURNING {USER_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(profile.id.0)
        .bind(profile.name.as_str())
        .bind(to_db(at))
        .fetch_one(conn)
        .await?;
    Ok(rows::user(&row)?)
}

pub(crate) async fn find(conn: &mut PgConnection, id: UserId) -> Attempt<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(conn).await?;
    Ok(row.as_ref().map(rows::user).transpose()?)
}

/// A user and the shop-wide switches in one statement (the settings row always exists).
pub(crate) async fn find_with_settings(
    conn: &mut PgConnection,
    id: UserId,
) -> Attempt<(Option<User>, Settings)> {
    let caller = rows::caller_columns();
    let sql =
        format!("SELECT {caller} FROM settings s LEFT JOIN users u ON u.id = $1 WHERE s.singleton");
    let row = sqlx::query(&sql).bind(id.0).fetch_one(conn).await?;
    Ok(rows::caller(&row)?)
}

pub(crate) async fn require(conn: &mut PgConnection, id: UserId) -> Attempt<()> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
        .bind(id.0)
        .fetch_one(conn)
        .await?;
    if exists {
        Ok(())
    } else {
        Err(Error::not_found("user", id).into())
    }
}

/// Sets a role or a ban (whichever is given) and audits it; a role of customer also clears the
/// user's notice kinds.
pub(crate) async fn change(
    conn: &mut PgConnection,
    id: UserId,
    role: Option<Role>,
    banned: Option<bool>,
    audit: &AuditRecord,
) -> Attempt<User> {
    let sql = format!(
        "UPDATE users SET role = COALESCE($2, role), banned = COALESCE($3, banned) \
         WHERE id = $1 RETURNING {USER_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(id.0)
        .bind(role.map(Role::as_str))
        .bind(banned)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::not_found("user", id))?;
    // A customer is told nothing: the kinds go with the role, in the same command.
    if role == Some(Role::Customer) {
        crate::notices::clear_kinds(conn, id).await?;
    }
    write_audit(conn, Some(audit)).await?;
    Ok(rows::user(&row)?)
}

pub(crate) async fn settings(conn: &mut PgConnection) -> Attempt<Settings> {
    let maintenance: bool = sqlx::query_scalar("SELECT maintenance FROM settings")
        .fetch_one(conn)
        .await?;
    Ok(Settings { maintenance })
}

pub(crate) async fn set_maintenance(
    conn: &mut PgConnection,
    on: bool,
    audit: &AuditRecord,
) -> Attempt<Settings> {
    sqlx::query("UPDATE settings SET maintenance = $1")
        .bind(on)
        .execute(&mut *conn)
        .await?;
    write_audit(conn, Some(audit)).await?;
    Ok(Settings { maintenance: on })
}

/// The shop's currency, if recorded.
pub(crate) async fn shop_currency(conn: &mut PgConnection) -> Attempt<Option<Currency>> {
    let code: Option<String> = sqlx::query_scalar("SELECT currency FROM settings")
        .fetch_one(conn)
        .await?;
    Ok(code.map(|c| recorded_currency(&c)).transpose()?)
}

/// Records `currency` unless one is recorded, and returns the recorded one. One statement: the
/// row lock it takes makes concurrent adoptions record exactly one currency.
pub(crate) async fn adopt_currency(
    conn: &mut PgConnection,
    currency: Currency,
) -> Attempt<Currency> {
    let code: String = sqlx::query_scalar(
        "UPDATE settings SET currency = COALESCE(currency, $1) RETURNING currency",
    )
    .bind(currency.code())
    .fetch_one(conn)
    .await?;
    Ok(recorded_currency(&code)?)
}

fn recorded_currency(code: &str) -> Result<Currency, Error> {
    crate::convert::parsed(Currency::recorded(code), "shop currency")
}

pub(crate) async fn list(
    conn: &mut PgConnection,
    page: shopbot_core::ports::Page,
) -> Attempt<Vec<User>> {
    let (limit, offset) = crate::convert::window(page);
    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id LIMIT $1 OFFSET $2");
    let found = sqlx::query(&sql)
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await?;
    Ok(found.iter().map(rows::user).collect::<Result<_, _>>()?)
}
