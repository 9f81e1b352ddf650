//! The scheduler with a store: every round recorded, the schedule continued from the records
//! after a restart, requests taken up. The store is a mock keeping job records in memory as
//! the [`Storage`](crate::ports::Storage) contract says; time is a hand-moved clock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::error::Error;
use crate::ports::{Clock, MockStorage, Storage};
use crate::time::Timestamp;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(60 * 60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const START: Timestamp = Timestamp(1_767_225_600_000);

#[derive(Debug)]
struct TestClock(AtomicI64);

impl TestClock {
    fn new() -> Arc<TestClock> {
        Arc::new(TestClock(AtomicI64::new(START.0)))
    }

    fn set(&self, to: Timestamp) {
        self.0.store(to.0, Ordering::SeqCst);
    }

    fn advance(&self, by: Duration) -> Timestamp {
        let ms = i64::try_from(by.as_millis()).unwrap();
        Timestamp(self.0.fetch_add(ms, Ordering::SeqCst) + ms)
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

type Records = Arc<Mutex<BTreeMap<String, JobRecord>>>;

/// A store that keeps job records as the port's contract says, and nothing else.
fn store(records: &Records) -> Arc<MockStorage> {
    let mut store = MockStorage::new();
    let kept = Arc::clone(records);
    store.expect_record_job_round().returning(move |round| {
        let mut kept = kept.lock().unwrap();
        let record = kept.entry(round.name.clone()).or_insert(JobRecord {
            name: round.name.clone(),
            last: None,
            rounds: 0,
            requested_at: None,
        });
        if record.requested_at.is_some_and(|at| at <= round.started_at) {
            record.requested_at = None;
        }
        record.rounds += 1;
        record.last = Some(round);
        Ok(record.clone())
    });
    let kept = Arc::clone(records);
    store
        .expect_job_records()
        .returning(move || Ok(kept.lock().unwrap().values().cloned().collect()));
    let kept = Arc::clone(records);
    store.expect_request_job_run().returning(move |name, at| {
        let mut kept = kept.lock().unwrap();
        let record = kept.entry(name.clone()).or_insert(JobRecord {
            name,
            last: None,
            rounds: 0,
            requested_at: None,
        });
        record.requested_at.get_or_insert(at);
        Ok(record.clone())
    });
    Arc::new(store)
}

/// A job that counts its rounds and fails its first `fail_first`.
fn counting(name: &'static str, period: Duration, fail_first: u32) -> (Job, Arc<AtomicU32>) {
    let rounds = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&rounds);
    let job = Job::new(name, period, move || {
        let round = counted.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if round <= fail_first {
                return Err(Error::Conflict(format!("round {round} failed")));
            }
            Ok(JobReport::new(u64::from(round), format!("round {round}")))
        }
    });
    (job, rounds)
}

fn recorded(records: &Records, name: &str) -> JobRecord {
    records.lock().unwrap().get(name).cloned().unwrap()
}

#[tokio::test]
async fn every_round_is_recorded_with_its_outcome_failures_and_next_due_time() {
    let clock = TestClock::new();
    let records = Records::default();
    let (job, _) = counting("tidy", HOUR, 1);
    let scheduler = Scheduler::new(clock.clone(), vec![job])
        .unwrap()
        .recording(store(&records));

    scheduler.run_due().await;
    let failed = recorded(&records, "tidy");
    assert_eq!(failed.rounds, 1);
    let round = failed.last.unwrap();
    assert!(!round.succeeded);
    assert_eq!(round.count, 0);
    assert!(
        round.summary.contains("round 1 failed"),
        "{}",
        round.summary
    );
    assert_eq!(round.consecutive_failures, 1);
    assert_eq!(round.next_due, START.plus(RETRY_DELAY));

    let retry = clock.advance(RETRY_DELAY);
    scheduler.run_due().await;
    let succeeded = recorded(&records, "tidy");
    assert_eq!(succeeded.rounds, 2);
    assert_eq!(
        succeeded.last,
        Some(JobRound {
            name: "tidy".into(),
            started_at: retry,
            finished_at: retry,
            succeeded: true,
            count: 2,
            summary: "round 2".into(),
            consecutive_failures: 0,
            next_due: retry.plus(HOUR),
        })
    );
}

#[tokio::test]
async fn a_restarted_scheduler_continues_each_schedule_from_the_records() {
    let clock = TestClock::new();
    let records = Records::default();
    let first = {
        let (backup, _) = counting("backup", DAY, 0);
        let (expire, _) = counting("expire", HOUR, 0);
        Scheduler::new(clock.clone(), vec![backup.first_run_after_period(), expire])
            .unwrap()
            .recording(store(&records))
    };
    first.run_due().await;
    let backup_due = clock.advance(DAY);
    first.run_due().await;
    drop(first);

    // Restarted an hour after the backup: it is not retaken, nor is expire run at once.
    clock.advance(MINUTE * 10);
    let (backup, backups) = counting("backup", DAY, 0);
    let (expire, expires) = counting("expire", HOUR, 0);
    let restarted = Scheduler::new(clock.clone(), vec![backup.first_run_after_period(), expire])
        .unwrap()
        .recording(store(&records));
    restarted.restore().await.unwrap();

    assert!(restarted.run_due().await.is_empty());
    assert_eq!(restarted.next_due(), Some(backup_due.plus(HOUR)));
    let expire_status = &restarted.statuses()[1];
    assert_eq!(expire_status.last_run, Some(backup_due));
    assert!(
        expire_status
            .last_outcome
            .as_ref()
            .is_some_and(JobOutcome::is_success)
    );

    clock.advance(MINUTE * 50);
    let runs = restarted.run_due().await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].name, "expire");
    assert_eq!(backups.load(Ordering::SeqCst), 0);
    clock.set(backup_due.plus(DAY));
    let runs = restarted.run_due().await;
    assert!(runs.iter().any(|run| run.name == "backup"));
    assert_eq!(backups.load(Ordering::SeqCst), 1);
    assert_eq!(expires.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn without_records_each_job_keeps_its_first_run_rule() {
    let clock = TestClock::new();
    let records = Records::default();
    let (backup, _) = counting("backup", DAY, 0);
    let (expire, _) = counting("expire", HOUR, 0);
    let scheduler = Scheduler::new(clock.clone(), vec![backup.first_run_after_period(), expire])
        .unwrap()
        .recording(store(&records));
    scheduler.restore().await.unwrap();

    let runs = scheduler.run_due().await;
    assert_eq!(
        runs.iter().map(|run| run.name).collect::<Vec<_>>(),
        ["expire"]
    );
    assert_eq!(scheduler.statuses()[0].next_due, START.plus(DAY));
}

#[tokio::test]
async fn a_shortened_period_applies_at_once_after_a_restart() {
    let clock = TestClock::new();
    let records = Records::default();
    let (daily, _) = counting("backup", DAY, 0);
    Scheduler::new(clock.clone(), vec![daily])
        .unwrap()
        .recording(store(&records))
        .run_due()
        .await;

    let (hourly, _) = counting("backup", HOUR, 0);
    let restarted = Scheduler::new(clock.clone(), vec![hourly])
        .unwrap()
        .recording(store(&records));
    restarted.restore().await.unwrap();
    assert_eq!(restarted.next_due(), Some(START.plus(HOUR)));
}

#[tokio::test]
async fn a_requested_job_runs_at_the_next_look_once_and_the_request_is_answered() {
    let clock = TestClock::new();
    let records = Records::default();
    let store = store(&records);
    let (job, rounds) = counting("tidy", DAY, 0);
    let scheduler = Scheduler::new(clock.clone(), vec![job.first_run_after_period()])
        .unwrap()
        .recording(store.clone());
    assert!(scheduler.run_requested().await.unwrap().is_empty());

    let asked = clock.advance(MINUTE);
    store.request_job_run("tidy".into(), asked).await.unwrap();
    store
        .request_job_run("unknown".into(), asked)
        .await
        .unwrap();
    let runs = scheduler.run_requested().await.unwrap();

    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].started_at, asked);
    assert_eq!(rounds.load(Ordering::SeqCst), 1);
    let tidy = recorded(&records, "tidy");
    assert_eq!(tidy.requested_at, None);
    assert_eq!(tidy.last.map(|round| round.next_due), Some(asked.plus(DAY)));
    assert_eq!(recorded(&records, "unknown").requested_at, Some(asked));
    assert!(scheduler.run_requested().await.unwrap().is_empty());
    assert_eq!(rounds.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_round_the_store_cannot_record_still_counts() {
    let clock = TestClock::new();
    let mut failing = MockStorage::new();
    failing
        .expect_record_job_round()
        .times(2)
        .returning(|_| Err(Error::internal_msg("disk full")));
    let (job, rounds) = counting("tidy", MINUTE, 0);
    let scheduler = Scheduler::new(clock.clone(), vec![job])
        .unwrap()
        .recording(Arc::new(failing));

    assert_eq!(scheduler.run_due().await.len(), 1);
    assert_eq!(scheduler.next_due(), Some(START.plus(MINUTE)));
    clock.advance(MINUTE);
    assert_eq!(scheduler.run_due().await.len(), 1);
    assert_eq!(rounds.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_scheduler_without_a_store_has_no_requests_and_nothing_to_restore() {
    let clock = TestClock::new();
    let (job, _) = counting("tidy", MINUTE, 0);
    let scheduler = Scheduler::new(clock, vec![job]).unwrap();
    scheduler.restore().await.unwrap();
    assert!(scheduler.run_requested().await.unwrap().is_empty());
}
