//! The JSON shapes `--json` prints: a stable contract for scripts, kept apart from the core's
//! storage serialization so that either can change without breaking the other.

use serde::Serialize;
use shopbot_core::catalog::{Category, Product};
use shopbot_core::invoice::{Invoice, InvoicePurpose, PaymentProvider};
use shopbot_core::money::Money;
use shopbot_core::order::{Order, OrderPayment, OrderStatus};
use shopbot_core::stock::StockCounts;
use shopbot_core::time::Timestamp;
use shopbot_core::user::User;
use shopbot_core::wallet::Balance;

use crate::output::time_rfc3339;

/// An amount: exact decimal text, currency, and minor units.
#[derive(Debug, Clone, Serialize)]
pub struct MoneyView {
    /// Decimal text such as `9.99`.
    pub amount: String,
    /// The currency code.
    pub currency: String,
    /// Minor units (cents).
    pub minor: i64,
}

impl From<Money> for MoneyView {
    fn from(m: Money) -> MoneyView {
        MoneyView {
            amount: m.amount_text(),
            currency: m.currency.code().to_owned(),
            minor: m.minor,
        }
    }
}

fn time(at: Timestamp) -> String {
    time_rfc3339(at)
}

/// A category.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

impl From<&Category> for CategoryView {
    fn from(c: &Category) -> CategoryView {
        CategoryView {
            id: c.id.0,
            name: c.name.as_str().to_owned(),
            created_at: time(c.created_at),
        }
    }
}

/// Unit counts of a product.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StockView {
    /// Ready to sell.
    pub available: u64,
    /// Held by orders awaiting payment.
    pub reserved: u64,
    /// Sold.
    pub sold: u64,
}

impl From<StockCounts> for StockView {
    fn from(c: StockCounts) -> StockView {
        StockView {
            available: c.available,
            reserved: c.reserved,
            sold: c.sold,
        }
    }
}

/// A product, with its stock when it keeps stock.
#[derive(Debug, Clone, Serialize)]
pub struct ProductView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// `key`, `file`, `slot` or `service`.
    pub kind: &'static str,
    /// The price of one.
    pub price: MoneyView,
    /// Its category's id, if any.
    pub category: Option<i64>,
    /// Its description.
    pub description: String,
    /// Hidden from customers.
    pub hidden: bool,
    /// Its picture, if any.
    pub image: Option<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// Unit counts; `null` for services, which keep no stock.
    pub stock: Option<StockView>,
}

impl ProductView {
    /// The view of `product` with its `counts`.
    pub fn new(product: &Product, counts: Option<StockCounts>) -> ProductView {
        ProductView {
            id: product.id.0,
            name: product.name.as_str().to_owned(),
            kind: product.kind.as_str(),
            price: product.price.into(),
            category: product.category.map(|c| c.0),
            description: product.description.as_str().to_owned(),
            hidden: product.hidden,
            image: product.image.as_ref().map(|i| i.as_str().to_owned()),
            created_at: time(product.created_at),
            stock: product
                .kind
                .uses_stock()
                .then(|| counts.unwrap_or_default().into()),
        }
    }
}

/// A user and their wallet.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// Their id.
    pub id: i64,
    /// Their display name.
    pub name: String,
    /// Their stored role.
    pub role: &'static str,
    /// Whether they are an owner by configuration (`SHOPBOT_ADMINS`, or the local owner),
    /// whatever their stored role says.
    pub configured_owner: bool,
    /// Whether they are banned.
    pub banned: bool,
    /// When the shop first saw them (RFC 3339).
    pub created_at: String,
    /// Everything in the wallet.
    pub balance: MoneyView,
    /// The part set aside by open holds.
    pub held: MoneyView,
    /// What they can spend.
    pub available: MoneyView,
}

