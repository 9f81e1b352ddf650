//! Orders paid by invoice: checkout reserves the units, paying the invoice sells and delivers
//! them, voiding or expiring it cancels the order and puts them back on sale.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::invoice::paying;
use super::{OWNER, TestShop, claim_all, key, qty, usd};
use crate::error::Error;
use crate::invoice::{InvoicePurpose, InvoiceStatus, PaymentProvider};
use crate::order::OrderStatus;
use crate::outbox::OutboxBody;
use crate::ports::Storage;
use crate::services::PayWith;
use crate::stock::StockCounts;

/// Checkout by invoice reserves the units and issues an open invoice for the order's total;
/// nobody else can take the reserved units; paying the invoice sells them, marks the order paid
/// and queues its delivery.
pub async fn an_order_paid_by_invoice_is_delivered_when_the_invoice_is_paid(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    let product = t.product("Invoiced key", 500).await;
    let imported: BTreeSet<String> = t.keys(product.id, "INV", 5).await.into_iter().collect();
    let buyer = t.customer(10).await;
    let (order, invoice) = t.buy_by_invoice(buyer, product.id, 2).await;

    assert_eq!(order.status, OrderStatus::AwaitingPayment);
    assert_eq!(
        order.delivered_units().count(),
        0,
        "nothing delivered before payment"
    );
    assert_eq!(invoice.purpose, InvoicePurpose::Order { order: order.id });
    assert_eq!(invoice.status, InvoiceStatus::Open);
    assert_eq!(invoice.user, buyer);
    assert_eq!(invoice.totals.total, order.total);
    assert_eq!(order.total, usd(1_000));
    let ttl = TestShop::config().invoice_ttl;
    assert_eq!(invoice.due_at, Some(t.now().plus(ttl)));
    let reserved = StockCounts {
        available: 3,
        reserved: 2,
        sold: 0,
    };
    assert_eq!(t.counts(product.id).await, reserved);

    let rival = t.customer(11).await;
    t.fund(rival, 10_000).await;
    let cart = t.shop.cart().add(rival, product.id, qty(4)).await.unwrap();
    let taken = t
        .shop
        .checkout()
        .buy_cart(rival, cart.version, key("rival"), PayWith::Wallet)
        .await;
    assert!(
        matches!(taken, Err(Error::OutOfStock { .. })),
        "reserved units: {taken:?}"
    );

    let at = t.tick();
    let outcome = t
        .store
        .apply_payment(paying(
            &invoice,
            PaymentProvider::Telegram,
            "tg-order-1",
            at,
        ))
        .await
        .unwrap();
    assert!(outcome.newly_applied);
    assert_eq!(outcome.invoice.status, InvoiceStatus::Paid);
    let paid = t.store.order(order.id).await.unwrap().unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    let units: Vec<String> = paid
        .delivered_units()
        .map(|(_, u)| u.payload.as_str().to_owned())
        .collect();
    assert_eq!(units.len(), 2, "{units:?}");
    assert_eq!(
        units.iter().collect::<BTreeSet<_>>().len(),
        2,
        "distinct units"
    );
    assert!(units.iter().all(|u| imported.contains(u)), "{units:?}");
    let sold = StockCounts {
        available: 3,
        reserved: 0,
        sold: 2,
    };
    assert_eq!(t.counts(product.id).await, sold);
    assert_eq!(
        t.balance(buyer).await.balance,
        usd(0),
        "paid outside the wallet"
    );

    let bodies: Vec<OutboxBody> = claim_all(t.store.as_ref(), t.now())
        .await
        .into_iter()
        .filter(|m| m.user == buyer)
        .map(|m| m.body)
        .collect();
    for wanted in [
        OutboxBody::InvoiceIssued {
            invoice: invoice.id,
        },
        OutboxBody::PaymentReceived {
            invoice: invoice.id,
        },
        OutboxBody::OrderDelivered { order: order.id },
    ] {
        assert_eq!(
            bodies.iter().filter(|b| **b == wanted).count(),
            1,
            "{wanted:?} in {bodies:?}"
        );
    }
}

/// Voiding an order's invoice, or letting it expire (the background job after its due time),
/// cancels the order and puts its units back on sale; paying it afterwards is a `Conflict`.
pub async fn a_voided_or_expired_order_invoice_cancels_the_order_and_returns_its_units(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    let product = t.product("Returned key", 500).await;
    t.keys(product.id, "BACK", 4).await;
    let buyer = t.customer(10).await;
    let all_back = StockCounts {
        available: 4,
        reserved: 0,
        sold: 0,
    };

    let (voided_order, invoice) = t.buy_by_invoice(buyer, product.id, 2).await;
    assert_eq!(t.counts(product.id).await.reserved, 2);
    let voided = t.shop.invoices().void(OWNER, invoice.id).await.unwrap();
    assert_eq!(voided.status, InvoiceStatus::Void);
    let order = t.store.order(voided_order.id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Cancelled);
    assert_eq!(t.counts(product.id).await, all_back);
    let late = t
        .store
        .apply_payment(paying(
            &invoice,
            PaymentProvider::Telegram,
            "late-1",
            t.now(),
        ))
        .await;
    assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");
    assert_eq!(t.store.order(voided_order.id).await.unwrap(), Some(order));
    assert_eq!(t.counts(product.id).await, all_back);

    let (expiring_order, invoice) = t.buy_by_invoice(buyer, product.id, 3).await;
    assert_eq!(t.counts(product.id).await.reserved, 3);
    let early = t.shop.invoices().expire_overdue().await.unwrap();
    assert!(early.is_empty(), "nothing is due yet: {early:?}");
    t.clock.advance(TestShop::config().invoice_ttl);
    let expired = t.shop.invoices().expire_overdue().await.unwrap();
    assert_eq!(
        expired.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![invoice.id]
    );
    assert_eq!(expired[0].status, InvoiceStatus::Expired);
    assert_eq!(expired[0].closed_at, Some(t.now()));
    let order = t.store.order(expiring_order.id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Cancelled);
    assert_eq!(t.counts(product.id).await, all_back);
    let late = t
        .store
        .apply_payment(paying(
            &invoice,
            PaymentProvider::Telegram,
            "late-2",
            t.now(),
        ))
        .await;
    assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");

    let rival = t.customer(11).await;
    t.fund(rival, 10_000).await;
    let order = t.buy(rival, product.id, 4).await;
    assert_eq!(order.status, OrderStatus::Paid, "returned units sell again");
    assert_eq!(t.counts(product.id).await.sold, 4);
}
