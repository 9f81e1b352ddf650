use async_trait::async_trait;

use crate::error::Result;
use crate::invoice::{Invoice, PaymentRecord};

/// A payment provider that can ask a user to pay an invoice and give money back.
///
/// Payments themselves arrive later as [`PaymentEvent`](crate::invoice::PaymentEvent)s and are
/// applied through [`Storage::apply_payment`](super::Storage::apply_payment), once per charge.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Presents `invoice` to its user for payment.
    async fn request_payment(&self, invoice: &Invoice) -> Result<()>;

    /// Returns a recorded payment to the payer.
    async fn refund(&self, invoice: &Invoice, payment: &PaymentRecord) -> Result<()>;
}
