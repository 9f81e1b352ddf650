//! The conversation, messenger-neutral: an [`Incoming`] event from a person in, a [`Reply`]
//! out. Telegram, the terminal chat and tests all drive the same [`Flow`].
//!
//! The flow owns no rules: every step calls a service, which checks who is asking (banned,
//! maintenance, permissions) on that very step, also the later steps of a dialogue. A button
//! carries a typed [`Action`]; one that cannot be decoded, or that no longer applies, gets a
//! short notice and the main menu, and changes nothing. Multi-step dialogues keep their place
//! in storage per (chat, user), so they survive a restart and never mix two people's input.

mod admin;
mod dialogue;
mod limits;
mod notices;
mod purchase;
mod screens;
mod staff_notice;
mod steps;

use std::sync::Arc;
use std::time::Duration;

// Re-exported where embedders and front ends have always found them; they live at the crate
// root because the `ports` message types carry them too.
pub use crate::action::{Action, ActionError, MAX_ENCODED_LEN};
pub use crate::markup;
pub use limits::RateLimit;

use crate::error::{Error, Forbidden};
use crate::ids::{ChatId, UpdateId, UserId};
use crate::outbox::OutboxMessage;
use crate::ports::OutgoingMessage;
use crate::services::Shop;
use crate::user::UserProfile;

use dialogue::Step;
use limits::Limiter;

/// The largest document the flow reads (a stock file); a front end does not download a bigger
/// one and reports it as [`Incoming::TooLarge`] instead.
pub const MAX_UPLOAD_BYTES: u64 = 1024 * 1024;

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
    /// A file the person sent, downloaded (at most [`MAX_UPLOAD_BYTES`]).
    Document {
        /// The file's name as sent.
        file_name: String,
        /// Its contents.
        bytes: Vec<u8>,
    },
    /// A file too large to read.
    TooLarge {
        /// The file's name as sent.
        file_name: String,
    },
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

    /// Whether answering this costs the shop more than a screen (a purchase, a stock import),
    /// so the stricter rate limit applies.
    fn is_expensive(&self) -> bool {
        matches!(
            self,
            Incoming::Button(Action::ConfirmCheckout { .. } | Action::ConfirmBuyNow { .. })
                | Incoming::Document { .. }
        )
    }
}

/// What to show in answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// The screen: replaces the pressed message after a button, or is sent as a new message
    /// after text. `None` leaves what the person sees as it is (the notice says why).
    pub screen: Option<OutgoingMessage>,
    /// A short plain-text notice: the answer to a button press (a toast), or a message of its
    /// own when there is no screen. After typed text a screen carries its notice in its first
    /// line instead, since there is no button press to answer.
    pub notice: Option<String>,
}

impl Reply {
    /// A reply with only a notice.
    fn notice(text: impl Into<String>) -> Reply {
        Reply {
            screen: None,
            notice: Some(text.into()),
        }
    }
}

/// The kind of typed answer the current screen asks for (see [`Flow::awaited_text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextInput {
    /// One line: a name, a price, an amount, a user id.
    Line,
    /// Several lines sent as one message: stock keys, one per line.
    Lines,
}

/// How the conversation treats people: rate limits and the support contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowConfig {
    /// How often one person may send anything.
    pub updates: RateLimit,
    /// How often one person may buy or import stock.
    pub expensive: RateLimit,
    /// Who customers should write to for help (shown on the help screen).
    pub support: Option<String>,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            updates: RateLimit::new(20, Duration::from_millis(500)),
            expensive: RateLimit::new(3, Duration::from_secs(5)),
            support: None,
        }
    }
}

/// The conversation over one shop.
#[derive(Clone)]
pub struct Flow {
    shop: Arc<Shop>,
    config: Arc<FlowConfig>,
    updates: Arc<Limiter>,
    expensive: Arc<Limiter>,
}

