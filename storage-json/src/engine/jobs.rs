//! Job records: each job's last round, how many rounds it had, and a pending request to run it.

use shopbot_core::Error;
use shopbot_core::jobs::{JobRecord, JobRound, check_job_name};
use shopbot_core::time::Timestamp;

use super::State;

impl State {
    /// Every job record, in name order.
    pub fn job_records(&self) -> Vec<JobRecord> {
        self.jobs.values().cloned().collect()
    }

    pub(super) fn record_job_round(&mut self, round: JobRound) -> Result<JobRecord, Error> {
        check_job_name(&round.name)?;
        let record = self.job_entry(&round.name);
        // A request made at or before the round's start is answered by it; a later one waits
        // for the next round.
        if record
            .requested_at
            .is_some_and(|asked| asked <= round.started_at)
        {
            record.requested_at = None;
        }
        record.rounds = record.rounds.saturating_add(1);
        record.last = Some(round);
        Ok(record.clone())
    }

    pub(super) fn request_job_run(
        &mut self,
        name: String,
        at: Timestamp,
    ) -> Result<JobRecord, Error> {
        check_job_name(&name)?;
        let record = self.job_entry(&name);
        // The earliest pending request stays: the job owes a run since then.
        record.requested_at.get_or_insert(at);
        Ok(record.clone())
    }

    /// The record of job `name`, created empty if the store has none.
    fn job_entry(&mut self, name: &str) -> &mut JobRecord {
        self.jobs
            .entry(name.to_owned())
            .or_insert_with(|| JobRecord {
                name: name.to_owned(),
                last: None,
                rounds: 0,
                requested_at: None,
            })
    }
}
