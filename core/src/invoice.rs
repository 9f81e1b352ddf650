//! Invoices: bills with exact totals, gap-free numbers and a one-way status.
//!
//! Owns [`Invoice`], [`TaxRate`], [`Totals`], the status machine ([`InvoiceStatus::on`]) and
//! payment events. Terminal states (paid, void, expired) never change; a payment is applied once
//! per provider charge id.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::{InvoiceId, OrderId, UserId};
use crate::money::{Currency, Money, MoneyError};
use crate::text::{Note, Quantity};
use crate::time::Timestamp;

/// A tax rate in basis points: 1800 is 18 %. From 0 to 10,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct TaxRate(u32);

/// A tax rate above 100 %.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("a tax rate is 0 to 10000 basis points (1800 = 18%)")]
pub struct TaxRateError;

impl TaxRate {
    /// No tax.
    pub const ZERO: TaxRate = TaxRate(0);

    /// A rate from basis points.
    pub fn from_bp(bp: u32) -> Result<Self, TaxRateError> {
        if bp <= 10_000 {
            Ok(TaxRate(bp))
        } else {
            Err(TaxRateError)
        }
    }

    /// The rate in basis points.
    pub fn bp(self) -> u32 {
        self.0
    }

    /// The tax on `amount`, rounded half away from zero to the minor unit.
    pub fn tax_on(self, amount: Money) -> Result<Money, MoneyError> {
        let product = i128::from(amount.minor) * i128::from(self.0);
        let half = if product < 0 { -5_000 } else { 5_000 };
        let minor = i64::try_from((product + half) / 10_000).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, amount.currency))
    }
}

impl TryFrom<u32> for TaxRate {
    type Error = TaxRateError;
    fn try_from(bp: u32) -> Result<Self, Self::Error> {
        TaxRate::from_bp(bp)
    }
}

impl From<TaxRate> for u32 {
    fn from(rate: TaxRate) -> u32 {
        rate.0
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// What is billed.
    pub description: Note,
    /// How many.
    pub quantity: Quantity,
    /// The price of one, before tax.
    pub unit_price: Money,
}

/// An invoice's sums, computed exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// The sum of the lines.
    pub subtotal: Money,
    /// Tax on the subtotal.
    pub tax: Money,
    /// What the user pays: subtotal plus tax.
    pub total: Money,
}

impl Totals {
    /// Sums `lines` in `currency` and adds `tax`.
    pub fn compute(
        lines: &[InvoiceLine],
        currency: Currency,
        tax: TaxRate,
    ) -> Result<Totals, InvoiceError> {
        if lines.is_empty() {
            return Err(InvoiceError::NoLines);
        }
        let mut subtotal = Money::zero(currency);
        for line in lines {
            if !line.unit_price.is_positive() {
                return Err(InvoiceError::NonPositiveLine);
            }
            let amount = line
                .unit_price
                .checked_mul(i64::from(line.quantity.get()))?;
            subtotal = subtotal.checked_add(amount)?;
        }
        let tax = tax.tax_on(subtotal)?;
        Ok(Totals {
            subtotal,
            tax,
            total: subtotal.checked_add(tax)?,
        })
    }
}

/// What an invoice pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "purpose")]
pub enum InvoicePurpose {
    /// Money into the user's wallet.
    WalletTopUp,
    /// An order awaiting payment (created by checkout only).
    Order {
        /// The order.
        order: OrderId,
    },
    /// Anything else an admin bills.
    Custom,
}

/// Where an invoice stands. Paid, void and expired are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Waiting for payment.
    Open,
    /// Paid.
    Paid,
    /// Cancelled by an admin.
    Void,
    /// Not paid in time.
    Expired,
}

/// Something that happens to an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceEvent {
    /// Payment arrived.
    Pay,
    /// An admin cancels it.
    Void,
    /// Its due time passed.
    Expire,
}

impl InvoiceStatus {
    /// Every status.
    pub const ALL: [InvoiceStatus; 4] = [
        InvoiceStatus::Open,
        InvoiceStatus::Paid,
        InvoiceStatus::Void,
        InvoiceStatus::Expired,
    ];

    /// Whether nothing can change this status any more.
    pub fn is_final(self) -> bool {
        self != InvoiceStatus::Open
    }

    /// The status after `event`, or why the event does not apply.
    pub fn on(self, event: InvoiceEvent) -> Result<InvoiceStatus, InvoiceError> {
        match (self, event) {
            (InvoiceStatus::Open, InvoiceEvent::Pay) => Ok(InvoiceStatus::Paid),
            (InvoiceStatus::Open, InvoiceEvent::Void) => Ok(InvoiceStatus::Void),
            (InvoiceStatus::Open, InvoiceEvent::Expire) => Ok(InvoiceStatus::Expired),
            (status, _) => Err(InvoiceError::Closed(status)),
        }
    }

    /// Parses `open`, `paid`, `void` or `expired`.
    pub fn parse(text: &str) -> Option<InvoiceStatus> {
        InvoiceStatus::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The status's lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Open => "open",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Void => "void",
            InvoiceStatus::Expired => "expired",
        }
    }
}

/// Who took a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentProvider {
    /// Telegram Payments through a payment provider.
    Telegram,
    /// Telegram Stars.
    Stars,
    /// An admin confirmed a payment made outside the bot.
    Manual,
    /// The user's shop wallet.
    Wallet,
}

/// A payment that arrived for an invoice. Applied at most once per `(provider, charge_id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    /// The invoice paid.
    pub invoice: InvoiceId,
    /// Who took the money.
    pub provider: PaymentProvider,
    /// The provider's id of the charge (or the admin's reference for manual payments).
    pub charge_id: Note,
    /// How much was paid; must equal the invoice total.
    pub amount: Money,
    /// When.
    pub at: Timestamp,
}

