#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

//! The `shopbot` binary, run for real on a temporary store per test: every subcommand, the
//! `--json` shapes, the exit codes, and bad input. `in_process` calls the commands' `run`
//! functions directly on an in-memory store and checks their exact output.

mod bad_input;
mod catalog;
mod category_edits;
mod chat;
mod config;
mod conventions;
mod currency;
mod export;
mod helpers;
mod in_process;
mod init;
mod invoices;
mod jobs;
mod live;
mod live_bot;
mod live_socket;
mod maintenance_audit;
mod migrate;
mod orders;
mod output_paths;
mod postgres;
mod serve;
mod stock;
mod stock_units;
mod store;
mod telegram;
mod users;
