//! Housekeeping: forgetting what the store no longer needs (expired dialogues, the ids of
//! messenger updates too old to be redelivered), in one command a background job runs.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// What [`Storage::sweep`](crate::ports::Storage::sweep) forgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sweep {
    /// Dialogues that expired at or before this time.
    pub dialogues_expired_by: Timestamp,
    /// Processed-update ids recorded before this time. The embedded store also forgets the
    /// answers of keyed requests made before it (PostgreSQL records none: nothing is forwarded
    /// to a process there, so it ignores them).
    pub updates_before: Timestamp,
}

/// How much a sweep forgot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepReport {
    /// Dialogues forgotten.
    pub dialogues: u64,
    /// Processed-update ids forgotten.
    pub updates: u64,
}
