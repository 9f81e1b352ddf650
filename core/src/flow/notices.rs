//! The staff screen "My notices": which kinds of notice a staff member gets in this chat, each
//! switched on or off with one button. The notice service checks on every press that the
//! person is staff, so a customer replaying the button is refused there.

use crate::error::Result;
use crate::notice::{NoticeKind, NoticeKinds};

use super::admin::Admin;
use super::screens::{button, reply};
use super::{Action, Reply};

/// How a kind reads on the screen.
fn label(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::OrderPaid => "An order is paid",
        NoticeKind::LowStock => "A product runs low on stock",
        NoticeKind::DeliveryFailed => "A customer cannot be reached",
        NoticeKind::PaymentReceived => "A payment comes in",
    }
}

impl Admin<'_> {
    /// The person's notice kinds, with a switch for each.
    pub(super) async fn notices(&self, notice: Option<&str>) -> Result<Reply> {
        let me = self.user();
        let kinds = self.screens.shop.notices().kinds(me, me).await?;
        let mut rows: Vec<_> = NoticeKind::ALL
            .into_iter()
            .map(|kind| {
                let on = kinds.contains(kind);
                let mark = if on { "✅" } else { "▫️" };
                let action = Action::AdminSetNotice { kind, on: !on };
                vec![button(format!("{mark} {}", label(kind)), action)]
            })
            .collect();
        rows.push(vec![button("‹ Admin", Action::Admin)]);
        let text = if kinds.is_empty() {
            "<b>My notices</b>\nYou get no notices. Tap one to be told in this chat when it \
             happens."
                .to_owned()
        } else {
            let chosen: Vec<&str> = kinds.iter().map(label).collect();
            format!(
                "<b>My notices</b>\nYou are told in this chat when:\n• {}",
                chosen.join("\n• ")
            )
        };
        reply(text, rows, notice)
    }

    /// Switches one kind of notice on or off for the person.
    pub(super) async fn set_notice(&self, kind: NoticeKind, on: bool) -> Result<Reply> {
        let me = self.user();
        let service = self.screens.shop.notices();
        let kinds = service.kinds(me, me).await?;
        let wanted: NoticeKinds = NoticeKind::ALL
            .into_iter()
            .filter(|k| if *k == kind { on } else { kinds.contains(*k) })
            .collect();
        service.set_kinds(me, me, wanted).await?;
        let notice = if on { "Notices on." } else { "Notices off." };
        self.notices(Some(notice)).await
    }
}
