//! Job writes fenced through the port: a deposed leader's late write through its fenced handle
//! (`PgStore::fenced`) is refused by the store and changes nothing, and a write racing a
//! takeover either commits before it or is refused, never after it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{Connection, PgConnection};

use shopbot_core::Error;
use shopbot_core::cart::CartEdit;
use shopbot_core::dialogue::Dialogue;
use shopbot_core::housekeeping::Sweep;
use shopbot_core::ids::{ChatId, OrderId, UpdateId, UserId};
use shopbot_core::invoice::{InvoiceEvent, InvoiceStatus};
use shopbot_core::jobs::JobRound;
use shopbot_core::notice::Notice;
use shopbot_core::outbox::{DeliveryOutcome, OutboxClaim};
use shopbot_core::ports::Storage;
use shopbot_core::testkit::TestShop;
use shopbot_core::time::Timestamp;
use shopbot_storage_pg::testing::TestDatabase;
use shopbot_storage_pg::{Leader, PgStore};

use crate::support;

/// Whether `result` is the store's refusal of a deposed leader's write.
fn is_fenced<T: std::fmt::Debug>(result: &shopbot_core::Result<T>) -> bool {
    matches!(result, Err(Error::Conflict(message)) if message.contains("leadership moved on"))
}

/// The leader's connection is killed, another instance takes over: every kind of write through
/// the old leader's fenced handle is refused and leaves the rows as they were, while reads still
/// answer and the new leader's fenced handle writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposed_leaders_late_writes_through_its_fenced_handle_are_refused_and_change_nothing() {
    let Some((store, db)) = support::store().await else {
        return;
    };
    let shop = TestShop::new(store.clone()).await;
    let product = shop.product("Fenced key", 300).await;
    shop.keys(product.id, "FENCE", 4).await;
    let buyer = shop.customer(700).await;
    shop.fund(buyer, 10_000).await;
    shop.buy(buyer, product.id, 1).await; // queues the key's delivery in the outbox
    let (_, invoice) = shop.buy_by_invoice(buyer, product.id, 1).await;

    let mut a = Leader::new(&store, "instance-a").await.unwrap();
    let old_epoch = a.try_lead().await.unwrap().expect("A leads an unled shop");
    let deposed = store.fenced(old_epoch);
    assert_eq!(deposed.fence(), Some(old_epoch));
    let pid = a.backend_pid().await.unwrap();
    let mut admin = PgConnection::connect(db.server_url()).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut admin)
        .await
        .unwrap();
    let mut b = Leader::new(&store, "instance-b").await.unwrap();
    let new_epoch = b
        .try_lead()
        .await
        .unwrap()
        .expect("B takes over once A's connection is gone");
    assert!(new_epoch > old_epoch);

    let outbox_before = outbox_rows(&store).await;
    let at = shop.tick();
    let transitioned = deposed
        .transition_invoice(invoice.id, InvoiceEvent::Void, at, None)
        .await;
    assert!(is_fenced(&transitioned), "{transitioned:?}");
    let claim = OutboxClaim {
        now: at,
        lease_until: Timestamp(at.0 + 60_000),
        limit: 10,
    };
    let claimed = deposed.claim_outbox(claim).await;
    assert!(is_fenced(&claimed), "{claimed:?}");
    let first = outbox_before.first().expect("a queued delivery").0;
    let completed = deposed
        .complete_outbox(shopbot_core::ids::OutboxId(first), DeliveryOutcome::Sent)
        .await;
    assert!(is_fenced(&completed), "{completed:?}");
    let marked = deposed.mark_update_processed(UpdateId(41), at).await;
    assert!(is_fenced(&marked), "{marked:?}");
    let saved = deposed.save_dialogue(dialogue(1)).await;
    assert!(is_fenced(&saved), "{saved:?}");
    let recorded = deposed.record_job_round(job_round(at)).await;
    assert!(is_fenced(&recorded), "{recorded:?}");
    let requested = deposed.request_job_run("backup".to_owned(), at).await;
    assert!(is_fenced(&requested), "{requested:?}");
    let swept = deposed
        .sweep(Sweep {
            dialogues_expired_by: Timestamp(4_000_000_000_000),
            updates_before: Timestamp(4_000_000_000_000),
        })
        .await;
    assert!(is_fenced(&swept), "{swept:?}");
    let notified = deposed
        .notify_staff(
            Notice::OrderPaid { order: OrderId(1) },
            "order-paid:1".to_owned(),
            at,
        )
        .await;
    assert!(is_fenced(&notified), "{notified:?}");

    let unchanged = store.invoice(invoice.id).await.unwrap().unwrap();
    assert_eq!(unchanged.status, InvoiceStatus::Open);
    assert_eq!(unchanged, invoice);
    assert_eq!(outbox_rows(&store).await, outbox_before);
    assert!(
        store
            .dialogue(ChatId(1), UserId(1), at)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.job_records().await.unwrap().is_empty());
    assert!(
        store.mark_update_processed(UpdateId(41), at).await.unwrap(),
        "the deposed leader's mark left no trace"
    );

    // Reads through the deposed handle still answer; purchases are never a job's to make.
    assert_eq!(
        deposed.invoice(invoice.id).await.unwrap(),
        Some(invoice.clone())
    );
    let edited = deposed.edit_cart(buyer, CartEdit::Clear).await;
    assert!(matches!(edited, Err(Error::Invalid(_))), "{edited:?}");

    let leader = store.fenced(new_epoch);
    let record = leader.record_job_round(job_round(at)).await.unwrap();
    assert_eq!(store.job_records().await.unwrap(), vec![record]);
    let claimed = leader.claim_outbox(claim).await.unwrap();
    assert_eq!(claimed.len(), outbox_before.len());
    let voided = leader
        .transition_invoice(invoice.id, InvoiceEvent::Void, at, None)
        .await
        .unwrap();
    assert_eq!(voided.status, InvoiceStatus::Void);
}

