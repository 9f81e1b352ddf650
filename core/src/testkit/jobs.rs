//! Job records: each finished round becomes a job's `last` and counts, a request to run a job
//! now stays pending until a round that started at or after it, and records come back in name
//! order.

use std::sync::Arc;

use super::TestShop;
use crate::error::Error;
use crate::jobs::{JobRecord, JobRound, MAX_JOB_NAME};
use crate::ports::Storage;
use crate::time::Timestamp;

fn at(t: &TestShop, seconds: i64) -> Timestamp {
    Timestamp(t.now().0 + seconds * 1000)
}

fn round(name: &str, started_at: Timestamp, succeeded: bool, count: u64) -> JobRound {
    JobRound {
        name: name.to_owned(),
        started_at,
        finished_at: Timestamp(started_at.0 + 250),
        succeeded,
        count,
        summary: if succeeded {
            format!("handled {count}")
        } else {
            "the store was unreachable".to_owned()
        },
        consecutive_failures: u32::from(!succeeded),
        next_due: Timestamp(started_at.0 + 60_000),
    }
}

/// A new store has no job records. A recorded round becomes the job's `last` with `rounds` 1
/// and is returned as stored; the next one replaces `last` and `rounds` counts 2; a failed
/// round is recorded like a successful one; other jobs are not touched.
pub async fn a_recorded_round_becomes_the_jobs_last_and_is_counted(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    assert!(t.store.job_records().await.unwrap().is_empty());

    let first = round("expire-invoices", at(&t, 0), true, 3);
    let record = t.store.record_job_round(first.clone()).await.unwrap();
    let expected = JobRecord {
        name: "expire-invoices".to_owned(),
        last: Some(first),
        rounds: 1,
        requested_at: None,
    };
    assert_eq!(record, expected);
    assert_eq!(t.store.job_records().await.unwrap(), vec![expected]);

    let second = round("expire-invoices", at(&t, 60), false, 0);
    let record = t.store.record_job_round(second.clone()).await.unwrap();
    assert_eq!(record.last, Some(second.clone()));
    assert_eq!(record.rounds, 2);
    assert_eq!(record.requested_at, None);

    let other = round("outbox", at(&t, 61), true, 0);
    t.store.record_job_round(other.clone()).await.unwrap();
    let records = t.store.job_records().await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0], record, "expire-invoices is unchanged");
    assert_eq!(records[1].last, Some(other));
    assert_eq!(records[1].rounds, 1);
}

/// Requesting a run of a job never recorded creates its record with no rounds and the
/// request's time; a second request while one is pending keeps the earlier time.
pub async fn a_run_request_creates_a_record_and_an_earlier_pending_request_stays(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    let asked = at(&t, 10);
    let record = t
        .store
        .request_job_run("backup".to_owned(), asked)
        .await
        .unwrap();
    let expected = JobRecord {
        name: "backup".to_owned(),
        last: None,
        rounds: 0,
        requested_at: Some(asked),
    };
    assert_eq!(record, expected);
    assert_eq!(t.store.job_records().await.unwrap(), vec![expected.clone()]);

    let again = t
        .store
        .request_job_run("backup".to_owned(), at(&t, 20))
        .await
        .unwrap();
    assert_eq!(again, expected, "the earlier request stays");
    let earlier = t
        .store
        .request_job_run("backup".to_owned(), at(&t, 5))
        .await
        .unwrap();
    assert_eq!(earlier, expected, "a pending request is never replaced");
    assert_eq!(t.store.job_records().await.unwrap(), vec![expected]);
}

/// A round that started before the pending request leaves it pending; one that started at
/// the request's time or later clears it; afterwards a new request is recorded with its own
/// time, and the record keeps its rounds.
pub async fn a_round_clears_a_request_made_at_or_before_its_start(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let asked = at(&t, 100);
    t.store
        .request_job_run("outbox".to_owned(), asked)
        .await
        .unwrap();

    let before = round("outbox", at(&t, 99), true, 1);
    let record = t.store.record_job_round(before.clone()).await.unwrap();
    assert_eq!(
        record.requested_at,
        Some(asked),
        "started before the request"
    );
    assert_eq!(record.last, Some(before));
    assert_eq!(record.rounds, 1);

    let at_request = round("outbox", asked, true, 2);
    let record = t.store.record_job_round(at_request.clone()).await.unwrap();
    assert_eq!(record.requested_at, None, "started at the request's time");
    assert_eq!(record.rounds, 2);

    let asked_again = at(&t, 200);
    let record = t
        .store
        .request_job_run("outbox".to_owned(), asked_again)
        .await
        .unwrap();
    assert_eq!(record.requested_at, Some(asked_again));
    assert_eq!(record.last, Some(at_request));
    assert_eq!(record.rounds, 2);

    let after = round("outbox", at(&t, 205), false, 0);
    let record = t.store.record_job_round(after.clone()).await.unwrap();
    assert_eq!(record.requested_at, None, "started after the request");
    assert_eq!(record.rounds, 3);
    assert_eq!(t.store.job_records().await.unwrap(), vec![record]);
}

/// Job records come back in name order, however they were written.
pub async fn job_records_come_in_name_order(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    for name in ["sweep", "expire-invoices", "outbox", "backup-2", "backup"] {
        if name.starts_with('b') {
            t.store
                .request_job_run(name.to_owned(), at(&t, 1))
                .await
                .unwrap();
        } else {
            t.store
                .record_job_round(round(name, at(&t, 1), true, 0))
                .await
                .unwrap();
        }
    }
    let names: Vec<String> = t
        .store
        .job_records()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        names,
        ["backup", "backup-2", "expire-invoices", "outbox", "sweep"]
    );
}

/// A name that is not kebab-case, or longer than the limit, is `Invalid` for a round and for
/// a request, and nothing is recorded; a name of exactly the limit is accepted.
pub async fn bad_job_names_are_invalid_and_record_nothing(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let too_long = "a".repeat(MAX_JOB_NAME + 1);
    for bad in [
        "",
        "Expire",
        "expire_invoices",
        "-outbox",
        "outbox-",
        "a--b",
        "2fa",
        "a b",
        too_long.as_str(),
    ] {
        let refused = t
            .store
            .record_job_round(round(bad, at(&t, 0), true, 0))
            .await;
        assert!(
            matches!(refused, Err(Error::Invalid(_))),
            "round of {bad:?}: {refused:?}"
        );
        let refused = t.store.request_job_run(bad.to_owned(), at(&t, 0)).await;
        assert!(
            matches!(refused, Err(Error::Invalid(_))),
            "request of {bad:?}: {refused:?}"
        );
    }
    assert!(t.store.job_records().await.unwrap().is_empty());

    let longest = "a".repeat(MAX_JOB_NAME);
    t.store
        .request_job_run(longest.clone(), at(&t, 0))
        .await
        .unwrap();
    let names: Vec<String> = t
        .store
        .job_records()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, vec![longest]);
}
