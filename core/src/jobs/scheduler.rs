//! The scheduler: which jobs are due, running them one at a time each, and the record of runs
//! (in memory, and in the store when built [`recording`](Scheduler::recording)).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::backoff::retry_delay;
use super::catch_panic::run_catching_panics;
use super::record::{JobRecord, JobRound};
use super::{FirstRun, Job, JobReport, is_kebab_case};
use crate::error::{Error, Result};
use crate::ports::{Clock, Storage};
use crate::time::Timestamp;

/// How a round of a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// It did its work.
    Succeeded(JobReport),
    /// It returned an error or panicked; `message` says which, in words safe to show staff
    /// (an internal error's details go to the log only).
    Failed {
        /// What went wrong.
        message: String,
    },
}

impl JobOutcome {
    /// Whether the round succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, JobOutcome::Succeeded(_))
    }
}

/// One round of one job, as run by [`Scheduler::run_due`] or [`Scheduler::run_now`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    /// The job's name.
    pub name: &'static str,
    /// When the round started, by the scheduler's clock.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
    /// How it ended.
    pub outcome: JobOutcome,
}

/// Where a job stands, for `shopbot job list` and the admin console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// The job's name.
    pub name: &'static str,
    /// How often it runs when it succeeds.
    pub period: Duration,
    /// Whether a round is running right now.
    pub running: bool,
    /// When the last finished round started; `None` before the first.
    pub last_run: Option<Timestamp>,
    /// How the last finished round ended; `None` before the first.
    pub last_outcome: Option<JobOutcome>,
    /// Failed rounds since the last success (0 when the last round succeeded).
    pub consecutive_failures: u32,
    /// When the job runs next: a period after its last success, sooner after a failure.
    pub next_due: Timestamp,
}

/// Runs jobs when they are due and keeps the record of their runs.
///
/// Share it behind an `Arc`: every method takes `&self`, and calls may overlap. See the
/// [module documentation](super) for the model.
pub struct Scheduler {
    clock: Arc<dyn Clock>,
    entries: Vec<Entry>,
    /// Where each round is recorded and requests are read; `None`: in memory only.
    store: Option<Arc<dyn Storage>>,
}

/// A job and its record.
struct Entry {
    job: Job,
    state: Mutex<JobState>,
}

#[derive(Debug, Clone)]
struct JobState {
    running: bool,
    next_due: Timestamp,
    last_run: Option<Timestamp>,
    last_outcome: Option<JobOutcome>,
    consecutive_failures: u32,
}

impl Entry {
    /// The job's record. The lock is never held across an await or while job code runs, so
    /// it cannot be poisoned by a job; should it be anyway, the record is still usable.
    fn state(&self) -> MutexGuard<'_, JobState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the job running if it is not already and `due` says it should run now.
    fn claim(&self, due: impl FnOnce(&JobState) -> bool) -> Option<RunningGuard<'_>> {
        let mut state = self.state();
        if state.running || !due(&state) {
            return None;
        }
        state.running = true;
        Some(RunningGuard { entry: self })
    }
}

/// Clears a job's running mark when its round ends, including when the caller drops the
/// round half-way (a shutting-down process), so the job is not left unrunnable.
struct RunningGuard<'a> {
    entry: &'a Entry,
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.entry.state().running = false;
    }
}

impl Scheduler {
    /// A scheduler of `jobs` reading the time from `clock`; each job is first due now or, if
    /// built with [`Job::first_run_after_period`], one period from now.
    ///
    /// `Invalid` when a name is not kebab-case, two jobs share a name, or a period is zero.
    pub fn new(clock: Arc<dyn Clock>, jobs: Vec<Job>) -> Result<Scheduler> {
        let mut names = BTreeSet::new();
        for job in &jobs {
            if !is_kebab_case(job.name) {
                return Err(Error::invalid(format!(
                    "job name `{}` is not kebab-case (like `expire-invoices`)",
                    job.name
                )));
            }
            if !names.insert(job.name) {
                return Err(Error::invalid(format!("two jobs are named `{}`", job.name)));
            }
            if job.period.is_zero() {
                return Err(Error::invalid(format!(
                    "job `{}` has a zero period",
                    job.name
                )));
            }
        }
        let now = clock.now();
        let entries = jobs
            .into_iter()
            .map(|job| {
                let next_due = match job.first_run {
                    FirstRun::AtStart => now,
                    FirstRun::AfterPeriod => now.plus(job.period),
                };
                let state = JobState {
                    running: false,
                    next_due,
                    last_run: None,
                    last_outcome: None,
                    consecutive_failures: 0,
                };
                Entry {
                    job,
                    state: Mutex::new(state),
                }
            })
            .collect();
        Ok(Scheduler {
            clock,
            entries,
            store: None,
        })
    }

