//! Configuration: flags, then environment, then an optional `shopbot.toml`, then defaults.
//!
//! Owns [`Settings`] (what a run is configured with) and how they are resolved from the
//! sources. Every key is a row of [`keys::KEYS`]: in `shopbot.toml` under its section
//! (`[shop]`, `[telegram]`, `[postgres]`, `[jobs]`, `[http]`), in the environment as
//! `SHOPBOT_<SECTION>_<KEY>`, and for the global flags on the command line. The older names
//! (flat keys such as `currency`, variables such as `TELEGRAM_BOT_TOKEN`) stay accepted;
//! giving a key under both its names is refused, since which one was meant cannot be told.
//! The reference, `docs/configuration.md`, is generated from the same table
//! ([`reference::render`]). This module reads no store and decides no business rule.

pub mod file;
pub mod keys;
pub mod reference;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use shopbot_core::flow::RateLimit;
use shopbot_core::ids::UserId;
use shopbot_core::money::Currency;
use shopbot_core::wallet::CreditLimit;
use shopbot_storage_pg::PgOptions;
use shopbot_telegram::SendLimit;

pub use file::ConfigFile;
pub use keys::{KEYS, Key, SECTIONS};
pub use values::parse_admins;

use crate::cli::{GlobalArgs, LogFormat, LogLevel};
use crate::error::{CliError, CliResult};
use crate::store::{DEFAULT_STORE, StoreUrl};

/// The configuration file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "shopbot.toml";

/// What a secret's value is shown as, everywhere.
pub const REDACTED: &str = "<redacted>";

/// The process environment, as name to value (variables that are not UTF-8 are left out).
pub type Env = BTreeMap<String, String>;

/// A secret value: its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl Secret {
    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// The `[shop]` settings besides the currency, the admins and the credit limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopSettings {
    /// How customers reach a person, if configured.
    pub support_contact: Option<String>,
    /// A product with this many units or fewer left is low on stock.
    pub low_stock_threshold: u32,
    /// How long an unpaid order invoice keeps its units reserved.
    pub invoice_expiry: Duration,
    /// How long a conversation waits for the next message.
    pub dialogue_timeout: Duration,
}

/// The `[telegram]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramSettings {
    /// The bot token, if configured.
    pub token: Option<Secret>,
    /// The Bot API base URL; `None` is the real API.
    pub api_url: Option<String>,
    /// How fast the bot sends.
    pub send_limit: SendLimit,
    /// How many updates one person may send.
    pub rate_limit: RateLimit,
}

/// The `[postgres]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresSettings {
    /// The most connections.
    pub pool_size: u32,
    /// How long to wait for a connection.
    pub acquire_timeout: Duration,
    /// How long a statement may run.
    pub statement_timeout: Duration,
}

impl PostgresSettings {
    /// The store options these settings give, the rest at their defaults.
    pub fn options(&self) -> PgOptions {
        PgOptions {
            max_connections: self.pool_size,
            acquire_timeout: self.acquire_timeout,
            statement_timeout: self.statement_timeout,
            ..PgOptions::default()
        }
    }
}

/// The `[jobs]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSettings {
    /// How often the expire-invoices job runs.
    pub expire_invoices_every: Duration,
    /// How often the sweep job runs.
    pub sweep_every: Duration,
    /// Where scheduled backups go; `None`: no scheduled backups.
    pub backup_dir: Option<PathBuf>,
    /// How often a backup is taken.
    pub backup_every: Duration,
    /// How many backups are kept.
    pub backup_keep: u32,
}

/// The `[http]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Where the HTTP server listens; `None`: no HTTP server.
    pub listen: Option<SocketAddr>,
}

/// Where a key's effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag(&'static str),
    /// An environment variable.
    Env(String),
    /// The configuration file.
    File(String),
    /// The key's default.
    Default,
}

impl Source {
    /// `flag`, `env`, `file` or `default`.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Flag(_) => "flag",
            Source::Env(_) => "env",
            Source::File(_) => "file",
            Source::Default => "default",
        }
    }

    /// The flag, variable or file, if any.
    pub fn origin(&self) -> Option<&str> {
        match self {
            Source::Flag(flag) => Some(flag),
            Source::Env(name) | Source::File(name) => Some(name),
            Source::Default => None,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin() {
            Some(origin) => write!(f, "{} {origin}", self.kind()),
            None => f.write_str(self.kind()),
        }
    }
}

