//! Dialogues, the outbox and the audit log.

use shopbot_core::Error;
use shopbot_core::audit::AuditEntry;
use shopbot_core::dialogue::{Dialogue, MAX_STATE_BYTES};
use shopbot_core::ids::{ChatId, OutboxId, UpdateId, UserId};
use shopbot_core::outbox::{DeliveryOutcome, OutboxClaim, OutboxMessage, OutboxStatus};
use shopbot_core::ports::Page;
use shopbot_core::time::Timestamp;

use super::{State, page_of};

/// How long a handled update id is remembered: messengers redeliver within hours.
const UPDATE_MEMORY_MS: i64 = 24 * 60 * 60 * 1000;

impl State {
    pub(super) fn save_dialogue(&mut self, dialogue: Dialogue) -> Result<(), Error> {
        if dialogue.state.len() > MAX_STATE_BYTES {
            return Err(Error::invalid(format!(
                "dialogue state is over {MAX_STATE_BYTES} bytes"
            )));
        }
        self.clear_dialogue(dialogue.chat, dialogue.user);
        self.dialogues_by_expiry
            .insert((dialogue.expires_at, dialogue.chat, dialogue.user));
        self.dialogues
            .insert((dialogue.chat, dialogue.user), dialogue);
        Ok(())
    }

    pub(super) fn clear_dialogue(&mut self, chat: ChatId, user: UserId) {
        if let Some(old) = self.dialogues.remove(&(chat, user)) {
            self.dialogues_by_expiry
                .remove(&(old.expires_at, chat, user));
        }
    }

    /// The live dialogue of `user` in `chat`.
    pub fn dialogue(&self, chat: ChatId, user: UserId, now: Timestamp) -> Option<Dialogue> {
        self.dialogues
            .get(&(chat, user))
            .filter(|d| !d.is_expired(now))
            .cloned()
    }

    /// Records a handled update: true the first time. Updates handled over a day before `at`
    /// are forgotten first, so the record stays small.
    pub(super) fn mark_update(&mut self, update: UpdateId, at: Timestamp) -> bool {
        let horizon = Timestamp(at.0.saturating_sub(UPDATE_MEMORY_MS));
        while let Some(&(when, old)) = self.updates_by_time.first() {
            if when >= horizon {
                break;
            }
            self.updates_by_time.pop_first();
            self.processed_updates.remove(&old);
        }
        if self.processed_updates.contains_key(&update) {
            return false;
        }
        self.processed_updates.insert(update, at);
        self.updates_by_time.insert((at, update));
        true
    }

    pub(super) fn claim_outbox(&mut self, claim: OutboxClaim) -> Vec<OutboxMessage> {
        let due: Vec<OutboxId> = self
            .pending_outbox
            .iter()
            .filter(|id| {
                self.outbox
                    .get(id)
                    .is_some_and(|m| m.not_before <= claim.now)
            })
            .take(claim.limit)
            .copied()
            .collect();
        let mut claimed = Vec::with_capacity(due.len());
        for id in due {
            if let Some(message) = self.outbox.get_mut(&id) {
                message.attempts += 1;
                message.not_before = claim.lease_until;
                claimed.push(message.clone());
            }
        }
        claimed
    }

    pub(super) fn complete_outbox(
        &mut self,
        id: OutboxId,
        outcome: DeliveryOutcome,
    ) -> Result<(), Error> {
        let message = self
            .outbox
            .get_mut(&id)
            .ok_or_else(|| Error::not_found("outbox message", id))?;
        match outcome {
            DeliveryOutcome::Sent => message.status = OutboxStatus::Sent,
            DeliveryOutcome::Failed => message.status = OutboxStatus::Failed,
            DeliveryOutcome::RetryAt { at } => message.not_before = at,
        }
        if message.status != OutboxStatus::Pending {
            self.pending_outbox.remove(&id);
        }
        Ok(())
    }

    /// The audit log, newest first.
    pub fn audit_log(&self, page: Page) -> Vec<AuditEntry> {
        page_of(self.audit.iter().rev(), page.offset, page.effective_limit())
    }
}
