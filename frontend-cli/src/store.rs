//! Opening a store from its URL: the one place that knows which backends exist.
//!
//! Owns [`StoreUrl`] (what `--store` accepts) and [`Backend`] (an opened store plus the
//! operations that are not part of the [`Storage`] port: backup, integrity check, and the
//! dumps `migrate` copies). Adding a backend is one variant in each enum and one arm in each
//! `match` here; no command changes.
//!
//! A store is created on purpose only ([`OpenMode`]): every other command finds no shop where
//! there is none, and creates nothing there.

mod place;
mod presence;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use shopbot_core::dump::Dump;
use shopbot_core::ports::Storage;
use shopbot_storage_json::{ImportError, JsonStore, OpenError, RecoveryReport};
use shopbot_storage_pg::{PgOpenError, PgOptions, PgStore, redact_url};

use crate::error::{CliError, CliResult, cause_chain};
use crate::live::RemoteStorage;
use crate::live::remote::{Reached, connect_or_open};
use presence::{holds_shop, no_shop, shop_exists};

/// The store used when neither `--store`, `SHOPBOT_STORE` nor `shopbot.toml` names one.
pub const DEFAULT_STORE: &str = "json:./shopbot-data";

/// Where the shop's data lives, as given to `--store`.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `json:PATH`: the embedded store in directory `PATH`.
    Json(PathBuf),
    /// `postgres://…` or `postgresql://…`: a PostgreSQL database.
    Postgres(String),
}

impl StoreUrl {
    /// Parses `json:PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(text: &str) -> CliResult<StoreUrl> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("json:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(CliError::usage(
                    "store URL `json:` names no directory: use json:PATH, for example \
                     json:./shopbot-data",
                ));
            }
            let home = std::env::var_os("HOME");
            return Ok(StoreUrl::Json(place::expand_home(path, home.as_deref())?));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            // Refused here, before any command connects: a URL that names no database would
            // let the server pick one (and the schema would land there).
            shopbot_storage_pg::check_url(text)
                .map_err(|error| CliError::usage(cause_chain(&error)))?;
            return Ok(StoreUrl::Postgres(text.to_owned()));
        }
        // Name only the scheme: the rest of a mistyped database URL may hold a password.
        let scheme: String = match text.split_once(':') {
            Some((scheme, _)) => scheme.chars().take(32).collect(),
            None => String::new(),
        };
        let what = if scheme.is_empty() {
            "a store URL needs a scheme".to_owned()
        } else {
            format!("unknown store URL scheme `{scheme}`")
        };
        Err(CliError::usage(format!(
            "{what}: use json:PATH (for example json:./shopbot-data) or \
             postgres://USER@HOST/DATABASE"
        )))
    }
}

impl fmt::Display for StoreUrl {
    /// The URL for people (messages, logs), with every part that can carry a secret hidden
    /// by [`shopbot_storage_pg::redact_url`], the one redaction the store itself uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Json(path) => write!(f, "json:{}", path.display()),
            StoreUrl::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

/// Whether a command creates a store or needs one that already exists.
///
/// A new JSON store goes into a new directory whose parent exists, or into an empty one; a
/// directory that holds other files is refused (exit 5), and so is a parent that does not
/// exist (exit 4, naming it). A PostgreSQL database holds a shop once it recorded its currency
/// or holds any shop record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create a new store; refuse (exit 5, nothing changed) where a shop already is (`init`).
    Create,
    /// Open the shop, creating the store if there is none (`demo`).
    CreateIfMissing,
    /// Refuse when there is no shop (exit 4), creating nothing: every other command.
    Existing,
}

/// The outcome of opening a store to check it: damage that keeps it from opening is a finding
/// of the check, not a failure of the command.
pub enum CheckOpen {
    /// The store opened.
    Opened(Backend),
    /// The store is damaged: the reason it refused to open.
    Damaged(String),
}

/// An opened store.
#[derive(Clone)]
pub enum Backend {
    /// The embedded store (on disk, or in memory for tests).
    Json(Arc<JsonStore>),
    /// A PostgreSQL database.
    Postgres(Arc<PgStore>),
    /// A JSON store that a running shop holds, reached through its socket
    /// ([`crate::live`]).
    Remote(Arc<RemoteStorage>),
}

