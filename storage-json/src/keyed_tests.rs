//! Request keys end to end: a repeated request applies once, on a real disk across a close,
//! a drop without close and a crash at every sync point, under concurrent repeats, and until
//! the sweep forgets it.

use std::sync::Arc;

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::catalog::{Category, NewCategory};
use shopbot_core::housekeeping::Sweep;
use shopbot_core::ids::UserId;
use shopbot_core::money::{Currency, Money};
use shopbot_core::ports::{Page, Storage};
use shopbot_core::text::{CategoryName, IdempotencyKey, PersonName};
use shopbot_core::time::Timestamp;
use shopbot_core::user::UserProfile;
use shopbot_core::wallet::{LedgerEntry, LedgerOp, LedgerRequest};

use crate::sim_fs::{SimFs, Tail};
use crate::{JsonStore, Options, RequestKey};

const ADMIN: UserId = UserId(1);
const BUYER: UserId = UserId(2);

fn key(text: &str) -> RequestKey {
    RequestKey::parse(text).unwrap()
}

fn audit(action: &str, at: i64) -> AuditRecord {
    AuditRecord {
        actor: ADMIN,
        action: action.to_owned(),
        at: Timestamp(at),
    }
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

async fn with_users(store: &JsonStore) {
    try_with_users(store).await.unwrap();
}

async fn try_with_users(store: &JsonStore) -> Result<(), Error> {
    for id in [ADMIN, BUYER] {
        let name = PersonName::lenient("someone");
        store
            .upsert_user(UserProfile { id, name }, Timestamp(0))
            .await?;
    }
    Ok(())
}

/// What `shopbot user credit` does with the store, made at `at`: a category and a credit
/// with their audit records. Repeats stamp later times.
async fn request(store: &dyn Storage, at: i64) -> Result<(Category, LedgerEntry), Error> {
    let new = NewCategory {
        name: CategoryName::parse("Games").unwrap(),
        at: Timestamp(at),
    };
    let category = store.create_category(new, audit("category", at)).await?;
    let credit = LedgerRequest {
        user: BUYER,
        key: IdempotencyKey::parse("credit-1").unwrap(),
        op: LedgerOp::Adjustment { amount: usd(500) },
        note: None,
        at: Timestamp(at),
    };
    let entry = store
        .post_ledger_entry(credit, Some(audit("credit", at)))
        .await?;
    Ok((category, entry))
}

/// The number of ledger entries, categories and audit records, and the buyer's balance.
async fn footprint(store: &JsonStore) -> (usize, usize, usize, i64) {
    let ledger = store.ledger(BUYER, Page::first(1000)).await.unwrap();
    let categories = store.categories().await.unwrap();
    let audit = store.audit_log(Page::first(1000)).await.unwrap();
    let balance = store.balance(BUYER, Currency::USD).await.unwrap();
    (
        ledger.len(),
        categories.len(),
        audit.len(),
        balance.balance.minor,
    )
}

#[tokio::test]
async fn a_repeated_request_applies_once_and_gets_the_first_answers() {
    let store = JsonStore::in_memory();
    with_users(&store).await;
    let first = request(&store.keyed(key("cli-1"), Timestamp(10)), 10)
        .await
        .unwrap();
    let after_first = footprint(&store).await;
    assert_eq!(after_first, (1, 1, 2, 500));

    let again = request(&store.keyed(key("cli-1"), Timestamp(20)), 20)
        .await
        .unwrap();

    assert_eq!(again, first, "the repeat gets the recorded answers");
    assert_eq!(footprint(&store).await, after_first, "and changes nothing");
    assert!(store.check().await.unwrap().is_empty());
}

#[tokio::test]
async fn without_a_key_the_same_request_is_refused_the_second_time() {
    // The control: what the key saves a retry from.
    let store = JsonStore::in_memory();
    with_users(&store).await;
    request(&store, 10).await.unwrap();
    assert!(matches!(request(&store, 20).await, Err(Error::Conflict(_))));
}

#[tokio::test]
async fn a_refusal_is_recorded_and_answered_again_though_the_state_changed() {
    let store = JsonStore::in_memory();
    with_users(&store).await;
    let charge = |at| LedgerRequest {
        user: BUYER,
        key: IdempotencyKey::parse("charge-1").unwrap(),
        op: LedgerOp::Charge {
            amount: usd(300),
            order: None,
            invoice: None,
        },
        note: None,
        at: Timestamp(at),
    };
    let first = store
        .keyed(key("cli-2"), Timestamp(1))
        .post_ledger_entry(charge(1), None)
        .await;
    assert!(matches!(first, Err(Error::InsufficientFunds { .. })));
    request(&store, 2).await.unwrap(); // the buyer now has 500

    let again = store
        .keyed(key("cli-2"), Timestamp(3))
        .post_ledger_entry(charge(3), None)
        .await;

    assert_eq!(format!("{again:?}"), format!("{first:?}"));
    assert_eq!(footprint(&store).await.3, 500, "nothing was charged");
}

#[tokio::test]
async fn another_call_under_a_used_key_is_a_conflict_and_changes_nothing() {
    let store = JsonStore::in_memory();
    with_users(&store).await;
    request(&store.keyed(key("cli-3"), Timestamp(1)), 1)
        .await
        .unwrap();
    let before = footprint(&store).await;

    // The same kind of call with other arguments.
    let other_name = NewCategory {
        name: CategoryName::parse("Films").unwrap(),
        at: Timestamp(2),
    };
    let keyed = store.keyed(key("cli-3"), Timestamp(2));
    let differs = keyed
        .create_category(other_name, audit("category", 2))
        .await;
    assert!(matches!(differs, Err(Error::Conflict(_))), "{differs:?}");

    // Another kind of call.
    let keyed = store.keyed(key("cli-3"), Timestamp(2));
    let other_kind = keyed.set_banned(BUYER, true, audit("ban", 2)).await;
    assert!(
        matches!(other_kind, Err(Error::Conflict(_))),
        "{other_kind:?}"
    );

    assert_eq!(footprint(&store).await, before);
    assert!(!store.user(BUYER).await.unwrap().unwrap().banned);
}

#[tokio::test]
async fn a_request_is_replayed_after_a_close_and_after_a_drop_without_close() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let store = JsonStore::open(dir.path()).unwrap();
        with_users(&store).await;
        let first = request(&store.keyed(key("cli-4"), Timestamp(1)), 1).await;
        store.close().await.unwrap(); // the answers now live in the snapshot
        first.unwrap()
    };
    {
        let store = JsonStore::open(dir.path()).unwrap();
        let again = request(&store.keyed(key("cli-4"), Timestamp(2)), 2).await;
        assert_eq!(again.unwrap(), first);
        assert_eq!(footprint(&store).await, (1, 1, 2, 500));
        // A second request, left in the journal only: dropped without a snapshot.
        let ban = store.keyed(key("cli-5"), Timestamp(3));
        ban.set_banned(BUYER, true, audit("ban", 3)).await.unwrap();
    }
    let store = JsonStore::open(dir.path()).unwrap();
    assert_eq!(
        request(&store.keyed(key("cli-4"), Timestamp(4)), 4)
            .await
            .unwrap(),
        first
    );
    let ban = store.keyed(key("cli-5"), Timestamp(4));
    ban.set_banned(BUYER, true, audit("ban", 4)).await.unwrap();
    assert_eq!(footprint(&store).await, (1, 1, 3, 500), "one ban audited");
    assert!(store.check().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_repeated_after_a_crash_at_any_sync_point_applies_once() {
    let dir = std::path::Path::new("/store");
    let options = Options::default();
    let clean = SimFs::crashing_at(None);
    {
        let store = JsonStore::open_on(Arc::new(clean.clone()), dir, options).unwrap();
        with_users(&store).await;
        request(&store.keyed(key("cli-6"), Timestamp(1)), 1)
            .await
            .unwrap();
    }
    let total = clean.syncs();
    assert!(total > 3, "the request must sync ({total})");
    for crash_at in 1..=total + 1 {
        for (seed, tail) in [Tail::Kept, Tail::Dropped, Tail::Torn, Tail::Garbage]
            .into_iter()
            .enumerate()
        {
            let context = format!("crash at sync {crash_at}, unsynced bytes {tail:?}");
            let fs = SimFs::crashing_at(Some(crash_at));
            let acked = match JsonStore::open_on(Arc::new(fs.clone()), dir, options) {
                Ok(store) => match try_with_users(&store).await {
                    Ok(()) => request(&store.keyed(key("cli-6"), Timestamp(1)), 1)
                        .await
                        .ok(),
                    Err(_) => None,
                },
                Err(_) => None,
            };
            let after = Arc::new(fs.after_crash(tail, seed as u64));
            let Ok(store) = JsonStore::open_on(after, dir, options) else {
                panic!("{context}: the store does not open");
            };
            with_users(&store).await;
            let again = request(&store.keyed(key("cli-6"), Timestamp(2)), 2).await;
            let again = again.unwrap_or_else(|e| panic!("{context}: the repeat fails: {e}"));
            if let Some(acked) = acked {
                assert_eq!(again, acked, "{context}: an acknowledged answer changed");
            }
            let (entries, categories, _, balance) = footprint(&store).await;
            assert_eq!((entries, categories, balance), (1, 1, 500), "{context}");
            let problems = store.check().await.unwrap();
            assert!(problems.is_empty(), "{context}: {problems:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_repeats_of_one_request_apply_once() {
    let store = Arc::new(JsonStore::in_memory());
    with_users(&store).await;
    let mut repeats = tokio::task::JoinSet::new();
    for attempt in 0..16 {
        let store = Arc::clone(&store);
        repeats.spawn(async move {
            let keyed = store.keyed(key("cli-7"), Timestamp(attempt));
            request(&keyed, attempt).await
        });
    }
    let mut answers = Vec::new();
    while let Some(answer) = repeats.join_next().await {
        answers.push(answer.unwrap().unwrap());
    }

    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "one answer for all"
    );
    assert_eq!(footprint(&store).await, (1, 1, 2, 500));
}

#[tokio::test]
async fn the_sweep_forgets_a_request_a_day_later_and_a_repeat_then_applies_anew() {
    let store = JsonStore::in_memory();
    with_users(&store).await;
    let store = &store;
    let ban = |at| async move {
        let keyed = store.keyed(key("cli-8"), Timestamp(at));
        keyed.set_banned(BUYER, true, audit("ban", at)).await
    };
    ban(100).await.unwrap();
    let sweep = |before| Sweep {
        dialogues_expired_by: Timestamp(0),
        updates_before: Timestamp(before),
    };
    store.sweep(sweep(100)).await.unwrap(); // made at 100: kept
    ban(200).await.unwrap();
    assert_eq!(footprint(store).await.2, 1, "still recorded: applied once");

    store.sweep(sweep(101)).await.unwrap();
    ban(300).await.unwrap();
    assert_eq!(footprint(store).await.2, 2, "forgotten: applied again");
    assert!(store.check().await.unwrap().is_empty());
}
