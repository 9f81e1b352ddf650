//! Request keys: the answers of keyed calls, recorded in the same state change as their effect.
//!
//! A caller that may repeat a whole request (a CLI command retried after its connection to
//! the shop dropped) sends each storage call of it as a [`Command::Keyed`] carrying the
//! request's [`RequestKey`] and the call's number within the request. The first time, the
//! inner command is applied and its answer — the value, or the refusal — is recorded under
//! `(key, call)` by the same command, so the journal record that makes the effect durable
//! also makes the answer durable. A repeat with the same fingerprint gets the recorded answer
//! and changes nothing; one with another fingerprint is a `Conflict`. Records are forgotten by
//! the sweep a day after they were made.
//!
//! This module must never record an `Internal` error: that is no answer, and the caller may
//! try the call again.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use shopbot_core::Error;
use shopbot_core::idempotency::Fingerprint;
use shopbot_core::ids::ProductId;
use shopbot_core::money::Money;
use shopbot_core::time::Timestamp;

use super::{Command, Outcome, State};
use crate::request_key::RequestKey;

/// A recorded keyed call, as a snapshot holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// The request's key.
    pub key: RequestKey,
    /// The call's number within the request, from 1.
    pub call: u32,
    /// When the request was made (from the caller's clock): the sweep forgets by it.
    pub at: Timestamp,
    /// What was asked, without times (see `KeyedStore`).
    pub fingerprint: Fingerprint,
    /// What was answered.
    pub answer: Answer,
}

/// The answer of a storage call: what it returned, or why it was refused.
pub type Answer = Result<Outcome, Refusal>;

/// A refusal as recorded: the kind of [`Error`] and its wording, so a repeat gets the same
/// kind of error with the same message. An `Invalid` error's inner detail (which stock lines,
/// which text field) is kept as its message only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "refusal")]
#[allow(missing_docs)] // Each variant is the `Error` variant of the same name.
pub enum Refusal {
    OutOfStock {
        product: ProductId,
        requested: u32,
        available: u64,
    },
    InsufficientFunds {
        needed: Money,
        available: Money,
    },
    NotFound {
        what: String,
        id: String,
    },
    Invalid {
        message: String,
    },
    Conflict {
        message: String,
    },
    Maintenance,
    /// Any other refusal (none of the store's commands gives one today), as `Invalid`.
    Other {
        message: String,
    },
}

impl Refusal {
    /// The refusal of `error`, or `None` for an `Internal` error, which is never recorded.
    fn of(error: &Error) -> Option<Refusal> {
        Some(match error {
            Error::OutOfStock {
                product,
                requested,
                available,
            } => Refusal::OutOfStock {
                product: *product,
                requested: *requested,
                available: *available,
            },
            Error::InsufficientFunds { needed, available } => Refusal::InsufficientFunds {
                needed: *needed,
                available: *available,
            },
            Error::NotFound { what, id } => Refusal::NotFound {
                what: (*what).to_owned(),
                id: id.clone(),
            },
            Error::Invalid(invalid) => Refusal::Invalid {
                message: invalid.to_string(),
            },
            Error::Conflict(message) => Refusal::Conflict {
                message: message.clone(),
            },
            Error::Maintenance => Refusal::Maintenance,
            Error::Internal(_) => return None,
            other => Refusal::Other {
                message: other.to_string(),
            },
        })
    }

    /// The error a repeat answers with.
    pub fn to_error(&self) -> Error {
        match self {
            Refusal::OutOfStock {
                product,
                requested,
                available,
            } => Error::OutOfStock {
                product: *product,
                requested: *requested,
                available: *available,
            },
            Refusal::InsufficientFunds { needed, available } => Error::InsufficientFunds {
                needed: *needed,
                available: *available,
            },
            Refusal::NotFound { what, id } => Error::not_found(static_what(what), id),
            Refusal::Invalid { message } | Refusal::Other { message } => {
                Error::invalid(message.clone())
            }
            Refusal::Conflict { message } => Error::Conflict(message.clone()),
            Refusal::Maintenance => Error::Maintenance,
        }
    }
}

/// `NotFound` names its kind of record with a `&'static str`; the store's commands use these.
fn static_what(what: &str) -> &'static str {
    const KINDS: [&str; 8] = [
        "user",
        "product",
        "category",
        "order",
        "invoice",
        "hold",
        "outbox message",
        "stage",
    ];
    KINDS
        .into_iter()
        .find(|kind| *kind == what)
        .unwrap_or("record")
}

/// The recorded calls, and the same by time for the sweep.
#[derive(Debug, Default)]
pub(super) struct Requests {
    calls: BTreeMap<(RequestKey, u32), RecordedRequest>,
    by_time: BTreeSet<(Timestamp, RequestKey, u32)>,
}

impl Requests {
    pub(super) fn insert(&mut self, recorded: RecordedRequest) {
        self.by_time
            .insert((recorded.at, recorded.key.clone(), recorded.call));
        self.calls
            .insert((recorded.key.clone(), recorded.call), recorded);
    }

    pub(super) fn records(&self) -> impl Iterator<Item = &RecordedRequest> {
        self.calls.values()
    }

    /// Forgets the calls recorded before `before`; returns how many.
    pub(super) fn forget_before(&mut self, before: Timestamp) -> u64 {
        let mut forgotten = 0;
        while let Some((at, key, call)) = self.by_time.first().cloned() {
            if at >= before {
                break;
            }
            self.by_time.pop_first();
            self.calls.remove(&(key, call));
            forgotten += 1;
        }
        forgotten
    }

