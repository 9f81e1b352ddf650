//! A fake Telegram Bot API server for end-to-end tests of the bot.
//!
//! [`FakeBotApi`] listens on `127.0.0.1` and speaks enough of the Bot API for the shop bot:
//! long polling, messages with inline keyboards and their edits, callback answers, photos,
//! documents and file downloads. It keeps Telegram's rules (callback data, text and caption
//! lengths, HTML markup, one answer per callback query, "message is not modified") and
//! records every broken one as a [`Violation`] instead of hiding it, so a test can assert that
//! there were none. Tests inject what people do (`send_text`, `press`, `send_document`,
//! `redeliver`), read what they would see (`messages`, `last_bot_message`, `presses`), and
//! wait for the bot by awaiting changes, never by sleeping.
//!
//! It never answers with a 5xx: teloxide waits ten seconds after one.

mod body;
mod html;
mod person;
mod server;
mod views;
mod world;

pub use body::{Params, Upload};
pub use person::Person;
pub use server::{BOT_ID, DEADLINE, FakeBotApi, Sent, TOKEN};
pub use views::{Call, CallbackAnswer, ChatMessage, InlineButton, Press, Rule, Violation};

#[cfg(test)]
mod tests;
