//! Conversation state: kept per (chat, user), replaced on save, forgotten on clear, and never
//! returned once it has expired.

use std::sync::Arc;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::TestShop;
use crate::dialogue::{Dialogue, MAX_STATE_BYTES};
use crate::ids::{ChatId, UpdateId, UserId};
use crate::ports::Storage;
use crate::time::Timestamp;

fn dialogue(chat: i64, user: i64, state: &str, expires_at: Timestamp) -> Dialogue {
    Dialogue {
        chat: ChatId(chat),
        user: UserId(user),
        state: state.to_owned(),
        expires_at,
    }
}

/// Dialogues of different users in one chat, and of one user in different chats, never see
/// each other; saving replaces, clearing forgets (and clearing nothing is fine); a dialogue is
/// returned while `now < expires_at` and never from `expires_at` on; a state of the largest
/// allowed size round-trips; 50 people saving at once each get their own back.
pub async fn dialogue_state_is_kept_per_chat_and_user_and_expires(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let now = t.now();
    let later = Timestamp(now.0 + 60_000);
    let get = |chat: i64, user: i64, at: Timestamp| {
        let store = t.store.clone();
        async move {
            store
                .dialogue(ChatId(chat), UserId(user), at)
                .await
                .unwrap()
        }
    };

    let a = dialogue(-100, 1, "a: waiting for amount", later);
    let b = dialogue(-100, 2, "b: waiting for name", later);
    let c = dialogue(-200, 1, "c: waiting for file", later);
    for d in [&a, &b, &c] {
        t.store.save_dialogue(d.clone()).await.unwrap();
    }
    assert_eq!(get(-100, 1, now).await, Some(a.clone()));
    assert_eq!(get(-100, 2, now).await, Some(b.clone()));
    assert_eq!(get(-200, 1, now).await, Some(c.clone()));
    assert_eq!(get(-200, 2, now).await, None, "nobody spoke there");

    let replaced = dialogue(-100, 1, "a: waiting for confirmation", later);
    t.store.save_dialogue(replaced.clone()).await.unwrap();
    assert_eq!(get(-100, 1, now).await, Some(replaced));
    assert_eq!(get(-100, 2, now).await, Some(b.clone()));
    assert_eq!(get(-200, 1, now).await, Some(c.clone()));

    t.store
        .clear_dialogue(ChatId(-100), UserId(1))
        .await
        .unwrap();
    assert_eq!(get(-100, 1, now).await, None);
    assert_eq!(get(-100, 2, now).await, Some(b.clone()));
    assert_eq!(get(-200, 1, now).await, Some(c));
    t.store
        .clear_dialogue(ChatId(-300), UserId(9))
        .await
        .unwrap();

    let just_before = Timestamp(later.0 - 1);
    assert_eq!(get(-100, 2, just_before).await, Some(b));
    assert_eq!(get(-100, 2, later).await, None, "expired at expires_at");
    assert_eq!(get(-100, 2, Timestamp(later.0 + 1)).await, None);

    let big = dialogue(-100, 3, &"x".repeat(MAX_STATE_BYTES), later);
    t.store.save_dialogue(big.clone()).await.unwrap();
    assert_eq!(get(-100, 3, now).await, Some(big));

    let barrier = Arc::new(Barrier::new(50));
    let mut tasks = JoinSet::new();
    for user in 100..150 {
        let (store, barrier) = (t.store.clone(), barrier.clone());
        tasks.spawn(async move {
            let mine = dialogue(-500, user, &format!("state of {user}"), later);
            barrier.wait().await;
            store.save_dialogue(mine).await.unwrap();
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    for user in 100..150 {
        let got = get(-500, user, now).await.map(|d| d.state);
        assert_eq!(got, Some(format!("state of {user}")));
    }
}

/// A messenger update id is recorded once: the first `mark_update_processed` answers true,
/// every later one false — also 20 deliveries of one id at once, where exactly one wins — and
/// different ids never interfere.
pub async fn a_redelivered_update_is_recognised_once(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let now = t.now();
    assert!(
        t.store
            .mark_update_processed(UpdateId(1), now)
            .await
            .unwrap()
    );
    assert!(
        !t.store
            .mark_update_processed(UpdateId(1), now)
            .await
            .unwrap()
    );
    assert!(
        t.store
            .mark_update_processed(UpdateId(2), now)
            .await
            .unwrap()
    );

    let barrier = Arc::new(Barrier::new(20));
    let mut tasks = JoinSet::new();
    for _ in 0..20 {
        let (store, barrier) = (t.store.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            store
                .mark_update_processed(UpdateId(77), now)
                .await
                .unwrap()
        });
    }
    let firsts = tasks
        .join_all()
        .await
        .into_iter()
        .filter(|first| *first)
        .count();
    assert_eq!(firsts, 1, "one delivery of update 77 is the first");
    assert!(
        !t.store
            .mark_update_processed(UpdateId(2), now)
            .await
            .unwrap()
    );
}
