//! People and what they may do: roles, permissions, bans.
//!
//! Owns [`User`], [`Role`] and [`Permission`]. The mapping from role to permissions lives here
//! and only here; services ask [`Role::allows`] on every step.

use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::text::PersonName;
use crate::time::Timestamp;

/// What a person is to the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Buys things. The role every new user starts with.
    Customer,
    /// Helps customers: may look up users, orders and stock, and ban or unban.
    Support,
    /// Runs the shop: everything but changing roles.
    Admin,
    /// Owns the shop: everything.
    Owner,
}

/// One thing a staff member may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Create and edit categories and products, prices and visibility.
    ManageCatalog,
    /// Import stock.
    ManageStock,
    /// See stock levels, including hidden products.
    ViewStock,
    /// Look up users and their wallets.
    ViewUsers,
    /// Ban and unban users.
    ModerateUsers,
    /// Change users' roles.
    ManageRoles,
    /// Credit or debit wallets by hand.
    AdjustWallets,
    /// Create, void and confirm invoices.
    ManageInvoices,
    /// See every order.
    ViewOrders,
    /// Refund orders.
    RefundOrders,
    /// Switch maintenance mode.
    Maintenance,
    /// Read the audit log.
    ViewAudit,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Customer, Role::Support, Role::Admin, Role::Owner];

    /// Whether this role grants `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner => true,
            Role::Admin => permission != ManageRoles,
            Role::Support => matches!(
                permission,
                ViewStock | ViewUsers | ModerateUsers | ViewOrders
            ),
            Role::Customer => false,
        }
    }

    /// Whether this role is staff (anything above customer).
    pub fn is_staff(self) -> bool {
        self != Role::Customer
    }

    /// Parses `customer`, `support`, `admin` or `owner`.
    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_ascii_lowercase().as_str() {
            "customer" => Some(Role::Customer),
            "support" => Some(Role::Support),
            "admin" => Some(Role::Admin),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    /// The role's lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Support => "support",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

/// A person the shop knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Their messenger id.
    pub id: UserId,
    /// Their display name, as last seen.
    pub name: PersonName,
    /// Their stored role. Owners named in configuration are owners whatever this says.
    pub role: Role,
    /// A banned user can do nothing at all.
    pub banned: bool,
    /// When the shop first saw them.
    pub created_at: Timestamp,
}

/// Who is talking to the shop, as the messenger reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    /// Their messenger id.
    pub id: UserId,
    /// Their display name.
    pub name: PersonName,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owners_manage_roles() {
        for role in Role::ALL {
            assert_eq!(role.allows(Permission::ManageRoles), role == Role::Owner);
        }
    }

    #[test]
    fn customers_have_no_permission_and_support_cannot_spend() {
        use Permission::*;
        for p in [
            ManageCatalog,
            ManageStock,
            ViewUsers,
            AdjustWallets,
            Maintenance,
        ] {
            assert!(!Role::Customer.allows(p));
        }
        for p in [
            ManageCatalog,
            ManageStock,
            AdjustWallets,
            RefundOrders,
            ManageInvoices,
        ] {
            assert!(!Role::Support.allows(p));
        }
        assert!(Role::Support.allows(ModerateUsers));
        assert!(Role::Admin.allows(AdjustWallets));
    }

    #[test]
    fn roles_parse_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
