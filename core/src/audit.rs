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

/// Which audit entries to list: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries by this user.
    pub actor: Option<UserId>,
    /// Only entries whose action contains this text, ignoring case.
    pub action: Option<String>,
    /// Only entries written at or after this time.
    pub since: Option<Timestamp>,
    /// Only entries written before this time.
    pub until: Option<Timestamp>,
    /// How many entries at most (0 means 100).
    pub limit: usize,
}

impl AuditFilter {
    /// Whether `entry` passes every condition.
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        let record = &entry.record;
        self.actor.is_none_or(|actor| record.actor == actor)
            && self.since.is_none_or(|since| record.at >= since)
            && self.until.is_none_or(|until| record.at < until)
            && self
                .action
                .as_deref()
                .is_none_or(|text| record.action.to_lowercase().contains(&text.to_lowercase()))
    }

    /// The limit to apply.
    pub fn effective_limit(&self) -> usize {
        if self.limit == 0 { 100 } else { self.limit }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(actor: i64, action: &str, at: i64) -> AuditEntry {
        AuditEntry {
            id: AuditId(1),
            record: AuditRecord {
                actor: UserId(actor),
                action: action.to_owned(),
                at: Timestamp(at),
            },
        }
    }

    #[test]
    fn an_empty_filter_passes_everything() {
        assert!(AuditFilter::default().matches(&entry(1, "ban user 2", 5)));
    }

    #[test]
    fn each_condition_can_refuse_an_entry() {
        let e = entry(1, "Ban user 2", 5);
        let by = |f: AuditFilter| f.matches(&e);
        assert!(by(AuditFilter {
            actor: Some(UserId(1)),
            ..Default::default()
        }));
        assert!(!by(AuditFilter {
            actor: Some(UserId(2)),
            ..Default::default()
        }));
        assert!(by(AuditFilter {
            action: Some("BAN".into()),
            ..Default::default()
        }));
        assert!(!by(AuditFilter {
            action: Some("unban".into()),
            ..Default::default()
        }));
        assert!(by(AuditFilter {
            since: Some(Timestamp(5)),
            ..Default::default()
        }));
        assert!(!by(AuditFilter {
            since: Some(Timestamp(6)),
            ..Default::default()
        }));
        assert!(by(AuditFilter {
            until: Some(Timestamp(6)),
            ..Default::default()
        }));
        assert!(!by(AuditFilter {
            until: Some(Timestamp(5)),
            ..Default::default()
        }));
    }
}
