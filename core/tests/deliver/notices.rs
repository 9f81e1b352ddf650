//! Staff notices raised by the deliverer: to whom, about what, and once per event however
//! often its message is handled.

use std::time::Duration;

use shopbot_core::notice::{NoticeKind, NoticeKinds};
use shopbot_core::ports::SendError;
use shopbot_core::testkit::{OWNER, note, usd};
use shopbot_core::user::Role;

use super::{World, round};

impl World {
    /// A staff member with `role` who opted into `kinds`.
    async fn staff_hearing(&self, id: i64, role: Role, kinds: &[NoticeKind]) -> i64 {
        let staff = self.t.staff(id, role).await;
        let kinds: NoticeKinds = kinds.iter().copied().collect();
        self.t
            .shop
            .notices()
            .set_kinds(staff, staff, kinds)
            .await
            .unwrap();
        staff.0
    }

    /// Rounds until nothing is due now.
    async fn deliver_all(&self) {
        while self.round().await.claimed() > 0 {}
    }
}

fn count(texts: &[String], needle: &str) -> usize {
    texts.iter().filter(|text| text.contains(needle)).count()
}

#[tokio::test]
async fn a_paid_order_and_a_low_stock_product_notify_an_opted_in_admin_once_even_when_handled_twice()
 {
    let w = World::new().await;
    let admin = w
        .staff_hearing(
            20,
            Role::Admin,
            &[NoticeKind::OrderPaid, NoticeKind::LowStock],
        )
        .await;
    let support = w.t.staff(21, Role::Support).await.0;
    // Three keys; one bought leaves two, the threshold.
    let buyer = w.customer_who_bought(10, 3).await;
    // The buyer's message fails after its notices were raised, so it is handled twice.
    w.messenger
        .fail_next(SendError::Transient("timeout".into()));

    assert_eq!(w.round().await, round(0, 1, 0));
    w.deliver_all().await;
    w.t.clock.advance(Duration::from_secs(5));
    w.deliver_all().await;

    let to_admin = w.messenger.sent_to(admin);
    assert_eq!(to_admin.len(), 2, "{to_admin:?}");
    assert_eq!(count(&to_admin, "Order #"), 1, "{to_admin:?}");
    assert_eq!(count(&to_admin, "paid"), 1, "{to_admin:?}");
    assert_eq!(
        count(&to_admin, "Customer 10"),
        1,
        "names the buyer: {to_admin:?}"
    );
    assert_eq!(count(&to_admin, "Low stock: Game 10 has 2 units left"), 1);
    assert!(
        w.messenger.sent_to(support).is_empty(),
        "support did not opt in"
    );
    assert_eq!(
        w.messenger.sent_to(buyer.0).len(),
        1,
        "the buyer got their key once"
    );
}

#[tokio::test]
async fn low_stock_warns_once_per_stock_level_and_again_after_a_restock() {
    let w = World::new().await;
    let admin = w
        .staff_hearing(20, Role::Admin, &[NoticeKind::LowStock])
        .await;
    let product = w.t.product("Rare game", 100).await;
    w.t.keys(product.id, "RARE", 3).await;
    let buyer = w.t.customer(10).await;
    w.t.fund(buyer, 10_000).await;

    w.t.buy(buyer, product.id, 1).await; // 2 left: warns
    w.deliver_all().await;
    w.t.buy(buyer, product.id, 1).await; // 1 left: already warned at this stock
    w.deliver_all().await;
    assert_eq!(count(&w.messenger.sent_to(admin), "Low stock"), 1);

    w.t.keys(product.id, "MORE", 5).await; // 6 left
    w.t.buy(buyer, product.id, 1).await; // 5 left: above the threshold
    w.deliver_all().await;
    assert_eq!(count(&w.messenger.sent_to(admin), "Low stock"), 1);
    w.t.buy(buyer, product.id, 4).await; // 1 left after a restock: warns again
    w.deliver_all().await;
    let warnings = w.messenger.sent_to(admin);
    assert_eq!(count(&warnings, "Low stock"), 2, "{warnings:?}");
    assert_eq!(count(&warnings, "has 2 units left"), 1, "{warnings:?}");
    assert_eq!(count(&warnings, "has 1 unit left"), 1, "{warnings:?}");
}

