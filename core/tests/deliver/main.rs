#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.
//! The outbox deliverer over a real (in-memory) store, a manual clock and a fake messenger:
//! what is sent to whom, when a failed send is tried again, when it is given up, and the staff
//! notices each event raises exactly once.

mod fake;
mod notices;

use std::sync::Arc;
use std::time::Duration;

use shopbot_core::flow::Flow;
use shopbot_core::ids::UserId;
use shopbot_core::jobs::{Deliverer, DeliveryRound, MAX_ATTEMPTS};
use shopbot_core::ports::{SendError, Storage};
use shopbot_core::testkit::TestShop;
use shopbot_storage_json::JsonStore;

use fake::FakeMessenger;

/// The low-stock threshold the deliverer of these tests warns at.
const THRESHOLD: u64 = 2;

struct World {
    t: TestShop,
    messenger: Arc<FakeMessenger>,
    deliverer: Deliverer,
}

impl World {
    async fn new() -> World {
        let store: Arc<dyn Storage> = Arc::new(JsonStore::in_memory());
        let t = TestShop::new(store).await;
        let messenger = Arc::new(FakeMessenger::default());
        let flow = Flow::new(t.shop.clone());
        let deliverer = Deliverer::new(flow, messenger.clone(), THRESHOLD);
        World {
            t,
            messenger,
            deliverer,
        }
    }

    async fn round(&self) -> DeliveryRound {
        self.deliverer.round().await.unwrap()
    }

    /// A customer with money who bought one key of a product with `keys` keys.
    async fn customer_who_bought(&self, id: i64, keys: usize) -> UserId {
        let product = self.t.product(&format!("Game {id}"), 100).await;
        self.t.keys(product.id, &format!("KEY{id}"), keys).await;
        let buyer = self.t.customer(id).await;
        self.t.fund(buyer, 1_000).await;
        self.t.buy(buyer, product.id, 1).await;
        buyer
    }
}

fn round(sent: u64, retried: u64, failed: u64) -> DeliveryRound {
    DeliveryRound {
        sent,
        retried,
        failed,
        put_back: 0,
    }
}

#[tokio::test]
async fn a_paid_order_is_sent_to_the_buyers_private_chat_with_its_key_once() {
    let w = World::new().await;
    let buyer = w.customer_who_bought(10, 5).await;

    assert_eq!(w.round().await, round(1, 0, 0));
    assert_eq!(w.round().await, round(0, 0, 0));

    let sent = w.messenger.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, buyer.0, "the chat is the buyer's private chat");
    assert!(sent[0].1.contains("KEY10"), "{}", sent[0].1);
}

#[tokio::test]
async fn flood_control_is_waited_out_for_as_long_as_the_messenger_says() {
    let w = World::new().await;
    w.customer_who_bought(10, 5).await;
    w.messenger
        .fail_next(SendError::RetryAfter(Duration::from_secs(17)));

    assert_eq!(w.round().await, round(0, 1, 0));
    w.t.clock.advance(Duration::from_secs(16));
    assert_eq!(w.round().await, round(0, 0, 0), "not before 17 s");
    w.t.clock.advance(Duration::from_secs(1));
    assert_eq!(w.round().await, round(1, 0, 0));
    assert_eq!(w.messenger.sent().len(), 1);
}

#[tokio::test]
async fn transient_failures_are_retried_after_5_then_10_seconds() {
    let w = World::new().await;
    w.customer_who_bought(10, 5).await;
    w.messenger
        .fail_next(SendError::Transient("timeout".into()));
    w.messenger
        .fail_next(SendError::Transient("timeout".into()));

    assert_eq!(w.round().await, round(0, 1, 0));
    w.t.clock.advance(Duration::from_secs(4));
    assert_eq!(w.round().await, round(0, 0, 0), "not before 5 s");
    w.t.clock.advance(Duration::from_secs(1));
    assert_eq!(
        w.round().await,
        round(0, 1, 0),
        "the second attempt fails too"
    );
    w.t.clock.advance(Duration::from_secs(9));
    assert_eq!(w.round().await, round(0, 0, 0), "not before 10 s more");
    w.t.clock.advance(Duration::from_secs(1));
    assert_eq!(w.round().await, round(1, 0, 0));
}

#[tokio::test]
async fn a_message_failing_every_time_is_given_up_after_the_last_attempt() {
    let w = World::new().await;
    w.customer_who_bought(10, 5).await;
    for _ in 0..MAX_ATTEMPTS {
        w.messenger.fail_next(SendError::Transient("down".into()));
    }

    let mut rounds = Vec::new();
    for _ in 0..MAX_ATTEMPTS {
        rounds.push(w.round().await);
        w.t.clock.advance(Duration::from_secs(3600));
    }
    assert!(
        rounds[..7].iter().all(|r| *r == round(0, 1, 0)),
        "{rounds:?}"
    );
    assert_eq!(rounds[7], round(0, 0, 1));
    assert_eq!(w.round().await, round(0, 0, 0), "never tried again");
    assert!(w.messenger.sent().is_empty());
}

#[tokio::test]
async fn a_round_asked_to_stop_puts_back_what_it_has_not_started() {
    let w = World::new().await;
    w.customer_who_bought(10, 5).await;
    w.customer_who_bought(11, 5).await;

    let stopped = w.deliverer.round_until(|| true).await.unwrap();
    assert_eq!(stopped.put_back, 2, "{stopped:?}");
    assert!(w.messenger.sent().is_empty());
    assert_eq!(w.round().await, round(2, 0, 0), "due again at once");
}
