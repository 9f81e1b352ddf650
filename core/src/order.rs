//! Orders and checkout planning: turning a cart (or one product bought at once) into priced
//! lines, all or nothing.
//!
//! Owns [`Order`], [`CheckoutRequest`] and [`plan`]. Core plans a checkout from what it read;
//! the backend re-plans under its lock and refuses the commit when anything moved (cart
//! version, prices, visibility), so a customer pays exactly what they confirmed.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::cart::{CartError, CartLine};
use crate::catalog::{Product, ProductKind};
use crate::idempotency::{Fingerprint, fingerprint};
use crate::ids::{InvoiceId, OrderId, ProductId, UnitId, UserId};
use crate::invoice::{InvoiceLine, InvoicePurpose, NewInvoice, TaxRate, Totals};
use crate::money::{Money, MoneyError};
use crate::text::{IdempotencyKey, Note, ProductName, Quantity, StockPayload};
use crate::time::Timestamp;

/// A cart line priced at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedLine {
    /// The product.
    pub product: ProductId,
    /// Its name at the time of purchase.
    pub name: ProductName,
    /// Its kind.
    pub kind: ProductKind,
    /// How many.
    pub quantity: Quantity,
    /// The price of one, as confirmed.
    pub unit_price: Money,
}

impl PlannedLine {
    /// The product and quantity this line was planned from.
    pub fn asked(&self) -> CartLine {
        CartLine {
            product: self.product,
            quantity: self.quantity,
        }
    }

    /// `unit_price × quantity`.
    pub fn total(&self) -> Result<Money, MoneyError> {
        self.unit_price.checked_mul(i64::from(self.quantity.get()))
    }
}

/// How an order is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutPayment {
    /// From the wallet, at once.
    Wallet,
    /// By an invoice; units stay reserved until it is paid, voided or expires.
    Invoice {
        /// Tax added to the invoice.
        tax: TaxRate,
        /// When the invoice expires and the units are released.
        due_at: Timestamp,
    },
}

/// A request to turn a cart, or lines bought at once, into an order. See
/// [`Storage::commit_checkout`].
///
/// [`Storage::commit_checkout`]: crate::ports::Storage::commit_checkout
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRequest {
    /// The buyer.
    pub user: UserId,
    /// Makes the checkout safe to repeat (a double tap, a retry).
    pub key: IdempotencyKey,
    /// The cart version the buyer confirmed, or `None` for lines bought at once (a "buy now"
    /// from a product): then the lines are re-planned as they are and the cart is left alone.
    pub cart_version: Option<u64>,
    /// The lines as planned from that cart (or as asked for).
    pub lines: Vec<PlannedLine>,
    /// The sum of the lines.
    pub total: Money,
    /// How the order is paid.
    pub payment: CheckoutPayment,
    /// When.
    pub at: Timestamp,
}

impl CheckoutRequest {
    /// What makes two requests with one key "the same": everything but the time, including
    /// the invoice's due time, which follows from the time (a retry a second later is still
    /// the same checkout).
    pub fn fingerprint(&self) -> Fingerprint {
        let payment = match self.payment {
            CheckoutPayment::Wallet => None,
            CheckoutPayment::Invoice { tax, .. } => Some(tax),
        };
        fingerprint(&(
            "checkout",
            self.user,
            self.cart_version,
            &self.lines,
            self.total,
            payment,
        ))
    }
}

impl CheckoutRequest {
    /// The invoice that pays this checkout's order when it is paid by invoice: one line per
    /// planned line at the confirmed price, with the request's tax and due time. `None` for a
    /// wallet payment. Every backend issues exactly this invoice.
    pub fn order_invoice(&self, order: OrderId) -> Result<Option<NewInvoice>, crate::Error> {
        let CheckoutPayment::Invoice { tax, due_at } = self.payment else {
            return Ok(None);
        };
        let lines = self
            .lines
            .iter()
            .map(|l| {
                Ok(InvoiceLine {
                    description: Note::parse(l.name.as_str())?,
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                })
            })
            .collect::<Result<Vec<_>, crate::Error>>()?;
        let totals = Totals::compute(&lines, self.total.currency, tax)?;
        Ok(Some(NewInvoice {
            user: self.user,
            lines,
            tax,
            totals,
            purpose: InvoicePurpose::Order { order },
            due_at: Some(due_at),
            at: self.at,
        }))
    }
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Units reserved, invoice open.
    AwaitingPayment,
    /// Paid and delivered.
    Paid,
    /// Paid, then refunded to the wallet.
    Refunded,
    /// Its invoice was voided or expired; units went back to stock.
    Cancelled,
}

