//! Where a person is in a multi-step dialogue, and keeping that place in storage.
//!
//! A [`Step`] is serialized into the store's opaque dialogue state per (chat, user). It holds
//! only what the person entered so far; it grants nothing — every step is checked again by the
//! service it calls, so a step saved while someone was an admin does nothing once they are not.

use serde::{Deserialize, Serialize};

use crate::dialogue::Dialogue;
use crate::ids::{CategoryId, ChatId, ProductId, UserId};
use crate::money::Money;
use crate::services::Shop;
use crate::text::ProductName;
use crate::time::Timestamp;

/// The next answer a dialogue waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub(super) enum Step {
    /// Adding a product: its name.
    ProductName,
    /// Adding a product: its price.
    ProductPrice {
        /// The name given.
        name: ProductName,
    },
    /// Adding a product: its category.
    ProductCategory {
        /// The name given.
        name: ProductName,
        /// The price given.
        price: Money,
    },
    /// Adding a product: its description.
    ProductDescription {
        /// The name given.
        name: ProductName,
        /// The price given.
        price: Money,
        /// The category chosen, if any.
        category: Option<CategoryId>,
    },
    /// Changing a product's price.
    Price {
        /// The product.
        product: ProductId,
    },
    /// Adding stock to a product: pasted lines or a `.txt` file.
    Stock {
        /// The product.
        product: ProductId,
    },
    /// Looking up a user by id.
    FindUser,
    /// Crediting a user's wallet: the amount.
    Credit {
        /// The user.
        user: UserId,
        /// When the dialogue began: names the credit's idempotency key, so an amount sent
        /// twice into one dialogue credits once.
        started: Timestamp,
    },
    /// Crediting a user's wallet: an amount above the shop's limit for manual credits, waiting
    /// for an explicit yes.
    ConfirmCredit {
        /// The user.
        user: UserId,
        /// When the dialogue began (names the credit's key, as for [`Step::Credit`]).
        started: Timestamp,
        /// The amount sent.
        amount: Money,
        /// The limit it is above.
        limit: Money,
    },
}

impl Step {
    /// The kind of text this step asks for.
    pub(super) fn input(&self) -> super::TextInput {
        match self {
            Step::Stock { .. } => super::TextInput::Lines,
            Step::ProductName
            | Step::ProductPrice { .. }
            | Step::ProductCategory { .. }
            | Step::ProductDescription { .. }
            | Step::Price { .. }
            | Step::FindUser
            | Step::Credit { .. }
            | Step::ConfirmCredit { .. } => super::TextInput::Line,
        }
    }
}

/// The dialogue of one person in one chat.
pub(super) struct Dialogues<'a> {
    shop: &'a Shop,
    chat: ChatId,
    user: UserId,
}

impl<'a> Dialogues<'a> {
    pub(super) fn new(shop: &'a Shop, chat: ChatId, user: UserId) -> Self {
        Dialogues { shop, chat, user }
    }

    /// The step waited for, unless the dialogue expired. State this version cannot read (from
    /// an older release) counts as no dialogue.
    pub(super) async fn current(&self) -> crate::Result<Option<Step>> {
        let now = self.shop.clock().now();
        let dialogue = self
            .shop
            .storage()
            .dialogue(self.chat, self.user, now)
            .await?;
        Ok(dialogue.and_then(|d| serde_json::from_str(&d.state).ok()))
    }

    /// Waits for `step` next, for the configured dialogue timeout from now.
    pub(super) async fn wait_for(&self, step: &Step) -> crate::Result<()> {
        let now = self.shop.clock().now();
        let state = serde_json::to_string(step).map_err(crate::Error::internal)?;
        let dialogue = Dialogue {
            chat: self.chat,
            user: self.user,
            state,
            expires_at: now.plus(self.shop.config().dialogue_timeout),
        };
        self.shop.storage().save_dialogue(dialogue).await
    }

    /// Ends the dialogue.
    pub(super) async fn clear(&self) -> crate::Result<()> {
        self.shop
            .storage()
            .clear_dialogue(self.chat, self.user)
            .await
    }
}
