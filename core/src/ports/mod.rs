//! Ports: the traits core needs from the outside world, and nothing else.
//!
//! [`Storage`] keeps the shop's state, [`Messenger`] talks to people, [`Clock`] tells the time,
//! [`PaymentGateway`] asks a payment provider for money. Core never does I/O except through
//! these.

mod clock;
mod messenger;
mod payment;
mod storage;

pub use clock::{Clock, SystemClock};
pub use messenger::{Button, Messenger, OutgoingMessage, SendError};
pub use payment::PaymentGateway;
pub use storage::{Page, Settings, Storage};

#[cfg(test)]
pub(crate) use storage::MockStorage;
