use super::Context;
use crate::error::{Error, Result};
use crate::ids::{InvoiceId, UserId};
use crate::invoice::{
    Invoice, InvoiceEvent, InvoiceFilter, InvoiceLine, InvoicePurpose, InvoiceStatus,
    MAX_INVOICE_LINES, NewInvoice, PaymentEvent, PaymentOutcome, PaymentProvider, TaxRate, Totals,
};
use crate::money::Money;
use crate::text::{Note, Quantity};
use crate::time::Timestamp;
use crate::user::Permission;

/// Invoices: top-ups customers ask for, bills staff issue, payments that arrive.
pub struct InvoiceService {
    context: Context,
}

impl InvoiceService {
    pub(crate) fn new(context: Context) -> Self {
        InvoiceService { context }
    }

    /// A customer asks to put `amount` into their wallet: an invoice to pay with a provider.
    pub async fn top_up(&self, user: UserId, amount: Money) -> Result<Invoice> {
        self.context.customer(user).await?;
        self.context.config.prices.check(amount)?;
        let line = InvoiceLine {
            description: Note::parse("Wallet top-up")?,
            quantity: Quantity::ONE,
            unit_price: amount,
        };
        let now = self.context.clock.now();
        let due = now.plus(self.context.config.invoice_ttl);
        self.issue(
            user,
            vec![line],
            TaxRate::ZERO,
            InvoicePurpose::WalletTopUp,
            Some(due),
        )
        .await
    }

    /// Staff bill a user for anything. A `due_at` that is not in the future is `Invalid` and
    /// issues nothing: such an invoice could never be paid.
    pub async fn create(
        &self,
        actor: UserId,
        user: UserId,
        lines: Vec<InvoiceLine>,
        tax: TaxRate,
        due_at: Option<Timestamp>,
    ) -> Result<Invoice> {
        self.context
            .staff(actor, Permission::ManageInvoices)
            .await?;
        let currency = self.context.config.prices.currency;
        if lines.iter().any(|l| l.unit_price.currency != currency) {
            return Err(Error::invalid(format!(
                "invoice lines must be in {currency}"
            )));
        }
        if due_at.is_some_and(|due| due <= self.context.clock.now()) {
            return Err(Error::invalid("the due date has passed"));
        }
        self.issue(user, lines, tax, InvoicePurpose::Custom, due_at)
            .await
    }

    async fn issue(
        &self,
        user: UserId,
        lines: Vec<InvoiceLine>,
        tax: TaxRate,
        purpose: InvoicePurpose,
        due_at: Option<Timestamp>,
    ) -> Result<Invoice> {
        if lines.len() > MAX_INVOICE_LINES {
            return Err(crate::invoice::InvoiceError::TooManyLines.into());
        }
        let totals = Totals::compute(&lines, self.context.config.prices.currency, tax)?;
        let new = NewInvoice {
            user,
            lines,
            tax,
            totals,
            purpose,
            due_at,
            at: self.context.clock.now(),
        };
        self.context.storage.create_invoice(new).await
    }

    /// A customer's own invoice.
    pub async fn view(&self, user: UserId, id: InvoiceId) -> Result<Invoice> {
        self.context.customer(user).await?;
        self.own(user, id).await
    }

    /// Staff list invoices.
    pub async fn list(&self, actor: UserId, filter: InvoiceFilter) -> Result<Vec<Invoice>> {
        self.context.staff(actor, Permission::ViewOrders).await?;
        self.context.storage.invoices(filter).await
    }

    /// Staff look at any invoice.
    pub async fn show(&self, actor: UserId, id: InvoiceId) -> Result<Invoice> {
        self.context.staff(actor, Permission::ViewOrders).await?;
        self.find(id).await
    }

    /// Staff cancel an open invoice.
    pub async fn void(&self, actor: UserId, id: InvoiceId) -> Result<Invoice> {
        let staff = self
            .context
            .staff(actor, Permission::ManageInvoices)
            .await?;
        let audit = self.context.audit(&staff, format!("void invoice {id}"));
        let at = audit.at;
        self.context
            .storage
            .transition_invoice(id, InvoiceEvent::Void, at, Some(audit))
            .await
    }

    /// Staff confirm a payment made outside the bot; `reference` identifies it (a bank
    /// reference, a receipt number) and is applied once.
    pub async fn mark_paid(
        &self,
        actor: UserId,
        id: InvoiceId,
        reference: Note,
    ) -> Result<Invoice> {
        self.context
            .staff(actor, Permission::ManageInvoices)
            .await?;
        let invoice = self.find(id).await?;
        let event = PaymentEvent {
            invoice: id,
            provider: PaymentProvider::Manual,
            charge_id: reference,
            amount: invoice.totals.total,
            at: self.context.clock.now(),
        };
        Ok(self.context.storage.apply_payment(event).await?.invoice)
    }

    /// A customer pays their own invoice from their wallet. Paying twice pays once.
    pub async fn pay_with_wallet(&self, user: UserId, id: InvoiceId) -> Result<PaymentOutcome> {
        self.context.customer(user).await?;
        let invoice = self.own(user, id).await?;
        if invoice.purpose == InvoicePurpose::WalletTopUp {
            return Err(crate::invoice::InvoiceError::TopUpFromWallet.into());
        }
        let event = PaymentEvent {
            invoice: id,
            provider: PaymentProvider::Wallet,
            charge_id: Note::parse(&format!("wallet:{id}"))?,
            amount: invoice.totals.total,
            at: self.context.clock.now(),
        };
        self.context.storage.apply_payment(event).await
    }

    /// A payment provider reports a payment (trusted callers only). Applied once per charge id.
    pub async fn apply_payment(&self, event: PaymentEvent) -> Result<PaymentOutcome> {
        self.context.storage.apply_payment(event).await
    }

    /// Expires open invoices whose due time has passed (a background job). Returns those it
    /// expired; an invoice paid or voided meanwhile is left alone.
    pub async fn expire_overdue(&self) -> Result<Vec<Invoice>> {
        let now = self.context.clock.now();
        let filter = InvoiceFilter {
            user: None,
            status: Some(InvoiceStatus::Open),
            limit: usize::MAX,
        };
        let mut expired = Vec::new();
        for invoice in self.context.storage.invoices(filter).await? {
            if invoice.due_at.is_some_and(|due| due <= now) {
                match self
                    .context
                    .storage
                    .transition_invoice(invoice.id, InvoiceEvent::Expire, now, None)
                    .await
                {
                    Ok(invoice) => expired.push(invoice),
                    Err(Error::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(expired)
    }

    async fn find(&self, id: InvoiceId) -> Result<Invoice> {
        self.context
            .storage
            .invoice(id)
            .await?
            .ok_or_else(|| Error::not_found("invoice", id))
    }

    async fn own(&self, user: UserId, id: InvoiceId) -> Result<Invoice> {
        let invoice = self.find(id).await?;
        if invoice.user != user {
            return Err(Error::not_found("invoice", id));
        }
        Ok(invoice)
    }
}