/// A payment recorded on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// Who took the money.
    pub provider: PaymentProvider,
    /// The provider's charge id.
    pub charge_id: Note,
    /// How much.
    pub amount: Money,
    /// When.
    pub at: Timestamp,
}

/// A bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// Its internal id.
    pub id: InvoiceId,
    /// Its number for people: 1, 2, 3, … with no gaps.
    pub number: u64,
    /// Who pays.
    pub user: UserId,
    /// What is billed.
    pub lines: Vec<InvoiceLine>,
    /// The tax rate.
    pub tax: TaxRate,
    /// The sums.
    pub totals: Totals,
    /// What it pays for.
    pub purpose: InvoicePurpose,
    /// Where it stands.
    pub status: InvoiceStatus,
    /// The payment, once paid.
    pub payment: Option<PaymentRecord>,
    /// When it expires, if ever.
    pub due_at: Option<Timestamp>,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it reached its final status.
    pub closed_at: Option<Timestamp>,
}

/// A request to issue an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvoice {
    /// Who pays.
    pub user: UserId,
    /// What is billed.
    pub lines: Vec<InvoiceLine>,
    /// The tax rate.
    pub tax: TaxRate,
    /// The sums, as computed by [`Totals::compute`].
    pub totals: Totals,
    /// What it pays for.
    pub purpose: InvoicePurpose,
    /// When it expires, if ever.
    pub due_at: Option<Timestamp>,
    /// When.
    pub at: Timestamp,
}

/// The result of applying a payment event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOutcome {
    /// The invoice after the event.
    pub invoice: Invoice,
    /// False when this charge had been applied before: nothing changed this time.
    pub newly_applied: bool,
}

/// Which invoices a listing returns, newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceFilter {
    /// Only this user's.
    pub user: Option<UserId>,
    /// Only in this status.
    pub status: Option<InvoiceStatus>,
    /// At most this many (0 means the backend's default of 100).
    pub limit: usize,
}

impl InvoiceFilter {
    /// Whether `invoice` passes the filter (the limit aside).
    pub fn matches(&self, invoice: &Invoice) -> bool {
        self.user.is_none_or(|u| invoice.user == u)
            && self.status.is_none_or(|s| invoice.status == s)
    }

    /// The limit to apply.
    pub fn effective_limit(&self) -> usize {
        if self.limit == 0 { 100 } else { self.limit }
    }
}

/// Why an invoice operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvoiceError {
    /// The invoice is already paid, void or expired.
    #[error("the invoice is already {}", .0.as_str())]
    Closed(InvoiceStatus),
    /// The payment does not match the total.
    #[error("the payment of {paid} does not match the invoice total of {total}")]
    AmountMismatch {
        /// The invoice total.
        total: Money,
        /// What was paid.
        paid: Money,
    },
    /// This charge id already paid another invoice.
    #[error("this charge was already applied to another invoice")]
    ChargeReused,
    /// An invoice needs at least one line.
    #[error("an invoice needs at least one line")]
    NoLines,
    /// An invoice holds at most [`MAX_INVOICE_LINES`] lines.
    #[error("an invoice holds at most {MAX_INVOICE_LINES} lines")]
    TooManyLines,
    /// Lines must have a positive price.
    #[error("every line needs a price above zero")]
    NonPositiveLine,
    /// A wallet top-up cannot be paid from the same wallet.
    #[error("a wallet top-up cannot be paid from the wallet")]
    TopUpFromWallet,
    /// The sums do not fit.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// The most lines one invoice holds.
pub const MAX_INVOICE_LINES: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    fn line(minor: i64, qty: u32) -> InvoiceLine {
        InvoiceLine {
            description: Note::parse("Consulting").unwrap(),
            quantity: Quantity::new(qty).unwrap(),
            unit_price: Money::new(minor, Currency::USD),
        }
    }

    #[test]
    fn totals_are_exact_and_tax_rounds_half_up() {
        let tax = TaxRate::from_bp(1800).unwrap();
        let totals = Totals::compute(&[line(999, 3), line(1, 1)], Currency::USD, tax).unwrap();
        assert_eq!(totals.subtotal.minor, 2998);
        // 2998 × 0.18 = 539.64 → 540
        assert_eq!(totals.tax.minor, 540);
        assert_eq!(totals.total.minor, 3538);
        // 25 × 0.02 = 0.5 → 1 (half rounds away from zero)
        let two = TaxRate::from_bp(200).unwrap();
        assert_eq!(two.tax_on(Money::new(25, Currency::USD)).unwrap().minor, 1);
        assert_eq!(two.tax_on(Money::new(24, Currency::USD)).unwrap().minor, 0);
    }

    #[test]
    fn only_open_invoices_change_status() {
        use InvoiceEvent::*;
        for status in InvoiceStatus::ALL {
            for event in [Pay, Void, Expire] {
                let next = status.on(event);
                if status == InvoiceStatus::Open {
                    assert!(next.is_ok_and(InvoiceStatus::is_final));
                } else {
                    assert_eq!(next, Err(InvoiceError::Closed(status)));
                }
            }
        }
    }

    #[test]
    fn tax_rates_stop_at_one_hundred_percent() {
        assert!(TaxRate::from_bp(10_000).is_ok());
        assert!(TaxRate::from_bp(10_001).is_err());
    }

    #[test]
    fn an_invoice_needs_lines() {
        assert_eq!(
            Totals::compute(&[], Currency::USD, TaxRate::ZERO),
            Err(InvoiceError::NoLines)
        );
    }
}
