//! Configuration: flags, then environment, then an optional `shopbot.toml`, then defaults.
//!
//! Owns [`Settings`] (what a run is configured with) and [`FileConfig`] (what `shopbot.toml`
//! may hold). Clap already resolves flags over their environment variables; this module adds
//! the file and the defaults below them. It reads no store and decides no business rule.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use shopbot_core::ids::UserId;
use shopbot_core::money::Currency;
use shopbot_core::wallet::CreditLimit;

use crate::cli::{GlobalArgs, LogFormat, LogLevel};
use crate::error::{CliError, CliResult};
use crate::store::{DEFAULT_STORE, StoreUrl};

/// The configuration file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "shopbot.toml";

/// The largest configuration file read; anything bigger is not a configuration file.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// What `shopbot.toml` may hold. Unknown keys are refused, so a typo is not silently ignored.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The store URL, as for `--store`.
    pub store: Option<String>,
    /// As for `--log-level`.
    pub log_level: Option<String>,
    /// As for `--log-format`.
    pub log_format: Option<String>,
    /// The currency this shop sells in, e.g. `USD` (`SHOPBOT_CURRENCY`): a check, since the
    /// currency belongs to the shop; a shop that sells in another one is refused.
    pub currency: Option<String>,
    /// Telegram user ids who are owners whatever their stored role (`SHOPBOT_ADMINS`).
    pub admins: Option<Vec<i64>>,
    /// The largest manual credit given without a confirmation, as text in the shop currency's
    /// major units, e.g. `"5000.00"` (`SHOPBOT_MAX_MANUAL_CREDIT`).
    pub max_manual_credit: Option<String>,
}

impl FileConfig {
    /// Parses the text of a configuration file; `name` is used in errors.
    pub fn parse(text: &str, name: &str) -> CliResult<FileConfig> {
        toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|span| {
                    let line = text
                        .get(..span.start)
                        .map_or(0, |s| s.matches('\n').count());
                    format!(" (line {})", line + 1)
                })
                .unwrap_or_default();
            CliError::usage(format!(
                "{name}{at}: {}; accepted keys: store, log_level, log_format, currency, admins, \
                 max_manual_credit (as text, such as \"5000.00\")",
                e.message()
            ))
        })
    }

    /// Reads `path`. `None` when `path` is the default file and it does not exist.
    pub fn load(path: &Path, explicit: bool) -> CliResult<Option<FileConfig>> {
        let name = path.display().to_string();
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(None),
            Err(e) => {
                return Err(CliError::usage(format!(
                    "cannot read configuration file {name}: {e}"
                )));
            }
        };
        let mut bytes = Vec::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::usage(format!("cannot read configuration file {name}: {e}")))?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(CliError::usage(format!(
                "{name} is larger than 1 MiB: is it really a configuration file?"
            )));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| CliError::usage(format!("{name} is not UTF-8 text")))?;
        FileConfig::parse(&text, &name).map(Some)
    }
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
    /// Print one JSON document instead of tables.
    pub json: bool,
}

impl Settings {
    /// Settings for tests and embedding: the given store, everything else at its default.
    pub fn for_store(store: StoreUrl) -> Settings {
        Settings {
            store,
            log_level: LogLevel::Warn,
            log_format: LogFormat::Text,
            currency: None,
            admins: BTreeSet::new(),
            max_manual_credit: CreditLimit::default(),
            json: false,
        }
    }

    /// Resolves the settings: `flags` (clap has already put environment variables under the
    /// flags that have one), then `env` for settings without a flag, then the configuration
    /// file, then defaults.
    pub fn resolve<E>(flags: &GlobalArgs, env: E) -> CliResult<Settings>
    where
        E: Fn(&str) -> Option<String>,
    {
        let file = match &flags.config {
            Some(path) => FileConfig::load(path, true)?,
            None => FileConfig::load(Path::new(DEFAULT_CONFIG_FILE), false)?,
        }
        .unwrap_or_default();
        let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());

        let store = flags
            .store
            .clone()
            .or(file.store)
            .unwrap_or_else(|| DEFAULT_STORE.to_owned());
        let store = StoreUrl::parse(&store)?;

        let log_level = match (flags.log_level, file.log_level) {
            (Some(level), _) => level,
            (None, Some(text)) => parse_choice(&text, "log_level")?,
            (None, None) => LogLevel::Warn,
        };
        let log_format = match (flags.log_format, file.log_format) {
            (Some(format), _) => format,
            (None, Some(text)) => parse_choice(&text, "log_format")?,
            (None, None) => LogFormat::Text,
        };

        let currency = non_empty(env("SHOPBOT_CURRENCY"))
            .or(file.currency)
            .map(|code| Currency::parse(&code))
            .transpose()
            .map_err(|e| CliError::usage(format!("shop currency: {e}")))?;

        let admins = match non_empty(env("SHOPBOT_ADMINS")) {
            Some(list) => parse_admins(&list)?,
            None => file
                .admins
                .unwrap_or_default()
                .into_iter()
                .map(admin_id)
                .collect::<CliResult<_>>()?,
        };

        let max_manual_credit = match non_empty(env("SHOPBOT_MAX_MANUAL_CREDIT")) {
            Some(text) => parse_credit_limit(&text, "SHOPBOT_MAX_MANUAL_CREDIT")?,
            None => match file.max_manual_credit {
                Some(text) => parse_credit_limit(&text, "max_manual_credit")?,
                None => CreditLimit::default(),
            },
        };

        Ok(Settings {
            store,
            log_level,
            log_format,
            currency,
            admins,
            max_manual_credit,
            json: flags.json,
        })
    }
}

