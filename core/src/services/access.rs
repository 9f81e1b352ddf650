//! Who may do what: the checks every service call starts with.

use super::Context;
use crate::audit::AuditRecord;
use crate::error::{Error, Forbidden, Result};
use crate::ids::UserId;
use crate::ports::Settings;
use crate::user::{Permission, Role, User};

impl Context {
    /// The user's role, counting configured owners as owners.
    pub(crate) fn role_of(&self, user: &User) -> Role {
        if self.config.owners.contains(&user.id) {
            Role::Owner
        } else {
            user.role
        }
    }

    /// Loads a known, unbanned user, or refuses.
    async fn active_user(&self, id: UserId) -> Result<User> {
        active(self.storage.user(id).await?)
    }

    /// A customer operation: the user must be known and not banned, and the shop open (staff
    /// may use it during maintenance). One storage query reads both.
    pub(crate) async fn customer(&self, id: UserId) -> Result<User> {
        let (user, settings) = self.storage.user_with_settings(id).await?;
        self.admit_customer(user, &settings)
    }

    /// The customer check on a user and the settings read with them (by one of the storage
    /// queries that read them together with what the operation needs next).
    pub(crate) fn admit_customer(&self, user: Option<User>, settings: &Settings) -> Result<User> {
        let user = active(user)?;
        if !self.role_of(&user).is_staff() && settings.maintenance {
            return Err(Error::Maintenance);
        }
        Ok(user)
    }

    /// A staff operation: the actor must be known, not banned, and hold `permission`.
    pub(crate) async fn staff(&self, actor: UserId, permission: Permission) -> Result<User> {
        let user = self.active_user(actor).await?;
        if !self.role_of(&user).allows(permission) {
            return Err(Forbidden::Missing(permission).into());
        }
        Ok(user)
    }

    /// An audit record for `actor` doing `action` now.
    pub(crate) fn audit(&self, actor: &User, action: String) -> AuditRecord {
        AuditRecord {
            actor: actor.id,
            action,
            at: self.clock.now(),
        }
    }
}

/// The user if known and not banned, else the refusal.
fn active(user: Option<User>) -> Result<User> {
    let user = user.ok_or(Forbidden::UnknownUser)?;
    if user.banned {
        return Err(Forbidden::Banned.into());
    }
    Ok(user)
}