/// How long a command waits for the socket of a store whose holder is still starting.
pub const HOLDER_WAIT: Duration = Duration::from_secs(15);

impl Backend {
    /// Opens the store `url` names, as `mode` says, with `pg` as the PostgreSQL pool's options
    /// (the embedded store ignores them). A PostgreSQL database must exist; its schema is
    /// brought up to date.
    ///
    /// A JSON store that another process holds is reached through that process's socket
    /// ([`crate::live`]); `request_key` then marks this run's mutating calls.
    pub async fn open(
        url: &StoreUrl,
        mode: OpenMode,
        pg: PgOptions,
        request_key: &str,
    ) -> CliResult<Backend> {
        match url {
            StoreUrl::Json(dir) => match open_json(dir, mode) {
                Err(JsonOpenFailure::Open(OpenError::Locked { .. }))
                    if mode == OpenMode::Existing =>
                {
                    Backend::remote(dir, request_key, || match open_json(dir, mode) {
                        Ok(backend) => Ok(Some(backend)),
                        Err(JsonOpenFailure::Open(OpenError::Locked { .. })) => Ok(None),
                        Err(failure) => Err(open_error(url, failure)),
                    })
                    .await
                }
                opened => opened.map_err(|e| open_error(url, e)),
            },
            StoreUrl::Postgres(database) => {
                let backend = open_postgres(url, database, mode, pg).await?;
                let holds_shop = match mode {
                    OpenMode::CreateIfMissing => return Ok(backend),
                    OpenMode::Create | OpenMode::Existing => {
                        holds_shop(backend.storage().as_ref()).await?
                    }
                };
                match (mode, holds_shop) {
                    (OpenMode::Existing, false) => Err(no_shop(url)),
                    (OpenMode::Create, true) => Err(shop_exists(url)),
                    _ => Ok(backend),
                }
            }
        }
    }

    /// The store held by another process, through its socket in `dir`; or opened with
    /// `open_directly` if that process is gone meanwhile.
    async fn remote(
        dir: &Path,
        request_key: &str,
        open_directly: impl FnMut() -> CliResult<Option<Backend>>,
    ) -> CliResult<Backend> {
        match connect_or_open(dir, request_key, HOLDER_WAIT, open_directly).await? {
            Reached::Remote(remote) => Ok(Backend::Remote(Arc::new(remote))),
            Reached::Direct(backend) => Ok(backend),
        }
    }

    /// The store as the core's storage port.
    pub fn storage(&self) -> Arc<dyn Storage> {
        match self {
            Backend::Json(store) => Arc::clone(store) as Arc<dyn Storage>,
            Backend::Postgres(store) => Arc::clone(store) as Arc<dyn Storage>,
            Backend::Remote(store) => Arc::clone(store) as Arc<dyn Storage>,
        }
    }

    /// What was in flight when the connection to a running shop dropped, if anything.
    pub fn in_doubt(&self) -> Option<String> {
        match self {
            Backend::Remote(store) => store.in_doubt(),
            Backend::Json(_) | Backend::Postgres(_) => None,
        }
    }

    /// Writes a consistent copy of the store into `dir`: a JSON store through its backup API
    /// (the copy is a store of its own), a PostgreSQL database with `pg_dump` in directory
    /// format (restore it with `pg_restore`).
    pub async fn backup(&self, dir: &Path) -> CliResult<()> {
        match self {
            Backend::Json(store) => store.backup(dir).await.map_err(CliError::from),
            Backend::Postgres(store) => pg_dump(store, dir).await,
            Backend::Remote(store) => store.backup(dir).await.map_err(CliError::from),
        }
    }

    /// Closes the store cleanly: a JSON store writes a snapshot and stops its journal writer
    /// (further use fails), a PostgreSQL pool waits for its connections to come back.
    pub async fn close(&self) -> CliResult<()> {
        match self {
            Backend::Json(store) => store.close().await.map_err(CliError::from),
            Backend::Postgres(store) => {
                store.close().await;
                Ok(())
            }
            // The holder keeps the store; the connection closes with the process.
            Backend::Remote(_) => Ok(()),
        }
    }

