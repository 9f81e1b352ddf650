//! What the store keeps of each job: its last round and a pending request to run it now.
//!
//! The scheduler writes a [`JobRound`] after every round
//! ([`Storage::record_job_round`](crate::ports::Storage::record_job_round)), so `shopbot job
//! list` can show any process's jobs, also after a restart; `shopbot job run NAME` leaves a
//! request ([`Storage::request_job_run`](crate::ports::Storage::request_job_run)) that the
//! process running the jobs takes up at its next look.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// One finished round of a job, as the scheduler records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRound {
    /// The job's name (kebab-case, at most [`MAX_JOB_NAME`] bytes).
    pub name: String,
    /// When the round started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
    /// Whether it succeeded.
    pub succeeded: bool,
    /// How many things it handled (0 for a failed round).
    pub count: u64,
    /// Its summary, or for a failed round what went wrong (words safe to show staff).
    pub summary: String,
    /// Failed rounds in a row up to and including this one (0 after a success).
    pub consecutive_failures: u32,
    /// When the job is due next.
    pub next_due: Timestamp,
}

/// What the store knows of one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job's name.
    pub name: String,
    /// Its last recorded round; `None` for a job only ever requested.
    pub last: Option<JobRound>,
    /// How many rounds were recorded, ever.
    pub rounds: u64,
    /// When someone asked for it to run now, until a round that started after the request
    /// is recorded.
    pub requested_at: Option<Timestamp>,
}

/// The longest job name a store accepts, in bytes.
pub const MAX_JOB_NAME: usize = 64;

/// Checks a job name as stores do: kebab-case and at most [`MAX_JOB_NAME`] bytes, else
/// `Invalid`.
pub fn check_job_name(name: &str) -> crate::Result<()> {
    if name.len() <= MAX_JOB_NAME && super::is_kebab_case(name) {
        Ok(())
    } else {
        Err(crate::error::Invalid::Other(format!(
            "{:?} is not a job name (kebab-case, at most {MAX_JOB_NAME} bytes)",
            name.chars().take(MAX_JOB_NAME + 1).collect::<String>()
        ))
        .into())
    }
}
