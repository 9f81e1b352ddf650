//! Recovery on a real disk: a torn last batch is set aside and reported, any other damage is
//! refused with the file and offset named, `repair` cuts on request, a read-only open changes
//! no byte, stores are owner-only, and stores of the older format are upgraded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

mod basics;
mod damage;
mod helpers;
mod modes;
mod read_only;
mod upgrade;