    /// The same scheduler, recording every round in `store`
    /// ([`Storage::record_job_round`]) and taking up the requests left there
    /// ([`run_requested`](Self::run_requested)). A round the store fails to record is logged
    /// and otherwise ignored: the job's work is done, and the next round records again.
    ///
    /// Call [`restore`](Self::restore) before the first round so that the schedule continues
    /// from the store's records instead of starting afresh.
    #[must_use]
    pub fn recording(mut self, store: Arc<dyn Storage>) -> Scheduler {
        self.store = Some(store);
        self
    }

    /// Continues each job's schedule from its last round recorded in the store (by this or
    /// any earlier process): the job is next due when that round said, or one period after
    /// it finished if that is sooner (a shortened period applies at once), and its last run,
    /// outcome and failures are taken over. A job without a recorded round keeps its
    /// first-run rule ([`Job::first_run_after_period`]); so does a job whose in-memory record
    /// is newer, or that is running. Nothing happens for a scheduler not
    /// [`recording`](Self::recording).
    ///
    /// Errors are the store's; the schedule is then left as it was.
    pub async fn restore(&self) -> Result<()> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let records = store.job_records().await?;
        for entry in &self.entries {
            let Some(round) = find(&records, entry.job.name).and_then(|r| r.last.as_ref()) else {
                continue;
            };
            let mut state = entry.state();
            if state.running || state.last_run.is_some_and(|last| last >= round.started_at) {
                continue;
            }
            state.next_due = round.next_due.min(round.finished_at.plus(entry.job.period));
            state.last_run = Some(round.started_at);
            state.last_outcome = Some(outcome_of(round));
            state.consecutive_failures = round.consecutive_failures;
        }
        Ok(())
    }

    /// Runs, one after another, every job that has a request pending in the store
    /// ([`Storage::request_job_run`]) and is not already running, whatever its schedule, and
    /// returns their runs. Recording the round clears the request. Requests for jobs this
    /// scheduler does not have are left alone; a scheduler not
    /// [`recording`](Self::recording) has none.
    ///
    /// Errors are the store's, when the requests cannot be read; nothing runs then.
    pub async fn run_requested(&self) -> Result<Vec<JobRun>> {
        let Some(store) = &self.store else {
            return Ok(Vec::new());
        };
        let records = store.job_records().await?;
        let mut runs = Vec::new();
        for entry in &self.entries {
            let pending = find(&records, entry.job.name).is_some_and(is_pending);
            if !pending {
                continue;
            }
            if let Some(guard) = entry.claim(|_| true) {
                tracing::info!(job = entry.job.name, "running a job on request");
                runs.push(self.run(entry, guard).await);
            }
        }
        Ok(runs)
    }

    /// Runs, one after another, every job due now that is not already running, each once, and
    /// returns their runs in the order the jobs were given. A failing job is recorded and does
    /// not stop the others.
    ///
    /// The jobs run in turn, so a slow one delays the rest of this call; that suits periodic
    /// upkeep. A caller that wants them apart can call this from several tasks: each job still
    /// runs once.
    pub async fn run_due(&self) -> Vec<JobRun> {
        let now = self.clock.now();
        let mut runs = Vec::new();
        for entry in &self.entries {
            if let Some(guard) = entry.claim(|state| state.next_due <= now) {
                runs.push(self.run(entry, guard).await);
            }
        }
        runs
    }

    /// Runs the job called `name` at once, whatever its schedule; its next due time then
    /// follows from this run.
    ///
    /// `Invalid`, naming every job, when there is no such job; `Conflict` when it is running.
    pub async fn run_now(&self, name: &str) -> Result<JobRun> {
        let Some(entry) = self.entries.iter().find(|entry| entry.job.name == name) else {
            let names: Vec<&str> = self.entries.iter().map(|entry| entry.job.name).collect();
            return Err(Error::invalid(format!(
                "there is no job named `{name}`; the jobs are: {}",
                names.join(", ")
            )));
        };
        let Some(guard) = entry.claim(|_| true) else {
            return Err(Error::Conflict(format!("job `{name}` is already running")));
        };
        Ok(self.run(entry, guard).await)
    }

    /// Where every job stands, in the order the jobs were given.
    pub fn statuses(&self) -> Vec<JobStatus> {
        self.entries
            .iter()
            .map(|entry| {
                let state = entry.state().clone();
                JobStatus {
                    name: entry.job.name,
                    period: entry.job.period,
                    running: state.running,
                    last_run: state.last_run,
                    last_outcome: state.last_outcome,
                    consecutive_failures: state.consecutive_failures,
                    next_due: state.next_due,
                }
            })
            .collect()
    }

    /// The earliest time a job not running now falls due: when to call
    /// [`run_due`](Self::run_due) next. `None` when there is nothing to wait for (no jobs, or
    /// all of them running; each sets its next due time when it ends).
    pub fn next_due(&self) -> Option<Timestamp> {
        self.entries
            .iter()
            .filter_map(|entry| {
                let state = entry.state();
                (!state.running).then_some(state.next_due)
            })
            .min()
    }

    /// Runs one claimed round of `entry`'s job, records it and logs it.
    async fn run(&self, entry: &Entry, guard: RunningGuard<'_>) -> JobRun {
        let name = entry.job.name;
        let started_at = self.clock.now();
        tracing::debug!(job = name, "job started");
        let result = run_catching_panics(entry.job.work.as_ref()).await;
        let finished_at = self.clock.now();

        // The record's lock is held in this block only, never across the await below.
        let (outcome, consecutive_failures, next_due) = {
            let mut state = entry.state();
            let outcome = match result {
                Ok(Ok(report)) => {
                    state.consecutive_failures = 0;
                    state.next_due = finished_at.plus(entry.job.period);
                    // A round that found nothing to do is routine; logging it at info every
                    // minute would bury the rounds that did something.
                    if report.count == 0 {
                        tracing::debug!(job = name, summary = %report.summary, "job succeeded");
                    } else {
                        tracing::info!(
                            job = name,
                            count = report.count,
                            summary = %report.summary,
                            next_due = %state.next_due,
                            "job succeeded"
                        );
                    }
                    JobOutcome::Succeeded(report)
                }
                Ok(Err(error)) => {
                    let message = error.to_string();
                    record_failure(&mut state, entry.job.period, finished_at);
                    tracing::warn!(
                        job = name,
                        error = %message,
                        cause = ?error,
                        consecutive_failures = state.consecutive_failures,
                        retry_at = %state.next_due,
                        "job failed"
                    );
                    JobOutcome::Failed { message }
                }
                Err(panic) => {
                    record_failure(&mut state, entry.job.period, finished_at);
                    tracing::error!(
                        job = name,
                        error = %panic,
                        consecutive_failures = state.consecutive_failures,
                        retry_at = %state.next_due,
                        "job panicked"
                    );
                    JobOutcome::Failed { message: panic }
                }
            };
            state.last_run = Some(started_at);
            state.last_outcome = Some(outcome.clone());
            let (consecutive_failures, next_due) = (state.consecutive_failures, state.next_due);
            (outcome, consecutive_failures, next_due)
        };
        let run = JobRun {
            name,
            started_at,
            finished_at,
            outcome,
        };
        // Recorded before the job counts as no longer running, so a request is never taken up
        // twice by overlapping calls.
        self.record(&run, consecutive_failures, next_due).await;
        drop(guard);
        run
    }

    /// Writes `run` to the store, if this scheduler records; a failure is logged only.
    async fn record(&self, run: &JobRun, consecutive_failures: u32, next_due: Timestamp) {
        let Some(store) = &self.store else {
            return;
        };
        let (succeeded, count, summary) = match &run.outcome {
            JobOutcome::Succeeded(report) => (true, report.count, report.summary.clone()),
            JobOutcome::Failed { message } => (false, 0, message.clone()),
        };
        let round = JobRound {
            name: run.name.to_owned(),
            started_at: run.started_at,
            finished_at: run.finished_at,
            succeeded,
            count,
            summary,
            consecutive_failures,
            next_due,
        };
        if let Err(error) = store.record_job_round(round).await {
            tracing::warn!(job = run.name, %error, cause = ?error, "cannot record the job's round");
        }
    }
}

/// The record of job `name` among `records`.
fn find<'a>(records: &'a [JobRecord], name: &str) -> Option<&'a JobRecord> {
    records.iter().find(|record| record.name == name)
}

/// Whether `record` has a request no round has answered yet (a round answers a request made
/// at or before its start).
fn is_pending(record: &JobRecord) -> bool {
    match (record.requested_at, &record.last) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(at), Some(last)) => last.started_at < at,
    }
}

/// The outcome a recorded round stands for.
fn outcome_of(round: &JobRound) -> JobOutcome {
    if round.succeeded {
        JobOutcome::Succeeded(JobReport::new(round.count, round.summary.clone()))
    } else {
        JobOutcome::Failed {
            message: round.summary.clone(),
        }
    }
}

/// Counts a failure and schedules the retry.
fn record_failure(state: &mut JobState, period: Duration, finished_at: Timestamp) {
    state.consecutive_failures = state.consecutive_failures.saturating_add(1);
    state.next_due = finished_at.plus(retry_delay(period, state.consecutive_failures));
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|entry| entry.job.name).collect();
        f.debug_struct("Scheduler")
            .field("jobs", &names)
            .finish_non_exhaustive()
    }
}
