//! Staff notices: the kinds each person opted into, and the keys of notices already raised, so
//! a notice is queued once per key whoever raises it again.

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::ids::UserId;
use shopbot_core::notice::{Notice, NoticeKinds, check_notice_key};
use shopbot_core::outbox::{NewOutboxMessage, OutboxBody};
use shopbot_core::time::Timestamp;

use super::State;

impl State {
    /// The kinds of notice `user` opted into: none for one who never chose, or is unknown.
    pub fn notice_kinds(&self, user: UserId) -> NoticeKinds {
        self.notice_kinds.get(&user).cloned().unwrap_or_default()
    }

    /// Whether a notice with `key` was raised before.
    pub fn knows_notice_key(&self, key: &str) -> bool {
        self.notice_keys.contains_key(key)
    }

    pub(super) fn set_notice_kinds(
        &mut self,
        user: UserId,
        kinds: NoticeKinds,
        audit: AuditRecord,
    ) -> Result<NoticeKinds, Error> {
        self.require_user(user)?;
        // Only people who chose something are kept: "none" and "never chose" are one state.
        if kinds.is_empty() {
            self.notice_kinds.remove(&user);
        } else {
            self.notice_kinds.insert(user, kinds.clone());
        }
        self.write_audit(Some(audit));
        Ok(kinds)
    }

    /// Queues `notice` to every unbanned person who opted into its kind, in user id order,
    /// unless `key` was used before; remembers `key` either way. Returns how many it queued.
    pub(super) fn notify_staff(
        &mut self,
        notice: Notice,
        key: String,
        at: Timestamp,
    ) -> Result<u64, Error> {
        check_notice_key(&key)?;
        if self.notice_keys.contains_key(&key) {
            return Ok(0);
        }
        let kind = notice.kind();
        let recipients: Vec<UserId> = self
            .notice_kinds
            .iter()
            .filter(|(user, kinds)| {
                kinds.contains(kind) && self.users.get(user).is_some_and(|u| !u.banned)
            })
            .map(|(user, _)| *user)
            .collect();
        for &user in &recipients {
            let body = OutboxBody::StaffNotice {
                notice: notice.clone(),
            };
            self.queue(NewOutboxMessage { user, body }, at);
        }
        self.notice_keys.insert(key, at);
        Ok(u64::try_from(recipients.len()).unwrap_or(u64::MAX))
    }
}
