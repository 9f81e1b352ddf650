//! The audit log: who changed what, written in the same atomic command as the change.

use serde::{Deserialize, Serialize};

use crate::ids::{AuditId, UserId};
use crate::time::Timestamp;

/// Who performs an admin command, when, and a line saying what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The acting staff member.
    pub actor: UserId,
    /// What they did, for people, e.g. `set price of product 4 to 9.99 USD`.
    pub action: String,
    /// When.
    pub at: Timestamp,
}

/// A written audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its id; ids grow in the order entries were written.
    pub id: AuditId,
    /// The record.
    #[serde(flatten)]
    pub record: AuditRecord,
}
