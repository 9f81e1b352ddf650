//! A Telegram update as the flow's terms: who, in which chat, did what.
//!
//! Pure: nothing is downloaded or sent here. Updates the shop does not use (edits, channel
//! posts, inline queries, messages without a sender) translate to `None` and are skipped.

use shopbot_core::flow::{Incoming, MAX_UPLOAD_BYTES};
use shopbot_core::ids::{ChatId, UserId};
use shopbot_core::text::PersonName;
use shopbot_core::user::UserProfile;
use teloxide::types::{
    CallbackQueryId, FileId, MaybeInaccessibleMessage, Message, Update, UpdateKind, User,
};

use crate::render::Pressed;

/// One update in the flow's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    /// The chat it happened in (the one updates are serialised by).
    pub(crate) chat: ChatId,
    /// Who did it.
    pub(crate) profile: UserProfile,
    /// What they did.
    pub(crate) what: What,
}

/// What a person did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum What {
    /// Sent a message the flow can take as it is.
    Message(Incoming),
    /// Sent a file small enough to read: download it, then it is an [`Incoming::Document`].
    Document {
        /// The file to download.
        file_id: FileId,
        /// Its name as sent.
        file_name: String,
    },
    /// Pressed a button.
    Button {
        /// The query to answer.
        query: CallbackQueryId,
        /// The decoded button data.
        incoming: Incoming,
        /// The message with the button, if it can still be edited.
        pressed: Option<Pressed>,
    },
}

/// The name a document without one is given.
const UNNAMED_FILE: &str = "document";

/// Translates `update`; `None` for updates the shop does not use.
pub(crate) fn translate(update: &Update) -> Option<Event> {
    match &update.kind {
        UpdateKind::Message(message) => from_message(message),
        UpdateKind::CallbackQuery(query) => {
            let profile = profile(&query.from)?;
            let (chat, pressed) = match &query.message {
                Some(MaybeInaccessibleMessage::Regular(message)) => (
                    ChatId(message.chat.id.0),
                    Some(Pressed {
                        message_id: message.id.0,
                        has_media: message.text().is_none(),
                    }),
                ),
                Some(MaybeInaccessibleMessage::Inaccessible(message)) => {
                    (ChatId(message.chat.id.0), None)
                }
                // A button under an inline message: the person's private chat.
                None => (ChatId(profile.id.0), None),
            };
            let data = query.data.as_deref().unwrap_or_default();
            Some(Event {
                chat,
                profile,
                what: What::Button {
                    query: query.id.clone(),
                    incoming: Incoming::from_button(data.as_bytes()),
                    pressed,
                },
            })
        }
        _ => None,
    }
}

fn from_message(message: &Message) -> Option<Event> {
    let profile = profile(message.from.as_ref()?)?;
    let what = if let Some(text) = message.text() {
        What::Message(Incoming::from_text(text))
    } else if let Some(document) = message.document() {
        let file_name = document
            .file_name
            .clone()
            .unwrap_or_else(|| UNNAMED_FILE.to_owned());
        if u64::from(document.file.size) > MAX_UPLOAD_BYTES {
            What::Message(Incoming::TooLarge { file_name })
        } else {
            What::Document {
                file_id: document.file.id.clone(),
                file_name,
            }
        }
    } else {
        // A sticker, a photo, a voice note: the flow answers text it cannot use with a hint.
        What::Message(Incoming::Text(
            message.caption().unwrap_or_default().trim().to_owned(),
        ))
    };
    Some(Event {
        chat: ChatId(message.chat.id.0),
        profile,
        what,
    })
}

