use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::error::Result;
use crate::ids::ChatId;
use crate::text::ImageRef;

/// A button under a message; pressing it sends its [`Action`] back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// What the button says.
    pub label: String,
    /// What pressing it does.
    pub action: Action,
}

/// A platform-neutral message: text in the flow's small HTML subset (see
/// [`markup`](crate::markup)), rows of buttons and an optional picture.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// The text, as markup: user-provided parts are escaped.
    pub text: String,
    /// Rows of buttons, top to bottom.
    pub buttons: Vec<Vec<Button>>,
    /// A picture shown above the text (the text becomes its caption when it fits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
}

impl OutgoingMessage {
    /// A message with `text` and `buttons` and no picture.
    pub fn new(text: impl Into<String>, buttons: Vec<Vec<Button>>) -> Self {
        OutgoingMessage {
            text: text.into(),
            buttons,
            image: None,
        }
    }

    /// The message cut into parts that each fit a messenger message of `max` code units (see
    /// [`markup::split`](crate::markup::split)); the picture goes with the first part and
    /// the buttons with the last.
    pub fn split(&self, max: usize) -> Vec<OutgoingMessage> {
        let texts = crate::markup::split(&self.text, max);
        let last = texts.len().saturating_sub(1);
        texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| OutgoingMessage {
                text,
                buttons: if i == last {
                    self.buttons.clone()
                } else {
                    Vec::new()
                },
                image: if i == 0 { self.image.clone() } else { None },
            })
            .collect()
    }
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
