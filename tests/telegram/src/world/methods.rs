//! The Bot API methods the bot calls, each a function from parameters to a result or a
//! Telegram-style error, and the rules each one enforces.

use serde_json::{Value, json};

use super::{
    ApiError, MAX_ANSWER, MAX_CALLBACK_DATA, MAX_CAPTION, MAX_TEXT, StoredMessage, World, put,
};
use crate::body::Params;
use crate::html;
use crate::views::{CallbackAnswer, Rule};

type Answer = Result<Value, ApiError>;

impl World {
    /// Answers every method but `getUpdates`.
    pub(crate) fn call(&mut self, method: &str, params: &Params) -> Answer {
        match method {
            "getMe" => Ok(json!({
                "id": self.bot_id,
                "is_bot": true,
                "first_name": "Shop",
                "username": "shopbot_test_bot",
                "can_join_groups": true,
                "can_read_all_group_messages": false,
                "supports_inline_queries": false,
                "can_connect_to_business": false,
                "has_main_web_app": false,
            })),
            "getWebhookInfo" => Ok(json!({
                "url": "",
                "has_custom_certificate": false,
                "pending_update_count": self.queue.len(),
            })),
            "deleteWebhook" | "setMyCommands" | "deleteMyCommands" | "sendChatAction" | "close"
            | "logOut" => Ok(Value::Bool(true)),
            "getMyCommands" => Ok(json!([])),
            "sendMessage" => self.send_message(method, params),
            "sendPhoto" => self.send_media(method, params, "photo"),
            "sendDocument" => self.send_media(method, params, "document"),
            "editMessageText" | "editMessageCaption" => self.edit_text(method, params),
            "editMessageReplyMarkup" => self.edit_markup(method, params),
            "answerCallbackQuery" => self.answer_callback(method, params),
            "deleteMessage" => self.delete_message(params),
            "getFile" => self.get_file(params),
            _ => Err(ApiError::not_found()),
        }
    }

    fn chat(&self, params: &Params) -> Result<i64, ApiError> {
        let chat = params
            .int("chat_id")
            .ok_or_else(|| ApiError::bad_request("chat_id is empty"))?;
        if self.chats.contains_key(&chat) {
            Ok(chat)
        } else {
            Err(ApiError::bad_request("chat not found"))
        }
    }

    /// Checks text or a caption against the parse mode and `max`; gives the visible text.
    fn check_text(
        &mut self,
        method: &str,
        params: &Params,
        field: &str,
        max: usize,
    ) -> Result<(String, String), ApiError> {
        let markup = params.str(field).unwrap_or_default();
        let html_mode = params
            .str("parse_mode")
            .is_some_and(|m| m.eq_ignore_ascii_case("html"));
        let visible = if html_mode {
            match html::parse(&markup) {
                Ok(visible) => visible,
                Err(error) => {
                    self.violate(Rule::InvalidHtml, method, format!("{error} in {markup:?}"));
                    return Err(ApiError::bad_request(format!(
                        "can't parse entities: {error}"
                    )));
                }
            }
        } else {
            markup.clone()
        };
        if field == "text" && visible.trim().is_empty() {
            self.violate(Rule::EmptyText, method, "empty text");
            return Err(ApiError::bad_request("message text is empty"));
        }
        let length = html::utf16_len(&visible);
        if length > max {
            let (rule, error) = if field == "text" {
                (Rule::TextTooLong, "message is too long")
            } else {
                (Rule::CaptionTooLong, "message caption is too long")
            };
            self.violate(
                rule,
                method,
                format!("{length} UTF-16 units, at most {max}"),
            );
            return Err(ApiError::bad_request(error));
        }
        Ok((markup, visible))
    }

    fn check_markup(&mut self, method: &str, params: &Params) -> Result<Option<Value>, ApiError> {
        let Some(markup) = params.json("reply_markup") else {
            return Ok(None);
        };
        for button in markup
            .get("inline_keyboard")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
        {
            if let Some(data) = button.get("callback_data").and_then(Value::as_str)
                && data.len() > MAX_CALLBACK_DATA
            {
                self.violate(
                    Rule::CallbackDataTooLong,
                    method,
                    format!("{} bytes: {data:?}", data.len()),
                );
                return Err(ApiError::bad_request("BUTTON_DATA_INVALID"));
            }
        }
        Ok(Some(markup))
    }

    fn send_message(&mut self, method: &str, params: &Params) -> Answer {
        let chat = self.chat(params)?;
        let (markup, visible) = self.check_text(method, params, "text", MAX_TEXT)?;
        let reply_markup = self.check_markup(method, params)?;
        let message = StoredMessage {
            from: self.bot_id,
            markup,
            visible,
            reply_markup,
            ..StoredMessage::default()
        };
        Ok(self.add_message(chat, message).1)
    }

