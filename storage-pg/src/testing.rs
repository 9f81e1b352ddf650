//! For tests of this crate and of crates built on it (the `testing` feature): the purchase
//! commands as the server-side functions take them, so a test can call those functions
//! itself.

pub use crate::command::{Command, CommitCheckout, EditCart};
