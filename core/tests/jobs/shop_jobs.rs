//! The shop's own jobs over a real (in-memory) store.

use std::sync::Arc;

use shopbot_core::Error;
use shopbot_core::dialogue::Dialogue;
use shopbot_core::ids::{ChatId, UpdateId, UserId};
use shopbot_core::invoice::InvoiceStatus;
use shopbot_core::jobs::{
    EXPIRE_INVOICES, EXPIRE_INVOICES_EVERY, JobOutcome, JobReport, PROCESSED_UPDATES_KEPT, SWEEP,
    Scheduler, expire_invoices, sweep,
};
use shopbot_core::order::OrderStatus;
use shopbot_core::ports::{Clock, Storage};
use shopbot_core::services::PayWith;
use shopbot_core::stock::StockCounts;
use shopbot_core::testkit::{TestShop, key, qty};
use shopbot_storage_json::JsonStore;

use crate::helpers::*;

#[tokio::test]
async fn the_expire_invoices_job_puts_an_unpaid_invoices_units_back_on_sale() {
    let store: Arc<dyn Storage> = Arc::new(JsonStore::in_memory());
    let t = TestShop::new(store).await;
    let product = t.product("Last keys", 500).await;
    t.keys(product.id, "LAST", 2).await;
    let buyer = t.customer(10).await;
    let rival = t.customer(11).await;
    t.fund(rival, 10_000).await;
    let (_, invoice) = t.buy_by_invoice(buyer, product.id, 2).await;
    let reserved = StockCounts {
        available: 0,
        reserved: 2,
        sold: 0,
    };
    assert_eq!(t.counts(product.id).await, reserved);
    let scheduler = Scheduler::new(
        t.clock.clone(),
        vec![expire_invoices(&t.shop, EXPIRE_INVOICES_EVERY)],
    )
    .unwrap();

    // Before the invoice falls due the job runs and leaves it open.
    let runs = scheduler.run_due().await;
    assert_eq!(names(&runs), [EXPIRE_INVOICES]);
    assert_eq!(
        runs[0].outcome,
        JobOutcome::Succeeded(JobReport::new(0, "no overdue invoices"))
    );
    let cart = t.shop.cart().add(rival, product.id, qty(2)).await.unwrap();
    let taken = t
        .shop
        .checkout()
        .buy_cart(rival, cart.version, key("too-early"), PayWith::Wallet)
        .await;
    assert!(matches!(taken, Err(Error::OutOfStock { .. })), "{taken:?}");

    // Once it is overdue, the next round expires it and the units sell again.
    t.clock.advance(TestShop::config().invoice_ttl);
    let runs = scheduler.run_due().await;
    assert_eq!(
        runs[0].outcome,
        JobOutcome::Succeeded(JobReport::new(1, "expired 1 overdue invoice"))
    );
    let expired = t.store.invoice(invoice.id).await.unwrap().unwrap();
    assert_eq!(expired.status, InvoiceStatus::Expired);
    assert_eq!(
        t.counts(product.id).await,
        StockCounts {
            available: 2,
            reserved: 0,
            sold: 0,
        }
    );
    let cart = t.shop.cart().view(rival).await.unwrap();
    let order = t
        .shop
        .checkout()
        .buy_cart(rival, cart.version, key("after-expiry"), PayWith::Wallet)
        .await
        .unwrap()
        .order;
    assert_eq!(order.status, OrderStatus::Paid);
    assert_eq!(order.delivered_units().count(), 2);
}

#[tokio::test]
async fn the_sweep_job_forgets_expired_dialogues_and_update_ids_older_than_a_day() {
    let store: Arc<dyn Storage> = Arc::new(JsonStore::in_memory());
    let t = TestShop::new(store).await;
    let start = t.clock.now();
    let dialogue = |user: i64, expires_at| Dialogue {
        chat: ChatId(-1),
        user: UserId(user),
        state: "browsing".to_owned(),
        expires_at,
    };
    t.store
        .save_dialogue(dialogue(1, start.plus(MINUTE)))
        .await
        .unwrap();
    t.store
        .save_dialogue(dialogue(2, start.plus(HOUR * 2)))
        .await
        .unwrap();
    assert!(
        t.store
            .mark_update_processed(UpdateId(7), start)
            .await
            .unwrap()
    );
    let scheduler = Scheduler::new(t.clock.clone(), vec![sweep(&t.shop, HOUR)]).unwrap();

    t.clock.advance(HOUR);
    let runs = scheduler.run_due().await;
    assert_eq!(names(&runs), [SWEEP]);
    assert_eq!(
        runs[0].outcome,
        JobOutcome::Succeeded(JobReport::new(
            1,
            "forgot 1 expired dialogue and 0 old update ids"
        ))
    );
    let now = t.clock.now();
    assert_eq!(
        t.store
            .dialogue(ChatId(-1), UserId(1), start)
            .await
            .unwrap(),
        None
    );
    assert!(
        t.store
            .dialogue(ChatId(-1), UserId(2), now)
            .await
            .unwrap()
            .is_some()
    );

    // A day after it was processed, the update id goes too; it could then be handled again.
    t.clock.set(start.plus(PROCESSED_UPDATES_KEPT).plus(MS));
    let runs = scheduler.run_due().await;
    assert_eq!(
        runs[0].outcome,
        JobOutcome::Succeeded(JobReport::new(
            2,
            "forgot 1 expired dialogue and 1 old update id"
        ))
    );
    assert!(
        t.store
            .mark_update_processed(UpdateId(7), now)
            .await
            .unwrap()
    );
}
