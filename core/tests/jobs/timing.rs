//! When a job runs: at its due time and not before, then once per period.

use std::sync::Arc;

use shopbot_core::jobs::{JobOutcome, JobReport};
use shopbot_core::ports::Clock;
use shopbot_core::testkit::ManualClock;

use crate::helpers::*;

#[tokio::test]
async fn a_job_runs_when_due_and_not_before() {
    let clock = Arc::new(ManualClock::default());
    let counter = Counter::new();
    let scheduler = scheduler(
        &clock,
        vec![counter.job("tidy", MINUTE).first_run_after_period()],
    );

    assert!(scheduler.run_due().await.is_empty(), "not due at start");
    clock.advance(MINUTE - MS);
    assert!(scheduler.run_due().await.is_empty(), "a millisecond early");
    assert_eq!(counter.rounds(), 0);

    clock.advance(MS);
    let runs = scheduler.run_due().await;
    assert_eq!(names(&runs), ["tidy"]);
    assert_eq!(
        runs[0].outcome,
        JobOutcome::Succeeded(JobReport::new(1, "round 1"))
    );
    assert!(scheduler.run_due().await.is_empty(), "once per period");
    assert_eq!(counter.rounds(), 1);
}

#[tokio::test]
async fn a_job_is_first_due_at_start_unless_asked_to_wait_a_period() {
    let clock = Arc::new(ManualClock::default());
    let at_start = Counter::new();
    let later = Counter::new();
    let scheduler = scheduler(
        &clock,
        vec![
            at_start.job("at-start", HOUR),
            later.job("later", HOUR).first_run_after_period(),
        ],
    );

    assert_eq!(scheduler.next_due(), Some(clock.now()));
    assert_eq!(names(&scheduler.run_due().await), ["at-start"]);
    assert_eq!(scheduler.next_due(), Some(ManualClock::START.plus(HOUR)));
}

#[tokio::test]
async fn the_next_due_time_follows_the_period() {
    let clock = Arc::new(ManualClock::default());
    let minutely = Counter::new();
    let hourly = Counter::new();
    let scheduler = scheduler(
        &clock,
        vec![minutely.job("minutely", MINUTE), hourly.job("hourly", HOUR)],
    );

    assert_eq!(names(&scheduler.run_due().await), ["minutely", "hourly"]);
    let start = clock.now();
    assert_eq!(status(&scheduler, "minutely").next_due, start.plus(MINUTE));
    assert_eq!(status(&scheduler, "hourly").next_due, start.plus(HOUR));
    assert_eq!(scheduler.next_due(), Some(start.plus(MINUTE)));

    for _ in 0..59 {
        let due = scheduler.next_due().unwrap();
        clock.set(due);
        assert_eq!(names(&scheduler.run_due().await), ["minutely"]);
    }
    clock.set(scheduler.next_due().unwrap());
    assert_eq!(clock.now(), start.plus(HOUR));
    assert_eq!(names(&scheduler.run_due().await), ["minutely", "hourly"]);
    assert_eq!((minutely.rounds(), hourly.rounds()), (61, 2));
}

#[tokio::test]
async fn a_late_call_runs_a_job_once_and_counts_its_period_from_then() {
    let clock = Arc::new(ManualClock::default());
    let counter = Counter::new();
    let scheduler = scheduler(&clock, vec![counter.job("tidy", MINUTE)]);
    scheduler.run_due().await;

    // The process slept through ten periods: one round catches up, not ten.
    let late = clock.advance(10 * MINUTE);
    assert_eq!(names(&scheduler.run_due().await), ["tidy"]);
    assert!(scheduler.run_due().await.is_empty());
    assert_eq!(scheduler.next_due(), Some(late.plus(MINUTE)));
    assert_eq!(counter.rounds(), 2);
}
