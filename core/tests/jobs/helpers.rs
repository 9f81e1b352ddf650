//! What the job tests share: durations, a counting job, and shortcuts into the scheduler.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use shopbot_core::Error;
use shopbot_core::jobs::{Job, JobReport, JobRun, JobStatus, Scheduler};
use shopbot_core::testkit::ManualClock;

pub const MINUTE: Duration = Duration::from_secs(60);
pub const HOUR: Duration = Duration::from_secs(60 * 60);
pub const MS: Duration = Duration::from_millis(1);

/// A job that counts its rounds, failing while `fail_first` rounds have not yet passed.
#[derive(Clone)]
pub struct Counter {
    rounds: Arc<AtomicU32>,
}

impl Counter {
    pub fn new() -> Counter {
        Counter {
            rounds: Arc::new(AtomicU32::new(0)),
        }
    }

    pub fn rounds(&self) -> u32 {
        self.rounds.load(Ordering::SeqCst)
    }

    pub fn job(&self, name: &'static str, period: Duration) -> Job {
        self.failing_job(name, period, 0)
    }

    pub fn failing_job(&self, name: &'static str, period: Duration, fail_first: u32) -> Job {
        let rounds = self.rounds.clone();
        Job::new(name, period, move || {
            let round = rounds.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if round <= fail_first {
                    return Err(Error::Conflict(format!("round {round} failed")));
                }
                Ok(JobReport::new(u64::from(round), format!("round {round}")))
            }
        })
    }
}

pub fn scheduler(clock: &Arc<ManualClock>, jobs: Vec<Job>) -> Scheduler {
    Scheduler::new(clock.clone(), jobs).unwrap()
}

pub fn names(runs: &[JobRun]) -> Vec<&'static str> {
    runs.iter().map(|run| run.name).collect()
}

pub fn status(scheduler: &Scheduler, name: &str) -> JobStatus {
    scheduler
        .statuses()
        .into_iter()
        .find(|status| status.name == name)
        .unwrap()
}
