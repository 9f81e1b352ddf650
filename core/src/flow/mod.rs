//! The conversation, messenger-neutral. For now: the typed [`Action`] a button carries.

mod action;

pub use action::{Action, ActionError, MAX_ENCODED_LEN};
