//! Invoices and payments.

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::InvoiceId;
use shopbot_core::invoice::{
    Invoice, InvoiceError, InvoiceEvent, InvoiceFilter, InvoicePurpose, InvoiceStatus, NewInvoice,
    PaymentEvent, PaymentOutcome, PaymentProvider, PaymentRecord,
};
use shopbot_core::order::{CheckoutError, OrderStatus};
use shopbot_core::outbox::{NewOutboxMessage, OutboxBody};
use shopbot_core::text::IdempotencyKey;
use shopbot_core::time::Timestamp;
use shopbot_core::wallet::LedgerOp;

use super::State;

impl State {
    pub(super) fn create_invoice(&mut self, new: NewInvoice) -> Result<Invoice, Error> {
        self.require_user(new.user)?;
        if matches!(new.purpose, InvoicePurpose::Order { .. }) {
            return Err(Error::invalid("order invoices are created by checkout"));
        }
        Ok(self.insert_invoice(new))
    }

    /// Issues an invoice with the next id and number, and tells the user.
    pub(super) fn insert_invoice(&mut self, new: NewInvoice) -> Invoice {
        self.next.invoice += 1;
        self.next.invoice_number += 1;
        let invoice = Invoice {
            id: InvoiceId(self.next.invoice),
            number: self.next.invoice_number,
            user: new.user,
            lines: new.lines,
            tax: new.tax,
            totals: new.totals,
            purpose: new.purpose,
            status: InvoiceStatus::Open,
            payment: None,
            due_at: new.due_at,
            created_at: new.at,
            closed_at: None,
        };
        self.invoices.insert(invoice.id, invoice.clone());
        self.open_invoices.insert(invoice.id);
        let message = NewOutboxMessage {
            user: invoice.user,
            body: OutboxBody::InvoiceIssued {
                invoice: invoice.id,
            },
        };
        self.queue(message, new.at);
        invoice
    }

    pub(super) fn transition_invoice(
        &mut self,
        id: InvoiceId,
        event: InvoiceEvent,
        at: Timestamp,
        audit: Option<AuditRecord>,
    ) -> Result<Invoice, Error> {
        if event == InvoiceEvent::Pay {
            return Err(Error::invalid("payments are applied with apply_payment"));
        }
        let invoice = self.require_invoice(id)?;
        let status = invoice.status.on(event)?;
        let purpose = invoice.purpose;
        if let InvoicePurpose::Order { order } = purpose {
            self.settle_order(order, false);
        }
        self.write_audit(audit);
        self.close_invoice(id, status, at, None)
    }

    pub(super) fn apply_payment(&mut self, payment: PaymentEvent) -> Result<PaymentOutcome, Error> {
        let charge = (payment.provider, payment.charge_id.clone());
        if let Some(paid) = self.charges.get(&charge) {
            if *paid != payment.invoice {
                return Err(InvoiceError::ChargeReused.into());
            }
            let invoice = self.require_invoice(*paid)?.clone();
            return Ok(PaymentOutcome {
                invoice,
                newly_applied: false,
            });
        }

        // Check.
        let invoice = self.require_invoice(payment.invoice)?;
        invoice.status.on(InvoiceEvent::Pay)?;
        if payment.amount != invoice.totals.total {
            return Err(InvoiceError::AmountMismatch {
                total: invoice.totals.total,
                paid: payment.amount,
            }
            .into());
        }
        let (id, user, purpose, totals) =
            (invoice.id, invoice.user, invoice.purpose, invoice.totals);
        if let InvoicePurpose::Order { order } = purpose {
            let status = self.orders.get(&order).map(|o| o.status);
            if status != Some(OrderStatus::AwaitingPayment) {
                let status = status.unwrap_or(OrderStatus::Cancelled);
                return Err(CheckoutError::WrongStatus { order, status }.into());
            }
        }
        let key = IdempotencyKey::derived("invoice", id);
        let entry = match (payment.provider, purpose) {
            (PaymentProvider::Wallet, InvoicePurpose::WalletTopUp) => {
                return Err(InvoiceError::TopUpFromWallet.into());
            }
            (PaymentProvider::Wallet, purpose) => {
                let order = match purpose {
                    InvoicePurpose::Order { order } => Some(order),
                    _ => None,
                };
                let op = LedgerOp::Charge {
                    amount: totals.total,
                    order,
                    invoice: Some(id),
                };
                Some(self.plan_entry(user, key, op, None)?)
            }
            (_, InvoicePurpose::WalletTopUp) => {
                let op = LedgerOp::Deposit {
                    amount: totals.subtotal,
                };
                Some(self.plan_entry(user, key, op, None)?)
            }
            _ => None,
        };

        // Change.
        if let Some(plan) = entry {
            self.write_entry(plan, payment.at);
        }
        if let InvoicePurpose::Order { order } = purpose {
            self.settle_order(order, true);
            let message = NewOutboxMessage {
                user,
                body: OutboxBody::OrderDelivered { order },
            };
            self.queue(message, payment.at);
        }
        let message = NewOutboxMessage {
            user,
            body: OutboxBody::PaymentReceived { invoice: id },
        };
        self.queue(message, payment.at);
        self.charges.insert(charge, id);
        let record = PaymentRecord {
            provider: payment.provider,
            charge_id: payment.charge_id,
            amount: payment.amount,
            at: payment.at,
        };
        let invoice = self.close_invoice(id, InvoiceStatus::Paid, payment.at, Some(record))?;
        Ok(PaymentOutcome {
            invoice,
            newly_applied: true,
        })
    }

    fn close_invoice(
        &mut self,
        id: InvoiceId,
        status: InvoiceStatus,
        at: Timestamp,
        payment: Option<PaymentRecord>,
    ) -> Result<Invoice, Error> {
        let invoice = self
            .invoices
            .get_mut(&id)
            .ok_or_else(|| Error::not_found("invoice", id))?;
        invoice.status = status;
        invoice.closed_at = Some(at);
        invoice.payment = payment;
        self.open_invoices.remove(&id);
        Ok(invoice.clone())
    }

    fn require_invoice(&self, id: InvoiceId) -> Result<&Invoice, Error> {
        self.invoices
            .get(&id)
            .ok_or_else(|| Error::not_found("invoice", id))
    }

    /// An invoice by id.
    pub fn invoice(&self, id: InvoiceId) -> Option<Invoice> {
        self.invoices.get(&id).cloned()
    }

    /// Invoices passing `filter`, newest first.
    pub fn invoices(&self, filter: InvoiceFilter) -> Vec<Invoice> {
        let limit = filter.effective_limit();
        let matching = |i: &&Invoice| filter.matches(i);
        if filter.status == Some(InvoiceStatus::Open) {
            return self
                .open_invoices
                .iter()
                .rev()
                .filter_map(|id| self.invoices.get(id))
                .filter(matching)
                .take(limit)
                .cloned()
                .collect();
        }
        self.invoices
            .values()
            .rev()
            .filter(matching)
            .take(limit)
            .cloned()
            .collect()
    }
}