/// How an order is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderPayment {
    /// Paid from the wallet.
    Wallet,
    /// Paid by this invoice.
    Invoice {
        /// The invoice.
        invoice: InvoiceId,
    },
}

/// A unit that belongs to an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveredUnit {
    /// The unit.
    pub unit: UnitId,
    /// Its secret.
    pub payload: StockPayload,
}

/// One product of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The product.
    pub product: ProductId,
    /// Its name at the time of purchase.
    pub name: ProductName,
    /// Its kind.
    pub kind: ProductKind,
    /// How many.
    pub quantity: Quantity,
    /// The price of one.
    pub unit_price: Money,
    /// The units taken for this line (none for services).
    pub units: Vec<DeliveredUnit>,
}

/// A purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Its id.
    pub id: OrderId,
    /// The buyer.
    pub user: UserId,
    /// What was bought.
    pub lines: Vec<OrderLine>,
    /// The sum of the lines.
    pub total: Money,
    /// Where it stands.
    pub status: OrderStatus,
    /// How it is paid.
    pub payment: OrderPayment,
    /// The checkout's idempotency key.
    pub key: IdempotencyKey,
    /// The cart version the buyer confirmed; `None` for lines bought at once.
    pub cart_version: Option<u64>,
    /// When it was placed.
    pub created_at: Timestamp,
}

impl Order {
    /// Whether this order bought exactly `lines` at once (no cart): how a repeated "buy now"
    /// recognises the order its key made.
    pub fn is_purchase_of(&self, lines: &[CartLine]) -> bool {
        self.cart_version.is_none()
            && self.lines.len() == lines.len()
            && self.lines.iter().zip(lines).all(|(bought, asked)| {
                bought.product == asked.product && bought.quantity == asked.quantity
            })
    }

    /// The units the buyer may see: all of them once paid, none before.
    pub fn delivered_units(&self) -> impl Iterator<Item = (&OrderLine, &DeliveredUnit)> {
        let visible = matches!(self.status, OrderStatus::Paid | OrderStatus::Refunded);
        self.lines
            .iter()
            .filter(move |_| visible)
            .flat_map(|line| line.units.iter().map(move |unit| (line, unit)))
    }
}

/// What a checkout did: the order, and whether this very call made it.
///
/// Front ends tell the buyer "paid" only when `replayed` is false: a repeat of a committed
/// checkout (a double tap, a redelivered update, a retry after a lost answer) returns the same
/// order and must say it was already paid, never that it was paid now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutOutcome {
    /// The order the checkout's key made.
    pub order: Order,
    /// True when the key's checkout had been committed before: nothing changed this time.
    pub replayed: bool,
}

/// What a refund did: the order, and whether it had been refunded before this call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundOutcome {
    /// The refunded order.
    pub order: Order,
    /// True when the order was refunded before: nothing changed this time.
    pub already_refunded: bool,
}

/// Which orders a listing returns, newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFilter {
    /// Only this buyer's.
    pub user: Option<UserId>,
    /// Only those placed at or after this time.
    pub since: Option<Timestamp>,
    /// At most this many (0 means the backend's default of 100).
    pub limit: usize,
}

impl OrderFilter {
    /// Whether `order` passes the filter (the limit aside).
    pub fn matches(&self, order: &Order) -> bool {
        self.user.is_none_or(|u| order.user == u)
            && self.since.is_none_or(|t| order.created_at >= t)
    }

