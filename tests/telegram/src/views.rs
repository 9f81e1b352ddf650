//! What a test reads from the fake server: chats as a person sees them, answers to button
//! presses, every call the bot made and every rule it broke.

use std::time::Duration;

use serde_json::Value;

/// A button under a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineButton {
    /// What it says.
    pub label: String,
    /// Its callback data, if it is a callback button.
    pub data: Option<String>,
}

/// A message as it shows in a chat now: after every edit, without deleted ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Its id within the chat.
    pub id: i64,
    /// Whether the bot sent it (else the person did).
    pub from_bot: bool,
    /// The text or caption as the bot sent it (HTML markup, if it used HTML).
    pub markup: String,
    /// The text or caption as a person reads it: tags dropped, entities decoded.
    pub text: String,
    /// Rows of inline buttons.
    pub buttons: Vec<Vec<InlineButton>>,
    /// The file name of an attached document.
    pub document: Option<String>,
    /// Whether it shows a photo.
    pub photo: bool,
    /// How many times it was edited.
    pub edits: u32,
}

impl ChatMessage {
    /// Every button, row after row.
    pub fn all_buttons(&self) -> impl Iterator<Item = &InlineButton> {
        self.buttons.iter().flatten()
    }

    /// The callback data of the button labelled `label`, if there is one.
    pub fn data_of(&self, label: &str) -> Option<&str> {
        self.all_buttons()
            .find(|b| b.label == label)
            .and_then(|b| b.data.as_deref())
    }
}

/// One answer the bot gave to a button press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    /// The notice shown, if any.
    pub text: Option<String>,
    /// Whether it was an alert (a dialog) rather than a toast.
    pub show_alert: bool,
}

/// A button press a test made, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Press {
    /// The callback query id.
    pub query_id: String,
    /// The update that carried it.
    pub update_id: i64,
    /// Who pressed.
    pub user: i64,
    /// The message the button was under.
    pub message_id: i64,
    /// The data sent.
    pub data: String,
    /// Every answer, in order (exactly one is right).
    pub answers: Vec<CallbackAnswer>,
}

/// One request the bot made.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Its place in the order of all calls, from 0.
    pub seq: usize,
    /// The method, in the Bot API's spelling (`sendMessage`), whatever case the bot used.
    pub method: String,
    /// The parameters as parsed (uploads shown by file name and size).
    pub params: Value,
    /// The error the server answered with, if it refused the call.
    pub error: Option<String>,
    /// When it arrived, since the server started.
    pub at: Duration,
}

impl Call {
    /// The `chat_id` parameter, if it is a number.
    pub fn chat_id(&self) -> Option<i64> {
        match self.params.get("chat_id")? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}

impl Call {
    /// The `message_id` parameter, if it is a number.
    pub fn message_id(&self) -> Option<i64> {
        match self.params.get("message_id")? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}

/// A Telegram rule the bot broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Callback data over 64 bytes.
    CallbackDataTooLong,
    /// Text over 4096 UTF-16 units after entity parsing.
    TextTooLong,
    /// A caption over 1024 UTF-16 units after entity parsing.
    CaptionTooLong,
    /// A callback query answered a second time.
    CallbackAnsweredTwice,
    /// An answer to a callback query id the server never issued.
    UnknownCallbackQuery,
    /// HTML that Telegram cannot parse (unknown or unbalanced tags).
    InvalidHtml,
    /// A callback answer's notice over 200 characters.
    AnswerTooLong,
    /// An empty message text.
    EmptyText,
}

/// A broken rule, with the call that broke it.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Which rule.
    pub rule: Rule,
    /// The method called.
    pub method: String,
    /// What exactly was wrong.
    pub detail: String,
}
