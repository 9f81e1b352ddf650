//! The shop's own jobs, each a thin function over one service call.
//!
//! Only work the services and the storage port already support is here. Not yet possible
//! without new storage commands: releasing expired wallet holds (holds carry no expiry and
//! cannot be listed), forgetting expired dialogues (they are ignored when read but never
//! deleted), and pruning old processed-update ids. Stock reserved by an order invoice is
//! released by [`expire_invoices`], with the invoice.

use std::time::Duration;

use super::{Job, JobReport};
use crate::services::Shop;

/// The name of the job that expires overdue invoices.
pub const EXPIRE_INVOICES: &str = "expire-invoices";

/// How often overdue invoices are expired unless configured otherwise: every minute, so units
/// an unpaid invoice reserved go back on sale at most a minute after it falls due.
pub const EXPIRE_INVOICES_EVERY: Duration = Duration::from_secs(60);

/// How often each of the shop's jobs runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShopJobPeriods {
    /// [`EXPIRE_INVOICES`]; [`EXPIRE_INVOICES_EVERY`] by default.
    pub expire_invoices: Duration,
}

impl Default for ShopJobPeriods {
    fn default() -> Self {
        ShopJobPeriods {
            expire_invoices: EXPIRE_INVOICES_EVERY,
        }
    }
}

/// Every job of the shop, with the given periods, ready for a
/// [`Scheduler`](super::Scheduler).
pub fn shop_jobs(shop: &Shop, periods: &ShopJobPeriods) -> Vec<Job> {
    vec![expire_invoices(shop, periods.expire_invoices)]
}

/// Expires, every `period`, the open invoices whose due time has passed
/// ([`InvoiceService::expire_overdue`](crate::services::InvoiceService::expire_overdue)): their
/// orders are cancelled and the units they reserved go back on sale.
pub fn expire_invoices(shop: &Shop, period: Duration) -> Job {
    let shop = shop.clone();
    Job::new(EXPIRE_INVOICES, period, move || {
        let invoices = shop.invoices();
        async move {
            let expired = invoices.expire_overdue().await?;
            let count = u64::try_from(expired.len()).unwrap_or(u64::MAX);
            let summary = match expired.len() {
                0 => "no overdue invoices".to_owned(),
                1 => "expired 1 overdue invoice".to_owned(),
                n => format!("expired {n} overdue invoices"),
            };
            Ok(JobReport::new(count, summary))
        }
    })
}
