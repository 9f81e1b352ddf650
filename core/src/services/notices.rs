//! Who hears about what: staff choose the kinds of notice they get (see [`crate::notice`]).
//!
//! Only staff get notices. Any staff member (stored role Support, Admin or Owner, or a
//! configured owner) chooses their own kinds; an admin or owner may also choose another staff
//! member's; customers are refused. Every change is written to the audit log in the same
//! command.

use super::Context;
use crate::error::{Error, Forbidden, Result};
use crate::ids::UserId;
use crate::notice::NoticeKinds;
use crate::user::{Permission, Role, User};

/// Staff notice settings. Every method takes the acting user and checks them first.
pub struct NoticeService {
    context: Context,
}

impl NoticeService {
    pub(crate) fn new(context: Context) -> Self {
        NoticeService { context }
    }

    /// The kinds of notice `user` gets (none for a customer), for the person themselves if
    /// staff, or for staff who may look up users.
    pub async fn kinds(&self, actor: UserId, user: UserId) -> Result<NoticeKinds> {
        // Every staff role may view stock: this is the "is staff" check.
        let staff = self.context.staff(actor, Permission::ViewStock).await?;
        if user != staff.id && !self.context.role_of(&staff).allows(Permission::ViewUsers) {
            return Err(Forbidden::Missing(Permission::ViewUsers).into());
        }
        self.context.storage.notice_kinds(user).await
    }

    /// Replaces the kinds of notice `user` gets with `kinds` and returns them. `Forbidden`
    /// unless `actor` is staff changing their own, or an admin or owner changing another staff
    /// member's; `Invalid` when `user` is not staff; `NotFound` for an unknown user.
    pub async fn set_kinds(
        &self,
        actor: UserId,
        user: UserId,
        kinds: NoticeKinds,
    ) -> Result<NoticeKinds> {
        let staff = self.permit(actor, user).await?;
        let audit = self
            .context
            .audit(&staff, format!("set notices of user {user} to {kinds}"));
        self.context
            .storage
            .set_notice_kinds(user, kinds, audit)
            .await
    }

    /// The acting staff member, if they may see and change `user`'s notices.
    async fn permit(&self, actor: UserId, user: UserId) -> Result<User> {
        // Every staff role may view stock: this is the "is staff" check.
        let staff = self.context.staff(actor, Permission::ViewStock).await?;
        if user == staff.id {
            return Ok(staff);
        }
        if self.context.role_of(&staff) < Role::Admin {
            return Err(Forbidden::Rank.into());
        }
        let target = self
            .context
            .storage
            .user(user)
            .await?
            .ok_or_else(|| Error::not_found("user", user))?;
        if !self.context.role_of(&target).is_staff() {
            return Err(Error::invalid(format!(
                "user {user} is not staff: only staff get notices"
            )));
        }
        Ok(staff)
    }
}
