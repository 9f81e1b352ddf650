//! The housekeeping sweep: forgetting expired dialogues, and handled update ids and answered
//! request keys too old to be repeated. All are found through their time indexes, so a sweep
//! costs what it forgets.

use shopbot_core::housekeeping::{Sweep, SweepReport};

use super::State;

impl State {
    pub(super) fn sweep(&mut self, sweep: Sweep) -> SweepReport {
        let mut report = SweepReport::default();
        while let Some(&(expires_at, chat, user)) = self.dialogues_by_expiry.first() {
            if expires_at > sweep.dialogues_expired_by {
                break;
            }
            self.dialogues_by_expiry.pop_first();
            self.dialogues.remove(&(chat, user));
            report.dialogues += 1;
        }
        while let Some(&(at, update)) = self.updates_by_time.first() {
            if at >= sweep.updates_before {
                break;
            }
            self.updates_by_time.pop_first();
            self.processed_updates.remove(&update);
            report.updates += 1;
        }
        // Request keys guard retries, which come within minutes: they are kept as long as
        // update ids. The report has no count for them (PostgreSQL records none).
        self.requests.forget_before(sweep.updates_before);
        report
    }
}
