//! Bringing a database's schema up to date, and only a shop's own database.
//!
//! Migrations run on the store's first connection, under sqlx's advisory lock for the
//! database, which is taken first and held while the database is looked at: an instance that
//! starts at the same time waits, then finds the schema done. A database that holds other
//! tables and no shopbot schema is another application's and is refused before sqlx writes
//! anything (its `_sqlx_migrations` table included). sqlx's refusals become ours, naming the
//! migration and what to do.

use sqlx::migrate::{Migrate, MigrateError};
use sqlx::postgres::PgConnection;

use crate::MIGRATOR;
use crate::open::PgOpenError;
use crate::store_url::Target;

/// How many of another application's tables a refusal names.
const NAMED: usize = 5;

/// Checks that the database is empty or a shop's, and brings its schema up to date. With
/// `install` false, a database without shopbot's schema is refused as holding no shop, and
/// nothing is written to it.
///
/// Leaves the lock taken when it fails (sqlx does not release it on its errors): close the
/// connection then, which releases it.
pub(crate) async fn migrate(
    conn: &mut PgConnection,
    target: &Target,
    install: bool,
) -> Result<(), PgOpenError> {
    conn.lock()
        .await
        .map_err(|error| migrate_error(target, error))?;
    let has_schema = refuse_foreign(conn, target).await?;
    if !has_schema && !install {
        return Err(PgOpenError::NoShop {
            database: target.database.clone(),
        });
    }
    // sqlx takes the same lock again: advisory locks nest within a session.
    // `run_direct` is sqlx's own way around `run`'s "`Acquire` is not general enough" on a
    // connection (the store's `connect` future would not be `Send`).
    MIGRATOR
        .run_direct(conn)
        .await
        .map_err(|error| migrate_error(target, error))?;
    conn.unlock()
        .await
        .map_err(|error| migrate_error(target, error))
}

/// Refuses a database that holds other tables and no shopbot schema; says whether it holds
/// shopbot's schema.
async fn refuse_foreign(conn: &mut PgConnection, target: &Target) -> Result<bool, PgOpenError> {
    let Some(first) = MIGRATOR.iter().next() else {
        return Ok(false);
    };
    let failed = |error: sqlx::Error| PgOpenError::Migrate {
        database: target.database.clone(),
        reason: reason(target, &error),
    };
    // The same unqualified name sqlx uses, so the same table it would find.
    let has_migrations: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await
            .map_err(failed)?;
    let recorded: Vec<(i64, String)> = if has_migrations {
        sqlx::query_as("SELECT version, description FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(failed)?
    } else {
        Vec::new()
    };
    if recorded.iter().any(|(version, description)| {
        *version == first.version && **description == *first.description
    }) {
        return Ok(true);
    }
    let foreign = |found: String| PgOpenError::ForeignDatabase {
        database: target.database.clone(),
        found,
    };
    if !recorded.is_empty() {
        let versions: Vec<String> = recorded
            .iter()
            .take(NAMED)
            .map(|(version, _)| version.to_string())
            .collect();
        return Err(foreign(format!(
            "migrations that are not shopbot's (versions {}{})",
            versions.join(", "),
            more(recorded.len())
        )));
    }
    // Tables, views and foreign tables in the database's own schemas; an extension's objects
    // (PostGIS puts one in `public`) and an empty `_sqlx_migrations` (a first start that
    // failed half way) do not make a database someone else's.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg\\_%' \
         AND c.oid <> COALESCE(to_regclass('_sqlx_migrations')::oid, 0) \
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                         AND d.objid = c.oid AND d.deptype = 'e') \
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(failed)?;
    if tables.is_empty() {
        return Ok(false);
    }
    let named: Vec<&str> = tables.iter().take(NAMED).map(String::as_str).collect();
    Err(foreign(format!(
        "other tables ({}{})",
        named.join(", "),
        more(tables.len())
    )))
}

fn more(count: usize) -> String {
    match count.checked_sub(NAMED) {
        Some(rest) if rest > 0 => format!(" and {rest} more"),
        _ => String::new(),
    }
}

/// What migration `version` does, as its file name says.
fn description(version: i64) -> String {
    MIGRATOR
        .iter()
        .find(|migration| migration.version == version)
        .map(|migration| migration.description.to_string())
        .unwrap_or_else(|| "unknown to this shopbot".to_owned())
}

/// sqlx's refusal in our words.
fn migrate_error(target: &Target, error: MigrateError) -> PgOpenError {
    let database = target.database.clone();
    match error {
        MigrateError::VersionMissing(version) => PgOpenError::NewerSchema(version),
        MigrateError::VersionMismatch(version) => PgOpenError::ChangedMigration {
            database,
            version,
            description: description(version),
        },
        MigrateError::Dirty(version) => PgOpenError::UnfinishedMigration {
            database,
            version,
            description: description(version),
        },
        MigrateError::ExecuteMigration(error, version) => PgOpenError::Migrate {
            database,
            reason: format!(
                "migration {version} ({}): {}",
                description(version),
                reason(target, &error)
            ),
        },
        MigrateError::Execute(error) => PgOpenError::Migrate {
            database,
            reason: reason(target, &error),
        },
        other => PgOpenError::Migrate {
            database,
            reason: target.scrub(&other.to_string()),
        },
    }
}

/// A failed statement's cause, with advice for the one an operator meets most: a user who
/// may not create tables.
fn reason(target: &Target, error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("42501") => format!(
            "{}; the user `{}` needs the right to create tables in the database (make it the \
             database's owner, or GRANT CREATE ON SCHEMA public TO it)",
            target.scrub(db.message()),
            target.options.get_username()
        ),
        sqlx::Error::Database(db) => target.scrub(db.message()),
        other => target.scrub(&other.to_string()),
    }
}
