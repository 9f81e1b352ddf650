//! Embedding examples for shopbot: the three ways into `shopbot-core`. Each program in
//! `src/bin/` is one; run them with `cargo run -p shopbot-examples --bin <name>`.
//!
//! * `embedded_shop` uses the services from your own code: a whole purchase, no messenger.
//! * `counted_shop` runs a shop on a custom [`Storage`](shopbot_core::ports::Storage), the
//!   [`CountingStore`] of this crate: a wrapper around any store, which passes the whole
//!   storage conformance suite (`tests/examples/conformance.rs`).
//! * `line_chat` is a custom front end: a line protocol on standard input and output that
//!   drives the conversation ([`Flow`](shopbot_core::flow::Flow)) as a messenger adapter does.
//!
//! `tests/examples/examples_run.rs` runs every program and checks what it prints.

pub mod counting_store;
pub mod sample;

pub use counting_store::{CallCounts, CountingStore};
