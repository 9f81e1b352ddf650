#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.
//! The background-job scheduler on a manual clock: when jobs run, how failures are retried,
//! running one on demand, what the statuses say, that a job never runs beside itself, and the
//! shop's own jobs over a real (in-memory) store.

mod concurrency;
mod failures;
mod helpers;
mod on_demand;
mod shop_jobs;
mod timing;
