//! Lanes: the purchase path that shares round trips among concurrent buyers
//! (`PurchasePath::Lanes`).
//!
//! Each lane is a task that keeps one connection (`held.rs`) and takes whatever waits on its
//! queue (`queue.rs`): purchase commands go as one call of `shop_run`, one round trip and one
//! commit for the whole group (`commands.rs`); the reads before them go as one query per batch
//! (`reads.rs`). With `shopbot-bench pg` they beat sending each command on its own by several
//! times under load (BENCHMARKS.md); a quiet store sends every command at once either way.

mod commands;
mod held;
mod queue;
mod reads;

pub(crate) use commands::Groups;
pub(crate) use reads::{Answer, Batcher};
