//! Talking to the Bot API: the one place that builds requests, throttles them, waits out
//! flood control and turns a [`Plan`](crate::render::Plan)'s steps into calls.
//!
//! Errors leave here as teloxide's [`RequestError`], whose network errors never carry the
//! token (teloxide strips it from URLs); callers log them with the update they belong to.

use std::sync::Arc;

use futures_util::StreamExt;
use shopbot_core::flow::MAX_UPLOAD_BYTES;
use shopbot_core::ports::Button;
use shopbot_core::text::ImageRef;
use teloxide::net::Download;
use teloxide::payloads::setters::*;
use teloxide::prelude::Requester;
use teloxide::requests::Request;
use teloxide::types::{
    CallbackQueryId, ChatId, FileId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile,
    MessageId, ParseMode,
};
use teloxide::{Bot, RequestError};

use crate::TelegramError;
use crate::config::TelegramConfig;
use crate::limit::Limiter;
use crate::render::Step;
use crate::retry::{Failure, classify, with_retry};

/// The bot client `config` describes.
pub(crate) fn bot(config: &TelegramConfig) -> Result<Bot, TelegramError> {
    // The client's timeout must outlast a long poll; teloxide widens it for getUpdates.
    let client = teloxide::net::default_reqwest_settings()
        .build()
        .map_err(|e| TelegramError::Client(e.to_string()))?;
    let bot = Bot::with_client(config.token.clone(), client);
    Ok(match &config.api_url {
        Some(url) => bot.set_api_url(crate::config::parse_api_url(url)?),
        None => bot,
    })
}

/// Sends through one [`Bot`], throttled, with flood control waited out.
#[derive(Clone)]
pub(crate) struct Sender {
    bot: Bot,
    limit: Option<Arc<Limiter>>,
}

impl Sender {
    pub(crate) fn new(bot: Bot, limit: Option<Arc<Limiter>>) -> Sender {
        Sender { bot, limit }
    }

    /// The client, for requests that need no throttle (polling, startup).
    pub(crate) fn bot(&self) -> &Bot {
        &self.bot
    }

    async fn throttle(&self, chat: ChatId) {
        if let Some(limit) = &self.limit {
            limit.wait(chat.0).await;
        }
    }

    /// Runs `steps` in `chat` in order. An edit that Telegram refuses (the message is gone or
    /// too old) is sent as a new message instead; a deletion that fails is skipped. Stops at
    /// the first send that fails.
    pub(crate) async fn execute(&self, chat: ChatId, steps: Vec<Step>) -> Result<(), RequestError> {
        for step in steps {
            match step {
                Step::Notice(text) => {
                    let request = self.bot.send_message(chat, text);
                    self.send(chat, &request).await?;
                }
                Step::Send { text, buttons } => self.send_text(chat, text, &buttons).await?,
                Step::Photo {
                    image,
                    caption,
                    buttons,
                } => {
                    let mut request = self.bot.send_photo(chat, input_file(&image));
                    if let Some(caption) = caption {
                        request = request.caption(caption).parse_mode(ParseMode::Html);
                    }
                    if !buttons.is_empty() {
                        request = request.reply_markup(keyboard(&buttons));
                    }
                    self.send(chat, &request).await?;
                }
                Step::Edit {
                    message_id,
                    text,
                    buttons,
                } => {
                    let mut request = self
                        .bot
                        .edit_message_text(chat, MessageId(message_id), text.clone())
                        .parse_mode(ParseMode::Html);
                    if !buttons.is_empty() {
                        request = request.reply_markup(keyboard(&buttons));
                    }
                    match self.send(chat, &request).await {
                        Ok(()) => {}
                        Err(error) => match classify(&error) {
                            Failure::NotModified => {}
                            Failure::Transient => {
                                tracing::debug!(%error, "cannot edit the pressed message; sending anew");
                                self.send_text(chat, text, &buttons).await?;
                            }
                            Failure::Permanent | Failure::RetryAfter(_) => return Err(error),
                        },
                    }
                }
                Step::Delete { message_id } => {
                    let request = self.bot.delete_message(chat, MessageId(message_id));
                    if let Err(error) = with_retry(|| request.send_ref()).await {
                        tracing::debug!(%error, "cannot delete the pressed message");
                    }
                }
            }
        }
        Ok(())
    }

    async fn send_text(
        &self,
        chat: ChatId,
        text: String,
        buttons: &[Vec<Button>],
    ) -> Result<(), RequestError> {
        let mut request = self
            .bot
            .send_message(chat, text)
            .parse_mode(ParseMode::Html);
        if !buttons.is_empty() {
            request = request.reply_markup(keyboard(buttons));
        }
        self.send(chat, &request).await
    }

    /// Sends `request` in its turn, waiting out flood control.
    async fn send<R>(&self, chat: ChatId, request: &R) -> Result<(), RequestError>
    where
        R: Request<Err = RequestError>,
    {
        with_retry(|| async {
            self.throttle(chat).await;
            request.send_ref().await.map(drop)
        })
        .await
    }

    /// Answers a callback query with an optional toast.
    pub(crate) async fn answer(
        &self,
        query: CallbackQueryId,
        toast: Option<String>,
    ) -> Result<(), RequestError> {
        let mut request = self.bot.answer_callback_query(query);
        if let Some(text) = toast {
            request = request.text(text);
        }
        with_retry(|| request.send_ref()).await.map(drop)
    }

    /// Downloads a file of at most [`MAX_UPLOAD_BYTES`]; `None` when it turns out larger.
    pub(crate) async fn download(&self, file: FileId) -> Result<Option<Vec<u8>>, RequestError> {
        let request = self.bot.get_file(file);
        let file = with_retry(|| request.send_ref()).await?;
        if u64::from(file.meta.size) > MAX_UPLOAD_BYTES {
            return Ok(None);
        }
        let mut stream = self.bot.download_file_stream(&file.path);
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(RequestError::from)?;
            // The size Telegram reported may be missing; the limit holds all the same.
            if (bytes.len() + chunk.len()) as u64 > MAX_UPLOAD_BYTES {
                return Ok(None);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(bytes))
    }
}

/// Rows of buttons as an inline keyboard; each button's data is its encoded action.
fn keyboard(rows: &[Vec<Button>]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(rows.iter().map(|row| {
        row.iter().map(|button| {
            InlineKeyboardButton::callback(button.label.clone(), button.action.encode())
        })
    }))
}

/// A picture reference as Telegram takes it: an http(s) URL, else a file id.
fn input_file(image: &ImageRef) -> InputFile {
    match url::Url::parse(image.as_str()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => InputFile::url(url),
        _ => InputFile::file_id(FileId(image.as_str().to_owned())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use shopbot_core::flow::Action;

    use super::*;

    #[test]
    fn buttons_carry_their_encoded_action() {
        let rows = vec![vec![Button {
            label: "Cart".into(),
            action: Action::Cart,
        }]];
        let markup = serde_json::to_value(keyboard(&rows)).unwrap();
        assert_eq!(markup["inline_keyboard"][0][0]["text"], "Cart");
        assert_eq!(
            markup["inline_keyboard"][0][0]["callback_data"],
            Action::Cart.encode()
        );
    }
}