    /// Every broken invariant of the stored state, described; empty when the store is sound.
    pub async fn check(&self) -> CliResult<Vec<String>> {
        match self {
            Backend::Json(store) => store.check().await.map_err(CliError::from),
            Backend::Postgres(store) => store.check().await.map_err(CliError::from),
            Backend::Remote(store) => store.check().await.map_err(CliError::from),
        }
    }

    /// Everything the store holds, as a storage-neutral dump (`migrate`).
    pub async fn export_dump(&self) -> CliResult<Dump> {
        match self {
            Backend::Json(store) => store.export_dump().await.map_err(CliError::from),
            Backend::Postgres(store) => store.export_dump().await.map_err(CliError::from),
            Backend::Remote(store) => store.dump().await.map_err(CliError::from),
        }
    }

    /// Creates the store `url` names holding exactly `dump`, and opens it (`migrate`). The
    /// target must hold no shop yet: a directory without a store, or a database without any
    /// shop records; otherwise it is refused (exit 5) and left as it was.
    pub async fn create_from_dump(url: &StoreUrl, dump: Dump) -> CliResult<Backend> {
        match url {
            StoreUrl::Json(dir) => {
                if !JsonStore::exists(dir).unwrap_or(false) {
                    place::check_parent(dir, url)?;
                }
                JsonStore::import_dump(dir, dump).map_err(|e| import_error(url, e))?;
                open_json(dir, OpenMode::Existing).map_err(|e| open_error(url, e))
            }
            StoreUrl::Postgres(database) => {
                let store = connect_postgres(url, database).await?;
                store
                    .import_dump(&dump)
                    .await
                    .map_err(|e| CliError::from(e).context(url))?;
                Ok(Backend::Postgres(Arc::new(store)))
            }
        }
    }

    /// Opens an existing store for `store check`: a JSON store read-only, so that checking
    /// it changes no byte (what opening it for use would change is among its findings); a
    /// PostgreSQL one with `pg` as its pool's options.
    /// A store that a running shop holds is checked by that shop, through its socket.
    pub async fn open_for_check(
        url: &StoreUrl,
        pg: PgOptions,
        request_key: &str,
    ) -> CliResult<CheckOpen> {
        match url {
            StoreUrl::Json(dir) => {
                require_json_store(url, dir)?;
                match JsonStore::open_read_only(dir) {
                    Ok(store) => Ok(CheckOpen::Opened(Backend::Json(Arc::new(store)))),
                    Err(OpenError::Locked { .. }) => {
                        let backend = Backend::remote(dir, request_key, || {
                            match JsonStore::open_read_only(dir) {
                                Ok(store) => Ok(Some(Backend::Json(Arc::new(store)))),
                                Err(OpenError::Locked { .. }) => Ok(None),
                                Err(error) => Err(open_error(url, JsonOpenFailure::Open(error))),
                            }
                        })
                        .await?;
                        Ok(CheckOpen::Opened(backend))
                    }
                    Err(error @ (OpenError::Corrupt { .. } | OpenError::Snapshot { .. })) => {
                        Ok(CheckOpen::Damaged(cause_chain(&error)))
                    }
                    Err(error) => Err(open_error(url, JsonOpenFailure::Open(error))),
                }
            }
            StoreUrl::Postgres(_) => Backend::open(url, OpenMode::Existing, pg, request_key)
                .await
                .map(CheckOpen::Opened),
        }
    }

