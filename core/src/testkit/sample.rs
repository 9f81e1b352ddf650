//! A shop with a bit of everything in it, made through the services: for tests that need every
//! kind of record a store holds (copies between stores, exports), not one behaviour.
//!
//! Not part of the conformance suite: [`busy_shop`] checks nothing about the store it fills.

use std::time::Duration;

use super::{CURRENCY, OWNER, TestShop, claim_all, key, note, qty, usd};
use crate::audit::AuditRecord;
use crate::catalog::ProductKind;
use crate::dialogue::Dialogue;
use crate::dump::HighestIds;
use crate::ids::{ChatId, InvoiceId, OrderId, ProductId, UserId};
use crate::jobs::JobRound;
use crate::notice::{Notice, NoticeKind, NoticeKinds};
use crate::order::OrderPayment;
use crate::outbox::DeliveryOutcome;
use crate::services::PayWith;
use crate::text::CategoryName;
use crate::user::Role;

/// What [`busy_shop`] made, for tests that continue from there.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// The customer who did most of the buying (id 500).
    pub buyer: UserId,
    /// A key product with stock left.
    pub product: ProductId,
    /// A wallet order that was refunded.
    pub refunded: OrderId,
    /// An order paid by invoice, the invoice paid from the wallet.
    pub paid_by_invoice: OrderId,
    /// A wallet top-up invoice, paid manually.
    pub top_up: InvoiceId,
}

/// Fills the shop behind `t` with one of everything: staff with a role, a banned customer, a
/// category, a key product in it and a service product, stock, a funded wallet, a wallet
/// checkout that is refunded, a paid top-up invoice, an order paid by invoice from the wallet,
/// an open and a released hold, a cart with something in it, a dialogue, a staff member's
/// notice choices and a notice raised to them, job records (one with a round, one only
/// requested), outbox messages that were claimed and one that was sent, maintenance mode
/// switched on, and the shop's currency recorded.
pub async fn busy_shop(t: &TestShop) -> Sample {
    t.store.adopt_currency(CURRENCY).await.unwrap();
    t.staff(300, Role::Support).await;
    let banned = t.customer(301).await;
    t.ban(banned).await;
    let games = t
        .shop
        .admin()
        .create_category(OWNER, CategoryName::parse("Games").unwrap())
        .await
        .unwrap();
    let mut draft = TestShop::draft("Sample key", 300);
    draft.category = Some(games.id);
    let product = t.create_product(draft).await;
    let mut service = TestShop::draft("Sample service", 1_200);
    service.kind = ProductKind::Service;
    t.create_product(service).await;
    t.keys(product.id, "SAMPLE", 8).await;

    let buyer = t.customer(500).await;
    t.tick();
    t.fund(buyer, 10_000).await;
    let refunded = t.buy(buyer, product.id, 2).await.id;
    t.tick();
    t.shop.admin().refund_order(OWNER, refunded).await.unwrap();

    let top_up = t.shop.invoices().top_up(buyer, usd(2_500)).await.unwrap();
    t.tick();
    t.shop
        .invoices()
        .mark_paid(OWNER, top_up.id, note("bank-sample-1"))
        .await
        .unwrap();

    let cart = t.shop.cart().add(buyer, product.id, qty(1)).await.unwrap();
    let order = t
        .shop
        .checkout()
        .buy_cart(
            buyer,
            cart.version,
            key("sample-by-invoice"),
            PayWith::Invoice,
        )
        .await
        .unwrap()
        .order;
    let OrderPayment::Invoice { invoice } = order.payment else {
        panic!(
            "an invoice checkout is paid by invoice: {:?}",
            order.payment
        );
    };
    t.tick();
    t.shop
        .invoices()
        .pay_with_wallet(buyer, invoice)
        .await
        .unwrap();

    let wallet = t.shop.wallet();
    wallet
        .hold(buyer, usd(700), key("sample-hold-open"))
        .await
        .unwrap();
    let released = wallet
        .hold(buyer, usd(50), key("sample-hold-released"))
        .await
        .unwrap();
    wallet
        .release(buyer, released, key("sample-release"))
        .await
        .unwrap();
    t.shop.cart().add(buyer, product.id, qty(1)).await.unwrap();

    let dialogue = Dialogue {
        chat: ChatId(500),
        user: buyer,
        state: "{\"screen\":\"catalog\"}".to_owned(),
        expires_at: t.now().plus(Duration::from_secs(3_600)),
    };
    t.store.save_dialogue(dialogue).await.unwrap();
    staff_notices_and_jobs(t, order.id).await;
    let claimed = claim_all(t.store.as_ref(), t.now()).await;
    if let Some(first) = claimed.first() {
        t.store
            .complete_outbox(first.id, DeliveryOutcome::Sent)
            .await
            .unwrap();
    }
    t.shop.admin().set_maintenance(OWNER, true).await.unwrap();
    Sample {
        buyer,
        product: product.id,
        refunded,
        paid_by_invoice: order.id,
        top_up: top_up.id,
    }
}