impl UserView {
    /// The view of `user` with `wallet`.
    pub fn new(user: &User, wallet: &Balance, configured_owner: bool) -> UserView {
        UserView {
            id: user.id.0,
            name: user.name.as_str().to_owned(),
            role: user.role.as_str(),
            configured_owner,
            banned: user.banned,
            created_at: time(user.created_at),
            balance: wallet.balance.into(),
            held: wallet.held.into(),
            available: wallet.available().into(),
        }
    }
}

/// `awaiting_payment`, `paid`, `refunded` or `cancelled`.
pub fn order_status(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::AwaitingPayment => "awaiting_payment",
        OrderStatus::Paid => "paid",
        OrderStatus::Refunded => "refunded",
        OrderStatus::Cancelled => "cancelled",
    }
}

/// `wallet`, or `invoice <id>`.
pub fn order_payment(payment: OrderPayment) -> String {
    match payment {
        OrderPayment::Wallet => "wallet".to_owned(),
        OrderPayment::Invoice { invoice } => format!("invoice {invoice}"),
    }
}

/// One product of an order.
#[derive(Debug, Clone, Serialize)]
pub struct OrderLineView {
    /// The product's id.
    pub product: i64,
    /// Its name at the time of purchase.
    pub name: String,
    /// Its kind.
    pub kind: &'static str,
    /// How many.
    pub quantity: u32,
    /// The price of one.
    pub unit_price: MoneyView,
    /// The units delivered for this line (empty until paid, and for services).
    pub delivered: Vec<DeliveredView>,
}

/// A unit delivered to the buyer.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveredView {
    /// The unit's id.
    pub unit: i64,
    /// Its secret (the key, code or link).
    pub payload: String,
}

/// An order.
#[derive(Debug, Clone, Serialize)]
pub struct OrderView {
    /// Its id.
    pub id: i64,
    /// The buyer.
    pub user: i64,
    /// Where it stands.
    pub status: &'static str,
    /// `wallet`, or the invoice that pays it.
    pub payment: PaymentView,
    /// The sum of the lines.
    pub total: MoneyView,
    /// When it was placed (RFC 3339).
    pub created_at: String,
    /// What was bought.
    pub lines: Vec<OrderLineView>,
}

/// How an order is paid.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentView {
    /// `wallet` or `invoice`.
    pub method: &'static str,
    /// The invoice's id, for `invoice`.
    pub invoice: Option<i64>,
}

impl From<&Order> for OrderView {
    fn from(order: &Order) -> OrderView {
        let delivered: Vec<_> = order.delivered_units().collect();
        let lines = order
            .lines
            .iter()
            .map(|line| OrderLineView {
                product: line.product.0,
                name: line.name.as_str().to_owned(),
                kind: line.kind.as_str(),
                quantity: line.quantity.get(),
                unit_price: line.unit_price.into(),
                delivered: delivered
                    .iter()
                    .filter(|(l, _)| std::ptr::eq(*l, line))
                    .map(|(_, u)| DeliveredView {
                        unit: u.unit.0,
                        payload: u.payload.as_str().to_owned(),
                    })
                    .collect(),
            })
            .collect();
        let payment = match order.payment {
            OrderPayment::Wallet => PaymentView {
                method: "wallet",
                invoice: None,
            },
            OrderPayment::Invoice { invoice } => PaymentView {
                method: "invoice",
                invoice: Some(invoice.0),
            },
        };
        OrderView {
            id: order.id.0,
            user: order.user.0,
            status: order_status(order.status),
            payment,
            total: order.total.into(),
            created_at: time(order.created_at),
            lines,
        }
    }
}

/// What `order refund` did: the order, and whether it had been refunded before.
#[derive(Debug, Clone, Serialize)]
pub struct RefundView {
    /// The refunded order, its fields inline.
    #[serde(flatten)]
    pub order: OrderView,
    /// True when the order was refunded before: this refund changed nothing.
    pub already_refunded: bool,
}

