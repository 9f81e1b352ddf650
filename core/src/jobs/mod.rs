//! Background jobs: periodic work over the services (expiring overdue invoices, housekeeping;
//! backups and outbox delivery from the process that runs the jobs; renewals and reminders as
//! the ports grow), and the [`Scheduler`] that decides when each runs and records how it went.
//!
//! # The model
//!
//! * **A job is a plain async function over the services.** [`Job::new`] pairs a kebab-case
//!   name (`expire-invoices`) and a period with a function that does one round of work and
//!   returns a [`JobReport`] (a short summary and a count of things done). The functions in
//!   this module, such as [`expire_invoices`], build the shop's own jobs from a
//!   [`Shop`](crate::services::Shop).
//! * **Core decides, the caller sleeps.** Core has no runtime and never sleeps. The scheduler
//!   reads the time from the [`Clock`](crate::ports::Clock) port, runs in
//!   [`Scheduler::run_due`] every job whose time has come, and tells in
//!   [`Scheduler::next_due`] when to call again; the process that embeds it (`shopbot serve`)
//!   sleeps until then with its own runtime. Because time comes only from the clock, tests
//!   move a manual clock by hand and never wait.
//! * **A failure stays inside its job.** A job that returns an error, or panics, is recorded
//!   as failed with its message, logged through `tracing`, and tried again after a delay that
//!   doubles with each consecutive failure: 30 seconds, a minute, two, … up to its period or an
//!   hour, whichever is shorter (see [`retry_delay`]). The first success resets the count and
//!   puts the job back on its period. Other jobs keep their own schedules meanwhile.
//! * **A job never runs beside itself.** While one call runs a job, another call (a concurrent
//!   `run_due`, or [`Scheduler::run_now`]) leaves it alone, so two callers at once run it once.
//! * **Each job's record is kept in the store.** Last run, outcome, consecutive failures and
//!   next due time live in the scheduler ([`Scheduler::statuses`]) and, for a scheduler built
//!   [`recording`](Scheduler::recording), in the store after every round
//!   ([`JobRound`], through [`Storage::record_job_round`](crate::ports::Storage)), so any
//!   process can list them. A failure to record is logged, never fatal. A restarted process
//!   [`restore`](Scheduler::restore)s each job's schedule from its last recorded round (a
//!   backup is not retaken on every restart); a job never recorded runs once at start (unless
//!   built with [`Job::first_run_after_period`]) and so catches up on whatever fell due while
//!   the shop was down.
//! * **A request runs a job at the next look.** `shopbot job run NAME` leaves a request in
//!   the store; the process running the jobs takes it up with [`Scheduler::run_requested`]
//!   when it next looks, and the recorded round answers it.
//!
//! # The shop's jobs
//!
//! [`expire_invoices`] expires overdue invoices; cancelling an order's invoice also releases
//! the stock units it reserved, so reservations need no job of their own. [`sweep`] forgets
//! expired dialogues and old processed-update ids. Wallet holds carry no expiry (a hold is
//! released or captured by the command that settles it), so there is no job releasing them.
//! Scheduled backups write files, so `shopbot serve` builds that job itself; delivering the
//! outbox needs a [`Messenger`](crate::ports::Messenger), which the process running the jobs
//! provides.
//!
//! This module must never sleep, spawn tasks or read the system time itself, and never touches
//! storage except through the services its jobs are built from, the job records of a recording
//! scheduler, and the outbox's own commands (claim, complete, notify staff), which the
//! deliverer works directly as the outbox's one worker.

mod backoff;
mod catch_panic;
mod deliver;
mod notices;
mod record;
#[cfg(test)]
mod recording_tests;
mod scheduler;
mod shop_jobs;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use backoff::{MAX_RETRY_DELAY, RETRY_DELAY, retry_delay};
pub use deliver::{
    BATCH, DELIVER_OUTBOX, DELIVER_OUTBOX_EVERY, Deliverer, DeliveryRound, FIRST_BACKOFF, LEASE,
    MAX_ATTEMPTS, MAX_BACKOFF, deliver_outbox,
};
pub use record::{JobRecord, JobRound, MAX_JOB_NAME, check_job_name};
pub use scheduler::{JobOutcome, JobRun, JobStatus, Scheduler};
pub use shop_jobs::{
    EXPIRE_INVOICES, EXPIRE_INVOICES_EVERY, PROCESSED_UPDATES_KEPT, SWEEP, SWEEP_EVERY,
    ShopJobPeriods, expire_invoices, shop_jobs, sweep,
};

use crate::error::Result;

/// What one round of a job did, for the log and for people reading the job list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    /// How many things the round handled (invoices expired, messages delivered, …).
    pub count: u64,
    /// A short summary a person can read, such as "expired 3 overdue invoices".
    pub summary: String,
}

impl JobReport {
    /// A report of `count` things done, summed up as `summary`.
    pub fn new(count: u64, summary: impl Into<String>) -> Self {
        JobReport {
            count,
            summary: summary.into(),
        }
    }
}

/// The future one round of a job returns.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<JobReport>> + Send + 'static>>;

type JobFn = dyn Fn() -> JobFuture + Send + Sync;

/// When a job first falls due after the scheduler starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstRun {
    /// At once, so work that piled up while the shop was down is done first.
    AtStart,
    /// One period after the start, for work that would be wasteful on every restart.
    AfterPeriod,
}

/// A named piece of periodic work: what to run and how often.
#[derive(Clone)]
pub struct Job {
    name: &'static str,
    period: Duration,
    first_run: FirstRun,
    work: Arc<JobFn>,
}

impl Job {
    /// A job called `name` (kebab-case, such as `expire-invoices`) that runs `work` every
    /// `period`, first at the scheduler's start. The scheduler checks the name and period.
    pub fn new<F, Fut>(name: &'static str, period: Duration, work: F) -> Job
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<JobReport>> + Send + 'static,
    {
        Job {
            name,
            period,
            first_run: FirstRun::AtStart,
            work: Arc::new(move || -> JobFuture { Box::pin(work()) }),
        }
    }

    /// The same job, first due one period after the scheduler starts instead of at once.
    #[must_use]
    pub fn first_run_after_period(mut self) -> Job {
        self.first_run = FirstRun::AfterPeriod;
        self
    }

    /// The job's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// How often the job runs when it succeeds.
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("period", &self.period)
            .field("first_run", &self.first_run)
            .finish_non_exhaustive()
    }
}

/// Whether `name` is kebab-case: lowercase ASCII words of letters and digits, starting with a
/// letter, joined by single hyphens. Operators type these names (`shopbot job run NAME`).
fn is_kebab_case(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_kebab_case() {
        for good in ["expire-invoices", "backup", "outbox2", "a-b-c"] {
            assert!(is_kebab_case(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "Expire",
            "expire_invoices",
            "2fa",
            "a b",
            "é",
        ] {
            assert!(!is_kebab_case(bad), "{bad}");
        }
    }
}
