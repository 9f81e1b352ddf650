//! Purchase confirmations in the conversation: one confirmation screen is one purchase, however
//! often and however concurrently its button is tapped, and exactly one tap is told "Paid.
//! Thank you!" while every other is told the purchase was already paid, shown that same order.
//!
//! These drive the [`Flow`] over the store under test, so every backend proves that it tells a
//! checkout made now from one it only returns again.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::{TestShop, all_ledger, all_orders, charged};
use crate::flow::{Action, Flow, FlowConfig, Incoming, RateLimit, Reply, markup};
use crate::ids::{ChatId, UserId};
use crate::ports::Storage;
use crate::text::PersonName;
use crate::user::UserProfile;

/// How many taps race on one confirmation.
const TAPS: usize = 8;

/// What the tap that paid is told.
const PAID: &str = "Paid. Thank you!";

/// A conversation over the suite shop that never slows anyone down: the races here are about
/// purchases, not about flood control.
fn flow(t: &TestShop) -> Flow {
    let config = FlowConfig {
        updates: RateLimit::unlimited(),
        expensive: RateLimit::unlimited(),
        support: None,
    };
    Flow::with_config(t.shop.clone(), config)
}

async fn press(flow: &Flow, user: UserId, action: Action) -> Reply {
    let profile = UserProfile {
        id: user,
        name: PersonName::lenient(&format!("Customer {user}")),
    };
    flow.handle(ChatId(user.0), profile, Incoming::Button(action))
        .await
}

/// The action of the button labelled `label` on the reply's screen.
fn button(reply: &Reply, label: &str) -> Action {
    let screen = reply.screen.as_ref().expect("a screen");
    screen
        .buttons
        .iter()
        .flatten()
        .find(|b| b.label == label)
        .unwrap_or_else(|| panic!("no {label:?} button on {screen:?}"))
        .action
}

/// The screen's first line as a person reads it, e.g. `Order #3 · 3.00 USD · paid`.
fn headline(reply: &Reply) -> String {
    let text = markup::plain(&reply.screen.as_ref().expect("a screen").text);
    text.lines().next().unwrap_or_default().to_owned()
}

/// [`TAPS`] taps on `confirm` at once, each a task of its own on the multi-thread runtime.
async fn race(flow: &Flow, user: UserId, confirm: Action) -> Vec<Reply> {
    let barrier = Arc::new(Barrier::new(TAPS));
    let mut tasks = JoinSet::new();
    for _ in 0..TAPS {
        let (flow, barrier) = (flow.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            press(&flow, user, confirm).await
        });
    }
    let mut replies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        replies.push(done.unwrap());
    }
    replies
}

/// Exactly one reply says "Paid. Thank you!", every other says the purchase was already paid,
/// all show the one order in the store, and the wallet was charged `price` once.
async fn paid_once_and_said_so(t: &TestShop, buyer: UserId, replies: &[Reply], price: i64) {
    let notices: Vec<&str> = replies
        .iter()
        .map(|r| r.notice.as_deref().unwrap_or_default())
        .collect();
    let paid = notices.iter().filter(|n| **n == PAID).count();
    assert_eq!(paid, 1, "one tap is told it paid: {notices:?}");
    let already = notices
        .iter()
        .filter(|n| n.contains("already paid"))
        .count();
    assert_eq!(already, TAPS - 1, "the others are told: {notices:?}");

    let orders = all_orders(t.store.as_ref()).await;
    assert_eq!(orders.len(), 1, "one order: {orders:?}");
    let shown: BTreeSet<String> = replies.iter().map(headline).collect();
    let expected = format!("Order #{}", orders[0].id);
    assert!(
        shown.len() == 1 && shown.iter().all(|h| h.starts_with(&expected)),
        "every tap shows {expected}: {shown:?}"
    );
    assert_eq!(charged(&all_ledger(t.store.as_ref(), buyer).await), price);
}

