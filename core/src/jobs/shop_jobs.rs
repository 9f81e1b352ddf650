//! The shop's own jobs, each a thin function over one service or storage call.
//!
//! Stock reserved by an order invoice is released by [`expire_invoices`], with the invoice;
//! wallet holds carry no expiry, so no job releases them (see the [module docs](super)).

use std::time::Duration;

use super::{Job, JobReport};
use crate::housekeeping::Sweep;
use crate::services::Shop;
use crate::time::Timestamp;

/// The name of the job that expires overdue invoices.
pub const EXPIRE_INVOICES: &str = "expire-invoices";

/// How often overdue invoices are expired unless configured otherwise: every minute, so units
/// an unpaid invoice reserved go back on sale at most a minute after it falls due.
pub const EXPIRE_INVOICES_EVERY: Duration = Duration::from_secs(60);

/// The name of the housekeeping job: it forgets expired dialogues and old update ids.
pub const SWEEP: &str = "sweep";

/// How often the housekeeping job runs unless configured otherwise: hourly, which keeps what
/// it forgets small each time.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60 * 60);

/// How long the id of a processed messenger update is kept: a day, far longer than Telegram
/// keeps an undelivered update (24 hours) or retries a webhook.
pub const PROCESSED_UPDATES_KEPT: Duration = Duration::from_secs(24 * 60 * 60);

/// How often each of the shop's jobs runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShopJobPeriods {
    /// [`EXPIRE_INVOICES`]; [`EXPIRE_INVOICES_EVERY`] by default.
    pub expire_invoices: Duration,
    /// [`SWEEP`]; [`SWEEP_EVERY`] by default.
    pub sweep: Duration,
}

impl Default for ShopJobPeriods {
    fn default() -> Self {
        ShopJobPeriods {
            expire_invoices: EXPIRE_INVOICES_EVERY,
            sweep: SWEEP_EVERY,
        }
    }
}

/// Every job of the shop, with the given periods, ready for a
/// [`Scheduler`](super::Scheduler).
pub fn shop_jobs(shop: &Shop, periods: &ShopJobPeriods) -> Vec<Job> {
    vec![
        expire_invoices(shop, periods.expire_invoices),
        sweep(shop, periods.sweep),
    ]
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

/// Forgets, every `period`, what the store no longer needs
/// ([`Storage::sweep`](crate::ports::Storage::sweep)): dialogues that expired by now, and the
/// ids of messenger updates processed more than [`PROCESSED_UPDATES_KEPT`] ago.
pub fn sweep(shop: &Shop, period: Duration) -> Job {
    let shop = shop.clone();
    Job::new(SWEEP, period, move || {
        let storage = std::sync::Arc::clone(shop.storage());
        let now = shop.clock().now();
        async move {
            let kept_since = Timestamp(now.millis().saturating_sub(
                i64::try_from(PROCESSED_UPDATES_KEPT.as_millis()).unwrap_or(i64::MAX),
            ));
            let swept = storage
                .sweep(Sweep {
                    dialogues_expired_by: now,
                    updates_before: kept_since,
                })
                .await?;
            let summary = format!(
                "forgot {} expired dialogue{} and {} old update id{}",
                swept.dialogues,
                plural(swept.dialogues),
                swept.updates,
                plural(swept.updates)
            );
            Ok(JobReport::new(
                swept.dialogues.saturating_add(swept.updates),
                summary,
            ))
        }
    })
}

/// "s" unless `count` is one.
fn plural(count: u64) -> &'static str {
    if count == 1 { "" } else { "s" }
}
