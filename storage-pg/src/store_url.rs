//! PostgreSQL store URLs: what of them may be shown, what the driver is given, and the rule
//! that a URL names its database.
//!
//! Owns [`redact_url`], the one redaction every message and log line about a store URL goes
//! through (the store's own errors, the CLI's `StoreUrl`, `tracing` fields), and [`Target`],
//! a URL read once into the driver's options plus what messages need (where the server is,
//! which database, which texts are secret). It must never hand the driver a parameter the
//! driver would log with its value, nor keep any part of the URL in a message unredacted.

use std::borrow::Cow;

use sqlx::postgres::PgConnectOptions;
use url::Url;

use crate::open::PgOpenError;

/// Query parameters whose values are shown: they say where the database is and how to reach
/// it, and carry no secret. Every other value is hidden, whatever its name — `password`,
/// `sslpassword`, `sslkey`, `passfile`, anything with "pass", "secret", "token" or "key" in
/// it, and names nobody foresaw.
const SHOWN: [&str; 14] = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "application_name",
    "connect_timeout",
];

/// Query parameters the driver (sqlx) reads, besides `options[NAME]`. It logs any other with its
/// value, so others are taken out before it sees the URL.
const DRIVER_READS: [&str; 18] = [
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// What stands in for a hidden value.
const HIDDEN: &str = "***";

/// `url` for people: the scheme, user, host, port, database and harmless parameters stay; the
/// password and every other parameter's value become `***`. A URL that does not parse, or
/// whose parts cannot be told apart for sure (an `@` after the host, a `#`), is shown as its
/// scheme only: an unencoded character in a password moves the boundaries, and a guess would
/// show part of it.
pub fn redact_url(url: &str) -> String {
    let text = url.trim();
    match Url::parse(text) {
        Ok(parsed) if !ambiguous(&parsed) => shown(&parsed),
        _ => scheme_only(text),
    }
}

/// Whether the parts of a parsed URL may not be where its author meant them: an `@` past the
/// host means the password probably held a `/`, `?` or `#` of its own.
fn ambiguous(url: &Url) -> bool {
    url.cannot_be_a_base()
        || url.fragment().is_some()
        || url.path().contains('@')
        || url.query().is_some_and(|query| query.contains('@'))
}

fn shown(url: &Url) -> String {
    let mut out = format!("{}://", url.scheme());
    if !url.username().is_empty() || url.password().is_some() {
        out.push_str(url.username());
        if url.password().is_some() {
            out.push(':');
            out.push_str(HIDDEN);
        }
        out.push('@');
    }
    out.push_str(url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path());
    if let Some(query) = url.query() {
        let pairs: Vec<Cow<'_, str>> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_shown(name) => Cow::Borrowed(pair),
                Some((name, _)) => Cow::Owned(format!("{name}={HIDDEN}")),
                // A bare word may be the tail of a value cut at an unencoded `&`.
                None if is_shown(pair) => Cow::Borrowed(pair),
                None => Cow::Borrowed(HIDDEN),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

fn scheme_only(text: &str) -> String {
    let scheme: String = text
        .split_once("://")
        .map(|(scheme, _)| scheme)
        .unwrap_or_default()
        .chars()
        .take(16)
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if scheme.is_empty() {
        "…".to_owned()
    } else {
        format!("{scheme}://…")
    }
}

/// A query parameter's name as the driver reads it.
fn decoded_name(raw: &str) -> String {
    url::form_urlencoded::parse(raw.as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default()
}

fn is_shown(raw_name: &str) -> bool {
    SHOWN.contains(&decoded_name(raw_name).as_str())
}

/// A store URL read for connecting.
pub(crate) struct Target {
    /// What the driver connects with.
    pub(crate) options: PgConnectOptions,
    /// The database the URL names.
    pub(crate) database: String,
    /// The password, if the URL carries one (decoded), for tools that must pass it on.
    pub(crate) password: Option<String>,
    /// Parameters left out because the driver does not read them (names only).
    pub(crate) ignored: Vec<String>,
    /// Every secret text of the URL, to scrub from the driver's words.
    secrets: Secrets,
}

/// The secret texts of a URL, as written and decoded.
struct Secrets(Vec<String>);

impl Secrets {
    fn new(mut secrets: Vec<String>) -> Secrets {
        secrets.retain(|secret| !secret.is_empty());
        // Longest first, so that a secret containing another is hidden whole.
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Secrets(secrets)
    }

    fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.0 {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), HIDDEN);
            }
        }
        text
    }
}

