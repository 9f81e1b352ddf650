//! What a button does, as a typed value that encodes into at most 64 bytes of callback data.
//!
//! Decoding never trusts its input: any bytes give either an [`Action`] or an
//! [`ActionError`], never a panic. A decoded action is only a request; services still check
//! that the person pressing it may do it.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::{CategoryId, OrderId, ProductId, UserId};
use crate::notice::NoticeKind;

/// The most bytes of callback data a messenger button carries (Telegram's limit).
pub const MAX_ENCODED_LEN: usize = 64;

/// Something a button asks the shop to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// Show the main menu.
    Menu,
    /// Leave the current dialogue.
    Cancel,
    /// Show the catalog (categories) at a page.
    Catalog {
        /// 0-based page.
        page: u32,
    },
    /// Show a category's products at a page.
    Category {
        /// The category.
        category: CategoryId,
        /// 0-based page.
        page: u32,
    },
    /// Show a product card.
    Product {
        /// The product.
        product: ProductId,
    },
    /// Put items into the cart.
    AddToCart {
        /// The product.
        product: ProductId,
        /// How many.
        quantity: u32,
    },
    /// Ask to confirm buying one of a product at once, from the wallet.
    BuyNow {
        /// The product.
        product: ProductId,
    },
    /// Buy one of a product at once. `nonce` names the confirmation shown, so a second tap on
    /// it buys nothing more while every other confirmation is a purchase of its own.
    ConfirmBuyNow {
        /// The product.
        product: ProductId,
        /// Drawn at random when the confirmation was shown; never derived from the time.
        nonce: u64,
    },
    /// Show the cart.
    Cart,
    /// Set a cart line's quantity.
    CartSet {
        /// The product.
        product: ProductId,
        /// The new quantity.
        quantity: u32,
    },
    /// Remove a cart line.
    CartRemove {
        /// The product.
        product: ProductId,
    },
    /// Empty the cart.
    CartClear,
    /// Ask to confirm buying the cart at this version.
    Checkout {
        /// The cart version shown.
        version: u64,
    },
    /// Buy the cart at this version (a second tap buys nothing more).
    ConfirmCheckout {
        /// The cart version confirmed.
        version: u64,
    },
    /// Show my orders at a page.
    Orders {
        /// 0-based page.
        page: u32,
    },
    /// Show one of my orders with its keys.
    Order {
        /// The order.
        order: OrderId,
    },
    /// Show my wallet.
    Wallet,
    /// Show help and the support contact.
    Help,
    /// Show the admin menu.
    Admin,
    /// Admin: start the add-product dialogue.
    AdminNewProduct,
    /// Admin: list every product (hidden ones too) at a page.
    AdminProducts {
        /// 0-based page.
        page: u32,
    },
    /// Admin: manage a product.
    AdminProduct {
        /// The product.
        product: ProductId,
    },
    /// Admin: start changing a product's price.
    AdminEditPrice {
        /// The product.
        product: ProductId,
    },
    /// Admin: hide or show a product.
    AdminSetHidden {
        /// The product.
        product: ProductId,
        /// Hide (true) or show (false).
        hidden: bool,
    },
    /// Admin: start adding stock to a product.
    AdminAddStock {
        /// The product.
        product: ProductId,
    },
    /// Admin: list products low on stock.
    AdminLowStock,
    /// Admin: start looking up a user.
    AdminFindUser,
    /// Admin: show a user.
    AdminUser {
        /// The user.
        user: UserId,
    },
    /// Admin: ban or unban a user.
    AdminSetBanned {
        /// The user.
        user: UserId,
        /// Ban (true) or unban (false).
        banned: bool,
    },
    /// Admin: start crediting a user's wallet.
    AdminCredit {
        /// The user.
        user: UserId,
    },
    /// Admin: switch maintenance mode.
    AdminMaintenance {
        /// On or off.
        on: bool,
    },
    /// Staff: show which notices I get.
    AdminNotices,
    /// Staff: start or stop getting one kind of notice myself.
    AdminSetNotice {
        /// The kind.
        kind: NoticeKind,
        /// Get it (true) or not (false).
        on: bool,
    },
}