    /// Repairs the JSON store `url` names (`store repair`): cuts its journal at the first
    /// damage and rebuilds a damaged snapshot from the previous one, keeping everything it
    /// takes out in files beside the journal; then opens it. Returns what was done.
    pub async fn repair(url: &StoreUrl) -> CliResult<(Backend, RecoveryReport)> {
        match url {
            StoreUrl::Json(dir) => {
                require_json_store(url, dir)?;
                let store = JsonStore::repair(dir)
                    .map_err(|e| open_error(url, JsonOpenFailure::Open(e)))?;
                let report = store.recovery_report().clone();
                Ok((Backend::Json(Arc::new(store)), report))
            }
            StoreUrl::Postgres(_) => Err(CliError::usage(
                "store repair works on JSON stores: a PostgreSQL database is repaired with \
                 PostgreSQL's own tools, or restored from a backup",
            )),
        }
    }

    /// Moves a store out of the way so that a fresh one can start in its place (`demo
    /// --reset`). Nothing is deleted: a JSON store's directory is renamed to
    /// `<name>.before-reset-<unix ms>` beside it. Refuses while another process uses it.
    /// Returns where the old store went, or `None` when there was none.
    pub fn move_aside(url: &StoreUrl) -> CliResult<Option<PathBuf>> {
        match url {
            StoreUrl::Json(dir) => {
                if !JsonStore::exists(dir).unwrap_or(false) {
                    return Ok(None);
                }
                // Opening takes the store's lock: proof that no bot is running on it. A damaged
                // store took the lock too before refusing, and may be moved aside all the same.
                match open_json(dir, OpenMode::Existing) {
                    Ok(backend) => drop(backend),
                    Err(JsonOpenFailure::Open(
                        OpenError::Corrupt { .. } | OpenError::Snapshot { .. },
                    )) => {}
                    Err(failure) => return Err(open_error(url, failure)),
                }
                let name = dir.file_name().ok_or_else(|| {
                    CliError::invalid(format!(
                        "cannot move {} aside: name the store's directory itself, for example \
                         json:./shopbot-data",
                        dir.display()
                    ))
                })?;
                let millis = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or_default();
                let mut aside = name.to_os_string();
                aside.push(format!(".before-reset-{millis}"));
                let aside = dir.with_file_name(aside);
                std::fs::rename(dir, &aside).map_err(|e| {
                    CliError::internal(format!(
                        "cannot move {} to {}: {e}",
                        dir.display(),
                        aside.display()
                    ))
                })?;
                Ok(Some(aside))
            }
            StoreUrl::Postgres(_) => Err(CliError::usage(
                "demo --reset moves JSON stores aside only: for PostgreSQL, drop and create \
                 the database, or seed another one with --store",
            )),
        }
    }
}

/// Opens a PostgreSQL store; only `Create` and `CreateIfMissing` install shopbot's schema
/// into a database that has none.
async fn open_postgres(
    url: &StoreUrl,
    database: &str,
    mode: OpenMode,
    pg: PgOptions,
) -> CliResult<Backend> {
    let opened = match mode {
        OpenMode::Existing => PgStore::open_existing(database, pg).await,
        OpenMode::Create | OpenMode::CreateIfMissing => PgStore::connect_with(database, pg).await,
    };
    let store = opened.map_err(|error| pg_open_error(url, &error))?;
    Ok(Backend::Postgres(Arc::new(store)))
}

async fn connect_postgres(url: &StoreUrl, database: &str) -> CliResult<PgStore> {
    PgStore::connect(database)
        .await
        .map_err(|error| pg_open_error(url, &error))
}

/// A store that did not open, worded for the operator with its exit code. The store's own
/// messages never show a secret of the URL; `url` prints redacted.
///
/// A URL that does not parse or names no database is a usage error (2); a database that does
/// not exist is not found (4), with the `createdb` that makes it; another application's
/// database is refused (5), untouched. A server that cannot be reached or turns the login
/// away, and a schema from another shopbot, are failures (1): the command line was right, the
/// world around it was not.
fn pg_open_error(url: &StoreUrl, error: &PgOpenError) -> CliError {
    let message = cause_chain(error);
    match error {
        PgOpenError::Url { .. } | PgOpenError::NoDatabase { .. } => CliError::usage(message),
        PgOpenError::MissingDatabase { .. } => CliError::not_found(message),
        PgOpenError::NoShop { .. } => no_shop(url),
        PgOpenError::ForeignDatabase { .. } => CliError::refused(message),
        _ => CliError::internal(format!("{url}: {message}")),
    }
}

