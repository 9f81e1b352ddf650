//! The one migration the others were folded into (`0001_shop.sql`) builds exactly the schema
//! that the migrations folded into it built (kept in `tests/fixtures/migrations-before-fold/` as
//! the reference); the migrations added after the fold are left out of that comparison. Every
//! migration creates each function once, in its final form: nothing is replaced, altered or
//! renamed after it was created.

#![allow(clippy::unwrap_used)] // Tests fail by panicking.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use sqlx::PgPool;
use sqlx::migrate::Migrator;

use shopbot_storage_pg::MIGRATOR;
use shopbot_storage_pg::testing::TestDatabase;

/// The migrations as they were before they were folded into one.
static BEFORE_FOLD: Migrator = sqlx::migrate!("tests/fixtures/migrations-before-fold");

/// The version of the migration the others were folded into.
const FOLDED_VERSION: i64 = 1;

/// [`MIGRATOR`] up to the folded migration: without the ones added after the fold.
fn folded_only() -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            MIGRATOR
                .iter()
                .filter(|m| m.version <= FOLDED_VERSION)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    }
}

/// Objects in which the schema of the folded migration may differ from the one [`BEFORE_FOLD`] builds,
/// by their key (`"function shop_run(p_commands jsonb)"`, `"table orders"`, `"type
/// shop_command"`, …): what a change made after the fold removed or changed on purpose. Each
/// one listed must really differ, so the list stays true.
const EXPECTED_DIFFERENCES: &[&str] = &[];

/// Each object of the `public` schema, by a key naming it, with what it is made of, one property
/// a line. sqlx's own `_sqlx_migrations` is left out.
type Schema = BTreeMap<String, String>;

/// Tables and their columns: position, name, type, nullability and default.
const TABLES: &str = "\
    SELECT 'table ' || c.relname, \
           format('%s %s %s %s default %s', a.attnum, a.attname, \
                  format_type(a.atttypid, a.atttypmod), \
                  CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END, \
                  COALESCE(pg_get_expr(d.adbin, d.adrelid), 'none')) \
      FROM pg_class c \
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
      LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') \
       AND c.relname <> '_sqlx_migrations' \
     ORDER BY c.relname, a.attnum";

/// Every relation by kind, so a sequence, view or other object that only one schema has shows.
const RELATIONS: &str = "\
    SELECT 'relation ' || c.relname, 'kind ' || c.relkind::text \
      FROM pg_class c \
     WHERE c.relnamespace = 'public'::regnamespace \
       AND c.relname NOT LIKE '\\_sqlx\\_migrations%' \
     ORDER BY c.relname";

/// Constraints, by table and name, as PostgreSQL writes them back.
const CONSTRAINTS: &str = "\
    SELECT 'constraint ' || k.conrelid::regclass || '.' || k.conname, \
           pg_get_constraintdef(k.oid) \
      FROM pg_constraint k \
     WHERE k.connamespace = 'public'::regnamespace \
       AND k.conrelid::regclass::text <> '_sqlx_migrations' \
     ORDER BY 1";

/// Indexes, as PostgreSQL writes them back.
const INDEXES: &str = "\
    SELECT 'index ' || i.indexname, i.indexdef \
      FROM pg_indexes i \
     WHERE i.schemaname = 'public' AND i.tablename <> '_sqlx_migrations' \
     ORDER BY 1";

/// Composite types of their own (not a table's row type) and their attributes, in order.
const TYPES: &str = "\
    SELECT 'type ' || t.typname, \
           format('%s %s %s', a.attnum, a.attname, format_type(a.atttypid, a.atttypmod)) \
      FROM pg_type t \
      JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c' \
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
     WHERE t.typnamespace = 'public'::regnamespace AND t.typtype = 'c' \
     ORDER BY t.typname, a.attnum";

/// Functions by name and identity arguments: every argument, the result, the language, the
/// volatility, the settings and the source.
const FUNCTIONS: &str = "\
    SELECT format('function %s(%s)', p.proname, pg_get_function_identity_arguments(p.oid)), \
           format(E'kind %s\\narguments %s\\nreturns %s\\nlanguage %s\\nvolatility %s\\n\
                    settings %s\\nsource:%s', \
                  p.prokind, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), \
                  l.lanname, \
                  CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' \
                                     ELSE 'volatile' END, \
                  COALESCE(p.proconfig::text, 'none'), p.prosrc) \
      FROM pg_proc p \
      JOIN pg_language l ON l.oid = p.prolang \
     WHERE p.pronamespace = 'public'::regnamespace \
     ORDER BY 1";

/// The kinds of object every shop's schema has; an empty kind means a query above went wrong.
const KINDS: &[&str] = &[
    "table ",
    "relation ",
    "constraint ",
    "index ",
    "type ",
    "function ",
];