impl Flow {
    /// A conversation over `shop` with the default [`FlowConfig`].
    pub fn new(shop: Shop) -> Flow {
        Flow::with_config(shop, FlowConfig::default())
    }

    /// A conversation over `shop` with `config`.
    pub fn with_config(shop: Shop, config: FlowConfig) -> Flow {
        Flow {
            updates: Arc::new(Limiter::new(config.updates)),
            expensive: Arc::new(Limiter::new(config.expensive)),
            shop: Arc::new(shop),
            config: Arc::new(config),
        }
    }

    /// The shop the conversation runs on.
    pub fn shop(&self) -> &Shop {
        &self.shop
    }

    /// The typed answer the conversation of `user` in `chat` waits for, or `None` when its
    /// screen offers only buttons and commands.
    ///
    /// While a dialogue waits for text, any text (a number too) answers it; a front end that
    /// reads button presses and text from one keyboard, such as the terminal chat, asks this to
    /// tell a typed `5` (a price) from a press of button 5.
    pub async fn awaited_text(
        &self,
        chat: ChatId,
        user: UserId,
    ) -> crate::Result<Option<TextInput>> {
        let step = dialogue::Dialogues::new(&self.shop, chat, user)
            .current()
            .await?;
        Ok(step.as_ref().map(Step::input))
    }

    /// Answers a messenger update once: a redelivered `update` (the same id again, after a
    /// crash or a retry) gets an empty reply and changes nothing.
    ///
    /// The id is recorded before the update is handled, so a crash in between loses that one
    /// tap rather than doubling it; the steps that move money or stock carry their own
    /// idempotency keys besides.
    pub async fn handle_update(
        &self,
        update: UpdateId,
        chat: ChatId,
        profile: UserProfile,
        incoming: Incoming,
    ) -> crate::Result<Reply> {
        let now = self.shop.clock().now();
        if !self
            .shop
            .storage()
            .mark_update_processed(update, now)
            .await?
        {
            return Ok(Reply::default());
        }
        Ok(self.handle(chat, profile, incoming).await)
    }

    /// Answers one event from `profile` in `chat`.
    pub async fn handle(&self, chat: ChatId, profile: UserProfile, incoming: Incoming) -> Reply {
        let pressed = matches!(incoming, Incoming::Button(_) | Incoming::StaleButton);
        let mut reply = self.answer(chat, profile, incoming).await;
        if !pressed
            && let Some(screen) = &mut reply.screen
            && let Some(notice) = reply.notice.take()
        {
            screen.text = format!("<i>{}</i>\n\n{}", markup::escape(&notice), screen.text);
        }
        reply
    }

    async fn answer(&self, chat: ChatId, profile: UserProfile, incoming: Incoming) -> Reply {
        let user = profile.id;
        let now = self.shop.clock().now();
        if let Err(retry_after) = self.updates.check(user, now) {
            return slow_down(retry_after);
        }
        if incoming.is_expensive()
            && let Err(retry_after) = self.expensive.check(user, now)
        {
            return slow_down(retry_after);
        }
        let result = match self.know(profile).await {
            Ok(()) => self.dispatch(chat, user, incoming).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(reply) => reply,
            Err(error) => self.refusal(user, &error).await,
        }
    }

    /// The message that tells `message.user` about a state change from the outbox (keys of a
    /// paid order, an invoice, a refund).
    pub async fn outbox_message(&self, message: &OutboxMessage) -> crate::Result<OutgoingMessage> {
        screens::Screens::new(&self.shop, &self.config, message.user)
            .outbox(&message.body)
            .await
    }

    /// Records a person the first time they write, and their new name if it changed.
    async fn know(&self, profile: UserProfile) -> crate::Result<()> {
        let known = self.shop.storage().user(profile.id).await?;
        if known.is_none_or(|u| u.name != profile.name) {
            self.shop.greet(profile).await?;
        }
        Ok(())
    }