#[tokio::test]
async fn a_person_who_blocked_the_bot_is_given_up_and_opted_in_staff_hear_of_it_once() {
    let w = World::new().await;
    let admin = w
        .staff_hearing(20, Role::Admin, &[NoticeKind::DeliveryFailed])
        .await;
    let buyer = w.customer_who_bought(10, 5).await;
    w.messenger.fail_next(SendError::Gone(
        "Forbidden: bot was blocked by the user".into(),
    ));

    assert_eq!(w.round().await, round(0, 0, 1), "given up at once");
    w.deliver_all().await;

    let to_admin = w.messenger.sent_to(admin);
    assert_eq!(to_admin.len(), 1, "{to_admin:?}");
    assert!(to_admin[0].contains("Delivery failed"), "{to_admin:?}");
    assert!(
        to_admin[0].contains("Customer 10 (user 10)"),
        "{to_admin:?}"
    );
    assert!(w.messenger.sent_to(buyer.0).is_empty());
}

#[tokio::test]
async fn a_staff_notice_given_up_raises_no_notice_of_its_own() {
    let w = World::new().await;
    let admin = w
        .staff_hearing(
            20,
            Role::Admin,
            &[NoticeKind::OrderPaid, NoticeKind::DeliveryFailed],
        )
        .await;
    w.customer_who_bought(10, 5).await;
    assert_eq!(w.round().await, round(1, 0, 0), "the buyer's keys");
    w.messenger.fail_next(SendError::Gone("blocked".into()));

    assert_eq!(w.round().await, round(0, 0, 1), "the admin blocked the bot");
    assert_eq!(
        w.round().await,
        round(0, 0, 0),
        "and nobody is told about that"
    );
    assert!(w.messenger.sent_to(admin).is_empty());
}

#[tokio::test]
async fn a_payment_received_notifies_opted_in_staff_with_the_invoice_and_amount() {
    let w = World::new().await;
    let admin = w
        .staff_hearing(20, Role::Support, &[NoticeKind::PaymentReceived])
        .await;
    let payer = w.t.customer(10).await;
    let invoice = w.t.shop.invoices().top_up(payer, usd(1_500)).await.unwrap();
    w.t.shop
        .invoices()
        .mark_paid(OWNER, invoice.id, note("bank-77"))
        .await
        .unwrap();
    w.deliver_all().await;

    let to_admin = w.messenger.sent_to(admin);
    assert_eq!(to_admin.len(), 1, "{to_admin:?}");
    let expected = format!("for invoice {} from Customer 10", invoice.number);
    assert!(to_admin[0].contains("Payment received"), "{to_admin:?}");
    assert!(to_admin[0].contains(&expected), "{to_admin:?}");
    assert!(to_admin[0].contains("15.00"), "{to_admin:?}");
}

#[tokio::test]
async fn names_in_a_notice_are_escaped() {
    let w = World::new().await;
    let admin = w
        .staff_hearing(20, Role::Admin, &[NoticeKind::OrderPaid])
        .await;
    let product = w.t.product("<i>Game</i>", 100).await;
    w.t.keys(product.id, "K", 3).await;
    let buyer =
        w.t.greet(shopbot_core::ids::UserId(10), "<b>Eve</b>")
            .await
            .id;
    w.t.fund(buyer, 1_000).await;
    w.t.buy(buyer, product.id, 1).await;
    w.deliver_all().await;

    let markup = w.messenger.markup_to(admin);
    assert_eq!(markup.len(), 1, "{markup:?}");
    assert!(
        markup[0].contains("&lt;b&gt;Eve&lt;/b&gt; (user 10)"),
        "{markup:?}"
    );
    assert!(
        markup[0].contains("&lt;i&gt;Game&lt;/i&gt; × 1"),
        "{markup:?}"
    );
    assert!(
        !markup[0].contains("<i>") && !markup[0].contains("<b>E"),
        "{markup:?}"
    );
}