    /// The limit to apply.
    pub fn effective_limit(&self) -> usize {
        if self.limit == 0 { 100 } else { self.limit }
    }
}

/// A request to refund a paid order to the buyer's wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// The order.
    pub order: OrderId,
    /// When.
    pub at: Timestamp,
}

/// Why a checkout cannot be planned or committed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckoutError {
    /// Nothing to buy.
    #[error(transparent)]
    Cart(#[from] CartError),
    /// A product in the cart is gone or hidden.
    #[error("product {0} is no longer sold")]
    Unavailable(ProductId),
    /// The cart changed after the buyer looked at it.
    #[error("the cart changed; please review it and confirm again")]
    CartChanged,
    /// A price changed after the buyer looked at it.
    #[error("a price changed; please review the cart and confirm again")]
    PriceChanged,
    /// The lines' amounts do not add up.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The order is not in a state that allows this.
    #[error("order {order} is {status:?}")]
    WrongStatus {
        /// The order.
        order: OrderId,
        /// Its status.
        status: OrderStatus,
    },
}

/// Prices `lines` (a cart's, or what a buyer buys at once) with the current catalog. `product`
/// looks a product up by id.
pub fn plan<'a, F>(lines: &[CartLine], mut product: F) -> Result<Vec<PlannedLine>, CheckoutError>
where
    F: FnMut(ProductId) -> Option<&'a Product>,
{
    if lines.is_empty() {
        return Err(CartError::Empty.into());
    }
    lines
        .iter()
        .map(|line| {
            let p = product(line.product)
                .filter(|p| !p.hidden)
                .ok_or(CheckoutError::Unavailable(line.product))?;
            Ok(PlannedLine {
                product: p.id,
                name: p.name.clone(),
                kind: p.kind,
                quantity: line.quantity,
                unit_price: p.price,
            })
        })
        .collect()
}

/// The sum of planned lines. All lines must share one currency.
pub fn total(lines: &[PlannedLine]) -> Result<Money, CheckoutError> {
    let mut iter = lines.iter();
    let first = iter.next().ok_or(CartError::Empty)?;
    iter.try_fold(first.total()?, |sum, line| {
        Ok(sum.checked_add(line.total()?)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cart::{Cart, CartEdit};
    use crate::money::Currency;
    use crate::text::{Description, ProductName};

    fn product(id: i64, price: i64, hidden: bool) -> Product {
        Product {
            id: ProductId(id),
            category: None,
            name: ProductName::parse(&format!("P{id}")).unwrap(),
            description: Description::parse("").unwrap(),
            kind: ProductKind::Key,
            price: Money::new(price, Currency::USD),
            hidden,
            image: None,
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn a_cart_is_priced_line_by_line() {
        let catalog = [product(1, 250, false), product(2, 1000, false)];
        let mut cart = Cart::empty(UserId(7));
        cart.apply(CartEdit::Add {
            product: ProductId(1),
            quantity: Quantity::new(3).unwrap(),
        })
        .unwrap();
        cart.apply(CartEdit::Add {
            product: ProductId(2),
            quantity: Quantity::ONE,
        })
        .unwrap();
        let lines = plan(&cart.lines, |id| catalog.iter().find(|p| p.id == id)).unwrap();
        assert_eq!(total(&lines), Ok(Money::new(1750, Currency::USD)));
    }

    #[test]
    fn hidden_or_missing_products_cannot_be_bought() {
        let catalog = [product(1, 250, true)];
        let mut cart = Cart::empty(UserId(7));
        cart.apply(CartEdit::Add {
            product: ProductId(1),
            quantity: Quantity::ONE,
        })
        .unwrap();
        let find = |id| catalog.iter().find(|p: &&Product| p.id == id);
        assert_eq!(
            plan(&cart.lines, find),
            Err(CheckoutError::Unavailable(ProductId(1)))
        );
        assert_eq!(plan(&[], find), Err(CheckoutError::Cart(CartError::Empty)));
    }
}
