//! A job never runs beside itself, whoever calls the scheduler at the same time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use shopbot_core::Error;
use shopbot_core::jobs::{Job, JobReport};
use shopbot_core::ports::Clock;
use shopbot_core::testkit::ManualClock;
use tokio::sync::{Barrier, Notify};

use crate::helpers::*;

/// A job whose first round says when it has started and then waits until the test lets it
/// finish; later rounds finish at once, so a second round shows up as a wrong count, not a hang.
fn gated_job(rounds: Arc<AtomicU32>, started: Arc<Notify>, finish: Arc<Notify>) -> Job {
    Job::new("gated", MINUTE, move || {
        let round = rounds.fetch_add(1, Ordering::SeqCst) + 1;
        let (started, finish) = (started.clone(), finish.clone());
        async move {
            if round == 1 {
                started.notify_one();
                finish.notified().await;
            }
            Ok(JobReport::new(1, "done"))
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_running_job_is_not_started_again_by_another_call() {
    let clock = Arc::new(ManualClock::default());
    let rounds = Arc::new(AtomicU32::new(0));
    let (started, finish) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let other = Counter::new();
    let scheduler = Arc::new(scheduler(
        &clock,
        vec![
            gated_job(rounds.clone(), started.clone(), finish.clone()),
            other.job("other", MINUTE),
        ],
    ));

    let first = tokio::spawn({
        let scheduler = scheduler.clone();
        async move { scheduler.run_due().await }
    });
    started.notified().await;

    // While the first call is inside the gated job, a second call and a manual run leave it
    // alone, and the second call still runs the job the first has not reached yet.
    assert!(status(&scheduler, "gated").running);
    assert_eq!(
        scheduler.next_due(),
        Some(clock.now()),
        "only `other` is waiting"
    );
    assert_eq!(names(&scheduler.run_due().await), ["other"]);
    let refused = scheduler.run_now("gated").await.unwrap_err();
    assert!(matches!(refused, Error::Conflict(_)), "{refused:?}");

    finish.notify_one();
    let first = first.await.unwrap();
    assert_eq!(names(&first), ["gated"], "`other` had already run");
    assert_eq!(rounds.load(Ordering::SeqCst), 1);
    assert_eq!(other.rounds(), 1);
    assert!(!status(&scheduler, "gated").running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_simultaneous_calls_run_a_due_job_once() {
    const CALLERS: usize = 16;
    let clock = Arc::new(ManualClock::default());
    let rounds = Arc::new(AtomicU32::new(0));
    let job = {
        let rounds = rounds.clone();
        Job::new("busy", MINUTE, move || {
            rounds.fetch_add(1, Ordering::SeqCst);
            async {
                // Give the other callers every chance to arrive while this round is running.
                for _ in 0..100 {
                    tokio::task::yield_now().await;
                }
                Ok(JobReport::new(1, "done"))
            }
        })
    };
    let scheduler = Arc::new(scheduler(&clock, vec![job]));
    let barrier = Arc::new(Barrier::new(CALLERS));

    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (scheduler, barrier) = (scheduler.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                scheduler.run_due().await.len()
            })
        })
        .collect();
    let mut runs = 0;
    for caller in callers {
        runs += caller.await.unwrap();
    }

    assert_eq!(runs, 1);
    assert_eq!(rounds.load(Ordering::SeqCst), 1);
}
