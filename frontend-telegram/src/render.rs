//! A [`Reply`] of the flow as the Telegram requests that show it, decided without sending
//! anything, so every rule is tested as a pure function.
//!
//! The rules: after a button press the pressed message is edited into the new screen (a photo
//! message, or a screen with a picture, cannot be edited into text: delete it and send
//! anew); after text the screen is a new message. A long screen is split so each part fits
//! one message, the first part edits or is sent and the rest follow, buttons on the last. A
//! picture carries the text as its caption when it fits one, else the picture goes alone and
//! the text follows. Screens use the HTML parse mode; notices are plain text: a toast after a
//! press, a message of their own after text (before the screen, if there is one).

use shopbot_core::flow::Reply;
use shopbot_core::flow::markup::{self, MAX_CAPTION_LEN, MAX_MESSAGE_LEN};
use shopbot_core::ports::{Button, OutgoingMessage};
use shopbot_core::text::ImageRef;

/// The message whose button was pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pressed {
    /// Its id in the chat.
    pub(crate) message_id: i32,
    /// It shows a picture (or anything else but text), so it cannot be edited into text.
    pub(crate) has_media: bool,
}

/// What the reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A message the person sent (text, a command, a file), or the outbox.
    Message,
    /// A button press on `pressed`; `None` when that message is gone or too old to edit.
    Button {
        /// The message with the pressed button.
        pressed: Option<Pressed>,
    },
}

/// One request to Telegram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// `sendMessage` with plain text.
    Notice(String),
    /// `sendMessage` with HTML.
    Send {
        text: String,
        buttons: Vec<Vec<Button>>,
    },
    /// `sendPhoto`, with an HTML caption.
    Photo {
        image: ImageRef,
        caption: Option<String>,
        buttons: Vec<Vec<Button>>,
    },
    /// `editMessageText` with HTML (sent anew if the message cannot be edited).
    Edit {
        message_id: i32,
        text: String,
        buttons: Vec<Vec<Button>>,
    },
    /// `deleteMessage`.
    Delete { message_id: i32 },
}

/// What to do for one reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    /// The text of the callback answer (only for button presses).
    pub(crate) toast: Option<String>,
    /// The requests, in order.
    pub(crate) steps: Vec<Step>,
}

/// The requests that show `reply`, answering `origin`.
pub(crate) fn plan(reply: &Reply, origin: Origin) -> Plan {
    let mut steps = Vec::new();
    let toast = match origin {
        Origin::Button { .. } => reply.notice.clone(),
        Origin::Message => {
            steps.extend(reply.notice.clone().map(Step::Notice));
            None
        }
    };
    if let Some(screen) = &reply.screen {
        match origin {
            Origin::Button {
                pressed: Some(pressed),
            } if !pressed.has_media && screen.image.is_none() => {
                let mut parts = text_parts(screen).into_iter();
                if let Some(Step::Send { text, buttons }) = parts.next() {
                    steps.push(Step::Edit {
                        message_id: pressed.message_id,
                        text,
                        buttons,
                    });
                }
                steps.extend(parts);
            }
            Origin::Button {
                pressed: Some(pressed),
            } => {
                steps.push(Step::Delete {
                    message_id: pressed.message_id,
                });
                steps.extend(screen_steps(screen));
            }
            Origin::Button { pressed: None } | Origin::Message => {
                steps.extend(screen_steps(screen));
            }
        }
    }
    Plan { toast, steps }
}

/// A screen as new messages.
fn screen_steps(screen: &OutgoingMessage) -> Vec<Step> {
    let Some(image) = &screen.image else {
        return text_parts(screen);
    };
    let blank = screen.text.trim().is_empty();
    if blank || markup::len(&screen.text) <= MAX_CAPTION_LEN {
        return vec![Step::Photo {
            image: image.clone(),
            caption: (!blank).then(|| screen.text.clone()),
            buttons: screen.buttons.clone(),
        }];
    }
    let mut steps = vec![Step::Photo {
        image: image.clone(),
        caption: None,
        buttons: Vec::new(),
    }];
    steps.extend(text_parts(screen));
    steps
}