/// One key's effective value, as `config check` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// The key.
    pub key: &'static Key,
    /// The value as given, `<redacted>` for a secret; `None` when unset.
    pub shown: Option<String>,
    /// Where it came from.
    pub source: Source,
}

/// Everything a run is configured with, resolved from all sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The store to open.
    pub store: StoreUrl,
    /// How much to log on stderr.
    pub log_level: LogLevel,
    /// How to log.
    pub log_format: LogFormat,
    /// The currency the shop is expected to sell in, if configured: commands on a shop that
    /// sells in another are refused, and `init` creates a shop selling in it. `None` means
    /// whatever the shop sells in.
    pub currency: Option<Currency>,
    /// Telegram user ids who are owners (besides the local owner).
    pub admins: BTreeSet<UserId>,
    /// The largest manual credit given without a confirmation (default: a million in the
    /// shop currency's major units).
    pub max_manual_credit: CreditLimit,
    /// The rest of `[shop]`.
    pub shop: ShopSettings,
    /// `[telegram]`.
    pub telegram: TelegramSettings,
    /// `[postgres]`.
    pub postgres: PostgresSettings,
    /// `[jobs]`.
    pub jobs: JobSettings,
    /// `[http]`.
    pub http: HttpSettings,
    /// Every key's effective value and source, in the order of [`KEYS`]; empty for settings
    /// that were not resolved from sources.
    pub effective: Vec<Effective>,
    /// Print one JSON document instead of tables.
    pub json: bool,
}

impl Settings {
    /// Settings for tests and embedding: the given store, everything else at its default.
    /// (A test checks these agree with the defaults of [`KEYS`].)
    pub fn for_store(store: StoreUrl) -> Settings {
        let pg = PgOptions::default();
        Settings {
            store,
            log_level: LogLevel::Warn,
            log_format: LogFormat::Text,
            currency: None,
            admins: BTreeSet::new(),
            max_manual_credit: CreditLimit::default(),
            shop: ShopSettings {
                support_contact: None,
                low_stock_threshold: 5,
                invoice_expiry: Duration::from_secs(30 * 60),
                dialogue_timeout: Duration::from_secs(10 * 60),
            },
            telegram: TelegramSettings {
                token: None,
                api_url: None,
                send_limit: SendLimit::default(),
                rate_limit: shopbot_core::flow::FlowConfig::default().updates,
            },
            postgres: PostgresSettings {
                pool_size: pg.max_connections,
                acquire_timeout: pg.acquire_timeout,
                statement_timeout: pg.statement_timeout,
            },
            jobs: JobSettings {
                expire_invoices_every: shopbot_core::jobs::EXPIRE_INVOICES_EVERY,
                sweep_every: shopbot_core::jobs::SWEEP_EVERY,
                backup_dir: None,
                backup_every: Duration::from_secs(24 * 3600),
                backup_keep: 7,
            },
            http: HttpSettings { listen: None },
            effective: Vec::new(),
            json: false,
        }
    }

    /// Resolves the settings from `flags`, the environment `env`, the configuration file
    /// (`--config`, or `./shopbot.toml` if it exists) and the defaults, in that order.
    ///
    /// Refused (usage errors, exit 2): an unknown key in the file or an unknown
    /// `SHOPBOT_<SECTION>_*` variable; a bad value, named with its key and source and what
    /// is accepted (a secret's value shown as `<redacted>`); a key given under both its new
    /// and its older name in the same source.
    pub fn resolve(flags: &GlobalArgs, env: &Env) -> CliResult<Settings> {
        let file = match &flags.config {
            Some(path) => ConfigFile::load(path, true)?,
            None => ConfigFile::load(Path::new(DEFAULT_CONFIG_FILE), false)?,
        }
        .unwrap_or_default();
        refuse_unknown_env(env)?;
        let flag_values = flag_values(flags);

        let mut settings = Settings::for_store(StoreUrl::parse(DEFAULT_STORE)?);
        for key in KEYS {
            let given = match flag_values.get(key.name).filter(|_| key.section.is_empty()) {
                Some((flag, text)) => Some((text.clone(), Source::Flag(flag))),
                None => match from_env(key, env)? {
                    Some(given) => Some(given),
                    None => file
                        .values
                        .get(&key.path())
                        .filter(|text| !text.trim().is_empty())
                        .map(|text| (text.clone(), Source::File(file.name.clone()))),
                },
            };
            let (shown, source) = match given {
                Some((text, source)) => {
                    key.apply(&mut settings, &text)
                        .map_err(|why| bad_value(key, &source, &text, &why))?;
                    (Some(key.show(&text)), source)
                }
                None => (key.default.map(|text| key.show(text)), Source::Default),
            };
            settings.effective.push(Effective { key, shown, source });
        }
        settings.json = flags.json;
        Ok(settings)
    }
}

