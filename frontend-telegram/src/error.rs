//! Why the bot could not run. Errors of single updates are not here: they are logged and the
//! person gets a short generic message, and the bot goes on.

use teloxide::RequestError;
use thiserror::Error;

use crate::config::{API_URL_VAR, TOKEN_VAR};

/// Why [`run`](crate::run) (or reading its configuration) failed. No variant ever carries the
/// bot token.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TelegramError {
    /// No bot token was given.
    #[error("{TOKEN_VAR} is not set: give the token BotFather issued for the bot")]
    MissingToken,
    /// The Bot API URL does not parse.
    #[error("{API_URL_VAR} is not a valid http(s) URL: {0}")]
    InvalidApiUrl(String),
    /// The HTTP client could not be built.
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
    /// The Bot API refused the token.
    #[error("the Bot API refused the token: check {TOKEN_VAR}")]
    Unauthorized,
    /// The Bot API could not be reached or answered with an error at start.
    #[error("cannot reach the Telegram Bot API: {0}")]
    Startup(#[source] RequestError),
}
