//! Services: the shop's use cases. Each validates its input, checks who is asking, plans, and
//! calls one atomic storage command.
//!
//! Permission checks live here, on every call, so no front end can forget one: customer
//! operations refuse banned users and honour maintenance mode; admin operations take the acting
//! user, load their role from storage (or the configured owners) and check the permission.

mod access;
mod admin;
mod cart;
mod catalog;
mod checkout;
mod currency;
mod invoice;
mod notices;
mod wallet;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

pub use admin::AdminService;
pub use cart::CartService;
pub use catalog::CatalogService;
pub use checkout::{CheckoutService, PayWith};
pub use currency::{CurrencyMismatch, DEFAULT_CURRENCY, settle_currency};
pub use invoice::InvoiceService;
pub use notices::NoticeService;
pub use wallet::WalletService;

use crate::catalog::PriceLimits;
use crate::error::Result;
use crate::ids::UserId;
use crate::ports::{Clock, Storage};
use crate::user::{User, UserProfile};
use crate::wallet::CreditLimit;

/// How a shop is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopConfig {
    /// People who are owners whatever their stored role says (from `SHOPBOT_ADMINS`, or the
    /// local operator of the CLI).
    pub owners: BTreeSet<UserId>,
    /// The currency and the accepted price range.
    pub prices: PriceLimits,
    /// How long an order invoice keeps its units reserved.
    pub invoice_ttl: Duration,
    /// How long a dialogue waits for the next message.
    pub dialogue_timeout: Duration,
    /// The largest manual credit staff give without confirming it (see
    /// [`AdminService::adjust_wallet`]); a million in the shop currency unless configured.
    pub max_manual_credit: CreditLimit,
    /// Products at or below this many available units count as low on stock (the staff's
    /// low-stock list).
    pub low_stock_threshold: u64,
}

impl Default for ShopConfig {
    fn default() -> Self {
        ShopConfig {
            owners: BTreeSet::new(),
            prices: PriceLimits::default(),
            invoice_ttl: Duration::from_secs(30 * 60),
            dialogue_timeout: Duration::from_secs(10 * 60),
            max_manual_credit: CreditLimit::default(),
            low_stock_threshold: 5,
        }
    }
}

/// What every service shares.
#[derive(Clone)]
pub(crate) struct Context {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: Arc<ShopConfig>,
}

/// The whole shop: one handle that hands out every service over one storage and clock.
#[derive(Clone)]
pub struct Shop {
    context: Context,
}

impl Shop {
    /// A shop over `storage`, reading time from `clock`.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>, config: ShopConfig) -> Self {
        Shop {
            context: Context {
                storage,
                clock,
                config: Arc::new(config),
            },
        }
    }

    /// Records that a person was seen (creating them as a customer the first time).
    pub async fn greet(&self, profile: UserProfile) -> Result<User> {
        let now = self.context.clock.now();
        self.context.storage.upsert_user(profile, now).await
    }

    /// Browsing the catalog.
    pub fn catalog(&self) -> CatalogService {
        CatalogService::new(self.context.clone())
    }

    /// Editing carts.
    pub fn cart(&self) -> CartService {
        CartService::new(self.context.clone())
    }

    /// Buying.
    pub fn checkout(&self) -> CheckoutService {
        CheckoutService::new(self.context.clone())
    }

    /// Wallets.
    pub fn wallet(&self) -> WalletService {
        WalletService::new(self.context.clone())
    }

    /// Invoices.
    pub fn invoices(&self) -> InvoiceService {
        InvoiceService::new(self.context.clone())
    }

    /// Running the shop.
    pub fn admin(&self) -> AdminService {
        AdminService::new(self.context.clone())
    }

    /// Staff notice settings.
    pub fn notices(&self) -> NoticeService {
        NoticeService::new(self.context.clone())
    }

    /// The storage under the shop.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.context.storage
    }

    /// The clock the shop reads time from.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.context.clock
    }

    /// The shop's configuration.
    pub fn config(&self) -> &ShopConfig {
        &self.context.config
    }
}

#[cfg(test)]
mod tests;