/// Even while A still holds its advisory lock, a newer epoch written by a takeover fences A's
/// handle: the fence is the epoch, not the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_handle_writes_while_its_epoch_is_current_and_not_after_a_takeover() {
    let Some((store, _db)) = support::store().await else {
        return;
    };
    let mut a = Leader::new(&store, "instance-a").await.unwrap();
    let epoch = a.try_lead().await.unwrap().unwrap();
    let fenced = store.fenced(epoch);
    let at = Timestamp(1_000);
    assert!(fenced.mark_update_processed(UpdateId(1), at).await.unwrap());
    fenced.save_dialogue(dialogue(1)).await.unwrap();

    take_over(&store).await;

    assert!(is_fenced(
        &fenced.mark_update_processed(UpdateId(2), at).await
    ));
    assert!(is_fenced(
        &fenced.clear_dialogue(ChatId(1), UserId(1)).await
    ));
    assert!(
        store
            .dialogue(ChatId(1), UserId(1), at)
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.mark_update_processed(UpdateId(2), at).await.unwrap());
}

/// Writers hammer the leader's fenced handle while a takeover bumps the epoch. The takeover's
/// own transaction, once its bump holds the leadership row, lists what is committed: that set
/// is exactly the writes that answered `Ok`, and exactly what the database holds at the end.
/// So no fenced write committed after the takeover, and none that was refused left a trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_racing_a_takeover_commits_before_it_or_is_refused_never_after() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let store = Arc::new(PgStore::connect(db.url()).await.unwrap());
    let mut a = Leader::new(&store, "instance-a").await.unwrap();
    let epoch = a.try_lead().await.unwrap().unwrap();
    let fenced = store.fenced(epoch);

    const WRITERS: i64 = 6;
    let written = Arc::new(AtomicUsize::new(0));
    let (ready_tx, mut ready_rx) = tokio::sync::watch::channel(0usize);
    let ready_tx = Arc::new(ready_tx);
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (fenced, written, ready) = (fenced.clone(), written.clone(), ready_tx.clone());
        writers.push(tokio::spawn(async move {
            let mut ok = BTreeSet::new();
            let mut refused = BTreeSet::new();
            let mut n = 0;
            // Each writer stops after its first refusal: every later write would be refused too.
            while refused.is_empty() {
                n += 1;
                let id = w * 1_000_000 + n;
                // Single-statement writes (sent in autocommit when unfenced) and a command
                // that is a transaction of its own.
                let result = match n % 3 {
                    0 => fenced
                        .mark_update_processed(UpdateId(id), Timestamp(1))
                        .await
                        .map(drop),
                    1 => fenced.save_dialogue(dialogue(id)).await,
                    _ => {
                        let notice = Notice::OrderPaid { order: OrderId(id) };
                        let key = format!("race:{id}");
                        fenced
                            .notify_staff(notice, key, Timestamp(1))
                            .await
                            .map(drop)
                    }
                };
                match result {
                    Ok(()) => {
                        ok.insert(id);
                        let total = written.fetch_add(1, Ordering::SeqCst) + 1;
                        ready.send_replace(total);
                    }
                    Err(Error::Conflict(message)) if message.contains("leadership moved on") => {
                        refused.insert(id);
                    }
                    Err(e) => panic!("writer {w}: {e}"),
                }
            }
            (ok, refused)
        }));
    }

    drop(ready_tx); // A writer that panics before 50 writes ends the wait below.
    // Take over while the writers are in full flow.
    ready_rx.wait_for(|n| *n >= 50).await.unwrap();
    let committed_at_takeover = take_over(&store).await;
    let mut ok = BTreeSet::new();
    let mut refused = BTreeSet::new();
    let watchdog = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        for writer in writers {
            let (o, r) = writer.await.unwrap();
            ok.extend(o);
            refused.extend(r);
        }
    });
    watchdog
        .await
        .expect("every writer is refused soon after the takeover");

    assert_eq!(refused.len(), WRITERS as usize, "every writer ends refused");
    assert!(!ok.is_empty());
    assert_eq!(
        committed_at_takeover, ok,
        "what had committed when the takeover held the row is exactly what answered Ok"
    );
    assert_eq!(
        written_ids(&store).await,
        ok,
        "and exactly what the store holds"
    );
}