/// A consistent copy of a PostgreSQL database by `pg_dump` (one snapshot, while the bot runs).
async fn pg_dump(store: &PgStore, dir: &Path) -> CliResult<()> {
    if dir.exists() {
        return Err(CliError::invalid(format!(
            "{} already exists: pg_dump writes a new directory",
            dir.display()
        )));
    }
    let options = store.connect_options();
    let mut command = tokio::process::Command::new("pg_dump");
    command
        .arg("--format=directory")
        .arg("--file")
        .arg(dir)
        .args(["--host", options.get_host()])
        .args(["--port", &options.get_port().to_string()])
        .args(["--username", options.get_username()]);
    if let Some(database) = options.get_database() {
        command.args(["--dbname", database]);
    }
    if let Some(password) = store.password() {
        // Through the environment, not the command line other users can read.
        command.env("PGPASSWORD", password);
    }
    let output = command.output().await.map_err(|e| {
        CliError::internal(format!(
            "cannot run pg_dump ({e}): install PostgreSQL's client tools to back up a \
             PostgreSQL store"
        ))
    })?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().next().unwrap_or("no message");
        Err(CliError::internal(format!("pg_dump failed: {first}")))
    }
}

/// Why a JSON store did not open, before it is worded for the operator.
#[derive(Debug)]
enum JsonOpenFailure {
    /// There is no store and the command needs one.
    Missing,
    /// There is a store and the command creates one.
    Exists,
    /// A new store may not be made there; the reason, worded.
    Unfit(CliError),
    /// The store refused to open.
    Open(OpenError),
}

fn open_json(dir: &Path, mode: OpenMode) -> Result<Backend, JsonOpenFailure> {
    let exists = JsonStore::exists(dir).map_err(|source| {
        JsonOpenFailure::Open(OpenError::Io {
            path: dir.to_path_buf(),
            source,
        })
    })?;
    match (mode, exists) {
        (OpenMode::Existing, false) => return Err(JsonOpenFailure::Missing),
        (OpenMode::Create, true) => return Err(JsonOpenFailure::Exists),
        (OpenMode::Create | OpenMode::CreateIfMissing, false) => {
            place::check_new_store_dir(dir, &format!("json:{}", dir.display()))
                .map_err(JsonOpenFailure::Unfit)?;
        }
        (OpenMode::CreateIfMissing | OpenMode::Existing, true) => {}
    }
    let started = std::time::Instant::now();
    let store = JsonStore::open(dir).map_err(JsonOpenFailure::Open)?;
    // Replaying a long journal is what a large store's commands wait for; worth seeing.
    tracing::debug!(
        took_us = started.elapsed().as_micros() as u64,
        dir = %dir.display(),
        "opened the store"
    );
    Ok(Backend::Json(Arc::new(store)))
}

/// Refuses a JSON store URL that names no store (exit 4), creating nothing.
fn require_json_store(url: &StoreUrl, dir: &Path) -> CliResult<()> {
    match JsonStore::exists(dir) {
        Ok(true) => Ok(()),
        Ok(false) => Err(open_error(url, JsonOpenFailure::Missing)),
        Err(source) => Err(open_error(
            url,
            JsonOpenFailure::Open(OpenError::Io {
                path: dir.to_path_buf(),
                source,
            }),
        )),
    }
}

fn open_error(url: &StoreUrl, failure: JsonOpenFailure) -> CliError {
    match failure {
        JsonOpenFailure::Missing => no_shop(url),
        JsonOpenFailure::Exists => shop_exists(url),
        JsonOpenFailure::Unfit(error) => error,
        JsonOpenFailure::Open(error) => match &error {
            // The message already names the cause; the chain would repeat it.
            OpenError::Io { source, .. } if is_bad_path(source) => {
                let advice = if source.kind() == io::ErrorKind::PermissionDenied {
                    "run shopbot as the user that owns the store; --store json:PATH needs a \
                     directory this user can read and write"
                } else {
                    "--store json:PATH needs a directory this user can read and write"
                };
                CliError::invalid(format!("{error} ({advice})"))
            }
            _ => CliError::internal(cause_chain(&error)),
        },
    }
}

