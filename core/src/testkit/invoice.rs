//! Invoices: gap-free numbers, a one-way status, payments applied once per charge id, and the
//! effects of a payment (a top-up deposited, a wallet charged) made with it atomically. Orders
//! paid by invoice are in [`order_invoice`](super::order_invoice).

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::{CURRENCY, OWNER, TestShop, all_ledger, claim_all, note, qty, usd};
use crate::error::{Error, Result};
use crate::ids::{InvoiceId, UserId};
use crate::invoice::{
    Invoice, InvoiceEvent, InvoiceFilter, InvoiceLine, InvoicePurpose, InvoiceStatus, NewInvoice,
    PaymentEvent, PaymentProvider, PaymentRecord, TaxRate, Totals,
};
use crate::outbox::OutboxBody;
use crate::ports::Storage;
use crate::time::Timestamp;
use crate::wallet::LedgerOp;

/// A request for an invoice of `count` × `unit_minor` with `tax_bp` basis points of tax.
pub(crate) fn bill(
    user: UserId,
    unit_minor: i64,
    count: u32,
    tax_bp: u32,
    purpose: InvoicePurpose,
    at: Timestamp,
) -> NewInvoice {
    let lines = vec![InvoiceLine {
        description: note("Suite line"),
        quantity: qty(count),
        unit_price: usd(unit_minor),
    }];
    let tax = TaxRate::from_bp(tax_bp).unwrap();
    let totals = Totals::compute(&lines, CURRENCY, tax).unwrap();
    NewInvoice {
        user,
        lines,
        tax,
        totals,
        purpose,
        due_at: None,
        at,
    }
}

/// A payment of `invoice`'s total.
pub(crate) fn paying(
    invoice: &Invoice,
    provider: PaymentProvider,
    charge: &str,
    at: Timestamp,
) -> PaymentEvent {
    PaymentEvent {
        invoice: invoice.id,
        provider,
        charge_id: note(charge),
        amount: invoice.totals.total,
        at,
    }
}

async fn reach(t: &TestShop, invoice: Invoice, status: InvoiceStatus, n: usize) -> Invoice {
    let at = t.tick();
    let store = &t.store;
    let reached = match status {
        InvoiceStatus::Open => invoice,
        InvoiceStatus::Paid => {
            let event = paying(&invoice, PaymentProvider::Manual, &format!("reach-{n}"), at);
            store.apply_payment(event).await.unwrap().invoice
        }
        InvoiceStatus::Void => store
            .transition_invoice(invoice.id, InvoiceEvent::Void, at, None)
            .await
            .unwrap(),
        InvoiceStatus::Expired => store
            .transition_invoice(invoice.id, InvoiceEvent::Expire, at, None)
            .await
            .unwrap(),
    };
    assert_eq!(reached.status, status);
    reached
}

async fn happen(
    t: &TestShop,
    invoice: &Invoice,
    event: InvoiceEvent,
    n: usize,
    at: Timestamp,
) -> Result<Invoice> {
    match event {
        InvoiceEvent::Pay => {
            let payment = paying(
                invoice,
                PaymentProvider::Telegram,
                &format!("event-{n}"),
                at,
            );
            let outcome = t.store.apply_payment(payment).await?;
            assert!(outcome.newly_applied, "a first payment is newly applied");
            Ok(outcome.invoice)
        }
        InvoiceEvent::Void | InvoiceEvent::Expire => {
            t.store
                .transition_invoice(invoice.id, event, at, None)
                .await
        }
    }
}

