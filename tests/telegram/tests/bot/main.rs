//! The bot end to end: the real Telegram adapter, a real JSON store and real HTTP against a
//! fake Bot API on loopback. Each test is one thing a person does, or one way things go wrong;
//! `admin` holds the shop owner's side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // Tests fail by panicking.

mod admin;
mod buttons;
mod crawler;
mod helpers;
mod notices;
mod resilience;
mod shopping;
