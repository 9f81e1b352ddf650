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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::notice::NoticeKind;
    use crate::ports::{Clock, MockStorage};
    use crate::services::{Shop, ShopConfig};
    use crate::text::PersonName;
    use crate::time::Timestamp;

    const CONFIGURED_OWNER: UserId = UserId(1);
    const SUPPORT: UserId = UserId(2);
    const ADMIN: UserId = UserId(3);
    const CUSTOMER: UserId = UserId(4);
    const OTHER_SUPPORT: UserId = UserId(5);

    struct FixedClock;

    impl Clock for FixedClock {
        fn now(&self) -> Timestamp {
            Timestamp(1_000)
        }
    }

    /// A store of five people (the configured owner's stored role is customer) that accepts
    /// every change of notice kinds and counts them.
    fn shop(changes: usize) -> Shop {
        let mut storage = MockStorage::new();
        storage.expect_user().returning(|id| {
            let role = match id {
                SUPPORT | OTHER_SUPPORT => Role::Support,
                ADMIN => Role::Admin,
                _ => Role::Customer,
            };
            Ok(Some(User {
                id,
                name: PersonName::lenient("someone"),
                role,
                banned: false,
                created_at: Timestamp(0),
            }))
        });
        storage
            .expect_set_notice_kinds()
            .times(changes)
            .returning(|_, kinds, audit| {
                assert!(audit.action.starts_with("set notices of user"), "{audit:?}");
                Ok(kinds)
            });
        let config = ShopConfig {
            owners: [CONFIGURED_OWNER].into(),
            ..ShopConfig::default()
        };
        Shop::new(Arc::new(storage), Arc::new(FixedClock), config)
    }

    fn some() -> NoticeKinds {
        [NoticeKind::OrderPaid].into_iter().collect()
    }

    #[tokio::test]
    async fn every_staff_member_sets_their_own_notices() {
        let shop = shop(3);
        for me in [SUPPORT, ADMIN, CONFIGURED_OWNER] {
            let set = shop.notices().set_kinds(me, me, some()).await.unwrap();
            assert_eq!(set, some());
        }
    }

    #[tokio::test]
    async fn an_admin_or_owner_sets_another_staff_members_notices_but_support_cannot() {
        let shop = shop(2);
        shop.notices()
            .set_kinds(ADMIN, SUPPORT, some())
            .await
            .unwrap();
        shop.notices()
            .set_kinds(CONFIGURED_OWNER, ADMIN, some())
            .await
            .unwrap();
        let refused = shop
            .notices()
            .set_kinds(SUPPORT, OTHER_SUPPORT, some())
            .await;
        assert!(
            matches!(refused, Err(Error::Forbidden(Forbidden::Rank))),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn customers_neither_set_notices_nor_get_them_set() {
        let shop = shop(0);
        let refused = shop.notices().set_kinds(CUSTOMER, CUSTOMER, some()).await;
        assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
        let refused = shop.notices().set_kinds(ADMIN, CUSTOMER, some()).await;
        assert!(matches!(refused, Err(Error::Invalid(_))), "{refused:?}");
    }
}
