//! # shopbot-core
//!
//! The framework-free heart of shopbot: the shop's domain (money, catalog, stock, carts, orders,
//! wallet, invoices), the services that apply its rules, the conversation flow, the background
//! jobs, and the ports through which it reaches storage, messengers, clocks and payment providers.
//!
//! Core never does I/O itself and depends on no bot, database or terminal framework. Front ends
//! translate their events into service calls; storage backends implement
//! [`ports::Storage`] and prove it with the conformance suite in `testkit` (feature `testkit`).

#![warn(missing_docs)]

pub mod action;
pub mod audit;
pub mod cart;
pub mod catalog;
pub mod dialogue;
pub mod dump;
pub mod error;
pub mod flow;
pub mod housekeeping;
pub mod idempotency;
pub mod ids;
pub mod invoice;
pub mod jobs;
pub mod markup;
pub mod money;
pub mod notice;
pub mod order;
pub mod outbox;
pub mod ports;
pub mod services;
pub mod stock;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod text;
pub mod time;
pub mod user;
pub mod wallet;

pub use error::{Error, Result};