/// Staff member 300 opts into paid-order and low-stock notices and is told `order` was paid;
/// one job has a recorded round, another was only asked to run.
async fn staff_notices_and_jobs(t: &TestShop, order: OrderId) {
    let kinds: NoticeKinds = [NoticeKind::OrderPaid, NoticeKind::LowStock]
        .into_iter()
        .collect();
    let audit = AuditRecord {
        actor: OWNER,
        action: "set notices of user 300 to order-paid,low-stock".to_owned(),
        at: t.now(),
    };
    t.store
        .set_notice_kinds(UserId(300), kinds, audit)
        .await
        .unwrap();
    let notice = Notice::OrderPaid { order };
    let queued = t
        .store
        .notify_staff(notice, format!("order-paid:{order}"), t.now())
        .await
        .unwrap();
    assert_eq!(queued, 1, "staff member 300 opted into paid orders");

    let started_at = t.tick();
    let round = JobRound {
        name: "expire-invoices".to_owned(),
        started_at,
        finished_at: t.tick(),
        succeeded: true,
        count: 1,
        summary: "expired 1 invoice".to_owned(),
        consecutive_failures: 0,
        next_due: started_at.plus(Duration::from_secs(60)),
    };
    t.store.record_job_round(round).await.unwrap();
    t.store
        .request_job_run("backup".to_owned(), t.now())
        .await
        .unwrap();
}

/// `sample`'s buyer checks one unit out by invoice and the owner voids the invoice: the order
/// is cancelled and its unit goes back on sale. Maintenance mode is off afterwards.
pub async fn cancelled_order(t: &TestShop, sample: &Sample) -> OrderId {
    t.shop.admin().set_maintenance(OWNER, false).await.unwrap();
    t.shop.cart().clear(sample.buyer).await.unwrap();
    let cart = t
        .shop
        .cart()
        .add(sample.buyer, sample.product, qty(1))
        .await
        .unwrap();
    let order = t
        .shop
        .checkout()
        .buy_cart(
            sample.buyer,
            cart.version,
            key("sample-cancelled"),
            PayWith::Invoice,
        )
        .await
        .unwrap()
        .order;
    let OrderPayment::Invoice { invoice } = order.payment else {
        panic!(
            "an invoice checkout is paid by invoice: {:?}",
            order.payment
        );
    };
    t.tick();
    t.shop.invoices().void(OWNER, invoice).await.unwrap();
    order.id
}

/// Makes one record of every numbered kind in `t` and asserts each takes the id after
/// `highest`: what a store built from a dump must do so its ids never collide with the
/// imported ones.
pub async fn new_records_continue_after(t: &TestShop, highest: &HighestIds) {
    let category = t.category("After the copy").await;
    let product = t.product("After the copy", 400).await;
    t.keys(product.id, "AFTER", 2).await;
    let buyer = t.customer(900).await;
    let entry = t.fund(buyer, 1_000).await;
    let order = t.buy(buyer, product.id, 1).await;
    let invoice = t.shop.invoices().top_up(buyer, usd(500)).await.unwrap();

    assert_eq!(category.id.0, highest.category + 1);
    assert_eq!(product.id.0, highest.product + 1);
    assert_eq!(order.id.0, highest.order + 1);
    assert_eq!(order.lines[0].units[0].unit.0, highest.unit + 1);
    assert_eq!(entry.id.0, highest.entry + 1);
    assert_eq!(invoice.id.0, highest.invoice + 1);
    assert_eq!(invoice.number, highest.invoice_number + 1);
}
