//! Recovery on a real disk: a torn last batch is set aside and reported, any other damage is
//! refused with the file and offset named, `repair` cuts on request, a read-only open changes
//! no byte, stores are owner-only, stores of the older format are upgraded, and the newer
//! commands (staff notices, job records, sweeps) come back from the journal and the snapshot.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

mod basics;
mod damage;
mod helpers;
mod modes;
mod notices_and_jobs;
mod read_only;
mod upgrade;