fn parse_choice<T: clap::ValueEnum>(text: &str, key: &str) -> CliResult<T> {
    T::from_str(text.trim(), true).map_err(|_| {
        let accepted: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect();
        CliError::usage(format!(
            "configuration key {key}: `{}` is not accepted; use one of {}",
            text.chars().take(32).collect::<String>(),
            accepted.join(", ")
        ))
    })
}

/// The manual credit limit from `source` (the variable or the file key), exactly: text such as
/// `5000.00`, never a float.
fn parse_credit_limit(text: &str, source: &str) -> CliResult<CreditLimit> {
    CreditLimit::parse(text).map_err(|e| {
        CliError::usage(format!(
            "{source}: {e}; give the largest manual credit in the shop currency's major units"
        ))
    })
}

/// `SHOPBOT_ADMINS`: comma-separated Telegram user ids.
pub fn parse_admins(list: &str) -> CliResult<BTreeSet<UserId>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<UserId>()
                .map_err(|e| CliError::usage(format!("SHOPBOT_ADMINS: {e}")))
                .and_then(|id| admin_id(id.0))
        })
        .collect()
}

fn admin_id(id: i64) -> CliResult<UserId> {
    if id <= 0 {
        return Err(CliError::usage(format!(
            "admins: `{id}` is not a Telegram user id: use positive whole numbers"
        )));
    }
    Ok(UserId(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitStatus;
    use std::path::PathBuf;

    fn flags() -> GlobalArgs {
        GlobalArgs {
            store: None,
            config: Some(PathBuf::from("/nonexistent/shopbot.toml")),
            log_level: None,
            log_format: None,
            json: false,
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_file_fills_in_what_flags_and_env_leave_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shopbot.toml");
        std::fs::write(
            &path,
            "store = \"json:/srv/shop\"\nlog_level = \"debug\"\ncurrency = \"eur\"\nadmins = [7]\n",
        )
        .unwrap();
        let mut flags = flags();
        flags.config = Some(path);
        let settings = Settings::resolve(&flags, no_env).unwrap();
        assert_eq!(settings.store, StoreUrl::Json(PathBuf::from("/srv/shop")));
        assert_eq!(settings.log_level, LogLevel::Debug);
        assert_eq!(settings.currency, Some(Currency::EUR));
        assert_eq!(settings.admins, BTreeSet::from([UserId(7)]));

        flags.store = Some("json:/from/flag".into());
        flags.log_level = Some(LogLevel::Error);
        let env = |key: &str| (key == "SHOPBOT_ADMINS").then(|| "1, 2".to_owned());
        let settings = Settings::resolve(&flags, env).unwrap();
        assert_eq!(settings.store, StoreUrl::Json(PathBuf::from("/from/flag")));
        assert_eq!(settings.log_level, LogLevel::Error);
        assert_eq!(settings.admins, BTreeSet::from([UserId(1), UserId(2)]));
    }

    #[test]
    fn the_manual_credit_limit_comes_from_the_environment_then_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shopbot.toml");
        std::fs::write(&path, "max_manual_credit = \"5000.00\"\n").unwrap();
        let mut flags = flags();
        flags.config = Some(path);
        let from_file = Settings::resolve(&flags, no_env).unwrap();
        assert_eq!(from_file.max_manual_credit.to_string(), "5000.00");
        let env = |key: &str| (key == "SHOPBOT_MAX_MANUAL_CREDIT").then(|| "250".to_owned());
        let from_env = Settings::resolve(&flags, env).unwrap();
        assert_eq!(from_env.max_manual_credit.to_string(), "250");
        std::fs::write(dir.path().join("shopbot.toml"), "").unwrap();
        let default = Settings::resolve(&flags, no_env).unwrap();
        assert_eq!(default.max_manual_credit, CreditLimit::default());
    }

    #[test]
    fn the_currency_is_optional_and_must_be_a_real_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shopbot.toml");
        std::fs::write(&path, "").unwrap();
        let mut flags = flags();
        flags.config = Some(path);
        assert_eq!(Settings::resolve(&flags, no_env).unwrap().currency, None);
        let env = |code: &'static str| {
            move |key: &str| (key == "SHOPBOT_CURRENCY").then(|| code.to_owned())
        };
        let settings = Settings::resolve(&flags, env("xtr")).unwrap();
        assert_eq!(settings.currency, Some(Currency::XTR));
        let e = Settings::resolve(&flags, env("XYZ")).unwrap_err();
        assert_eq!(e.status(), ExitStatus::Usage);
        assert!(
            e.message().contains("`XYZ` is not an ISO 4217"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn a_missing_explicit_file_is_a_usage_error() {
        let e = Settings::resolve(&flags(), no_env).unwrap_err();
        assert_eq!(e.status(), ExitStatus::Usage);
        assert!(e.message().contains("/nonexistent/shopbot.toml"));
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let e = FileConfig::parse("store = \"json:x\"\nstroe = 1\n", "shopbot.toml").unwrap_err();
        assert_eq!(e.status(), ExitStatus::Usage);
        assert!(e.message().contains("line 2"), "{}", e.message());
        assert!(e.message().contains("stroe"), "{}", e.message());
    }

    #[test]
    fn admins_are_positive_ids() {
        assert_eq!(
            parse_admins("5,6,").unwrap(),
            BTreeSet::from([UserId(5), UserId(6)])
        );
        assert!(parse_admins("5,x").is_err());
        assert!(parse_admins("0").is_err());
    }
}