impl Target {
    /// Reads `url`: a PostgreSQL URL that names its database (in the path or as `dbname=`).
    /// Refuses before any connecting, naming the URL only as [`redact_url`] shows it.
    pub(crate) fn parse(url: &str) -> Result<Target, PgOpenError> {
        let text = url.trim();
        let shown = redact_url(text);
        let refuse = |reason: &str| PgOpenError::Url {
            url: shown.clone(),
            reason: reason.to_owned(),
        };
        let parsed = Url::parse(text).map_err(|e| refuse(&e.to_string()))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(refuse("its scheme is not postgres:// or postgresql://"));
        }
        if parsed.cannot_be_a_base() {
            return Err(refuse("it has no // after the scheme"));
        }
        if parsed.fragment().is_some() || parsed.path().contains('@') {
            return Err(refuse(
                "an unencoded `/`, `?` or `#` in the password cuts it short",
            ));
        }

        let mut secrets = Vec::new();
        let mut password = parsed.password().map(|raw| {
            secrets.push(raw.to_owned());
            decode(raw)
        });
        let mut database = decode(parsed.path().trim_start_matches('/'));
        let mut kept = Vec::new();
        let mut ignored = Vec::new();
        for pair in parsed.query().unwrap_or_default().split('&') {
            let Some((name, value)) = url::form_urlencoded::parse(pair.as_bytes()).next() else {
                continue;
            };
            let Some((_, raw_value)) = pair.split_once('=') else {
                // A bare word may be the tail of a value cut at an unencoded `&`: it is
                // neither given to the driver nor named.
                secrets.push(name.into_owned());
                ignored.push("(a word without `=`)".to_owned());
                continue;
            };
            if !SHOWN.contains(&name.as_ref()) {
                // As written too, in case the driver echoes the text before decoding it.
                secrets.push(raw_value.to_owned());
                secrets.push(value.to_string());
            }
            match name.as_ref() {
                "dbname" => database = value.to_string(),
                "password" => password = Some(value.to_string()),
                _ => {}
            }
            if DRIVER_READS.contains(&name.as_ref()) || name.starts_with("options[") {
                kept.push((name.into_owned(), value.into_owned()));
            } else {
                ignored.push(name.into_owned());
            }
        }
        secrets.extend(password.clone());
        let secrets = Secrets::new(secrets);

        if database.is_empty() {
            return Err(PgOpenError::NoDatabase { url: shown });
        }

        let mut for_driver = parsed.clone();
        for_driver.set_query(None);
        if !kept.is_empty() {
            for_driver.query_pairs_mut().extend_pairs(&kept);
        }
        let options = for_driver
            .as_str()
            .parse::<PgConnectOptions>()
            .map_err(|e| PgOpenError::Url {
                url: shown.clone(),
                reason: secrets.scrub(&e.to_string()),
            })?;
        Ok(Target {
            options,
            database,
            password,
            ignored,
            secrets,
        })
    }

    /// `text` (words of the driver or the server) with every secret of the URL hidden.
    pub(crate) fn scrub(&self, text: &str) -> String {
        self.secrets.scrub(text)
    }

    /// Where the server is, for messages: `host:port`, or the socket's path.
    pub(crate) fn server(&self) -> String {
        match self.options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => format!("{}:{}", self.options.get_host(), self.options.get_port()),
        }
    }

    /// The command that creates the database, for the server and user of this URL.
    pub(crate) fn createdb(&self) -> String {
        let host = match self.options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => self.options.get_host().to_owned(),
        };
        let port = match self.options.get_port() {
            5432 => String::new(),
            port => format!(" -p {port}"),
        };
        format!(
            "createdb -h {}{port} -U {} {}",
            shell_word(&host),
            shell_word(self.options.get_username()),
            shell_word(&self.database)
        )
    }
}

/// Percent-decoded text, as the driver decodes the user info and the path (a `+` stays).
fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|c| char::from(*c).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match (byte, hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(byte));
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `word` as one word for a POSIX shell.
fn shell_word(word: &str) -> Cow<'_, str> {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@".contains(c));
    if plain {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{}'", word.replace('\'', "'\\''")))
    }
}

#[cfg(test)]
#[path = "store_url_tests.rs"]
mod tests;