#[tokio::test]
async fn the_one_migration_builds_the_schema_the_migrations_before_the_fold_built() {
    let (Some(folded_db), Some(before_db)) =
        (TestDatabase::create().await, TestDatabase::create().await)
    else {
        return;
    };
    let folded = migrated_schema(&folded_only(), folded_db.url()).await;
    let before = migrated_schema(&BEFORE_FOLD, before_db.url()).await;
    for kind in KINDS {
        assert!(
            folded.keys().any(|key| key.starts_with(kind)),
            "no `{kind}` in the folded schema: {:?}",
            folded.keys().collect::<Vec<_>>()
        );
    }

    let differences = differences(&before, &folded);
    let unexpected: Vec<String> = differences
        .iter()
        .filter(|(key, _)| !EXPECTED_DIFFERENCES.contains(&key.as_str()))
        .map(|(key, change)| format!("{key}:\n{change}"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "the one migration's schema (+) differs from the one before the fold (-):\n{}",
        unexpected.join("\n")
    );
    let not_different: Vec<&str> = EXPECTED_DIFFERENCES
        .iter()
        .copied()
        .filter(|key| !differences.contains_key(*key))
        .collect();
    assert!(
        not_different.is_empty(),
        "listed as expected differences, yet the same in both schemas: {not_different:?}"
    );
}

#[test]
fn every_function_is_created_once_and_never_replaced_altered_or_renamed() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    // Function name → the files that create it.
    let mut created: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "sql") {
            continue;
        }
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let sql = std::fs::read_to_string(&path).unwrap();
        let words: Vec<String> = sql
            .split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect();
        let spaced = words.join(" ");
        for forbidden in ["CREATE OR REPLACE", "ALTER FUNCTION", "RENAME"] {
            assert!(
                !spaced.contains(forbidden),
                "{file} contains `{forbidden}`: create each function once, in its final form"
            );
        }
        for window in words.windows(3) {
            if let [create, function, name] = window
                && create == "CREATE"
                && function == "FUNCTION"
            {
                let name = name.split('(').next().unwrap_or_default().to_lowercase();
                created.entry(name).or_default().push(file.clone());
            }
        }
    }

    assert!(
        created.contains_key("shop_commit_checkout"),
        "no function found in {}: {created:?}",
        folder.display()
    );
    let more_than_once: Vec<_> = created
        .iter()
        .filter(|(_, files)| files.len() > 1)
        .collect();
    assert!(
        more_than_once.is_empty(),
        "functions created more than once: {more_than_once:?}"
    );
}

/// The schema `migrator` builds on the empty database at `url`.
async fn migrated_schema(migrator: &Migrator, url: &str) -> Schema {
    let pool = PgPool::connect(url).await.unwrap();
    migrator.run(&pool).await.unwrap();
    let mut schema = Schema::new();
    for sql in [TABLES, RELATIONS, CONSTRAINTS, INDEXES, TYPES, FUNCTIONS] {
        let rows: Vec<(String, String)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        for (key, line) in rows {
            let described = schema.entry(key).or_default();
            if !described.is_empty() {
                described.push('\n');
            }
            described.push_str(&line);
        }
    }
    pool.close().await;
    schema
}

/// Every object that differs between `before` and `after`, by key, with how: absent from one of
/// them, or the lines only one of them has (`-` before, `+` after).
fn differences(before: &Schema, after: &Schema) -> BTreeMap<String, String> {
    let mut differences = BTreeMap::new();
    for (key, old) in before {
        match after.get(key) {
            None => {
                differences.insert(key.clone(), "  - the whole object".to_owned());
            }
            Some(new) if new != old => {
                differences.insert(key.clone(), changed_lines(old, new));
            }
            Some(_) => {}
        }
    }
    for key in after.keys().filter(|key| !before.contains_key(*key)) {
        differences.insert(key.clone(), "  + the whole object".to_owned());
    }
    differences
}

/// The lines of `old` that `new` lacks and the other way round; for the same lines in another
/// order, the first line where the two part.
fn changed_lines(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let mut changes: Vec<String> = old
        .iter()
        .filter(|line| !new.contains(line))
        .map(|line| format!("  - {line}"))
        .collect();
    changes.extend(
        new.iter()
            .filter(|line| !old.contains(line))
            .map(|line| format!("  + {line}")),
    );
    if changes.is_empty() {
        let parting = old
            .iter()
            .zip(&new)
            .position(|(old, new)| old != new)
            .unwrap_or(old.len().min(new.len()));
        changes.push(format!(
            "  the same lines in another order or number; from line {}:\n  - {}\n  + {}",
            parting + 1,
            old.get(parting).copied().unwrap_or("(end)"),
            new.get(parting).copied().unwrap_or("(end)")
        ));
    }
    changes.join("\n")
}
