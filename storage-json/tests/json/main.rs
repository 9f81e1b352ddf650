//! The embedded JSON store through its public API: the conformance suite in memory and on disk,
//! what makes a directory a shop, `check()`, dumps, and recovery on a real disk.
//!
//! One test binary for the whole suite, so it is linked once.

mod check;
mod conformance;
mod dump;
mod recovery;
mod shop;
