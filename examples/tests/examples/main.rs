//! The examples: every program runs to the end and shows what it promises, and their custom
//! store counts what it should and keeps the storage contract.
//!
//! One test binary for the whole suite, so it is linked once.

mod conformance;
mod counting_store;
mod examples_run;
