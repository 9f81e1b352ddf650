//! The one table of configuration keys: [`KEYS`].
//!
//! Each [`Key`] names its section, its environment variable, the older names it is still
//! known by, its default, whether it is a secret, what it accepts and what it does, and
//! carries the function that puts a value of it into [`Settings`]. Parsing, the environment
//! lookup, `config check`, the errors and `docs/configuration.md` all read this table, so a
//! key exists everywhere or nowhere.

use std::path::PathBuf;

use shopbot_core::money::Currency;
use shopbot_core::wallet::CreditLimit;

use super::values::{check_token, parse_count, parse_duration, parse_rate, parse_user_ids};
use super::{Secret, Settings};
use crate::cli::{LogFormat, LogLevel};
use crate::store::StoreUrl;

/// The sections of `shopbot.toml`, in the order the reference lists them.
pub const SECTIONS: [&str; 5] = ["shop", "telegram", "postgres", "jobs", "http"];

/// Puts a value, given as text, into the settings, or says why it is refused.
type Apply = fn(&mut Settings, &str) -> Result<(), String>;

/// One configuration key.
#[derive(Debug)]
pub struct Key {
    /// Its section in `shopbot.toml` (one of [`SECTIONS`]), or `""` for the top-level keys
    /// that global flags also set.
    pub section: &'static str,
    /// Its name inside the section.
    pub name: &'static str,
    /// The global flag that sets it, if any.
    pub flag: Option<&'static str>,
    /// An older environment variable still accepted for it.
    pub legacy_env: Option<&'static str>,
    /// An older top-level key of `shopbot.toml` still accepted for it.
    pub legacy_file: Option<&'static str>,
    /// Its default as text, or `None` when it is unset by default.
    pub default: Option<&'static str>,
    /// Whether its value is a secret, never shown.
    pub secret: bool,
    /// How a value that may carry a secret inside (a password in a URL) is shown, if so.
    pub redact: Option<fn(&str) -> String>,
    /// What it accepts, for errors and the reference.
    pub accepted: &'static str,
    /// What it does, for the reference.
    pub help: &'static str,
    apply: Apply,
}

/// Keys are the same when they have the same path.
impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.section == other.section && self.name == other.name
    }
}

impl Eq for Key {}

impl Key {
    /// The key as written in errors and `config check`: `telegram.token`, or `store`.
    pub fn path(&self) -> String {
        if self.section.is_empty() {
            self.name.to_owned()
        } else {
            format!("{}.{}", self.section, self.name)
        }
    }

    /// Its environment variable: `SHOPBOT_<SECTION>_<KEY>`, or `SHOPBOT_<KEY>` at the top.
    pub fn env(&self) -> String {
        let path = if self.section.is_empty() {
            self.name.to_owned()
        } else {
            format!("{}_{}", self.section, self.name)
        };
        format!("SHOPBOT_{}", path.to_ascii_uppercase())
    }

    /// `text` as errors and `config check` show it: `<redacted>` for a secret, without the
    /// password for a URL, cut to 100 characters.
    pub fn show(&self, text: &str) -> String {
        if self.secret {
            return super::REDACTED.to_owned();
        }
        let text = text.trim();
        let shown = match self.redact {
            Some(redact) => redact(text),
            None => text.to_owned(),
        };
        shown.chars().take(100).collect()
    }

    /// Puts `text` into `settings`, or says why it is refused.
    pub fn apply(&self, settings: &mut Settings, text: &str) -> Result<(), String> {
        (self.apply)(settings, text.trim())
    }
}

/// Finds a key by its path (`shop.currency`).
pub fn find(path: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.path() == path)
}

fn choice<T: clap::ValueEnum>(text: &str) -> Result<T, String> {
    T::from_str(text, true).map_err(|_| "not one of the accepted words".to_owned())
}

/// A store URL without its password: as the store prints it when it parses, else as the
/// PostgreSQL store redacts any URL.
fn redact_store(text: &str) -> String {
    StoreUrl::parse(text).map_or_else(
        |_| shopbot_storage_pg::redact_url(text),
        |url| url.to_string(),
    )
}

