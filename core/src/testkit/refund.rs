//! Refunds: a paid order's total goes back to the wallet once, however often it is asked for.

use std::sync::Arc;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::{OWNER, TestShop, all_audit, all_ledger, claim_all, key, qty, usd};
use crate::error::Error;
use crate::ids::OrderId;
use crate::order::{OrderPayment, OrderStatus};
use crate::outbox::OutboxBody;
use crate::ports::Storage;
use crate::services::PayWith;
use crate::wallet::LedgerOp;

/// Ten refunds of one paid order at once credit the wallet once: every call returns the same
/// refunded order, exactly one says it refunded it and the other nine that it was already
/// refunded, the ledger holds one `Refund` entry (key `refund:<order>`), the units stay sold,
/// one `OrderRefunded` message is queued and one refund is audited. A later repeat changes
/// nothing either and says so.
pub async fn refunding_a_paid_order_credits_the_wallet_once(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Refundable key", 300).await;
    t.keys(product.id, "REFUND", 3).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    let order = t.buy(buyer, product.id, 2).await;
    assert_eq!(t.balance(buyer).await.balance, usd(400));

    let barrier = Arc::new(Barrier::new(10));
    let mut tasks = JoinSet::new();
    for _ in 0..10 {
        let (t, barrier) = (t.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            t.shop.admin().refund_order(OWNER, order.id).await
        });
    }
    let mut refunds = Vec::new();
    while let Some(done) = tasks.join_next().await {
        refunds.push(done.unwrap().unwrap());
    }
    let refunded = refunds[0].order.clone();
    assert_eq!(refunded.status, OrderStatus::Refunded);
    assert!(
        refunds.iter().all(|r| r.order == refunded),
        "every refund returns the same order"
    );
    let made_now = refunds.iter().filter(|r| !r.already_refunded).count();
    assert_eq!(
        made_now, 1,
        "one call refunded, the others were told it was done"
    );
    let before = t.snapshot().await;
    let again = t.shop.admin().refund_order(OWNER, order.id).await.unwrap();
    assert!(
        again.already_refunded,
        "a repeat says it was already refunded"
    );
    assert_eq!(again.order, refunded, "a repeated refund changed the order");
    assert_eq!(
        t.snapshot().await,
        before,
        "a repeated refund changed something"
    );
    assert_eq!(
        t.store.order(order.id).await.unwrap(),
        Some(refunded.clone())
    );

    assert_eq!(t.balance(buyer).await.balance, usd(1_000));
    let ledger = all_ledger(t.store.as_ref(), buyer).await;
    let entries: Vec<_> = ledger
        .iter()
        .filter(|e| matches!(e.op, LedgerOp::Refund { .. }))
        .collect();
    assert_eq!(entries.len(), 1, "one refund entry: {entries:?}");
    assert_eq!(entries[0].key.as_str(), format!("refund:{}", order.id));
    assert_eq!(
        entries[0].op,
        LedgerOp::Refund {
            amount: usd(600),
            order: Some(order.id)
        }
    );
    assert_eq!(entries[0].balance_delta, usd(600));
    assert_eq!(
        t.counts(product.id).await.sold,
        2,
        "refunded keys stay sold"
    );

    let messages = claim_all(t.store.as_ref(), t.now()).await;
    let notices = messages
        .iter()
        .filter(|m| m.body == OutboxBody::OrderRefunded { order: order.id })
        .count();
    assert_eq!(notices, 1, "one OrderRefunded message: {messages:?}");
    let action = format!("refund order {}", order.id);
    let audited = all_audit(t.store.as_ref()).await;
    let refunds = audited.iter().filter(|e| e.record.action == action).count();
    assert_eq!(refunds, 1, "one refund audited: {audited:?}");
}

/// Only paid orders can be refunded: an order awaiting payment or cancelled is a `Conflict`
/// that changes nothing, and an unknown order is `NotFound`.
pub async fn only_paid_orders_can_be_refunded(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Unpaid key", 300).await;
    t.keys(product.id, "UNPAID", 3).await;
    let buyer = t.customer(10).await;
    let cart = t.shop.cart().add(buyer, product.id, qty(1)).await.unwrap();
    let order = t
        .shop
        .checkout()
        .buy_cart(buyer, cart.version, key("by-invoice"), PayWith::Invoice)
        .await
        .unwrap()
        .order;
    assert_eq!(order.status, OrderStatus::AwaitingPayment);

    let before = t.snapshot().await;
    let refused = t.shop.admin().refund_order(OWNER, order.id).await;
    assert!(
        matches!(refused, Err(Error::Conflict(_))),
        "awaiting payment: {refused:?}"
    );
    assert_eq!(
        t.snapshot().await,
        before,
        "refusing a refund changed something"
    );

    let OrderPayment::Invoice { invoice } = order.payment else {
        panic!(
            "an invoice checkout is paid by invoice: {:?}",
            order.payment
        );
    };
    t.shop.invoices().void(OWNER, invoice).await.unwrap();
    let cancelled = t.store.order(order.id).await.unwrap().unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    let before = t.snapshot().await;
    let refused = t.shop.admin().refund_order(OWNER, order.id).await;
    assert!(
        matches!(refused, Err(Error::Conflict(_))),
        "cancelled: {refused:?}"
    );
    assert_eq!(
        t.snapshot().await,
        before,
        "refusing a refund changed something"
    );

    let unknown = t
        .shop
        .admin()
        .refund_order(OWNER, OrderId(987_654_321))
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
}
