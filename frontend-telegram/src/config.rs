//! How the bot is configured: the token, where the Bot API is, how long to poll, how fast to
//! send and how long to wait at shutdown.
//!
//! Owns [`TelegramConfig`] and the check of its Bot API URL. The token is a secret: it is never logged and
//! never part of any `Debug` output.

use std::fmt;
use std::time::Duration;

use crate::TelegramError;
use crate::limit::SendLimit;

/// The environment variable holding the bot token (required).
pub const TOKEN_VAR: &str = "TELEGRAM_BOT_TOKEN";

/// The environment variable holding the Bot API base URL (optional; the real API without it).
pub const API_URL_VAR: &str = "TELEGRAM_API_URL";

/// Everything [`run`](crate::run) needs besides the conversation.
#[derive(Clone)]
pub struct TelegramConfig {
    /// The bot token from BotFather. Never logged, never in `Debug` output.
    pub token: String,
    /// The Bot API base URL (`TELEGRAM_API_URL`), e.g. a local Bot API server or a fake one
    /// in tests; `None` is the real API.
    pub api_url: Option<String>,
    /// How long one `getUpdates` long poll waits for updates (default 10 s; tests use 1 s).
    pub poll_timeout: Duration,
    /// The outgoing throttle; `None` sends unthrottled (tests).
    pub send_limit: Option<SendLimit>,
    /// How often [`run`](crate::run) delivers the outbox, when it delivers it itself (default
    /// 1 s; see [`TelegramBot::without_outbox`](crate::TelegramBot::without_outbox)).
    pub outbox_interval: Duration,
    /// The longest [`run`](crate::run) waits, after shutdown is asked, for updates in hand and
    /// the outbox batch in hand to finish (default 8 s).
    pub shutdown_grace: Duration,
}

impl TelegramConfig {
    /// A configuration with `token` and every other setting at its default.
    pub fn new(token: impl Into<String>) -> TelegramConfig {
        TelegramConfig {
            token: token.into(),
            api_url: None,
            poll_timeout: Duration::from_secs(10),
            send_limit: Some(SendLimit::default()),
            outbox_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(8),
        }
    }

    /// Reads [`TOKEN_VAR`] (required) and [`API_URL_VAR`] (optional) from the process
    /// environment; everything else at its default.
    pub fn from_env() -> Result<TelegramConfig, TelegramError> {
        TelegramConfig::from_lookup(|key| std::env::var(key).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables through `env`. Blank values count
    /// as unset.
    pub fn from_lookup<E>(env: E) -> Result<TelegramConfig, TelegramError>
    where
        E: Fn(&str) -> Option<String>,
    {
        let set = |key: &str| env(key).filter(|value| !value.trim().is_empty());
        let token = set(TOKEN_VAR).ok_or(TelegramError::MissingToken)?;
        let mut config = TelegramConfig::new(token.trim());
        if let Some(url) = set(API_URL_VAR) {
            parse_api_url(&url)?;
            config.api_url = Some(url.trim().to_owned());
        }
        Ok(config)
    }
}

impl fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("token", &"<redacted>")
            .field("api_url", &self.api_url)
            .field("poll_timeout", &self.poll_timeout)
            .field("send_limit", &self.send_limit)
            .field("outbox_interval", &self.outbox_interval)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish()
    }
}

/// Parses a Bot API base URL (a trailing slash is dropped: teloxide appends path segments).
pub fn parse_api_url(text: &str) -> Result<url::Url, TelegramError> {
    let trimmed = text.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed).map_err(|e| TelegramError::InvalidApiUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(TelegramError::InvalidApiUrl(format!(
            "`{}` is not an http(s) URL",
            url.scheme()
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const TOKEN: &str = "123456:ABCdefGhIJKlmnoPQRstuVWXyz0123456789";

    #[test]
    fn the_token_never_appears_in_debug_output() {
        let mut config = TelegramConfig::new(TOKEN);
        config.api_url = Some("http://127.0.0.1:8081".into());
        let debug = format!("{config:?}");
        let pretty = format!("{config:#?}");
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(!debug.contains("ABCdef"), "{debug}");
        assert!(!pretty.contains(TOKEN), "{pretty}");
        assert!(debug.contains("<redacted>"));
        assert!(debug.contains("127.0.0.1:8081"));
    }

    #[test]
    fn the_environment_gives_the_token_and_the_api_url() {
        let env = |key: &str| match key {
            TOKEN_VAR => Some(format!(" {TOKEN} ")),
            API_URL_VAR => Some("http://127.0.0.1:9/".to_owned()),
            _ => None,
        };
        let config = TelegramConfig::from_lookup(env).unwrap();
        assert_eq!(config.token, TOKEN);
        assert_eq!(config.api_url.as_deref(), Some("http://127.0.0.1:9/"));
        assert_eq!(config.poll_timeout, Duration::from_secs(10));
        assert_eq!(config.send_limit, Some(SendLimit::default()));
    }

    #[test]
    fn a_missing_or_blank_token_is_refused() {
        let none = TelegramConfig::from_lookup(|_| None).unwrap_err();
        assert!(matches!(none, TelegramError::MissingToken));
        let blank = TelegramConfig::from_lookup(|_| Some("  ".into())).unwrap_err();
        assert!(matches!(blank, TelegramError::MissingToken));
    }

    #[test]
    fn a_malformed_api_url_is_refused_without_the_token() {
        let env = |key: &str| match key {
            TOKEN_VAR => Some(TOKEN.to_owned()),
            _ => Some("not a url".to_owned()),
        };
        let error = TelegramConfig::from_lookup(env).unwrap_err();
        assert!(matches!(error, TelegramError::InvalidApiUrl(_)));
        assert!(!error.to_string().contains(TOKEN));
    }

    #[test]
    fn api_urls_must_be_http_and_lose_their_trailing_slash() {
        assert_eq!(
            parse_api_url("http://127.0.0.1:8081/").unwrap().as_str(),
            "http://127.0.0.1:8081/"
        );
        assert_eq!(
            parse_api_url("http://127.0.0.1:8081/tg/").unwrap().path(),
            "/tg"
        );
        assert!(parse_api_url("ftp://example.com").is_err());
        assert!(parse_api_url("127.0.0.1:8081").is_err());
    }
}