fn optional_text(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

const DURATION: &str = "a duration: a whole number and a unit (ms, s, m, h, d), such as 30s or 15m";
const RATE: &str = "COUNT/DURATION, such as 30/1s: up to COUNT at once, then COUNT per DURATION";

/// Every configuration key. Add a key here and it is parsed, looked up in the environment,
/// shown by `config check` and listed in the reference.
pub static KEYS: &[Key] = &[
    Key {
        section: "",
        name: "store",
        flag: Some("--store"),
        legacy_env: None,
        legacy_file: None,
        default: Some(crate::store::DEFAULT_STORE),
        secret: false,
        redact: Some(redact_store),
        accepted: "json:PATH or postgres://USER@HOST/DB",
        help: "Where the shop's data lives. A password in a PostgreSQL URL is never shown.",
        apply: |s, t| {
            s.store = StoreUrl::parse(t).map_err(|e| e.message().to_owned())?;
            Ok(())
        },
    },
    Key {
        section: "",
        name: "log_level",
        flag: Some("--log-level"),
        legacy_env: None,
        legacy_file: None,
        default: Some("warn"),
        secret: false,
        redact: None,
        accepted: "off, error, warn, info, debug, trace",
        help: "How much to log on stderr.",
        apply: |s, t| {
            s.log_level = choice::<LogLevel>(t)?;
            Ok(())
        },
    },
    Key {
        section: "",
        name: "log_format",
        flag: Some("--log-format"),
        legacy_env: None,
        legacy_file: None,
        default: Some("text"),
        secret: false,
        redact: None,
        accepted: "text, json",
        help: "How log lines look: for people, or one JSON object per line.",
        apply: |s, t| {
            s.log_format = choice::<LogFormat>(t)?;
            Ok(())
        },
    },
    Key {
        section: "shop",
        name: "currency",
        flag: None,
        legacy_env: Some("SHOPBOT_CURRENCY"),
        legacy_file: Some("currency"),
        default: None,
        secret: false,
        redact: None,
        accepted: "an ISO 4217 currency code, such as EUR, or XTR (Telegram Stars)",
        help: "The currency the shop sells in: `init` creates the shop in it, and every other \
               command refuses a shop that sells in another. Unset: whatever the shop sells in.",
        apply: |s, t| {
            s.currency = optional_text(t)
                .map(|code| Currency::parse(&code))
                .transpose()
                .map_err(|e| e.to_string())?;
            Ok(())
        },
    },
    Key {
        section: "shop",
        name: "admins",
        flag: None,
        legacy_env: Some("SHOPBOT_ADMINS"),
        legacy_file: Some("admins"),
        default: None,
        secret: false,
        redact: None,
        accepted: "Telegram user ids (positive whole numbers): a list in the file, \
                   comma-separated in the environment",
        help: "People who are owners of the shop whatever their stored role says.",
        apply: |s, t| {
            s.admins = parse_user_ids(t)?;
            Ok(())
        },
    },
    Key {
        section: "shop",
        name: "max_manual_credit",
        flag: None,
        legacy_env: Some("SHOPBOT_MAX_MANUAL_CREDIT"),
        legacy_file: Some("max_manual_credit"),
        default: Some("1000000"),
        secret: false,
        redact: None,
        accepted: "an amount in the shop currency's major units, as text such as \"5000.00\"",
        help: "The largest manual credit staff give without confirming it.",
        apply: |s, t| {
            s.max_manual_credit = CreditLimit::parse(t).map_err(|e| e.to_string())?;
            Ok(())
        },
    },
    Key {
        section: "shop",
        name: "support_contact",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: None,
        secret: false,
        redact: None,
        accepted: "one line of text up to 200 characters, such as @shop_support",
        help: "How customers reach a person, shown on the bot's Help screen.",
        apply: |s, t| {
            if t.chars().count() > 200 || t.chars().any(char::is_control) {
                return Err("it must be one line of at most 200 characters".into());
            }
            s.shop.support_contact = optional_text(t);
            Ok(())
        },
    },
    Key {
        section: "shop",
        name: "low_stock_threshold",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("5"),
        secret: false,
        redact: None,
        accepted: "a whole number from 0 to 1000000",
        help: "A product with this many units or fewer left is low on stock (the staff's \
               low-stock list).",
        apply: |s, t| {
            s.shop.low_stock_threshold = parse_count(t, 0, 1_000_000)?;
            Ok(())
        },
    },
    Key {
        section: "shop",
        name: "invoice_expiry",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("30m"),
        secret: false,
        redact: None,
        accepted: DURATION,
        help: "How long an unpaid order invoice keeps its units reserved.",
        apply: |s, t| {
            s.shop.invoice_expiry = parse_duration(t)?;
            Ok(())
        },
    },
    Key {
        section: "shop",
        name: "dialogue_timeout",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("10m"),
        secret: false,
        redact: None,
        accepted: DURATION,
        help: "How long a conversation waits for the next message before it starts over.",
        apply: |s, t| {
            s.shop.dialogue_timeout = parse_duration(t)?;
            Ok(())
        },
    },
    Key {
        section: "telegram",
        name: "token",
        flag: None,
        legacy_env: Some("TELEGRAM_BOT_TOKEN"),
        legacy_file: None,
        default: None,
        secret: true,
        redact: None,
        accepted: "the token BotFather issued: the bot's id, a colon, then letters, digits, - or _",
        help: "The bot's token; `shopbot telegram` needs it. A secret: never printed.",
        apply: |s, t| {
            if t.is_empty() {
                s.telegram.token = None;
                return Ok(());
            }
            check_token(t)?;
            s.telegram.token = Some(Secret(t.to_owned()));
            Ok(())
        },
    },
    Key {
        section: "telegram",
        name: "api_url",
        flag: None,
        legacy_env: Some("TELEGRAM_API_URL"),
        legacy_file: None,
        default: None,
        secret: false,
        redact: None,
        accepted: "an http(s) URL",
        help: "The Bot API base URL: a local Bot API server, or a fake one in tests. \
               Unset: https://api.telegram.org.",
        apply: |s, t| {
            if t.is_empty() {
                s.telegram.api_url = None;
                return Ok(());
            }
            shopbot_telegram::parse_api_url(t).map_err(|e| match e {
                // The error names the older variable; the key may have come from elsewhere.
                shopbot_telegram::TelegramError::InvalidApiUrl(why) => why,
                other => other.to_string(),
            })?;
            s.telegram.api_url = Some(t.to_owned());
            Ok(())
        },
    },
    Key {
        section: "telegram",
        name: "send_limit",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("30/1s"),
        secret: false,
        redact: None,
        accepted: RATE,
        help: "How fast the bot sends across all chats; a message over it waits its turn.",
        apply: |s, t| {
            s.telegram.send_limit.overall = parse_rate(t)?;
            Ok(())
        },
    },
    Key {
        section: "telegram",
        name: "send_limit_per_chat",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("3/3s"),
        secret: false,
        redact: None,
        accepted: RATE,
        help: "How fast the bot sends in one chat; a message over it waits its turn.",
        apply: |s, t| {
            s.telegram.send_limit.per_chat = parse_rate(t)?;
            Ok(())
        },
    },
    Key {
        section: "telegram",
        name: "rate_limit",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("20/10s"),
        secret: false,
        redact: None,
        accepted: RATE,
        help: "How many updates (messages, button presses) one person may send; more are \
               answered with a request to slow down.",
        apply: |s, t| {
            s.telegram.rate_limit = parse_rate(t)?;
            Ok(())
        },
    },
    Key {
        section: "postgres",
        name: "pool_size",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("16"),
        secret: false,
        redact: None,
        accepted: "a whole number from 4 to 1000",
        help: "The most connections to PostgreSQL (at least 4: purchases keep 3 for themselves).",
        apply: |s, t| {
            s.postgres.pool_size = parse_count(t, 4, 1000)?;
            Ok(())
        },
    },
    Key {
        section: "postgres",
        name: "acquire_timeout",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("5s"),
        secret: false,
        redact: None,
        accepted: DURATION,
        help: "How long a command waits for a free connection, and opening waits for the server.",
        apply: |s, t| {
            s.postgres.acquire_timeout = parse_duration(t)?;
            Ok(())
        },
    },
    Key {
        section: "postgres",
        name: "statement_timeout",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("30s"),
        secret: false,
        redact: None,
        accepted: DURATION,
        help: "How long one statement may run before the server cancels it.",
        apply: |s, t| {
            s.postgres.statement_timeout = parse_duration(t)?;
            Ok(())
        },
    },
    Key {
        section: "jobs",
        name: "expire_invoices_every",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("1m"),
        secret: false,
        redact: None,
        accepted: DURATION,
        help: "How often the expire-invoices job runs: unpaid invoices past due are expired and \
               the units they reserved go back on sale at most this long after they fall due.",
        apply: |s, t| {
            s.jobs.expire_invoices_every = parse_duration(t)?;
            Ok(())
        },
    },
    Key {
        section: "jobs",
        name: "sweep_every",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("1h"),
        secret: false,
        redact: None,
        accepted: DURATION,
        help: "How often the sweep job runs: it forgets expired conversations and the ids of \
               Telegram updates processed more than a day ago.",
        apply: |s, t| {
            s.jobs.sweep_every = parse_duration(t)?;
            Ok(())
        },
    },
    Key {
        section: "jobs",
        name: "backup_dir",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: None,
        secret: false,
        redact: None,
        accepted: "a directory path",
        help: "Where scheduled backups of the JSON store go. Unset: no scheduled backups.",
        apply: |s, t| {
            s.jobs.backup_dir = optional_text(t).map(PathBuf::from);
            Ok(())
        },
    },
    Key {
        section: "jobs",
        name: "backup_every",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("1d"),
        secret: false,
        redact: None,
        accepted: DURATION,
        help: "How often a scheduled backup is taken (when backup_dir is set).",
        apply: |s, t| {
            s.jobs.backup_every = parse_duration(t)?;
            Ok(())
        },
    },
    Key {
        section: "jobs",
        name: "backup_keep",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: Some("7"),
        secret: false,
        redact: None,
        accepted: "a whole number from 1 to 10000",
        help: "How many scheduled backups are kept; older ones are removed.",
        apply: |s, t| {
            s.jobs.backup_keep = parse_count(t, 1, 10_000)?;
            Ok(())
        },
    },
    Key {
        section: "http",
        name: "listen",
        flag: None,
        legacy_env: None,
        legacy_file: None,
        default: None,
        secret: false,
        redact: None,
        accepted: "an address and port, such as 127.0.0.1:8080",
        help: "Where the HTTP server (health, metrics, webhooks) listens. Reserved: nothing \
               listens yet.",
        apply: |s, t| {
            s.http.listen = optional_text(t)
                .map(|addr| addr.parse())
                .transpose()
                .map_err(|_| "not an address and port".to_owned())?;
            Ok(())
        },
    },
];