    /// Problems of the records: index disagreements, answers that are keyed themselves.
    pub(super) fn check(&self, problems: &mut Vec<String>) {
        if self.by_time.len() != self.calls.len() {
            problems.push(format!(
                "{} request calls recorded but {} indexed by time",
                self.calls.len(),
                self.by_time.len()
            ));
        }
        for ((key, call), recorded) in &self.calls {
            if !self.by_time.contains(&(recorded.at, key.clone(), *call)) {
                problems.push(format!("request {key} call {call} is not indexed by time"));
            }
            if *call == 0 || recorded.key != *key || recorded.call != *call {
                problems.push(format!(
                    "request {key} call {call} is recorded under another name"
                ));
            }
            if matches!(recorded.answer, Ok(Outcome::Keyed(_))) {
                problems.push(format!("request {key} call {call} records a nested answer"));
            }
        }
    }
}

impl State {
    /// The recorded answer of a keyed command, when its call was made before: what a repeat
    /// answers without applying anything. `Conflict` when the call recorded under its key
    /// and number asked for something else. `None` for a new call or an unkeyed command.
    pub fn replay(&self, command: &Command) -> Result<Option<Outcome>, Error> {
        let Command::Keyed {
            key,
            call,
            fingerprint,
            ..
        } = command
        else {
            return Ok(None);
        };
        self.recorded(key, *call, fingerprint)
    }

    /// The recorded answer of call `call` of request `key`, if it was made with
    /// `fingerprint`; `Conflict` if it was made with another.
    pub fn recorded(
        &self,
        key: &RequestKey,
        call: u32,
        fingerprint: &Fingerprint,
    ) -> Result<Option<Outcome>, Error> {
        match self.requests.calls.get(&(key.clone(), call)) {
            None => Ok(None),
            Some(recorded) if recorded.fingerprint == *fingerprint => {
                Ok(Some(Outcome::Keyed(Box::new(recorded.answer.clone()))))
            }
            Some(_) => Err(Error::Conflict(format!(
                "request key {key} was used for another request (its call {call} differs)"
            ))),
        }
    }

    /// Applies a keyed command: replays a recorded call, or applies the inner command and
    /// records its answer, refusal included, in the same state change.
    pub(super) fn apply_keyed(
        &mut self,
        key: RequestKey,
        call: u32,
        at: Timestamp,
        fingerprint: Fingerprint,
        command: Command,
    ) -> Result<Outcome, Error> {
        if call == 0 {
            return Err(Error::invalid("request calls are numbered from 1"));
        }
        if matches!(command, Command::Keyed { .. }) {
            return Err(Error::invalid("a keyed command cannot hold another"));
        }
        if let Some(recorded) = self.recorded(&key, call, &fingerprint)? {
            return Ok(recorded);
        }
        let answer = match self.apply(command) {
            Ok(outcome) => Ok(outcome),
            Err(error) => match Refusal::of(&error) {
                Some(refusal) => Err(refusal),
                None => return Err(error),
            },
        };
        self.requests.insert(RecordedRequest {
            key,
            call,
            at,
            fingerprint,
            answer: answer.clone(),
        });
        Ok(Outcome::Keyed(Box::new(answer)))
    }
}

#[cfg(test)]
mod tests {
    use shopbot_core::money::Currency;
    use shopbot_core::stock::{Duplicate, StockError};

    use super::*;

    #[test]
    fn a_recorded_refusal_reads_back_as_the_same_kind_of_error_with_the_same_words() {
        let errors = [
            Error::OutOfStock {
                product: ProductId(3),
                requested: 2,
                available: 1,
            },
            Error::InsufficientFunds {
                needed: Money::new(500, Currency::USD),
                available: Money::new(20, Currency::USD),
            },
            Error::not_found("invoice", 9),
            Error::not_found("something new", 9),
            StockError::Duplicates(vec![Duplicate {
                line: 4,
                first_line: Some(1),
                sold: false,
            }])
            .into(),
            Error::Conflict("a category named \"Games\" exists".to_owned()),
            Error::Maintenance,
        ];
        for error in errors {
            let refusal = Refusal::of(&error).unwrap();
            let stored = serde_json::to_string(&refusal).unwrap();
            let again = serde_json::from_str::<Refusal>(&stored).unwrap().to_error();
            assert_eq!(
                std::mem::discriminant(&again),
                std::mem::discriminant(&error)
            );
            if !matches!(
                error,
                Error::NotFound {
                    what: "something new",
                    ..
                }
            ) {
                assert_eq!(again.to_string(), error.to_string());
            }
        }
    }

    #[test]
    fn the_store_check_names_a_recorded_call_its_time_index_lost() {
        let mut state = State::new();
        let key = RequestKey::parse("cli-1").unwrap();
        state.requests.insert(RecordedRequest {
            key: key.clone(),
            call: 1,
            at: Timestamp(5),
            fingerprint: Fingerprint("f".to_owned()),
            answer: Ok(Outcome::Done),
        });
        assert!(state.check().is_empty());

        state.requests.by_time.clear();

        let problems = state.check();
        assert!(
            problems.iter().any(|p| p.contains("request cli-1 call 1")),
            "{problems:?}"
        );
    }

    #[test]
    fn an_internal_error_is_never_recorded() {
        assert_eq!(Refusal::of(&Error::internal_msg("disk full")), None);
    }
}