/// Callback data that is not an action this shop knows.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ActionError {
    /// Longer than [`MAX_ENCODED_LEN`] bytes.
    #[error("button data is too long")]
    TooLong,
    /// Not text.
    #[error("button data is not text")]
    NotText,
    /// An unknown action, or known but with the wrong arguments.
    #[error("unknown button")]
    Unknown,
}

fn flag(b: bool) -> i128 {
    i128::from(b)
}

/// A notice kind as its place in [`NoticeKind::ALL`].
fn notice_index(kind: NoticeKind) -> i128 {
    let index = NoticeKind::ALL.iter().position(|k| *k == kind);
    index.map_or(0, |i| i as i128)
}

impl Action {
    /// The compact text form: a short tag and decimal arguments, separated by `:`.
    pub fn encode(&self) -> String {
        let (tag, args): (&str, Vec<i128>) = match *self {
            Action::Menu => ("m", vec![]),
            Action::Cancel => ("x", vec![]),
            Action::Catalog { page } => ("c", vec![page.into()]),
            Action::Category { category, page } => ("cg", vec![category.0.into(), page.into()]),
            Action::Product { product } => ("p", vec![product.0.into()]),
            Action::AddToCart { product, quantity } => {
                ("a", vec![product.0.into(), quantity.into()])
            }
            Action::BuyNow { product } => ("b", vec![product.0.into()]),
            Action::ConfirmBuyNow { product, nonce } => {
                ("bf", vec![product.0.into(), nonce.into()])
            }
            Action::Cart => ("k", vec![]),
            Action::CartSet { product, quantity } => {
                ("ks", vec![product.0.into(), quantity.into()])
            }
            Action::CartRemove { product } => ("kr", vec![product.0.into()]),
            Action::CartClear => ("kc", vec![]),
            Action::Checkout { version } => ("co", vec![version.into()]),
            Action::ConfirmCheckout { version } => ("cf", vec![version.into()]),
            Action::Orders { page } => ("os", vec![page.into()]),
            Action::Order { order } => ("o", vec![order.0.into()]),
            Action::Wallet => ("w", vec![]),
            Action::Help => ("h", vec![]),
            Action::Admin => ("A", vec![]),
            Action::AdminNewProduct => ("An", vec![]),
            Action::AdminProducts { page } => ("AP", vec![page.into()]),
            Action::AdminProduct { product } => ("Ap", vec![product.0.into()]),
            Action::AdminEditPrice { product } => ("Ae", vec![product.0.into()]),
            Action::AdminSetHidden { product, hidden } => {
                ("Ah", vec![product.0.into(), flag(hidden)])
            }
            Action::AdminAddStock { product } => ("As", vec![product.0.into()]),
            Action::AdminLowStock => ("Al", vec![]),
            Action::AdminFindUser => ("Af", vec![]),
            Action::AdminUser { user } => ("Au", vec![user.0.into()]),
            Action::AdminSetBanned { user, banned } => ("Ab", vec![user.0.into(), flag(banned)]),
            Action::AdminCredit { user } => ("Ac", vec![user.0.into()]),
            Action::AdminMaintenance { on } => ("Am", vec![flag(on)]),
            Action::AdminNotices => ("AN", vec![]),
            Action::AdminSetNotice { kind, on } => ("At", vec![notice_index(kind), flag(on)]),
        };
        let mut out = String::from(tag);
        for arg in args {
            out.push(':');
            out.push_str(&arg.to_string());
        }
        out
    }

