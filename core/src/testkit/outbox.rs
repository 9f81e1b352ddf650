//! The outbox: messages written with a state change are claimed oldest first, hidden while a
//! worker holds their lease, and follow the outcome the worker reports.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::invoice::bill;
use super::{TestShop, claim_all};
use crate::error::Error;
use crate::ids::OutboxId;
use crate::invoice::InvoicePurpose;
use crate::outbox::{DeliveryOutcome, OutboxBody, OutboxClaim, OutboxMessage, OutboxStatus};
use crate::ports::Storage;
use crate::time::Timestamp;

const MINUTE: Duration = Duration::from_secs(60);

fn claim(now: Timestamp, lease: Duration, limit: usize) -> OutboxClaim {
    OutboxClaim {
        now,
        lease_until: now.plus(lease),
        limit,
    }
}

fn ids(messages: &[OutboxMessage]) -> Vec<OutboxId> {
    messages.iter().map(|m| m.id).collect()
}

/// A wallet checkout queues one `OrderDelivered` message, due at once. Claimed, it counts an
/// attempt and stays hidden until its lease ends; then exactly one of eight concurrent claimers
/// gets it again. Once reported sent it is never claimed again; completing an unknown message
/// is `NotFound`.
pub async fn a_checkout_queues_a_delivery_that_is_claimed_once_per_lease(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Delivered key", 100).await;
    t.keys(product.id, "DELIVER", 2).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    let order = t.buy(buyer, product.id, 1).await;
    let now = t.now();

    let first = t.store.claim_outbox(claim(now, MINUTE, 100)).await.unwrap();
    assert_eq!(first.len(), 1, "{first:?}");
    let message = &first[0];
    assert_eq!(message.user, buyer);
    assert_eq!(message.body, OutboxBody::OrderDelivered { order: order.id });
    assert_eq!(message.status, OutboxStatus::Pending);
    assert_eq!(message.attempts, 1);
    assert_eq!(message.created_at, now);

    let lease_end = now.plus(MINUTE);
    for at in [now, Timestamp(lease_end.0 - 1)] {
        let hidden = t.store.claim_outbox(claim(at, MINUTE, 100)).await.unwrap();
        assert!(
            hidden.is_empty(),
            "claimed again at {at} within the lease: {hidden:?}"
        );
    }

    let barrier = Arc::new(Barrier::new(8));
    let mut tasks = JoinSet::new();
    for _ in 0..8 {
        let (store, barrier) = (t.store.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            store
                .claim_outbox(claim(lease_end, MINUTE, 100))
                .await
                .unwrap()
        });
    }
    let mut again = Vec::new();
    while let Some(done) = tasks.join_next().await {
        again.extend(done.unwrap());
    }
    assert_eq!(ids(&again), vec![message.id], "one claimer after the lease");
    assert_eq!(again[0].attempts, 2);

    t.store
        .complete_outbox(message.id, DeliveryOutcome::Sent)
        .await
        .unwrap();
    let far = Timestamp(now.0 + 86_400_000);
    assert!(
        claim_all(t.store.as_ref(), far).await.is_empty(),
        "a sent message came back"
    );
    let unknown = t
        .store
        .complete_outbox(OutboxId(987_654_321), DeliveryOutcome::Sent)
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
}

/// 16 workers claim batches of at most three from 40 queued messages at once, until none is
/// left: every message is claimed by exactly one worker, and each batch is oldest first.
pub async fn concurrent_claimers_never_get_the_same_message(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let user = t.customer(10).await;
    let mut issued = BTreeSet::new();
    for i in 0..40 {
        let new = bill(user, 100 + i, 1, 0, InvoicePurpose::Custom, t.now());
        issued.insert(t.store.create_invoice(new).await.unwrap().id);
    }
    let now = t.now();
    let barrier = Arc::new(Barrier::new(16));
    let mut tasks = JoinSet::new();
    for _ in 0..16 {
        let (store, barrier) = (t.store.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_outbox(claim(now, MINUTE, 3)).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                assert!(batch.len() <= 3, "the limit was ignored: {batch:?}");
                let batch_ids = ids(&batch);
                assert!(
                    batch_ids.windows(2).all(|w| w[0] < w[1]),
                    "oldest first: {batch_ids:?}"
                );
                mine.extend(batch);
            }
        });
    }
    let mut claimed = Vec::new();
    while let Some(done) = tasks.join_next().await {
        claimed.extend(done.unwrap());
    }
    let distinct: BTreeSet<OutboxId> = claimed.iter().map(|m| m.id).collect();
    assert_eq!(distinct.len(), claimed.len(), "a message was claimed twice");
    assert_eq!(claimed.len(), 40);
    let invoices: BTreeSet<_> = claimed
        .iter()
        .map(|m| match m.body {
            OutboxBody::InvoiceIssued { invoice } => invoice,
            ref other => panic!("unexpected message {other:?}"),
        })
        .collect();
    assert_eq!(invoices, issued, "one InvoiceIssued per invoice");
    assert!(claimed.iter().all(|m| m.attempts == 1 && m.user == user));
}

/// Sent and failed messages are never claimed again; a retry is claimable exactly from its
/// time; a claimed message nobody reports on (a crashed worker) comes back when its lease ends.
pub async fn completed_messages_follow_their_outcome(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let user = t.customer(10).await;
    for i in 0..20 {
        let new = bill(user, 100 + i, 1, 0, InvoicePurpose::Custom, t.now());
        t.store.create_invoice(new).await.unwrap();
    }
    let now = t.now();
    let claimed = ids(&t.store.claim_outbox(claim(now, MINUTE, 100)).await.unwrap());
    assert_eq!(claimed.len(), 20);
    let (sent, rest) = claimed.split_at(5);
    let (retried, rest) = rest.split_at(5);
    let (failed, abandoned) = rest.split_at(5);
    let retry_at = now.plus(Duration::from_secs(10));
    for (group, outcome) in [
        (sent, DeliveryOutcome::Sent),
        (retried, DeliveryOutcome::RetryAt { at: retry_at }),
        (failed, DeliveryOutcome::Failed),
    ] {
        for &id in group {
            t.store.complete_outbox(id, outcome).await.unwrap();
        }
    }

    let early = t
        .store
        .claim_outbox(claim(Timestamp(retry_at.0 - 1), MINUTE, 100))
        .await
        .unwrap();
    assert!(early.is_empty(), "claimed before its retry time: {early:?}");
    let retries = t
        .store
        .claim_outbox(claim(retry_at, MINUTE, 100))
        .await
        .unwrap();
    assert_eq!(ids(&retries), retried.to_vec(), "due retries");
    assert!(
        retries
            .iter()
            .all(|m| m.attempts == 2 && m.status == OutboxStatus::Pending)
    );

    let lease_end = now.plus(MINUTE);
    let comeback = t
        .store
        .claim_outbox(claim(lease_end, MINUTE, 100))
        .await
        .unwrap();
    assert_eq!(
        ids(&comeback),
        abandoned.to_vec(),
        "abandoned after the lease"
    );

    let far = Timestamp(now.0 + 86_400_000);
    let rest: BTreeSet<OutboxId> = claim_all(t.store.as_ref(), far)
        .await
        .iter()
        .map(|m| m.id)
        .collect();
    let pending: BTreeSet<OutboxId> = retried.iter().chain(abandoned).copied().collect();
    assert_eq!(rest, pending, "sent and failed messages never come back");
}
