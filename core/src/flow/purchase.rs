//! Buying from the conversation: the confirmation screens and the taps that pay.
//!
//! A confirmation screen names the purchase it confirms, and its button buys once however often
//! it is tapped: a cart confirmation is named by the cart's version (which never repeats for a
//! buyer, see [`Storage::edit_cart`](crate::ports::Storage::edit_cart)), a "buy now"
//! confirmation by a random nonce drawn when the screen is shown. The tap that made the order is
//! told "Paid. Thank you!"; every other tap on the same confirmation (a double tap, a
//! redelivered update, a second device) is told the purchase was already paid and shown that
//! order. A confirmation must never be named by the clock: two screens shown within the same
//! millisecond would then be one purchase, and the second buyer's tap would replay the first.

use crate::error::{Error, Result};
use crate::ids::ProductId;
use crate::order::CheckoutOutcome;
use crate::services::PayWith;
use crate::text::{IdempotencyKey, Quantity};

use super::markup::bold;
use super::screens::{Screens, button, reply};
use super::{Action, Reply};

/// What the tap that paid is told.
const PAID: &str = "Paid. Thank you!";

/// What every other tap on a confirmation that paid is told, above that order.
const ALREADY_PAID: &str = "This purchase was already paid; here is your order.";

/// A fresh name for a "buy now" confirmation screen.
///
/// 64 random bits from the operating system rather than the clock (which repeats within a
/// millisecond), a process-local counter (which repeats after a restart and between the bot
/// processes that share one PostgreSQL store) or a counter issued by the store (a write for
/// every confirmation shown, tapped or not). Two confirmations of one buyer for one product
/// share a name with odds of about n²/2⁶⁵ after n of them: never, in practice. As decimal it
/// keeps the button within its 64 bytes (`bf:<product>:<nonce>` is at most 43).
fn nonce() -> Result<u64> {
    getrandom::u64().map_err(Error::internal)
}

impl Screens<'_> {
    /// Asks to confirm buying the cart as it is at `version`.
    pub(super) async fn confirm(&self, version: u64) -> Result<Reply> {
        let cart = self.shop.cart().view(self.user).await?;
        if cart.version != version || cart.is_empty() {
            return self
                .cart(Some("Your cart changed; please review it."))
                .await;
        }
        let balance = self.shop.wallet().balance(self.user).await?;
        let cart_screen = self.cart(None).await?;
        let cart_text = cart_screen.screen.map(|s| s.text).unwrap_or_default();
        let text = format!(
            "{cart_text}\n\nPay from your wallet? Available: {}",
            balance.available()
        );
        let rows = vec![
            vec![button(
                "Confirm purchase",
                Action::ConfirmCheckout { version },
            )],
            vec![button("‹ Back to cart", Action::Cart)],
        ];
        reply(text, rows, None)
    }

    /// Buys the cart confirmed at `version`.
    pub(super) async fn buy(&self, version: u64) -> Result<Reply> {
        // One key per cart version: a second tap on the same confirmation buys nothing more,
        // and since a buyer's cart version never repeats, neither does the key.
        let key = IdempotencyKey::parse(&format!("tap:{version}"))?;
        let checkout = self.shop.checkout();
        match checkout
            .buy_cart(self.user, version, key, PayWith::Wallet)
            .await
        {
            Ok(outcome) => self.paid(outcome).await,
            Err(Error::Conflict(_)) => {
                self.cart(Some("Your cart changed; please review it."))
                    .await
            }
            Err(refused) => {
                let notice = self.refusal(refused).await?;
                self.cart(Some(&notice)).await
            }
        }
    }

    /// Asks to confirm buying one of product `id` at once, naming the confirmation afresh.
    pub(super) async fn confirm_buy_now(&self, id: ProductId) -> Result<Reply> {
        let (product, counts) = self.shop.catalog().product(self.user, id).await?;
        if product.kind.uses_stock() && counts.available == 0 {
            let notice = format!("Sorry, {} is sold out.", product.name);
            return self.product(id, Some(&notice)).await;
        }
        let balance = self.shop.wallet().balance(self.user).await?;
        // The nonce names this screen: its key buys once however often it is tapped, and the
        // next "Buy now" shows a new one.
        let nonce = nonce()?;
        let text = format!(
            "{}\n{}\n\nPay from your wallet? Available: {}",
            bold(product.name.as_str()),
            product.price,
            balance.available()
        );
        let rows = vec![
            vec![button(
                "Confirm purchase",
                Action::ConfirmBuyNow { product: id, nonce },
            )],
            vec![button("‹ Back", Action::Product { product: id })],
        ];
        reply(text, rows, None)
    }

    /// Buys one of `product` at once, as confirmed on the screen named `nonce`.
    pub(super) async fn buy_now(&self, product: ProductId, nonce: u64) -> Result<Reply> {
        let key = IdempotencyKey::parse(&format!("now:{product}:{nonce}"))?;
        let checkout = self.shop.checkout();
        match checkout
            .buy_now(self.user, product, Quantity::ONE, key, PayWith::Wallet)
            .await
        {
            Ok(outcome) => self.paid(outcome).await,
            Err(Error::Conflict(_)) => {
                self.product(product, Some("The product changed; please review it."))
                    .await
            }
            Err(refused) => {
                let notice = self.refusal(refused).await?;
                self.product(product, Some(&notice)).await
            }
        }
    }

    /// The order a confirmation bought: "paid" only for the tap that made it.
    async fn paid(&self, outcome: CheckoutOutcome) -> Result<Reply> {
        let notice = if outcome.replayed { ALREADY_PAID } else { PAID };
        self.order(outcome.order.id, Some(notice)).await
    }

    /// What a purchase refused for want of stock or money tells the buyer; any other error
    /// stays an error.
    async fn refusal(&self, error: Error) -> Result<String> {
        match error {
            Error::OutOfStock {
                product, available, ..
            } => {
                let name = self
                    .shop
                    .catalog()
                    .product(self.user, product)
                    .await
                    .map(|(p, _)| p.name.to_string())
                    .unwrap_or_else(|_| format!("product {product}"));
                Ok(match available {
                    0 => format!("Sorry, {name} is sold out."),
                    n => format!("Sorry, only {n} of {name} left."),
                })
            }
            Error::InsufficientFunds { needed, available } => Ok(format!(
                "Not enough money: {needed} needed, {available} available."
            )),
            other => Err(other),
        }
    }
}