    /// Parses callback data. Any input gives an action or an error, never a panic.
    pub fn decode(data: &[u8]) -> Result<Action, ActionError> {
        if data.len() > MAX_ENCODED_LEN {
            return Err(ActionError::TooLong);
        }
        let text = std::str::from_utf8(data).map_err(|_| ActionError::NotText)?;
        let mut parts = text.split(':');
        let tag = parts.next().unwrap_or_default();
        let args: Vec<&str> = parts.collect();
        let mut args = Args {
            args: &args,
            next: 0,
        };
        let action = match tag {
            "m" => Action::Menu,
            "x" => Action::Cancel,
            "c" => Action::Catalog { page: args.num()? },
            "cg" => Action::Category {
                category: CategoryId(args.num()?),
                page: args.num()?,
            },
            "p" => Action::Product {
                product: ProductId(args.num()?),
            },
            "a" => Action::AddToCart {
                product: ProductId(args.num()?),
                quantity: args.num()?,
            },
            "b" => Action::BuyNow {
                product: ProductId(args.num()?),
            },
            "bf" => Action::ConfirmBuyNow {
                product: ProductId(args.num()?),
                nonce: args.num()?,
            },
            "k" => Action::Cart,
            "ks" => Action::CartSet {
                product: ProductId(args.num()?),
                quantity: args.num()?,
            },
            "kr" => Action::CartRemove {
                product: ProductId(args.num()?),
            },
            "kc" => Action::CartClear,
            "co" => Action::Checkout {
                version: args.num()?,
            },
            "cf" => Action::ConfirmCheckout {
                version: args.num()?,
            },
            "os" => Action::Orders { page: args.num()? },
            "o" => Action::Order {
                order: OrderId(args.num()?),
            },
            "w" => Action::Wallet,
            "h" => Action::Help,
            "A" => Action::Admin,
            "An" => Action::AdminNewProduct,
            "AP" => Action::AdminProducts { page: args.num()? },
            "Ap" => Action::AdminProduct {
                product: ProductId(args.num()?),
            },
            "Ae" => Action::AdminEditPrice {
                product: ProductId(args.num()?),
            },
            "Ah" => Action::AdminSetHidden {
                product: ProductId(args.num()?),
                hidden: args.flag()?,
            },
            "As" => Action::AdminAddStock {
                product: ProductId(args.num()?),
            },
            "Al" => Action::AdminLowStock,
            "Af" => Action::AdminFindUser,
            "Au" => Action::AdminUser {
                user: UserId(args.num()?),
            },
            "Ab" => Action::AdminSetBanned {
                user: UserId(args.num()?),
                banned: args.flag()?,
            },
            "Ac" => Action::AdminCredit {
                user: UserId(args.num()?),
            },
            "Am" => Action::AdminMaintenance { on: args.flag()? },
            "AN" => Action::AdminNotices,
            "At" => Action::AdminSetNotice {
                kind: *NoticeKind::ALL
                    .get(args.num::<usize>()?)
                    .ok_or(ActionError::Unknown)?,
                on: args.flag()?,
            },
            _ => return Err(ActionError::Unknown),
        };
        args.finish()?;
        Ok(action)
    }

    /// Whether only staff may press this button.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Action::Admin
                | Action::AdminNewProduct
                | Action::AdminProducts { .. }
                | Action::AdminProduct { .. }
                | Action::AdminEditPrice { .. }
                | Action::AdminSetHidden { .. }
                | Action::AdminAddStock { .. }
                | Action::AdminLowStock
                | Action::AdminFindUser
                | Action::AdminUser { .. }
                | Action::AdminSetBanned { .. }
                | Action::AdminCredit { .. }
                | Action::AdminMaintenance { .. }
                | Action::AdminNotices
                | Action::AdminSetNotice { .. }
        )
    }
}

struct Args<'a> {
    args: &'a [&'a str],
    next: usize,
}