    async fn dispatch(
        &self,
        chat: ChatId,
        user: UserId,
        incoming: Incoming,
    ) -> crate::Result<Reply> {
        let screens = screens::Screens::new(&self.shop, &self.config, user);
        let dialogue = dialogue::Dialogues::new(&self.shop, chat, user);
        let step = dialogue.current().await?;
        match incoming {
            Incoming::Text(text) => match step {
                Some(step) => {
                    admin::Admin::new(&screens, &dialogue)
                        .answer(step, &text)
                        .await
                }
                None => screens.menu(Some("Use the buttons below.")).await,
            },
            Incoming::Document { file_name, bytes } => {
                admin::Admin::new(&screens, &dialogue)
                    .upload(step, &file_name, &bytes)
                    .await
            }
            Incoming::TooLarge { file_name } => {
                let limit = MAX_UPLOAD_BYTES / 1024;
                Ok(Reply::notice(format!(
                    "{file_name} is too large: send a text file of at most {limit} KiB."
                )))
            }
            other => {
                // A command or a button leaves any dialogue in progress.
                if step.is_some() {
                    dialogue.clear().await?;
                }
                self.navigate(&screens, &dialogue, step, other).await
            }
        }
    }

    async fn navigate(
        &self,
        screens: &screens::Screens<'_>,
        dialogue: &dialogue::Dialogues<'_>,
        step: Option<Step>,
        incoming: Incoming,
    ) -> crate::Result<Reply> {
        let admin = admin::Admin::new(screens, dialogue);
        match incoming {
            Incoming::Command(name) => match name.as_str() {
                "start" | "menu" => screens.menu(Some("Welcome!")).await,
                "cancel" => {
                    let notice = match step {
                        Some(_) => "Cancelled.",
                        None => "Nothing to cancel.",
                    };
                    screens.menu(Some(notice)).await
                }
                "help" => screens.help().await,
                "catalog" => screens.catalog(0).await,
                "cart" => screens.cart(None).await,
                "orders" => screens.orders(0).await,
                "wallet" => screens.wallet().await,
                "admin" => admin.menu(None).await,
                _ => {
                    screens
                        .menu(Some("Unknown command; here is the menu."))
                        .await
                }
            },
            Incoming::Button(action) if action.is_admin() => admin.press(action).await,
            Incoming::Button(action) => screens.press(action).await,
            _ => screens.menu(Some(screens::EXPIRED)).await,
        }
    }

    /// The answer when a service refused: wording for people, never internals (those go to
    /// the log, inside the front end's span for the update).
    async fn refusal(&self, user: UserId, error: &Error) -> Reply {
        if let Error::Internal(internal) = error {
            tracing::error!(user = user.0, error = %internal.source_error(), "handler failed");
        }
        let text = match error {
            Error::Forbidden(Forbidden::Banned) => "Your account is blocked.".to_owned(),
            Error::Forbidden(_) => "That is not allowed.".to_owned(),
            Error::Maintenance => {
                "The shop is closed for maintenance. Please come back later.".to_owned()
            }
            Error::RateLimited { retry_after } => return slow_down(*retry_after),
            Error::NotFound { .. } => screens::EXPIRED.to_owned(),
            Error::Internal(_) => "Something went wrong. Please try again.".to_owned(),
            other => other.to_string(),
        };
        // The menu itself may be refused (banned, maintenance): then the notice alone.
        match error {
            Error::Forbidden(Forbidden::Banned) | Error::Maintenance | Error::Internal(_) => {
                Reply::notice(text)
            }
            _ => {
                let screens = screens::Screens::new(&self.shop, &self.config, user);
                match screens.menu(Some(&text)).await {
                    Ok(reply) => reply,
                    Err(_) => Reply::notice(text),
                }
            }
        }
    }
}

fn slow_down(retry_after: Duration) -> Reply {
    let seconds = retry_after.as_millis().div_ceil(1000).max(1);
    Reply::notice(format!("Slow down, please: try again in {seconds} s."))
}
