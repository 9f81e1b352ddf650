//! The PostgreSQL store against a real server, one throwaway database per test: the
//! conformance suite, opening and migrating (and the folded migration against the ones it
//! replaced), dumps, group commit, shared reads, leader election, and money conserved while
//! connections die.
//!
//! One test binary for the whole suite, so it is linked once.

mod bank;
mod conformance;
mod currency;
mod dump;
mod fenced;
mod folded;
mod group;
mod leader;
mod open;
mod reads;
mod schema;
mod support;
mod together;
