//! People who talk to the bot through the fake Bot API: they write, press buttons by their
//! labels and wait for the bot to act, as a person would.

use std::sync::Arc;

use crate::{ChatMessage, FakeBotApi, Press};

/// A person in their private chat with the bot (chat id = user id), who writes, presses
/// buttons and waits for the bot's answers, never for a fixed time.
#[derive(Clone)]
pub struct Person {
    api: Arc<FakeBotApi>,
    /// Their Telegram user id.
    pub id: i64,
}

impl Person {
    /// `id`, in their private chat with the bot `api` serves.
    pub fn new(api: Arc<FakeBotApi>, id: i64) -> Person {
        Person { api, id }
    }

    /// Writes `text` and waits for the bot's answer: a screen (a message with buttons) after
    /// it. Returns that screen.
    pub async fn send(&self, text: &str) -> ChatMessage {
        let sent = self.api.send_text(self.id, text);
        self.screen_after(sent.message_id, text).await
    }

    /// Writes `text` and waits for the bot's answer saying `expected`. Deliveries from the
    /// outbox (with buttons of their own) may arrive before or after it.
    pub async fn send_until(&self, text: &str, expected: &str) -> ChatMessage {
        let sent = self.api.send_text(self.id, text);
        let (api, chat) = (&self.api, self.id);
        self.api
            .wait_for(
                &format!("an answer to {text:?} saying {expected:?} in chat {chat}"),
                |_| {
                    api.bot_messages_after(chat, sent.message_id)
                        .into_iter()
                        .find(|m| m.text.contains(expected))
                },
            )
            .await
    }

    /// Sends a file and waits for a screen after it.
    pub async fn upload(&self, file_name: &str, bytes: &[u8]) -> ChatMessage {
        let sent = self.api.send_document(self.id, file_name, bytes);
        self.screen_after(sent.message_id, file_name).await
    }

    async fn screen_after(&self, message_id: i64, what: &str) -> ChatMessage {
        let (api, chat) = (&self.api, self.id);
        self.api
            .wait_for(
                &format!("a screen answering {what:?} in chat {chat}"),
                |_| {
                    api.bot_messages_after(chat, message_id)
                        .into_iter()
                        .rev()
                        .find(|m| !m.buttons.is_empty())
                },
            )
            .await
    }

    /// Writes `text` and waits until the bot sent anything after it (a notice will do).
    pub async fn send_expecting_any(&self, text: &str) -> Vec<ChatMessage> {
        let sent = self.api.send_text(self.id, text);
        let (api, chat) = (&self.api, self.id);
        self.api
            .wait_for(&format!("any answer to {text:?} in chat {chat}"), |_| {
                Some(api.bot_messages_after(chat, sent.message_id)).filter(|m| !m.is_empty())
            })
            .await
    }

    /// The bot's latest message with buttons: the screen the person looks at.
    pub fn current(&self) -> ChatMessage {
        self.api
            .messages(self.id)
            .into_iter()
            .rev()
            .find(|m| m.from_bot && !m.buttons.is_empty())
            .unwrap_or_else(|| panic!("chat {} shows no screen", self.id))
    }

    /// The text of the bot's latest message, as a person reads it.
    pub fn screen(&self) -> String {
        self.api
            .last_bot_message(self.id)
            .map(|m| m.text)
            .unwrap_or_default()
    }

    /// The labels on the current screen, row after row.
    pub fn buttons(&self) -> Vec<String> {
        self.current()
            .all_buttons()
            .map(|b| b.label.clone())
            .collect()
    }

    /// Presses the button labelled `label` on the current screen; returns once the bot answered
    /// the press and acted in the chat (edited or sent).
    pub async fn press(&self, label: &str) -> Press {
        let screen = self.current();
        // The exact label, else the one button whose label starts with it ("Pixel Racers"
        // for "Pixel Racers · 9.99 USD").
        let starting: Vec<&str> = screen
            .all_buttons()
            .filter(|b| b.label.starts_with(label))
            .filter_map(|b| b.data.as_deref())
            .collect();
        let data = screen.data_of(label).or(match starting.as_slice() {
            [only] => Some(*only),
            _ => None,
        });
        let data = data.unwrap_or_else(|| {
            panic!(
                "no button {label:?} on the screen {:?}; buttons: {:?}",
                screen.text,
                self.buttons()
            )
        });
        self.press_data_on(screen.id, data).await
    }

    /// Presses a button with `data` (any data, forged or not) under message `message_id`;
    /// returns once the press is answered and the bot acted in the chat.
    pub async fn press_data_on(&self, message_id: i64, data: &str) -> Press {
        let before = self.api.activity(self.id);
        let seq = self.api.call_count();
        let editable = self
            .api
            .messages(self.id)
            .iter()
            .any(|m| m.id == message_id && m.from_bot);
        let press = self.api.press(self.id, message_id, data);
        let press = self.api.wait_answered(&press.query_id).await;
        if editable {
            // The new screen replaces the pressed message (an edit, or a deletion before a
            // new message); a delivery from the outbox in between does not count.
            let (api, chat) = (&self.api, self.id);
            let what = format!("message {message_id} in chat {chat} to be replaced");
            api.wait_for(&what, |_| {
                api.touched_since(seq, chat, message_id).then_some(())
            })
            .await;
            // A deleted message is followed by the new one.
            if !api.messages(chat).iter().any(|m| m.id == message_id) {
                self.screen_after(message_id, data).await;
            }
        } else {
            self.api.wait_activity(self.id, before).await;
        }
        press
    }

    /// Taps the button labelled `label` on the current screen twice at once, as a double tap
    /// does; returns both presses once both are answered and the bot acted on both.
    pub async fn double_tap(&self, label: &str) -> Vec<Press> {
        let screen = self.current();
        let data = screen
            .data_of(label)
            .unwrap_or_else(|| panic!("no button {label:?} on the screen {:?}", screen.text))
            .to_owned();
        let before = self.api.activity(self.id);
        let taps = [
            self.api.press(self.id, screen.id, &data),
            self.api.press(self.id, screen.id, &data),
        ];
        let mut answered = Vec::new();
        for tap in &taps {
            answered.push(self.api.wait_answered(&tap.query_id).await);
        }
        let chat = self.id;
        self.api
            .wait_for("both taps shown", |api| {
                (api.activity(chat) >= before + 2).then_some(())
            })
            .await;
        answered
    }

    /// Presses a button with `data` under the current screen and waits only for the answer.
    pub async fn press_expecting_toast(&self, data: &str) -> Press {
        let press = self.api.press(self.id, self.current().id, data);
        self.api.wait_answered(&press.query_id).await
    }
}
