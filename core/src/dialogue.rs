//! Conversation state: where a person is in a multi-step dialogue, per (chat, user).
//!
//! Owns [`Dialogue`]. The state itself is opaque text written by the conversation flow; storage
//! keeps it, isolates it per (chat, user), and stops returning it once it expires.

use serde::{Deserialize, Serialize};

use crate::ids::{ChatId, UserId};
use crate::time::Timestamp;

/// The most bytes of state one dialogue keeps.
pub const MAX_STATE_BYTES: usize = 16 * 1024;

/// One person's place in a conversation in one chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dialogue {
    /// The chat.
    pub chat: ChatId,
    /// The person.
    pub user: UserId,
    /// The flow's state, serialized by the flow.
    pub state: String,
    /// When the dialogue lapses if nothing happens.
    pub expires_at: Timestamp,
}

impl Dialogue {
    /// Whether the dialogue has lapsed at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }
}