/// The process environment, for [`Settings::resolve`].
pub fn process_env() -> Env {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

/// The global flags given, by key name, as text.
fn flag_values(flags: &GlobalArgs) -> BTreeMap<&'static str, (&'static str, String)> {
    let name = |value: Option<clap::builder::PossibleValue>| {
        value.map(|v| v.get_name().to_owned()).unwrap_or_default()
    };
    let mut given = BTreeMap::new();
    if let Some(store) = &flags.store {
        given.insert("store", ("--store", store.clone()));
    }
    if let Some(level) = flags.log_level {
        let text = name(clap::ValueEnum::to_possible_value(&level));
        given.insert("log_level", ("--log-level", text));
    }
    if let Some(format) = flags.log_format {
        let text = name(clap::ValueEnum::to_possible_value(&format));
        given.insert("log_format", ("--log-format", text));
    }
    given
}

/// A key's value from the environment: its own variable or its older one (blank counts as
/// unset); both set is refused.
fn from_env(key: &Key, env: &Env) -> CliResult<Option<(String, Source)>> {
    let set = |name: &str| {
        env.get(name)
            .filter(|value| !value.trim().is_empty())
            .map(|value| (value.clone(), Source::Env(name.to_owned())))
    };
    let new = set(&key.env());
    let old = key.legacy_env.and_then(set);
    match (new, old) {
        (Some(_), Some(_)) => Err(CliError::usage(format!(
            "{} and {} both set {}: unset one of them",
            key.env(),
            key.legacy_env.unwrap_or_default(),
            key.path()
        ))),
        (new, old) => Ok(new.or(old)),
    }
}

/// Refuses a `SHOPBOT_<SECTION>_*` variable that names no key: a typo would otherwise be
/// silently ignored.
fn refuse_unknown_env(env: &Env) -> CliResult<()> {
    for name in env.keys() {
        let Some(section) = SECTIONS.iter().find(|section| {
            name.starts_with(&format!("SHOPBOT_{}_", section.to_ascii_uppercase()))
        }) else {
            continue;
        };
        if KEYS.iter().any(|key| key.env() == *name) {
            continue;
        }
        let accepted: Vec<String> = KEYS
            .iter()
            .filter(|key| key.section == *section)
            .map(Key::env)
            .collect();
        return Err(CliError::usage(format!(
            "unknown configuration variable {name}; accepted for [{section}]: {}",
            accepted.join(", ")
        )));
    }
    Ok(())
}

fn bad_value(key: &Key, source: &Source, text: &str, why: &str) -> CliError {
    let given = match source {
        Source::Flag(flag) => flag.to_string(),
        Source::Env(name) => format!("environment variable {name}"),
        Source::File(name) => format!("{name}, {}", key.path()),
        Source::Default => "default".to_owned(),
    };
    if key.secret {
        // The reason is left out too: a parser's words might quote the value.
        return CliError::usage(format!(
            "configuration key {} ({given}): {REDACTED} is not accepted; accepted: {}",
            key.path(),
            key.accepted
        ));
    }
    CliError::usage(format!(
        "configuration key {} ({given}): `{}` is not accepted: {why}; accepted: {}",
        key.path(),
        key.show(text),
        key.accepted
    ))
}

#[cfg(test)]
mod tests;