/// For every status × event: from open, pay, void and expire lead to paid, void and expired,
/// stamping the time (and the payment); from any final status every event is a `Conflict` and
/// the invoice stays exactly as it was. A paid invoice's own charge again is a harmless repeat,
/// `transition_invoice` refuses `Pay`, and unknown invoices are `NotFound`.
pub async fn an_invoice_leaves_open_once_and_final_states_never_change(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let user = t.customer(10).await;
    let mut n = 0;
    for status in InvoiceStatus::ALL {
        for event in [InvoiceEvent::Pay, InvoiceEvent::Void, InvoiceEvent::Expire] {
            n += 1;
            let context = format!("{status:?} then {event:?}");
            let new = bill(user, 1_000, 1, 0, InvoicePurpose::Custom, t.now());
            let created = t.store.create_invoice(new).await.unwrap();
            let before = reach(&t, created, status, n).await;
            let at = t.tick();
            let result = happen(&t, &before, event, n, at).await;
            let after = t.store.invoice(before.id).await.unwrap().unwrap();
            match status.on(event) {
                Ok(next) => {
                    let got = result.unwrap();
                    assert_eq!(got, after, "{context}: the answer is what is stored");
                    assert_eq!(got.status, next, "{context}");
                    assert_eq!(got.closed_at, Some(at), "{context}");
                    let payment = (event == InvoiceEvent::Pay).then(|| PaymentRecord {
                        provider: PaymentProvider::Telegram,
                        charge_id: note(&format!("event-{n}")),
                        amount: before.totals.total,
                        at,
                    });
                    assert_eq!(got.payment, payment, "{context}");
                    let untouched = Invoice {
                        status: before.status,
                        payment: before.payment.clone(),
                        closed_at: before.closed_at,
                        ..got
                    };
                    assert_eq!(
                        untouched, before,
                        "{context}: only status, payment, closed_at"
                    );
                }
                Err(_) => {
                    assert!(
                        matches!(result, Err(Error::Conflict(_))),
                        "{context}: {result:?}"
                    );
                    assert_eq!(after, before, "{context}: a final invoice changed");
                }
            }
            if status == InvoiceStatus::Paid {
                let repeat = paying(&before, PaymentProvider::Manual, &format!("reach-{n}"), at);
                let outcome = t.store.apply_payment(repeat).await.unwrap();
                assert!(
                    !outcome.newly_applied,
                    "{context}: a repeated charge is not new"
                );
                assert_eq!(
                    outcome.invoice, before,
                    "{context}: a repeated charge changed it"
                );
            }
        }
    }

    let open = t
        .store
        .create_invoice(bill(user, 1_000, 1, 0, InvoicePurpose::Custom, t.now()))
        .await
        .unwrap();
    let refused = t
        .store
        .transition_invoice(open.id, InvoiceEvent::Pay, t.now(), None)
        .await;
    assert!(
        refused.is_err(),
        "Pay goes through apply_payment: {refused:?}"
    );
    assert_eq!(t.store.invoice(open.id).await.unwrap(), Some(open.clone()));

    let unknown = InvoiceId(987_654_321);
    let gone = t
        .store
        .transition_invoice(unknown, InvoiceEvent::Void, t.now(), None)
        .await;
    assert!(matches!(gone, Err(Error::NotFound { .. })), "{gone:?}");
    let ghost = Invoice {
        id: unknown,
        ..open
    };
    let gone = t
        .store
        .apply_payment(paying(&ghost, PaymentProvider::Telegram, "ghost", t.now()))
        .await;
    assert!(matches!(gone, Err(Error::NotFound { .. })), "{gone:?}");
}

/// One top-up payment delivered five times at once is applied once: exactly one delivery is
/// `newly_applied`, all see the same paid invoice, the wallet gets one deposit and the user one
/// `PaymentReceived`. The same charge id for another invoice is a `Conflict`; a wrong amount
/// is `Invalid`; neither changes that invoice or the wallet.
pub async fn a_payment_delivered_five_times_at_once_is_applied_once(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let user = t.customer(10).await;
    let invoice = t.shop.invoices().top_up(user, usd(1_500)).await.unwrap();
    let event = paying(&invoice, PaymentProvider::Telegram, "tg-charge-1", t.now());

    let barrier = Arc::new(Barrier::new(5));
    let mut tasks = JoinSet::new();
    for _ in 0..5 {
        let (t, barrier, event) = (t.clone(), barrier.clone(), event.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            t.store.apply_payment(event).await
        });
    }
    let mut outcomes = Vec::new();
    while let Some(done) = tasks.join_next().await {
        outcomes.push(done.unwrap().unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|o| o.newly_applied).count(),
        1,
        "{outcomes:?}"
    );
    let paid = outcomes[0].invoice.clone();
    assert!(
        outcomes.iter().all(|o| o.invoice == paid),
        "one paid invoice for all"
    );
    assert_eq!(paid.status, InvoiceStatus::Paid);
    assert_eq!(
        paid.payment.as_ref().map(|p| p.charge_id.as_str()),
        Some("tg-charge-1")
    );

    assert_eq!(t.balance(user).await.balance, usd(1_500));
    let ledger = all_ledger(t.store.as_ref(), user).await;
    assert_eq!(ledger.len(), 1, "one deposit: {ledger:?}");
    assert_eq!(ledger[0].op, LedgerOp::Deposit { amount: usd(1_500) });
    assert_eq!(ledger[0].key.as_str(), format!("invoice:{}", invoice.id));
    let messages = claim_all(t.store.as_ref(), t.now()).await;
    let received = messages
        .iter()
        .filter(|m| {
            m.body
                == OutboxBody::PaymentReceived {
                    invoice: invoice.id,
                }
        })
        .count();
    assert_eq!(received, 1, "one PaymentReceived: {messages:?}");

    let other = t.shop.invoices().top_up(user, usd(1_500)).await.unwrap();
    let reused = PaymentEvent {
        invoice: other.id,
        ..event
    };
    let result = t.store.apply_payment(reused).await;
    assert!(
        matches!(result, Err(Error::Conflict(_))),
        "charge reused: {result:?}"
    );
    let wrong = PaymentEvent {
        amount: usd(1_499),
        ..paying(&other, PaymentProvider::Telegram, "tg-charge-2", t.now())
    };
    let result = t.store.apply_payment(wrong).await;
    assert!(
        matches!(result, Err(Error::Invalid(_))),
        "wrong amount: {result:?}"
    );
    assert_eq!(
        t.store.invoice(other.id).await.unwrap(),
        Some(other.clone())
    );
    assert_eq!(t.balance(user).await.balance, usd(1_500));

    let right = paying(&other, PaymentProvider::Telegram, "tg-charge-2", t.now());
    assert!(t.store.apply_payment(right).await.unwrap().newly_applied);
    assert_eq!(t.balance(user).await.balance, usd(3_000));
}

