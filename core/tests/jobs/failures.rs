//! A job that fails or panics is recorded, retried with backoff, and harms no other job.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use shopbot_core::jobs::{Job, JobOutcome, JobReport, retry_delay};
use shopbot_core::ports::Clock;
use shopbot_core::testkit::ManualClock;
use shopbot_core::time::Timestamp;

use crate::helpers::*;

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_and_the_others_keep_running() {
    let clock = Arc::new(ManualClock::default());
    let flaky = Counter::new();
    let steady = Counter::new();
    let scheduler = scheduler(
        &clock,
        vec![
            flaky.failing_job("flaky", HOUR, 3),
            steady.job("steady", Duration::from_secs(15)),
        ],
    );
    let start = clock.now();

    // Follow the scheduler's own next due time until the flaky job has succeeded once.
    let mut flaky_runs: Vec<(Timestamp, JobOutcome)> = Vec::new();
    let mut flaky_succeeded = false;
    while !flaky_succeeded {
        clock.set(scheduler.next_due().unwrap());
        for run in scheduler.run_due().await {
            match run.name {
                "flaky" => {
                    flaky_succeeded = run.outcome.is_success();
                    flaky_runs.push((run.started_at, run.outcome));
                }
                _ => assert!(run.outcome.is_success(), "{run:?}"),
            }
        }
    }

    let failed = |round: u32| JobOutcome::Failed {
        message: format!("round {round} failed"),
    };
    let secs = |s: u64| start.plus(Duration::from_secs(s));
    assert_eq!(
        flaky_runs,
        [
            (secs(0), failed(1)),
            (secs(30), failed(2)),
            (secs(30 + 60), failed(3)),
            (
                secs(30 + 60 + 120),
                JobOutcome::Succeeded(JobReport::new(4, "round 4"))
            ),
        ],
        "retried after 30 s, then 60 s, then 120 s"
    );
    assert_eq!(
        steady.rounds(),
        210 / 15 + 1,
        "the steady job kept its period"
    );
    let flaky = status(&scheduler, "flaky");
    assert_eq!(flaky.consecutive_failures, 0, "a success resets the count");
    assert_eq!(flaky.next_due, secs(210).plus(HOUR), "back on its period");
}

#[tokio::test]
async fn the_retry_delay_stops_growing_at_the_period() {
    let clock = Arc::new(ManualClock::default());
    let broken = Counter::new();
    let scheduler = scheduler(&clock, vec![broken.failing_job("broken", MINUTE, u32::MAX)]);

    let mut delays = Vec::new();
    for _ in 0..4 {
        let ran_at = clock.now();
        assert_eq!(names(&scheduler.run_due().await), ["broken"]);
        let due = scheduler.next_due().unwrap();
        delays.push(due.millis() - ran_at.millis());
        clock.set(due);
    }
    assert_eq!(delays, [30_000, 60_000, 60_000, 60_000]);
    assert_eq!(status(&scheduler, "broken").consecutive_failures, 4);
    assert_eq!(retry_delay(HOUR * 24, 9), HOUR);
}

#[tokio::test]
async fn a_panicking_job_is_recorded_as_failed_and_the_scheduler_carries_on() {
    let clock = Arc::new(ManualClock::default());
    let steady = Counter::new();
    let panics = Arc::new(AtomicU32::new(0));
    let panicking = {
        let panics = panics.clone();
        Job::new("panicky", MINUTE, move || {
            let round = panics.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if round == 1 {
                    panic!("the job broke");
                }
                Ok(JobReport::new(0, "fine again"))
            }
        })
    };
    let scheduler = scheduler(&clock, vec![panicking, steady.job("steady", MINUTE)]);

    let runs = scheduler.run_due().await;
    assert_eq!(names(&runs), ["panicky", "steady"]);
    assert_eq!(
        runs[0].outcome,
        JobOutcome::Failed {
            message: "panicked: the job broke".into()
        }
    );
    assert!(runs[1].outcome.is_success());
    let panicky = status(&scheduler, "panicky");
    assert!(
        !panicky.running,
        "a panic does not leave the job marked running"
    );
    assert_eq!(panicky.consecutive_failures, 1);

    clock.set(panicky.next_due);
    let run = scheduler.run_now("panicky").await.unwrap();
    assert_eq!(
        run.outcome,
        JobOutcome::Succeeded(JobReport::new(0, "fine again"))
    );
}
