//! Running a job by name, reading the statuses, and refusing bad job lists.

use std::sync::Arc;
use std::time::Duration;

use shopbot_core::Error;
use shopbot_core::jobs::{JobOutcome, JobReport, JobStatus, Scheduler};
use shopbot_core::ports::Clock;
use shopbot_core::testkit::ManualClock;

use crate::helpers::*;

#[tokio::test]
async fn run_now_runs_a_job_at_once_whatever_its_schedule() {
    let clock = Arc::new(ManualClock::default());
    let counter = Counter::new();
    let scheduler = scheduler(
        &clock,
        vec![counter.job("tidy", HOUR).first_run_after_period()],
    );
    clock.advance(MINUTE);

    let run = scheduler.run_now("tidy").await.unwrap();
    assert_eq!(run.name, "tidy");
    assert_eq!(run.started_at, clock.now());
    assert_eq!(
        run.outcome,
        JobOutcome::Succeeded(JobReport::new(1, "round 1"))
    );
    let run = scheduler.run_now("tidy").await.unwrap();
    assert_eq!(
        run.outcome,
        JobOutcome::Succeeded(JobReport::new(2, "round 2"))
    );
    assert_eq!(
        scheduler.next_due(),
        Some(clock.now().plus(HOUR)),
        "the period counts from the last run"
    );
    assert!(scheduler.run_due().await.is_empty());
}

#[tokio::test]
async fn run_now_of_an_unknown_job_names_every_job() {
    let clock = Arc::new(ManualClock::default());
    let counter = Counter::new();
    let scheduler = scheduler(
        &clock,
        vec![
            counter.job("expire-invoices", MINUTE),
            counter.job("backup", HOUR),
        ],
    );

    let refused = scheduler.run_now("expire").await.unwrap_err();
    assert!(matches!(refused, Error::Invalid(_)), "{refused:?}");
    assert_eq!(
        refused.to_string(),
        "there is no job named `expire`; the jobs are: expire-invoices, backup"
    );
    assert_eq!(counter.rounds(), 0);
}

#[tokio::test]
async fn statuses_tell_each_jobs_last_run_outcome_failures_and_next_due_time() {
    let clock = Arc::new(ManualClock::default());
    let good = Counter::new();
    let bad = Counter::new();
    let scheduler = scheduler(
        &clock,
        vec![
            good.job("good", MINUTE),
            bad.failing_job("bad", HOUR, u32::MAX),
            good.job("idle", HOUR).first_run_after_period(),
        ],
    );
    let start = clock.now();
    let never_run = |name, period| JobStatus {
        name,
        period,
        running: false,
        last_run: None,
        last_outcome: None,
        consecutive_failures: 0,
        next_due: start,
    };
    assert_eq!(
        scheduler.statuses(),
        [
            never_run("good", MINUTE),
            never_run("bad", HOUR),
            JobStatus {
                next_due: start.plus(HOUR),
                ..never_run("idle", HOUR)
            },
        ]
    );

    scheduler.run_due().await;
    assert_eq!(
        scheduler.statuses(),
        [
            JobStatus {
                last_run: Some(start),
                last_outcome: Some(JobOutcome::Succeeded(JobReport::new(1, "round 1"))),
                next_due: start.plus(MINUTE),
                ..never_run("good", MINUTE)
            },
            JobStatus {
                last_run: Some(start),
                last_outcome: Some(JobOutcome::Failed {
                    message: "round 1 failed".into()
                }),
                consecutive_failures: 1,
                next_due: start.plus(Duration::from_secs(30)),
                ..never_run("bad", HOUR)
            },
            JobStatus {
                next_due: start.plus(HOUR),
                ..never_run("idle", HOUR)
            },
        ]
    );
}

#[tokio::test]
async fn bad_job_lists_are_refused() {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::default());
    let counter = Counter::new();
    let refusals = [
        (
            vec![counter.job("Expire_Invoices", MINUTE)],
            "not kebab-case",
        ),
        (
            vec![counter.job("tidy", MINUTE), counter.job("tidy", HOUR)],
            "two jobs are named `tidy`",
        ),
        (vec![counter.job("tidy", Duration::ZERO)], "zero period"),
    ];
    for (jobs, reason) in refusals {
        let refused = Scheduler::new(clock.clone(), jobs).unwrap_err();
        assert!(refused.to_string().contains(reason), "{refused}");
    }
    let empty = Scheduler::new(clock, Vec::new()).unwrap();
    assert_eq!(empty.next_due(), None);
    assert!(empty.run_due().await.is_empty());
}