fn import_error(url: &StoreUrl, error: ImportError) -> CliError {
    match error {
        ImportError::NotEmpty { .. } => CliError::refused(format!(
            "{url} already holds a store: copy into a new or empty directory; nothing was \
             changed"
        )),
        ImportError::Open(error) => open_error(url, JsonOpenFailure::Open(error)),
        ImportError::Io { source, .. } if is_bad_path(&source) => CliError::invalid(format!(
            "cannot write a store at {url}: {source} (give a directory this user can create \
             and write)"
        )),
        error @ ImportError::Io { .. } => CliError::internal(cause_chain(&error)),
    }
}

/// Errors that say the path itself is unusable, which the operator can fix by naming another.
fn is_bad_path(error: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        error.kind(),
        PermissionDenied
            | NotADirectory
            | AlreadyExists
            | NotFound
            | ReadOnlyFilesystem
            | InvalidInput
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitStatus;

    #[test]
    fn json_urls_name_a_directory() {
        assert_eq!(
            StoreUrl::parse("json:./shopbot-data").ok(),
            Some(StoreUrl::Json(PathBuf::from("./shopbot-data")))
        );
        assert_eq!(
            StoreUrl::parse("json:///var/lib/shop").ok(),
            Some(StoreUrl::Json(PathBuf::from("/var/lib/shop")))
        );
        assert!(StoreUrl::parse("json:").is_err());
    }

    #[test]
    fn postgres_urls_are_recognised_under_both_schemes() {
        for url in ["postgres://u@h/db", "postgresql://u@h/db"] {
            assert!(matches!(StoreUrl::parse(url), Ok(StoreUrl::Postgres(_))));
        }
    }

    #[test]
    fn unknown_schemes_are_usage_errors_that_hide_the_rest() {
        let e = StoreUrl::parse("mysql://root:hunter2@db/shop").err();
        let e = e.map(|e| (e.status(), e.message().to_owned()));
        let (status, message) = e.unwrap_or((ExitStatus::Success, String::new()));
        assert_eq!(status, ExitStatus::Usage);
        assert!(message.contains("`mysql`"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("json:PATH"), "{message}");
        assert!(StoreUrl::parse("./shopbot-data").is_err());
    }

    #[test]
    fn passwords_never_show() {
        let url = StoreUrl::Postgres("postgres://shop:s3cret@db:5432/shop".into());
        assert_eq!(url.to_string(), "postgres://shop:***@db:5432/shop");
        let url = StoreUrl::Postgres("postgres://shop@db/shop".into());
        assert_eq!(url.to_string(), "postgres://shop@db/shop");
    }

    #[test]
    fn secrets_in_parameters_never_show_in_the_url_or_its_debug_form() {
        let text = "postgres://shop@db/shop?password=s3cret&sslpassword=s3cret2\
                    &api_token=s3cret3&sslmode=require";
        let url = StoreUrl::parse(text).unwrap_or(StoreUrl::Json(PathBuf::new()));
        assert_eq!(
            url.to_string(),
            "postgres://shop@db/shop?password=***&sslpassword=***&api_token=***&sslmode=require"
        );
        assert!(!format!("{url:?}").contains("s3cret"), "{url:?}");
    }

    #[test]
    fn a_postgres_url_that_names_no_database_is_a_usage_error_saying_how_to_write_it() {
        for text in [
            "postgres://shop:s3cret@db",
            "postgresql://db/?sslmode=require",
        ] {
            let e = StoreUrl::parse(text).err();
            let e = e.map(|e| (e.status(), e.message().to_owned()));
            let (status, message) = e.unwrap_or((ExitStatus::Success, String::new()));
            assert_eq!(status, ExitStatus::Usage, "{text}");
            assert!(
                message.contains("postgres://USER@HOST/DATABASE"),
                "{message}"
            );
            assert!(!message.contains("s3cret"), "{message}");
        }
    }
}