/// A screen's text as messages that each fit, buttons on the last.
fn text_parts(screen: &OutgoingMessage) -> Vec<Step> {
    screen
        .split(MAX_MESSAGE_LEN)
        .into_iter()
        .map(|part| Step::Send {
            text: part.text,
            buttons: part.buttons,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use shopbot_core::flow::Action;

    use super::*;

    fn buttons() -> Vec<Vec<Button>> {
        vec![vec![Button {
            label: "Menu".into(),
            action: Action::Menu,
        }]]
    }

    fn screen(text: &str) -> Reply {
        Reply {
            screen: Some(OutgoingMessage::new(text, buttons())),
            notice: None,
        }
    }

    fn with_image(mut reply: Reply) -> Reply {
        if let Some(screen) = &mut reply.screen {
            screen.image = Some(ImageRef::parse("https://example.com/a.png").unwrap());
        }
        reply
    }

    const TEXT_MESSAGE: Pressed = Pressed {
        message_id: 42,
        has_media: false,
    };
    const PHOTO_MESSAGE: Pressed = Pressed {
        message_id: 42,
        has_media: true,
    };

    /// Lines of 100 characters, `count` of them.
    fn long_text(count: usize) -> String {
        vec!["x".repeat(99); count].join("\n")
    }

    #[test]
    fn a_press_edits_the_pressed_message_and_answers_with_the_notice() {
        let mut reply = screen("<b>Cart</b>");
        reply.notice = Some("Added.".into());
        let plan = plan(
            &reply,
            Origin::Button {
                pressed: Some(TEXT_MESSAGE),
            },
        );
        assert_eq!(plan.toast.as_deref(), Some("Added."));
        assert_eq!(
            plan.steps,
            vec![Step::Edit {
                message_id: 42,
                text: "<b>Cart</b>".into(),
                buttons: buttons(),
            }]
        );
    }

    #[test]
    fn text_gets_a_new_message_after_its_notice() {
        let mut reply = screen("Menu");
        reply.notice = Some("Welcome!".into());
        let plan = plan(&reply, Origin::Message);
        assert_eq!(plan.toast, None);
        assert_eq!(
            plan.steps,
            vec![
                Step::Notice("Welcome!".into()),
                Step::Send {
                    text: "Menu".into(),
                    buttons: buttons(),
                },
            ]
        );
    }

    #[test]
    fn without_a_screen_only_the_notice_is_shown() {
        let reply = Reply {
            screen: None,
            notice: Some("Slow down".into()),
        };
        let pressed = plan(
            &reply,
            Origin::Button {
                pressed: Some(TEXT_MESSAGE),
            },
        );
        assert_eq!(pressed.toast.as_deref(), Some("Slow down"));
        assert!(pressed.steps.is_empty());
        let typed = plan(&reply, Origin::Message);
        assert_eq!(typed.steps, vec![Step::Notice("Slow down".into())]);
    }

    #[test]
    fn an_empty_reply_to_a_press_only_stops_the_spinner() {
        let plan = plan(&Reply::default(), Origin::Button { pressed: None });
        assert_eq!(plan, Plan::default());
    }

    #[test]
    fn a_photo_message_is_deleted_and_the_screen_sent_anew() {
        let plan = plan(
            &screen("Catalog"),
            Origin::Button {
                pressed: Some(PHOTO_MESSAGE),
            },
        );
        assert_eq!(
            plan.steps,
            vec![
                Step::Delete { message_id: 42 },
                Step::Send {
                    text: "Catalog".into(),
                    buttons: buttons(),
                },
            ]
        );
    }

    #[test]
    fn a_screen_with_a_picture_replaces_a_text_message_by_a_photo() {
        let plan = plan(
            &with_image(screen("<b>Game</b>")),
            Origin::Button {
                pressed: Some(TEXT_MESSAGE),
            },
        );
        assert_eq!(plan.steps.len(), 2);
        assert_eq!(plan.steps[0], Step::Delete { message_id: 42 });
        assert!(matches!(
            &plan.steps[1],
            Step::Photo { caption: Some(c), buttons: b, .. } if c == "<b>Game</b>" && *b == buttons()
        ));
    }

    #[test]
    fn a_press_on_a_message_too_old_to_edit_sends_a_new_one() {
        let plan = plan(&screen("Menu"), Origin::Button { pressed: None });
        assert!(matches!(plan.steps.as_slice(), [Step::Send { .. }]));
    }

    #[test]
    fn text_longer_than_a_caption_follows_the_picture() {
        let text = long_text(12); // 1,199 characters: more than a caption, less than a message
        let plan = plan(&with_image(screen(&text)), Origin::Message);
        assert!(matches!(
            plan.steps.as_slice(),
            [
                Step::Photo { caption: None, buttons: photo_buttons, .. },
                Step::Send { text: sent, buttons: text_buttons },
            ] if photo_buttons.is_empty() && *sent == text && *text_buttons == buttons()
        ));
    }

    #[test]
    fn a_caption_of_exactly_the_limit_stays_on_the_picture() {
        let text = "y".repeat(MAX_CAPTION_LEN);
        let plan = plan(&with_image(screen(&text)), Origin::Message);
        assert!(matches!(
            plan.steps.as_slice(),
            [Step::Photo { caption: Some(c), .. }] if c.len() == MAX_CAPTION_LEN
        ));
    }

    #[test]
    fn a_long_screen_edits_with_its_first_part_and_sends_the_rest_with_the_buttons_last() {
        let text = long_text(100); // 9,999 characters: three messages
        let plan = plan(
            &screen(&text),
            Origin::Button {
                pressed: Some(TEXT_MESSAGE),
            },
        );
        let [
            Step::Edit {
                text: first,
                buttons: first_buttons,
                ..
            },
            Step::Send {
                text: second,
                buttons: second_buttons,
            },
            Step::Send {
                text: third,
                buttons: third_buttons,
            },
        ] = plan.steps.as_slice()
        else {
            panic!("expected an edit and two sends: {:?}", plan.steps);
        };
        assert!(first_buttons.is_empty() && second_buttons.is_empty());
        assert_eq!(*third_buttons, buttons());
        for part in [first, second, third] {
            assert!(markup::len(part) <= MAX_MESSAGE_LEN);
        }
        assert_eq!(format!("{first}\n{second}\n{third}"), text);
    }
}
