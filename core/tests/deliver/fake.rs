//! A messenger that records what it is asked to send and fails as a test scripts it.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use shopbot_core::flow::markup;
use shopbot_core::ids::ChatId;
use shopbot_core::ports::{Messenger, OutgoingMessage, SendError};

#[derive(Default)]
pub struct FakeMessenger {
    /// The chat and plain text of every message sent, in order.
    sent: Mutex<Vec<(i64, String)>>,
    /// The chat and markup of every message sent, in order.
    markups: Mutex<Vec<(i64, String)>>,
    /// How the next sends fail, first first; a send with none left succeeds.
    failures: Mutex<VecDeque<SendError>>,
}

impl FakeMessenger {
    pub fn fail_next(&self, error: SendError) {
        self.failures.lock().unwrap().push_back(error);
    }

    pub fn sent(&self) -> Vec<(i64, String)> {
        self.sent.lock().unwrap().clone()
    }

    /// The markup of the messages sent to `chat`.
    pub fn markup_to(&self, chat: i64) -> Vec<String> {
        let sent = self.markups.lock().unwrap();
        sent.iter()
            .filter(|(to, _)| *to == chat)
            .map(|(_, markup)| markup.clone())
            .collect()
    }

    /// The texts sent to `chat`.
    pub fn sent_to(&self, chat: i64) -> Vec<String> {
        let sent = self.sent.lock().unwrap();
        sent.iter()
            .filter(|(to, _)| *to == chat)
            .map(|(_, text)| text.clone())
            .collect()
    }
}

#[async_trait]
impl Messenger for FakeMessenger {
    async fn send(&self, chat: ChatId, message: &OutgoingMessage) -> Result<(), SendError> {
        if let Some(error) = self.failures.lock().unwrap().pop_front() {
            return Err(error);
        }
        let text = markup::plain(&message.text);
        self.markups
            .lock()
            .unwrap()
            .push((chat.0, message.text.clone()));
        self.sent.lock().unwrap().push((chat.0, text));
        Ok(())
    }
}