/// The person behind a Telegram user; `None` for bots and ids out of range.
fn profile(user: &User) -> Option<UserProfile> {
    if user.is_bot {
        return None;
    }
    let id = i64::try_from(user.id.0).ok()?;
    let name = match &user.last_name {
        Some(last) => format!("{} {last}", user.first_name),
        None => user.first_name.clone(),
    };
    Some(UserProfile {
        id: UserId(id),
        name: PersonName::lenient(&name),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use serde_json::{Value, json};
    use shopbot_core::flow::Action;
    use shopbot_core::ids::ProductId;

    use super::*;

    fn user() -> Value {
        json!({"id": 1001, "is_bot": false, "first_name": "Ann", "last_name": "Lee"})
    }

    fn chat() -> Value {
        json!({"id": 1001, "type": "private", "first_name": "Ann"})
    }

    fn message(extra: Value) -> Value {
        let mut message =
            json!({"message_id": 7, "date": 1_700_000_000, "chat": chat(), "from": user()});
        for (key, value) in extra.as_object().unwrap() {
            message[key] = value.clone();
        }
        message
    }

    /// An update parsed from JSON text, as it arrives (teloxide's parser expects text).
    fn update(kind: &str, body: Value) -> Update {
        serde_json::from_str(&json!({"update_id": 5, kind: body}).to_string()).unwrap()
    }

    fn translated(update: &Update) -> Event {
        translate(update).unwrap_or_else(|| panic!("the update should translate: {update:?}"))
    }

    #[test]
    fn text_becomes_a_command_or_text_from_the_named_person() {
        let event = translated(&update(
            "message",
            message(json!({"text": "/start@shop_bot"})),
        ));
        assert_eq!(event.chat, ChatId(1001));
        assert_eq!(event.profile.id, UserId(1001));
        assert_eq!(event.profile.name.as_str(), "Ann Lee");
        assert_eq!(event.what, What::Message(Incoming::Command("start".into())));
        let event = translated(&update("message", message(json!({"text": " 5.00 "}))));
        assert_eq!(event.what, What::Message(Incoming::Text("5.00".into())));
    }

    #[test]
    fn button_data_decodes_into_an_action_on_the_pressed_message() {
        let data = Action::Product {
            product: ProductId(3),
        }
        .encode();
        let query = json!({
            "id": "q1", "from": user(), "chat_instance": "c", "data": data,
            "message": message(json!({"text": "Catalog"})),
        });
        let event = translated(&update("callback_query", query));
        assert_eq!(
            event.what,
            What::Button {
                query: CallbackQueryId("q1".into()),
                incoming: Incoming::Button(Action::Product {
                    product: ProductId(3)
                }),
                pressed: Some(Pressed {
                    message_id: 7,
                    has_media: false
                }),
            }
        );
    }

    #[test]
    fn forged_button_data_is_a_stale_button() {
        let query = json!({
            "id": "q2", "from": user(), "chat_instance": "c", "data": "drop table",
            "message": message(json!({"text": "Catalog"})),
        });
        let event = translated(&update("callback_query", query));
        assert!(matches!(
            event.what,
            What::Button {
                incoming: Incoming::StaleButton,
                ..
            }
        ));
    }

    #[test]
    fn a_press_on_a_photo_marks_the_message_as_media() {
        let photo = json!([{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]);
        let query = json!({
            "id": "q3", "from": user(), "chat_instance": "c", "data": "m",
            "message": message(json!({"photo": photo, "caption": "Game"})),
        });
        let event = translated(&update("callback_query", query));
        let What::Button { pressed, .. } = event.what else {
            panic!("not a button: {event:?}");
        };
        assert_eq!(
            pressed,
            Some(Pressed {
                message_id: 7,
                has_media: true
            })
        );
    }

    #[test]
    fn a_small_document_is_downloaded_and_a_large_one_is_not() {
        let document = |size: u64| json!({"document": {"file_id": "f1", "file_unique_id": "u1", "file_name": "keys.txt", "file_size": size}});
        let small = translated(&update("message", message(document(MAX_UPLOAD_BYTES))));
        assert_eq!(
            small.what,
            What::Document {
                file_id: FileId("f1".into()),
                file_name: "keys.txt".into()
            }
        );
        let large = translated(&update("message", message(document(MAX_UPLOAD_BYTES + 1))));
        assert_eq!(
            large.what,
            What::Message(Incoming::TooLarge {
                file_name: "keys.txt".into()
            })
        );
    }

    #[test]
    fn updates_the_shop_does_not_use_are_skipped() {
        let edited = update(
            "edited_message",
            message(json!({"text": "hi", "edit_date": 1})),
        );
        assert_eq!(translate(&edited), None);
        let mut from_bot = message(json!({"text": "hi"}));
        from_bot["from"]["is_bot"] = json!(true);
        assert_eq!(translate(&update("message", from_bot)), None);
    }
}