impl Args<'_> {
    fn num<T: std::str::FromStr>(&mut self) -> Result<T, ActionError> {
        let arg = self.args.get(self.next).ok_or(ActionError::Unknown)?;
        self.next += 1;
        // Canonical decimal only: no sign, no leading zeros, so each action has one encoding.
        let canonical = !arg.is_empty()
            && arg.bytes().all(|b| b.is_ascii_digit())
            && (arg.len() == 1 || !arg.starts_with('0'));
        if !canonical {
            return Err(ActionError::Unknown);
        }
        arg.parse().map_err(|_| ActionError::Unknown)
    }

    fn flag(&mut self) -> Result<bool, ActionError> {
        match self.num::<u8>()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(ActionError::Unknown),
        }
    }

    fn finish(self) -> Result<(), ActionError> {
        if self.next == self.args.len() {
            Ok(())
        } else {
            Err(ActionError::Unknown)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn every_action(id: i64, n: u32, v: u64, b: bool) -> Vec<Action> {
        vec![
            Action::Menu,
            Action::Cancel,
            Action::Catalog { page: n },
            Action::Category {
                category: CategoryId(id),
                page: n,
            },
            Action::Product {
                product: ProductId(id),
            },
            Action::AddToCart {
                product: ProductId(id),
                quantity: n,
            },
            Action::BuyNow {
                product: ProductId(id),
            },
            Action::ConfirmBuyNow {
                product: ProductId(id),
                nonce: v,
            },
            Action::Cart,
            Action::CartSet {
                product: ProductId(id),
                quantity: n,
            },
            Action::CartRemove {
                product: ProductId(id),
            },
            Action::CartClear,
            Action::Checkout { version: v },
            Action::ConfirmCheckout { version: v },
            Action::Orders { page: n },
            Action::Order { order: OrderId(id) },
            Action::Wallet,
            Action::Help,
            Action::Admin,
            Action::AdminNewProduct,
            Action::AdminProducts { page: n },
            Action::AdminProduct {
                product: ProductId(id),
            },
            Action::AdminEditPrice {
                product: ProductId(id),
            },
            Action::AdminSetHidden {
                product: ProductId(id),
                hidden: b,
            },
            Action::AdminAddStock {
                product: ProductId(id),
            },
            Action::AdminLowStock,
            Action::AdminFindUser,
            Action::AdminUser { user: UserId(id) },
            Action::AdminSetBanned {
                user: UserId(id),
                banned: b,
            },
            Action::AdminCredit { user: UserId(id) },
            Action::AdminMaintenance { on: b },
            Action::AdminNotices,
            Action::AdminSetNotice {
                kind: NoticeKind::ALL[n as usize % NoticeKind::ALL.len()],
                on: b,
            },
        ]
    }

    #[test]
    fn every_action_fits_in_64_bytes_at_the_largest_ids() {
        for action in every_action(i64::MAX, u32::MAX, u64::MAX, true) {
            let encoded = action.encode();
            assert!(encoded.len() <= MAX_ENCODED_LEN, "{encoded} is too long");
            assert_eq!(Action::decode(encoded.as_bytes()), Ok(action));
        }
    }

    #[test]
    fn forged_or_stale_data_is_refused() {
        for bad in [
            "",
            "zz",
            "p",
            "p:",
            "p:-1",
            "p:01",
            "p:1:2",
            "Am:2",
            "p:99999999999999999999",
        ] {
            assert!(Action::decode(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(Action::decode(&[0xff, 0xfe]), Err(ActionError::NotText));
        assert_eq!(Action::decode(&[b'm'; 65]), Err(ActionError::TooLong));
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_error(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(action) = Action::decode(&data) {
                // A decoded action re-encodes to exactly the data it came from.
                prop_assert_eq!(action.encode().into_bytes(), data);
            }
        }

        #[test]
        fn every_action_round_trips(id in 0i64.., n in any::<u32>(), v in any::<u64>(), b in any::<bool>()) {
            for action in every_action(id, n, v, b) {
                prop_assert_eq!(Action::decode(action.encode().as_bytes()), Ok(action));
            }
        }
    }
}
