use super::Context;
use crate::cart::CartLine;
use crate::error::{Error, Result};
use crate::ids::{ProductId, UserId};
use crate::invoice::TaxRate;
use crate::order::{
    self, CheckoutError, CheckoutOutcome, CheckoutPayment, CheckoutRequest, Order, PlannedLine,
};
use crate::text::{IdempotencyKey, Quantity};

const KEY_REUSED: &str = "this idempotency key was used for another checkout";

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

    /// Buys the cart as it was at `cart_version`, once per `key` (to buy one product without
    /// the cart, see [`buy_now`](Self::buy_now)).
    ///
    /// A repeat with the same key (a double tap, a retry after a lost answer) returns the order
    /// the first call made, marked [`replayed`](CheckoutOutcome::replayed). A stale version
    /// (the cart changed since the buyer looked) is a `Conflict` and buys nothing.
    pub async fn buy_cart(
        &self,
        user: UserId,
        cart_version: u64,
        key: IdempotencyKey,
        pay: PayWith,
    ) -> Result<CheckoutOutcome> {
        let storage = &self.context.storage;
        let (caller, settings, cart, products) = storage.user_with_cart(user).await?;
        self.context.admit_customer(caller, &settings)?;
        if cart.version != cart_version {
            // The cart moved on. If it moved because this very checkout already committed
            // (checkout empties the cart in the same atomic step), hand back that order.
            return match storage.checkout_by_key(user, key).await? {
                Some(order) if order.cart_version == Some(cart_version) => Ok(replayed(order)),
                Some(_) => Err(Error::Conflict(KEY_REUSED.into())),
                None => Err(CheckoutError::CartChanged.into()),
            };
        }
        let lines = order::plan(&cart.lines, |id| products.iter().find(|p| p.id == id))?;
        self.commit(user, Some(cart_version), lines, key, pay).await
    }

    /// Buys `quantity` of one product at once, once per `key`, leaving the cart as it is: the
    /// "buy now" of a product page, one storage command where the cart takes two (an edit,
    /// then the checkout).
    ///
    /// A repeat with the same key returns the order the first call made, marked
    /// [`replayed`](CheckoutOutcome::replayed), even when the product was hidden or repriced in
    /// between; the same key for another purchase is a `Conflict`.
    pub async fn buy_now(
        &self,
        user: UserId,
        product: ProductId,
        quantity: Quantity,
        key: IdempotencyKey,
        pay: PayWith,
    ) -> Result<CheckoutOutcome> {
        let storage = &self.context.storage;
        let (caller, settings, found) = storage.user_with_product(user, product).await?;
        self.context.admit_customer(caller, &settings)?;
        let wanted = [CartLine { product, quantity }];
        let bought = match order::plan(&wanted, |_| found.as_ref()) {
            Ok(lines) => self.commit(user, None, lines, key.clone(), pay).await,
            Err(CheckoutError::Unavailable(_)) => Err(Error::not_found("product", product)),
            Err(other) => Err(other.into()),
        };
        match bought {
            // The product changed since a first, committed tap with this key: hand that order
            // back rather than refuse the repeat.
            Err(refused @ (Error::NotFound { .. } | Error::Conflict(_))) => {
                match storage.checkout_by_key(user, key).await? {
                    Some(order) if order.is_purchase_of(&wanted) => Ok(replayed(order)),
                    Some(_) => Err(Error::Conflict(KEY_REUSED.into())),
                    None => Err(refused),
                }
            }
            other => other,
        }
    }

    /// Commits planned `lines` as one checkout.
    async fn commit(
        &self,
        user: UserId,
        cart_version: Option<u64>,
        lines: Vec<PlannedLine>,
        key: IdempotencyKey,
        pay: PayWith,
    ) -> Result<CheckoutOutcome> {
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
        self.context.storage.commit_checkout(request).await
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

/// The order an earlier call with the same key made, found after the cart or the product moved
/// on: a replay, never a purchase made now.
fn replayed(order: Order) -> CheckoutOutcome {
    CheckoutOutcome {
        order,
        replayed: true,
    }
}