/// Eight taps at once on one "buy now" confirmation (a double tap, a redelivered update and a
/// second device, all at once) buy one key: one tap is told "Paid. Thank you!", the other seven
/// that it was already paid, and all of them see that order.
pub async fn taps_racing_on_one_buy_now_confirmation_pay_once_and_say_so(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Raced key", 300).await;
    t.keys(product.id, "RACED", 5).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    let flow = flow(&t);

    let product = product.id;
    let asked = press(&flow, buyer, Action::BuyNow { product }).await;
    let confirm = button(&asked, "Confirm purchase");
    let replies = race(&flow, buyer, confirm).await;

    paid_once_and_said_so(&t, buyer, &replies, 300).await;
}

/// Eight taps at once on one cart confirmation buy the cart once: one tap is told "Paid. Thank
/// you!", the other seven that it was already paid, and all of them see that order.
pub async fn taps_racing_on_one_cart_confirmation_pay_once_and_say_so(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Carted key", 200).await;
    t.keys(product.id, "CARTED", 5).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    let flow = flow(&t);

    let product = product.id;
    let quantity = 2;
    press(&flow, buyer, Action::AddToCart { product, quantity }).await;
    let cart = press(&flow, buyer, Action::Cart).await;
    let asked = press(&flow, buyer, button(&cart, "Checkout")).await;
    let confirm = button(&asked, "Confirm purchase");
    let replies = race(&flow, buyer, confirm).await;

    paid_once_and_said_so(&t, buyer, &replies, 400).await;
}

/// The suite's clock stands still, so every screen here is shown in the same millisecond: three
/// "buy now" confirmations are still three purchases, each told "Paid. Thank you!" with its own
/// order. (A confirmation named by the time would make the second and third return the first.)
pub async fn buy_now_confirmations_shown_in_the_same_millisecond_are_separate_purchases(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    let product = t.product("Instant key", 300).await.id;
    t.keys(product, "INSTANT", 5).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    let flow = flow(&t);

    let mut shown = BTreeSet::new();
    for _ in 0..3 {
        let asked = press(&flow, buyer, Action::BuyNow { product }).await;
        let paid = press(&flow, buyer, button(&asked, "Confirm purchase")).await;
        assert_eq!(paid.notice.as_deref(), Some(PAID), "{paid:?}");
        shown.insert(headline(&paid));
    }

    assert_eq!(shown.len(), 3, "three orders shown: {shown:?}");
    assert_eq!(all_orders(t.store.as_ref()).await.len(), 3);
    assert_eq!(charged(&all_ledger(t.store.as_ref(), buyer).await), 900);
    assert_eq!(t.counts(product).await.sold, 3);
}

/// Tapping a confirmation again after it paid (a double tap, an old message scrolled back to)
/// buys nothing more and says the purchase was already paid, showing that order; for "buy now"
/// and for the cart alike.
pub async fn a_confirmation_tapped_again_says_already_paid_and_shows_that_order(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    let product = t.product("Tapped key", 300).await.id;
    t.keys(product, "TAPPED", 5).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    let flow = flow(&t);

    let asked = press(&flow, buyer, Action::BuyNow { product }).await;
    let confirm = button(&asked, "Confirm purchase");
    let first = press(&flow, buyer, confirm).await;
    let again = press(&flow, buyer, confirm).await;
    assert_eq!(first.notice.as_deref(), Some(PAID), "{first:?}");
    let notice = again.notice.as_deref().unwrap_or_default();
    assert!(notice.contains("already paid"), "{again:?}");
    assert_eq!(headline(&again), headline(&first), "the same order");

    let quantity = 1;
    press(&flow, buyer, Action::AddToCart { product, quantity }).await;
    let cart = press(&flow, buyer, Action::Cart).await;
    let asked = press(&flow, buyer, button(&cart, "Checkout")).await;
    let confirm = button(&asked, "Confirm purchase");
    let first = press(&flow, buyer, confirm).await;
    let again = press(&flow, buyer, confirm).await;
    assert_eq!(first.notice.as_deref(), Some(PAID), "{first:?}");
    let notice = again.notice.as_deref().unwrap_or_default();
    assert!(notice.contains("already paid"), "{again:?}");
    assert_eq!(headline(&again), headline(&first), "the same order");

    assert_eq!(all_orders(t.store.as_ref()).await.len(), 2);
    assert_eq!(charged(&all_ledger(t.store.as_ref(), buyer).await), 600);
}