/// A takeover as `Leader::try_lead` makes it (the epoch bumped), which also lists, in the same
/// transaction after the bump, every id the fenced writers have committed.
async fn take_over(store: &PgStore) -> BTreeSet<i64> {
    let mut tx = store.pool().begin().await.unwrap();
    sqlx::query("UPDATE leadership SET epoch = epoch + 1, holder = 'instance-b'")
        .execute(&mut *tx)
        .await
        .unwrap();
    let ids = ids_in(&mut tx).await;
    tx.commit().await.unwrap();
    ids
}

async fn written_ids(store: &PgStore) -> BTreeSet<i64> {
    let mut conn = store.pool().acquire().await.unwrap();
    ids_in(&mut conn).await
}

async fn ids_in(conn: &mut PgConnection) -> BTreeSet<i64> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT update_id FROM processed_updates UNION ALL SELECT chat_id FROM dialogues \
         UNION ALL SELECT split_part(key, ':', 2)::BIGINT FROM notice_keys",
    )
    .fetch_all(conn)
    .await
    .unwrap();
    ids.into_iter().collect()
}

async fn outbox_rows(store: &PgStore) -> Vec<(i64, i32, String, String)> {
    sqlx::query_as("SELECT id, attempts, not_before::TEXT, status FROM outbox ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap()
}

/// A successful round of the invoice-expiry job that started at `at`.
fn job_round(at: Timestamp) -> JobRound {
    JobRound {
        name: "expire-invoices".to_owned(),
        started_at: at,
        finished_at: at,
        succeeded: true,
        count: 0,
        summary: "nothing to expire".to_owned(),
        consecutive_failures: 0,
        next_due: Timestamp(at.0 + 60_000),
    }
}

/// A dialogue in `chat` that lapses long after any test's clock.
fn dialogue(chat: i64) -> Dialogue {
    Dialogue {
        chat: ChatId(chat),
        user: UserId(1),
        state: "{}".to_owned(),
        expires_at: Timestamp(4_000_000_000_000),
    }
}
