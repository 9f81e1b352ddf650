//! Users and shop-wide settings, the shop's currency among them.

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::UserId;
use shopbot_core::money::Currency;
use shopbot_core::ports::{Page, Settings};
use shopbot_core::time::Timestamp;
use shopbot_core::user::{Role, User, UserProfile};

use super::{State, page_of};

impl State {
    pub(super) fn upsert_user(&mut self, profile: UserProfile, at: Timestamp) -> User {
        let user = self.users.entry(profile.id).or_insert_with(|| User {
            id: profile.id,
            name: profile.name.clone(),
            role: Role::Customer,
            banned: false,
            created_at: at,
        });
        user.name = profile.name;
        user.clone()
    }

    pub(super) fn set_role(
        &mut self,
        id: UserId,
        role: Role,
        audit: AuditRecord,
    ) -> Result<User, Error> {
        let user = self.change_user(id, audit, |user| user.role = role)?;
        // A customer is told nothing meant for staff, also if made staff again later.
        if role == Role::Customer {
            self.notice_kinds.remove(&id);
        }
        Ok(user)
    }

    pub(super) fn set_banned(
        &mut self,
        id: UserId,
        banned: bool,
        audit: AuditRecord,
    ) -> Result<User, Error> {
        self.change_user(id, audit, |user| user.banned = banned)
    }

    fn change_user(
        &mut self,
        id: UserId,
        audit: AuditRecord,
        change: impl FnOnce(&mut User),
    ) -> Result<User, Error> {
        let user = self
            .users
            .get_mut(&id)
            .ok_or_else(|| Error::not_found("user", id))?;
        change(user);
        let user = user.clone();
        self.write_audit(Some(audit));
        Ok(user)
    }

    pub(super) fn set_maintenance(&mut self, on: bool, audit: AuditRecord) -> Settings {
        self.settings.maintenance = on;
        self.write_audit(Some(audit));
        self.settings
    }

    /// Records `currency` unless a currency is recorded, and returns the recorded one.
    pub(super) fn adopt_currency(&mut self, currency: Currency) -> Currency {
        *self.currency.get_or_insert(currency)
    }

    /// The shop's currency, once recorded.
    pub fn shop_currency(&self) -> Option<Currency> {
        self.currency
    }

    /// A user by id.
    pub fn user(&self, id: UserId) -> Option<User> {
        self.users.get(&id).cloned()
    }

    /// Users in id order.
    pub fn users(&self, page: Page) -> Vec<User> {
        page_of(self.users.values(), page.offset, page.effective_limit())
    }

    /// The shop-wide switches.
    pub fn settings(&self) -> Settings {
        self.settings
    }
}
