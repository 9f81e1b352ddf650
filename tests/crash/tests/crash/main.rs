//! The JSON store across real processes: a worker killed with `kill -9` at random moments, and
//! a second process opening a store the first holds.
//!
//! One test binary for the whole suite, so it is linked once.

mod kill9;
mod two_processes;
