//! Staff notices, job records and sweeps come back the same after a restart, whether replayed
//! from the journal or loaded from a snapshot.

use shopbot_core::audit::AuditRecord;
use shopbot_core::dialogue::Dialogue;
use shopbot_core::dump::Dump;
use shopbot_core::housekeeping::{Sweep, SweepReport};
use shopbot_core::ids::{ChatId, OrderId, UpdateId};
use shopbot_core::jobs::JobRound;
use shopbot_core::notice::{Notice, NoticeKind, NoticeKinds};
use shopbot_core::user::Role;

use super::helpers::*;

fn audit(action: &str) -> AuditRecord {
    AuditRecord {
        actor: UserId(1),
        action: action.to_owned(),
        at: Timestamp(10),
    }
}

fn dialogue(user: i64, expires_at: i64) -> Dialogue {
    Dialogue {
        chat: ChatId(user),
        user: UserId(user),
        state: format!("state {user}"),
        expires_at: Timestamp(expires_at),
    }
}

/// One of each new command, all journaled: kinds set and cleared by a demotion, a notice
/// raised, a job round and a run request, and a sweep of a dialogue and an update id.
async fn fill(store: &JsonStore) {
    add_users(store, 1..=3).await;
    let paid: NoticeKinds = [NoticeKind::OrderPaid].into_iter().collect();
    for user in [2, 3] {
        let user = UserId(user);
        store
            .set_role(user, Role::Admin, audit("make staff"))
            .await
            .unwrap();
        store
            .set_notice_kinds(user, paid.clone(), audit("notices"))
            .await
            .unwrap();
    }
    store
        .set_role(UserId(3), Role::Customer, audit("demote"))
        .await
        .unwrap();
    let notice = Notice::OrderPaid { order: OrderId(5) };
    let queued = store
        .notify_staff(notice, "order-paid:5".to_owned(), Timestamp(20))
        .await
        .unwrap();
    assert_eq!(queued, 1);
    let round = JobRound {
        name: "outbox".to_owned(),
        started_at: Timestamp(30),
        finished_at: Timestamp(31),
        succeeded: true,
        count: 1,
        summary: "sent 1".to_owned(),
        consecutive_failures: 0,
        next_due: Timestamp(90),
    };
    store.record_job_round(round).await.unwrap();
    store
        .request_job_run("backup".to_owned(), Timestamp(32))
        .await
        .unwrap();
    store.save_dialogue(dialogue(2, 40)).await.unwrap();
    store.save_dialogue(dialogue(3, 4_000)).await.unwrap();
    for (update, at) in [(1, 35), (2, 50)] {
        let first = store.mark_update_processed(UpdateId(update), Timestamp(at));
        assert!(first.await.unwrap());
    }
    let sweep = Sweep {
        dialogues_expired_by: Timestamp(40),
        updates_before: Timestamp(40),
    };
    let report = store.sweep(sweep).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            dialogues: 1,
            updates: 1
        }
    );
}

/// What a restart must keep, read back from `store`.
async fn kept(store: &JsonStore) -> (Dump, NoticeKinds, NoticeKinds) {
    assert_eq!(store.check().await.unwrap(), Vec::<String>::new());
    (
        store.export_dump().await.unwrap(),
        store.notice_kinds(UserId(2)).await.unwrap(),
        store.notice_kinds(UserId(3)).await.unwrap(),
    )
}

#[tokio::test]
async fn staff_notices_job_records_and_sweeps_are_replayed_and_snapshotted() {
    let dir = tempfile::tempdir().unwrap();
    let store = JsonStore::open(dir.path()).unwrap();
    fill(&store).await;
    let before = kept(&store).await;
    assert_eq!(before.0.notice_keys.len(), 1);
    assert_eq!(before.0.jobs.len(), 2);
    assert_eq!(before.0.dialogues, vec![dialogue(3, 4_000)]);
    assert_eq!(before.2, NoticeKinds::none(), "the demotion cleared user 3");
    drop(store);

    let replayed = JsonStore::open(dir.path()).unwrap();
    assert_eq!(kept(&replayed).await, before, "replayed from the journal");
    replayed.close().await.unwrap();
    drop(replayed);

    let loaded = JsonStore::open(dir.path()).unwrap();
    assert_eq!(kept(&loaded).await, before, "loaded from the snapshot");
    let again = Notice::OrderPaid { order: OrderId(5) };
    let raised = loaded.notify_staff(again, "order-paid:5".to_owned(), Timestamp(60));
    assert_eq!(raised.await.unwrap(), 0, "the key is remembered");
    let swept = loaded.mark_update_processed(UpdateId(1), Timestamp(60));
    assert!(swept.await.unwrap(), "the swept update id stays forgotten");
    let kept_id = loaded.mark_update_processed(UpdateId(2), Timestamp(60));
    assert!(
        !kept_id.await.unwrap(),
        "the later update id is still known"
    );
}