    fn send_media(&mut self, method: &str, params: &Params, field: &str) -> Answer {
        let chat = self.chat(params)?;
        let (markup, visible) = self.check_text(method, params, "caption", MAX_CAPTION)?;
        let reply_markup = self.check_markup(method, params)?;
        let upload = params
            .uploads
            .iter()
            .find(|u| {
                u.field == field
                    || params.str(field).as_deref() == Some(&format!("attach://{}", u.field))
            })
            .cloned();
        let file = match (upload, params.str(field)) {
            (Some(upload), _) => {
                self.store_file(&upload.file_name, &upload.bytes, "application/octet-stream")
            }
            (None, Some(reference)) => {
                json!({ "file_id": reference, "file_unique_id": reference, "file_size": 0 })
            }
            (None, None) => {
                return Err(ApiError::bad_request(format!(
                    "there is no {field} in the request"
                )));
            }
        };
        let mut message = StoredMessage {
            from: self.bot_id,
            markup,
            visible,
            is_caption: true,
            reply_markup,
            ..StoredMessage::default()
        };
        if field == "photo" {
            let mut size = file;
            put(&mut size, "width", json!(640));
            put(&mut size, "height", json!(480));
            message.photo = Some(json!([size]));
        } else {
            message.document = Some(file);
        }
        Ok(self.add_message(chat, message).1)
    }

    fn bot_message(&mut self, params: &Params) -> Result<(i64, i64), ApiError> {
        let chat = self.chat(params)?;
        let id = params
            .int("message_id")
            .ok_or_else(|| ApiError::bad_request("message_id is empty"))?;
        let exists = self
            .chats
            .get(&chat)
            .and_then(|c| c.messages.get(&id))
            .is_some_and(|m| !m.deleted && m.from == self.bot_id);
        if exists {
            Ok((chat, id))
        } else {
            Err(ApiError::bad_request("message to edit not found"))
        }
    }

    fn edit_text(&mut self, method: &str, params: &Params) -> Answer {
        let (chat, id) = self.bot_message(params)?;
        let caption = method == "editMessageCaption";
        let (field, max) = if caption {
            ("caption", MAX_CAPTION)
        } else {
            ("text", MAX_TEXT)
        };
        let (markup, visible) = self.check_text(method, params, field, max)?;
        let reply_markup = self.check_markup(method, params)?;
        let bot_id = self.bot_id;
        let message = self
            .chats
            .get_mut(&chat)
            .and_then(|c| c.messages.get_mut(&id))
            .ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
        if message.from != bot_id {
            return Err(ApiError::bad_request("message can't be edited"));
        }
        if message.is_caption != caption {
            return Err(ApiError::bad_request(if caption {
                "there is no caption in the message to edit"
            } else {
                "there is no text in the message to edit"
            }));
        }
        if message.markup == markup && message.reply_markup == reply_markup {
            return Err(ApiError::bad_request(
                "message is not modified: specified new message content and reply markup are \
                 exactly the same as a current content and reply markup of the message",
            ));
        }
        message.markup = markup;
        message.visible = visible;
        message.reply_markup = reply_markup;
        message.edits += 1;
        let message = message.clone();
        Ok(self.message_json(chat, &message))
    }

    fn edit_markup(&mut self, method: &str, params: &Params) -> Answer {
        let (chat, id) = self.bot_message(params)?;
        let reply_markup = self.check_markup(method, params)?;
        let message = self
            .chats
            .get_mut(&chat)
            .and_then(|c| c.messages.get_mut(&id))
            .ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
        if message.reply_markup == reply_markup {
            return Err(ApiError::bad_request(
                "message is not modified: specified new message content and reply markup are \
                 exactly the same as a current content and reply markup of the message",
            ));
        }
        message.reply_markup = reply_markup;
        message.edits += 1;
        let message = message.clone();
        Ok(self.message_json(chat, &message))
    }

    fn answer_callback(&mut self, method: &str, params: &Params) -> Answer {
        const INVALID: &str =
            "query is too old and response timeout expired or query id is invalid";
        let id = params.str("callback_query_id").unwrap_or_default();
        let text = params.str("text").filter(|t| !t.is_empty());
        if let Some(text) = &text
            && text.chars().count() > MAX_ANSWER
        {
            self.violate(
                Rule::AnswerTooLong,
                method,
                format!("{} characters", text.chars().count()),
            );
            return Err(ApiError::bad_request("MESSAGE_TOO_LONG"));
        }
        let Some(at) = self.presses.iter().position(|p| p.query_id == id) else {
            self.violate(
                Rule::UnknownCallbackQuery,
                method,
                format!("query id {id:?}"),
            );
            return Err(ApiError::bad_request(INVALID));
        };
        let answer = CallbackAnswer {
            text,
            show_alert: params.bool("show_alert"),
        };
        let answered_before = self.presses.get(at).is_some_and(|p| !p.answers.is_empty());
        if let Some(press) = self.presses.get_mut(at) {
            press.answers.push(answer);
        }
        if answered_before {
            self.violate(
                Rule::CallbackAnsweredTwice,
                method,
                format!("query id {id:?}"),
            );
            return Err(ApiError::bad_request(INVALID));
        }
        Ok(Value::Bool(true))
    }

    fn delete_message(&mut self, params: &Params) -> Answer {
        let chat = self.chat(params)?;
        let id = params.int("message_id").unwrap_or_default();
        match self
            .chats
            .get_mut(&chat)
            .and_then(|c| c.messages.get_mut(&id))
            .filter(|m| !m.deleted)
        {
            Some(message) => {
                message.deleted = true;
                Ok(Value::Bool(true))
            }
            None => Err(ApiError::bad_request("message to delete not found")),
        }
    }

    fn get_file(&mut self, params: &Params) -> Answer {
        let id = params.str("file_id").unwrap_or_default();
        match self.files.get(&id) {
            Some(file) => Ok(json!({
                "file_id": id,
                "file_unique_id": format!("U{id}"),
                "file_size": file.bytes.len(),
                "file_path": file.path,
            })),
            None => Err(ApiError::bad_request("invalid file_id")),
        }
    }
}
