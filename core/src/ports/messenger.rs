use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::flow::Action;
use crate::ids::ChatId;

/// A button under a message; pressing it sends its [`Action`] back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// What the button says.
    pub label: String,
    /// What pressing it does.
    pub action: Action,
}

/// A platform-neutral message: plain text (the messenger escapes it) and rows of buttons.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// The text.
    pub text: String,
    /// Rows of buttons, top to bottom.
    pub buttons: Vec<Vec<Button>>,
}

/// A message the messenger sent, so it can be edited later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageRef {
    /// The chat it is in.
    pub chat: ChatId,
    /// The messenger's id of the message within the chat.
    pub message_id: i64,
}

/// A file to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The file name shown to the user.
    pub file_name: String,
    /// The contents.
    pub bytes: Vec<u8>,
    /// An optional caption.
    pub caption: Option<String>,
}

/// A messenger that core can talk through (Telegram, a terminal, a test double).
#[async_trait]
pub trait Messenger: Send + Sync {
    /// Sends a new message to `chat`.
    async fn send(&self, chat: ChatId, message: &OutgoingMessage) -> Result<MessageRef>;

    /// Replaces the text and buttons of a message sent before. Editing a message into what it
    /// already shows is not an error.
    async fn edit(&self, message: MessageRef, new: &OutgoingMessage) -> Result<()>;

    /// Answers a button press (`press_id` is the messenger's id of the press) with an optional
    /// short notice. Every press is answered exactly once.
    async fn answer_button(&self, press_id: &str, notice: Option<&str>) -> Result<()>;

    /// Sends a file to `chat`.
    async fn send_document(&self, chat: ChatId, document: &Document) -> Result<MessageRef>;
}