/// What an invoice is for, for people: `wallet top-up`, `order 12` or `custom`.
pub fn invoice_purpose(purpose: InvoicePurpose) -> String {
    match purpose {
        InvoicePurpose::WalletTopUp => "wallet top-up".to_owned(),
        InvoicePurpose::Order { order } => format!("order {order}"),
        InvoicePurpose::Custom => "custom".to_owned(),
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceLineView {
    /// What is billed.
    pub description: String,
    /// How many.
    pub quantity: u32,
    /// The price of one, before tax.
    pub unit_price: MoneyView,
}

/// A recorded payment.
#[derive(Debug, Clone, Serialize)]
pub struct InvoicePaymentView {
    /// `telegram`, `stars`, `manual` or `wallet`.
    pub provider: &'static str,
    /// The provider's charge id or the admin's reference.
    pub reference: String,
    /// How much.
    pub amount: MoneyView,
    /// When (RFC 3339).
    pub at: String,
}

/// `telegram`, `stars`, `manual` or `wallet`.
pub fn provider_name(provider: PaymentProvider) -> &'static str {
    match provider {
        PaymentProvider::Telegram => "telegram",
        PaymentProvider::Stars => "stars",
        PaymentProvider::Manual => "manual",
        PaymentProvider::Wallet => "wallet",
    }
}

/// An invoice.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceView {
    /// Its internal id (what commands take).
    pub id: i64,
    /// Its number for people.
    pub number: u64,
    /// Who pays.
    pub user: i64,
    /// `open`, `paid`, `void` or `expired`.
    pub status: &'static str,
    /// `wallet_top_up`, `order` or `custom`.
    pub purpose: &'static str,
    /// The order it pays for, if any.
    pub order: Option<i64>,
    /// What is billed.
    pub lines: Vec<InvoiceLineView>,
    /// The tax rate in basis points.
    pub tax_bp: u32,
    /// The sum of the lines.
    pub subtotal: MoneyView,
    /// Tax on the subtotal.
    pub tax: MoneyView,
    /// What the user pays.
    pub total: MoneyView,
    /// When it expires, if ever (RFC 3339).
    pub due_at: Option<String>,
    /// The last day to pay (`YYYY-MM-DD`), for an invoice due at the end of a day.
    pub due_date: Option<String>,
    /// When it was issued (RFC 3339).
    pub created_at: String,
    /// When it reached its final status (RFC 3339).
    pub closed_at: Option<String>,
    /// The payment, once paid.
    pub payment: Option<InvoicePaymentView>,
}

impl From<&Invoice> for InvoiceView {
    fn from(invoice: &Invoice) -> InvoiceView {
        let (purpose, order) = match invoice.purpose {
            InvoicePurpose::WalletTopUp => ("wallet_top_up", None),
            InvoicePurpose::Order { order } => ("order", Some(order.0)),
            InvoicePurpose::Custom => ("custom", None),
        };
        InvoiceView {
            id: invoice.id.0,
            number: invoice.number,
            user: invoice.user.0,
            status: invoice.status.as_str(),
            purpose,
            order,
            lines: invoice
                .lines
                .iter()
                .map(|l| InvoiceLineView {
                    description: l.description.as_str().to_owned(),
                    quantity: l.quantity.get(),
                    unit_price: l.unit_price.into(),
                })
                .collect(),
            tax_bp: invoice.tax.bp(),
            subtotal: invoice.totals.subtotal.into(),
            tax: invoice.totals.tax.into(),
            total: invoice.totals.total.into(),
            due_at: invoice.due_at.map(time),
            due_date: invoice.due_at.and_then(Timestamp::day_ending),
            created_at: time(invoice.created_at),
            closed_at: invoice.closed_at.map(time),
            payment: invoice.payment.as_ref().map(|p| InvoicePaymentView {
                provider: provider_name(p.provider),
                reference: p.charge_id.as_str().to_owned(),
                amount: p.amount.into(),
                at: time(p.at),
            }),
        }
    }
}
