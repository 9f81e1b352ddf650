use super::Context;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::invoice::TaxRate;
use crate::order::{self, CheckoutError, CheckoutPayment, CheckoutRequest, Order};
use crate::text::IdempotencyKey;

/// How a customer pays at checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayWith {
    /// From the wallet, at once.
    Wallet,
    /// By an invoice; the units stay reserved until it is paid or expires.
    Invoice,
}

/// Buying the cart.
pub struct CheckoutService {
    context: Context,
}

impl CheckoutService {
    pub(crate) fn new(context: Context) -> Self {
        CheckoutService { context }
    }

    /// Buys the cart as it was at `cart_version`, once per `key`.
    ///
    /// A repeat with the same key (a double tap, a retry after a lost answer) returns the order
    /// the first call made. A stale version (the cart changed since the buyer looked) is a
    /// `Conflict` and buys nothing.
    pub async fn checkout(
        &self,
        user: UserId,
        cart_version: u64,
        key: IdempotencyKey,
        pay: PayWith,
    ) -> Result<Order> {
        let storage = &self.context.storage;
        let (caller, settings, cart, products) = storage.user_with_cart(user).await?;
        self.context.admit_customer(caller, &settings)?;
        if cart.version != cart_version {
            // The cart moved on. If it moved because this very checkout already committed
            // (checkout empties the cart in the same atomic step), hand back that order.
            return match storage.checkout_by_key(user, key).await? {
                Some(order) if order.cart_version == cart_version => Ok(order),
                Some(_) => Err(Error::Conflict(
                    "this idempotency key was used for another checkout".into(),
                )),
                None => Err(CheckoutError::CartChanged.into()),
            };
        }
        let lines = order::plan(&cart, |id| products.iter().find(|p| p.id == id))?;
        let total = order::total(&lines)?;
        let now = self.context.clock.now();
        let payment = match pay {
            PayWith::Wallet => CheckoutPayment::Wallet,
            PayWith::Invoice => CheckoutPayment::Invoice {
                tax: TaxRate::ZERO,
                due_at: now.plus(self.context.config.invoice_ttl),
            },
        };
        let request = CheckoutRequest {
            user,
            key,
            cart_version,
            lines,
            total,
            payment,
            at: now,
        };
        storage.commit_checkout(request).await
    }

    /// The buyer's own order.
    pub async fn order(&self, user: UserId, id: crate::ids::OrderId) -> Result<Order> {
        self.context.customer(user).await?;
        self.context
            .storage
            .order(id)
            .await?
            .filter(|o| o.user == user)
            .ok_or_else(|| Error::not_found("order", id))
    }

    /// The buyer's own orders, newest first.
    pub async fn orders(&self, user: UserId, limit: usize) -> Result<Vec<Order>> {
        self.context.customer(user).await?;
        let filter = order::OrderFilter {
            user: Some(user),
            since: None,
            limit,
        };
        self.context.storage.orders(filter).await
    }
}
