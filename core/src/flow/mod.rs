//! The conversation, messenger-neutral: an [`Incoming`] event from a person in, a [`Reply`]
//! out. Telegram, the terminal chat and tests all drive the same [`Flow`].
//!
//! The flow owns no rules: every step calls a service, which checks who is asking (banned,
//! maintenance, permissions) on that very step. A button carries a typed [`Action`]; one that
//! cannot be decoded, or that no longer applies, gets a short notice and the main menu, and
//! changes nothing.

mod action;
mod screens;

use std::sync::Arc;

pub use action::{Action, ActionError, MAX_ENCODED_LEN};

use crate::error::{Error, Forbidden};
use crate::ids::{ChatId, UserId};
use crate::ports::OutgoingMessage;
use crate::services::Shop;
use crate::user::UserProfile;

/// Something a person did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A command such as `/start`, without the slash, lowercase.
    Command(String),
    /// Free text.
    Text(String),
    /// A button press whose data decoded into an action.
    Button(Action),
    /// A button press whose data did not decode (forged, garbled or from an old version).
    StaleButton,
}

impl Incoming {
    /// Reads a typed line: `/word` is a command, anything else text.
    pub fn from_text(text: &str) -> Incoming {
        let trimmed = text.trim();
        match trimmed.strip_prefix('/') {
            Some(command) => {
                let name = command.split_whitespace().next().unwrap_or_default();
                // "/start@shop_bot" in group chats names the bot; the command is before the @.
                let name = name.split('@').next().unwrap_or_default();
                Incoming::Command(name.to_ascii_lowercase())
            }
            None => Incoming::Text(trimmed.to_owned()),
        }
    }

    /// Decodes button data, never failing: undecodable data is a stale button.
    pub fn from_button(data: &[u8]) -> Incoming {
        match Action::decode(data) {
            Ok(action) => Incoming::Button(action),
            Err(_) => Incoming::StaleButton,
        }
    }
}

/// What to show in answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// The screen: replaces the pressed message after a button, or is sent as a new message.
    pub screen: OutgoingMessage,
    /// A short notice for the button press (or a line above the screen in a terminal).
    pub notice: Option<String>,
}

/// The conversation over one shop.
#[derive(Clone)]
pub struct Flow {
    shop: Arc<Shop>,
}

impl Flow {
    /// A conversation over `shop`.
    pub fn new(shop: Shop) -> Flow {
        Flow {
            shop: Arc::new(shop),
        }
    }

    /// Answers one event from `profile` in `chat`. (The chat will key multi-step dialogues;
    /// the customer screens need none.)
    pub async fn handle(&self, chat: ChatId, profile: UserProfile, incoming: Incoming) -> Reply {
        let _ = chat;
        let user = profile.id;
        let result = match self.know(profile).await {
            Ok(()) => self.dispatch(user, incoming).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(reply) => reply,
            Err(error) => self.refusal(user, &error).await,
        }
    }

    /// Records a person the first time they write, and their new name if it changed.
    async fn know(&self, profile: UserProfile) -> crate::Result<()> {
        let known = self.shop.storage().user(profile.id).await?;
        if known.is_none_or(|u| u.name != profile.name) {
            self.shop.greet(profile).await?;
        }
        Ok(())
    }

    async fn dispatch(&self, user: UserId, incoming: Incoming) -> crate::Result<Reply> {
        let screens = screens::Screens::new(&self.shop, user);
        match incoming {
            Incoming::Command(name) => match name.as_str() {
                "start" | "menu" => screens.menu(Some("Welcome!")).await,
                "cancel" => screens.menu(Some("Cancelled.")).await,
                "help" => screens.help().await,
                "catalog" => screens.catalog(0).await,
                "cart" => screens.cart(None).await,
                "orders" => screens.orders(0).await,
                "wallet" => screens.wallet().await,
                _ => {
                    screens
                        .menu(Some("Unknown command; here is the menu."))
                        .await
                }
            },
            Incoming::Text(_) => screens.menu(Some("Use the buttons below.")).await,
            Incoming::StaleButton => screens.menu(Some(screens::EXPIRED)).await,
            Incoming::Button(action) => screens.press(action).await,
        }
    }

    /// The answer when a service refused: wording for people, never internals.
    async fn refusal(&self, user: UserId, error: &Error) -> Reply {
        let text = match error {
            Error::Forbidden(Forbidden::Banned) => "Your account is blocked.".to_owned(),
            Error::Forbidden(_) => "That is not allowed.".to_owned(),
            Error::Maintenance => {
                "The shop is closed for maintenance. Please come back later.".to_owned()
            }
            Error::RateLimited { retry_after } => format!(
                "Slow down, please: try again in {} s.",
                retry_after.as_secs().max(1)
            ),
            Error::NotFound { .. } => screens::EXPIRED.to_owned(),
            Error::Internal(_) => "Something went wrong. Please try again.".to_owned(),
            other => other.to_string(),
        };
        // The menu itself may be refused (banned, maintenance): then the text alone.
        let screens = screens::Screens::new(&self.shop, user);
        match error {
            Error::Forbidden(Forbidden::Banned) | Error::Maintenance | Error::Internal(_) => {
                Reply {
                    screen: OutgoingMessage {
                        text,
                        buttons: Vec::new(),
                    },
                    notice: None,
                }
            }
            _ => match screens.menu(Some(&text)).await {
                Ok(reply) => reply,
                Err(_) => Reply {
                    screen: OutgoingMessage {
                        text,
                        buttons: Vec::new(),
                    },
                    notice: None,
                },
            },
        }
    }
}