/// 100 invoices created at once are numbered exactly 1 to 100, and listed newest first.
pub async fn invoice_numbers_have_no_gaps_under_concurrency(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let user = t.customer(10).await;
    let barrier = Arc::new(Barrier::new(100));
    let mut tasks = JoinSet::new();
    for i in 0..100 {
        let (t, barrier) = (t.clone(), barrier.clone());
        tasks.spawn(async move {
            let new = bill(user, 100 + i, 1, 0, InvoicePurpose::Custom, t.now());
            barrier.wait().await;
            t.store.create_invoice(new).await
        });
    }
    let mut invoices = Vec::new();
    while let Some(done) = tasks.join_next().await {
        invoices.push(done.unwrap().unwrap());
    }
    let mut numbers: Vec<u64> = invoices.iter().map(|i| i.number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=100).collect::<Vec<u64>>());
    let ids: BTreeSet<_> = invoices.iter().map(|i| i.id).collect();
    assert_eq!(ids.len(), 100, "distinct ids");
    assert!(invoices.iter().all(|i| i.status == InvoiceStatus::Open));

    let filter = InvoiceFilter {
        user: Some(user),
        status: None,
        limit: 1_000,
    };
    let listed: Vec<u64> = t
        .store
        .invoices(filter)
        .await
        .unwrap()
        .iter()
        .map(|i| i.number)
        .collect();
    assert_eq!(
        listed,
        (1..=100).rev().collect::<Vec<u64>>(),
        "newest first"
    );
}

/// A paid top-up with tax puts its subtotal into the wallet, not the taxed total.
pub async fn a_paid_top_up_invoice_credits_its_subtotal(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let user = t.customer(10).await;
    let new = bill(user, 1_000, 2, 1_000, InvoicePurpose::WalletTopUp, t.now());
    let invoice = t.store.create_invoice(new).await.unwrap();
    assert_eq!(invoice.totals.subtotal, usd(2_000));
    assert_eq!(invoice.totals.total, usd(2_200));
    let at = t.tick();
    let outcome = t
        .store
        .apply_payment(paying(&invoice, PaymentProvider::Telegram, "topup-1", at))
        .await
        .unwrap();
    assert!(outcome.newly_applied);
    assert_eq!(t.balance(user).await.balance, usd(2_000));
    let ledger = all_ledger(t.store.as_ref(), user).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].op, LedgerOp::Deposit { amount: usd(2_000) });
    assert_eq!(ledger[0].key.as_str(), format!("invoice:{}", invoice.id));
}

/// Paying an invoice from a wallet that is short is `InsufficientFunds` and leaves the invoice
/// open and the wallet alone; with enough money, two payments at once pay it once.
pub async fn paying_an_invoice_from_the_wallet_needs_funds_and_pays_once(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let user = t.customer(10).await;
    t.fund(user, 500).await;
    let line = InvoiceLine {
        description: note("Consulting"),
        quantity: qty(1),
        unit_price: usd(1_000),
    };
    let invoice = t
        .shop
        .invoices()
        .create(OWNER, user, vec![line], TaxRate::ZERO, None)
        .await
        .unwrap();
    let before = t.snapshot().await;
    let short = t.shop.invoices().pay_with_wallet(user, invoice.id).await;
    assert!(
        matches!(short, Err(Error::InsufficientFunds { .. })),
        "{short:?}"
    );
    assert_eq!(
        t.snapshot().await,
        before,
        "a refused wallet payment changed something"
    );

    t.fund(user, 1_000).await;
    let barrier = Arc::new(Barrier::new(2));
    let mut tasks = JoinSet::new();
    for _ in 0..2 {
        let (t, barrier) = (t.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            t.shop.invoices().pay_with_wallet(user, invoice.id).await
        });
    }
    let mut outcomes = Vec::new();
    while let Some(done) = tasks.join_next().await {
        outcomes.push(done.unwrap().unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|o| o.newly_applied).count(),
        1,
        "{outcomes:?}"
    );
    let again = t
        .shop
        .invoices()
        .pay_with_wallet(user, invoice.id)
        .await
        .unwrap();
    assert!(!again.newly_applied);
    let paid = again.invoice;
    assert_eq!(paid.status, InvoiceStatus::Paid);
    assert_eq!(
        paid.payment.as_ref().map(|p| p.provider),
        Some(PaymentProvider::Wallet)
    );

    assert_eq!(t.balance(user).await.balance, usd(500));
    let charges: Vec<_> = all_ledger(t.store.as_ref(), user)
        .await
        .into_iter()
        .filter(|e| matches!(e.op, LedgerOp::Charge { .. }))
        .collect();
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(charges[0].balance_delta, usd(-1_000));
    assert!(
        matches!(charges[0].op, LedgerOp::Charge { invoice: Some(id), .. } if id == invoice.id),
        "{charges:?}"
    );
}
