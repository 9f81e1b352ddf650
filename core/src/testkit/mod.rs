//! The storage conformance suite: every behaviour and invariant of
//! [`Storage`] as a plain async function, so that each backend proves
//! itself against one shared list.
//!
//! A backend crate runs the whole suite with one call of
//! [`conformance_suite!`](crate::conformance_suite) in an integration test. Each suite function
//! takes a fresh, empty store, drives it through [`Shop`](crate::services::Shop) services or
//! straight through the storage commands, and panics when an invariant does not hold.
//! Races use real concurrency (many tasks on a multi-thread runtime, lined up on a barrier),
//! never sleeps; time comes from a [`ManualClock`] the tests move by hand.
//!
//! This module owns test code only. It must never be compiled into a shipped binary (it lives
//! behind the `testkit` feature) and must never reach into a backend: it sees a store only
//! through the `Storage` trait, so whatever it checks, every backend has to honour.

// Test code fails by panicking: unwraps, expects, indexing and panics are how a suite function
// reports a broken invariant, so the workspace's warnings against them do not apply here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod access;
pub mod authz;
pub mod buy_now;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod confirm;
pub mod currency;
pub mod dialogue;
mod fixture;
pub mod housekeeping;
pub mod invoice;
pub mod jobs;
pub mod notices;
pub mod order_invoice;
pub mod outbox;
pub mod reads;
pub mod refund;
pub mod sample;
pub mod wallet;

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

pub use fixture::{
    CURRENCY, OWNER, Snapshot, TestShop, all_audit, all_invoices, all_ledger, all_orders,
    all_users, buy_now_request, charged, claim_all, key, note, qty, usd, wallet_request,
};

use crate::ports::{Clock, Storage};
use crate::time::Timestamp;

/// Expands, in the calling test crate, into one `#[tokio::test]` per conformance function,
/// each run on a fresh store on a multi-thread runtime with four workers.
///
/// The argument is anything that can be called with no arguments to give a future of a store:
/// an async function, or a closure returning an async block. The future's output is a
/// [`TestStore`]: an `Arc` of the backend (or of `dyn Storage`), or such an `Arc` paired with a
/// guard that must outlive the test, such as the temporary directory an on-disk store lives in
/// or a database to drop afterwards. It is evaluated once per test, so every test starts from
/// an empty store.
///
/// The calling crate needs `tokio` with the `rt-multi-thread` and `macros` features (a
/// dev-dependency is enough). Invoke the macro once per module, at module level; it defines one
/// module per domain (`checkout`, `wallet`, `invoice`, …), so test names read like
/// `wallet::concurrent_spending_never_overdraws_a_wallet` and can be filtered by domain.
///
/// # Example
///
/// In `storage-json/tests/json/conformance.rs`:
///
/// ```ignore
/// use std::sync::Arc;
///
/// use shopbot_core::ports::Storage;
/// use shopbot_storage_json::JsonStore;
///
/// async fn fresh_store() -> Arc<dyn Storage> {
///     Arc::new(JsonStore::in_memory())
/// }
///
/// shopbot_core::conformance_suite!(fresh_store);
/// ```
///
/// or, with a closure:
///
/// ```ignore
/// shopbot_core::conformance_suite!(|| async { std::sync::Arc::new(JsonStore::in_memory()) });
/// ```
///
/// To run the suite against several configurations of one backend, invoke it once in each of
/// several modules (`mod memory { use super::*; shopbot_core::conformance_suite!(in_memory); }`,
/// `mod disk { … }`); the tests are then named `memory::wallet::…`, `disk::wallet::…`.
///
/// The list of tests lives here and only here: a function added to the suite is added to this
/// list, and every backend runs it at its next build.
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr $(,)?) => {
        #[allow(dead_code)]
        async fn __shopbot_conformance_store() -> ::std::option::Option<(
            ::std::sync::Arc<dyn $crate::ports::Storage>,
            ::std::boxed::Box<dyn ::std::any::Any + ::std::marker::Send>,
        )> {
            $crate::testkit::TestStore::into_parts(($make)().await)
        }

        $crate::__conformance_tests! {
            checkout {
                oversell_race_sells_every_key_exactly_once,
                a_double_clicked_checkout_buys_once,
                a_repeated_checkout_request_returns_the_recorded_order,
                a_price_change_after_planning_conflicts_at_commit,
                buying_more_than_is_in_stock_is_out_of_stock_and_changes_nothing,
                a_short_wallet_is_insufficient_funds_and_changes_nothing,
                checkout_keys_belong_to_one_buyer,
            }
            buy_now {
                buying_now_sells_at_once_and_leaves_the_cart_alone,
                a_double_tapped_buy_now_buys_once,
                buying_now_races_carts_for_the_last_keys_and_sells_each_once,
                a_refused_buy_now_changes_nothing,
            }
            confirm {
                buy_now_confirmations_shown_in_the_same_millisecond_are_separate_purchases,
                a_confirmation_tapped_again_says_already_paid_and_shows_that_order,
                taps_racing_on_one_buy_now_confirmation_pay_once_and_say_so,
                taps_racing_on_one_cart_confirmation_pay_once_and_say_so,
            }
            cart {
                a_stale_cart_version_conflicts_and_buys_nothing,
                carts_start_empty_and_every_edit_bumps_the_version,
                a_cart_version_is_never_shown_twice,
            }
            refund {
                refunding_a_paid_order_credits_the_wallet_once,
                only_paid_orders_can_be_refunded,
            }
            wallet {
                the_ledger_agrees_with_a_reference_model_over_random_operations,
                a_hold_is_resolved_once_when_captured_and_released_at_once,
                concurrent_spending_never_overdraws_a_wallet,
                a_ledger_request_repeated_concurrently_posts_once,
                money_a_wallet_cannot_hold_is_refused_and_changes_nothing,
            }
            invoice {
                an_invoice_leaves_open_once_and_final_states_never_change,
                a_payment_delivered_five_times_at_once_is_applied_once,
                invoice_numbers_have_no_gaps_under_concurrency,
                a_paid_top_up_invoice_credits_its_subtotal,
                paying_an_invoice_from_the_wallet_needs_funds_and_pays_once,
            }
            order_invoice {
                an_order_paid_by_invoice_is_delivered_when_the_invoice_is_paid,
                a_voided_or_expired_order_invoice_cancels_the_order_and_returns_its_units,
            }
            authz {
                staff_operations_without_permission_are_forbidden_and_change_nothing,
            }
            access {
                staff_cannot_ban_themselves_or_anyone_of_equal_or_higher_rank,
                a_banned_customer_cannot_shop,
                maintenance_mode_turns_customers_away_but_not_staff,
                greeting_a_user_again_keeps_their_role_and_ban,
            }
            dialogue {
                dialogue_state_is_kept_per_chat_and_user_and_expires,
                a_redelivered_update_is_recognised_once,
            }
            catalog {
                products_and_categories_are_created_changed_and_audited,
                a_stock_import_with_duplicates_is_refused_whole_naming_every_one,
                skipping_duplicates_imports_the_rest_and_reports_them,
                reimporting_a_sold_key_says_it_was_already_sold,
                a_service_product_takes_no_stock_and_sells_without_units,
                hidden_products_are_neither_shown_nor_sold_to_customers,
                categories_without_a_visible_product_are_hidden_from_customers,
                units_are_listed_masked_and_only_available_ones_are_removed,
                categories_are_renamed_and_empty_ones_deleted,
                only_a_never_ordered_product_is_deleted_with_its_units,
            }
            currency {
                a_currency_is_recorded_by_the_first_adoption_and_never_changes,
                concurrent_adoptions_of_different_currencies_record_exactly_one,
                settling_adopts_a_currency_once_and_refuses_another_configured_one,
            }
            outbox {
                a_checkout_queues_a_delivery_that_is_claimed_once_per_lease,
                concurrent_claimers_never_get_the_same_message,
                completed_messages_follow_their_outcome,
            }
            reads {
                combined_reads_answer_exactly_what_their_parts_do,
            }
            notices {
                notice_kinds_start_empty_and_are_replaced_whole_with_an_audit_entry,
                making_a_user_a_customer_clears_their_notice_kinds,
                a_notice_goes_once_to_every_opted_in_unbanned_person_in_id_order,
                a_notice_key_is_remembered_even_when_nobody_opted_in,
                a_bad_notice_key_is_invalid_and_queues_nothing,
                a_notice_raised_many_times_at_once_is_queued_once,
            }
            jobs {
                a_recorded_round_becomes_the_jobs_last_and_is_counted,
                a_run_request_creates_a_record_and_an_earlier_pending_request_stays,
                a_round_clears_a_request_made_at_or_before_its_start,
                job_records_come_in_name_order,
                bad_job_names_are_invalid_and_record_nothing,
            }
            housekeeping {
                a_sweep_forgets_dialogues_expired_by_its_cut_and_keeps_live_ones,
                a_sweep_forgets_update_ids_recorded_before_its_cut,
            }
        }
    };
}

/// Expands the test list of [`conformance_suite!`]; not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($($module:ident { $($test:ident),* $(,)? })*) => {
        $(
            mod $module {
                $(
                    #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $test() {
                        let Some((store, guard)) = super::__shopbot_conformance_store().await
                        else {
                            return;
                        };
                        $crate::testkit::$module::$test(store).await;
                        drop(guard);
                    }
                )*
            }
        )*
    };
}

/// What a conformance store constructor may return: the store, and whatever must live until
/// the test is over (dropped right after it); or `None` when the backend is not available
/// here (a database server that is not running outside CI), and then the test does nothing.
/// A constructor that returns `None` says why, once, on stderr; in CI it must not.
pub trait TestStore {
    /// The store as the suite uses it and the guard to keep alive, if there is a store.
    fn into_parts(self) -> Option<(Arc<dyn Storage>, Box<dyn Any + Send>)>;
}

impl TestStore for Arc<dyn Storage> {
    fn into_parts(self) -> Option<(Arc<dyn Storage>, Box<dyn Any + Send>)> {
        Some((self, Box::new(())))
    }
}

impl<S: Storage + 'static> TestStore for Arc<S> {
    fn into_parts(self) -> Option<(Arc<dyn Storage>, Box<dyn Any + Send>)> {
        Some((self, Box::new(())))
    }
}

impl<T: TestStore, G: Send + 'static> TestStore for (T, G) {
    fn into_parts(self) -> Option<(Arc<dyn Storage>, Box<dyn Any + Send>)> {
        let (store, _) = self.0.into_parts()?;
        Some((store, Box::new(self.1)))
    }
}

impl<T: TestStore> TestStore for Option<T> {
    fn into_parts(self) -> Option<(Arc<dyn Storage>, Box<dyn Any + Send>)> {
        self.and_then(TestStore::into_parts)
    }
}

/// A clock that stands still until a test moves it. Thread-safe: tasks on other threads see
/// every change at once.
#[derive(Debug)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    /// 2026-01-01 00:00:00 UTC, where every suite clock starts.
    pub const START: Timestamp = Timestamp(1_767_225_600_000);

    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> Self {
        ManualClock {
            millis: AtomicI64::new(start.0),
        }
    }

    /// Sets the time.
    pub fn set(&self, to: Timestamp) {
        self.millis.store(to.0, Ordering::SeqCst);
    }

    /// Moves the time forward by `by` and returns the new time.
    pub fn advance(&self, by: Duration) -> Timestamp {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.millis.fetch_add(ms, Ordering::SeqCst) + ms)
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new(ManualClock::START)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.millis.load(Ordering::SeqCst))
    }
}

/// A small deterministic generator (SplitMix64): the same seed gives the same sequence on every
/// machine, so a failing random test names a seed that reproduces it.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` above zero; the slight modulo bias does not matter here).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no answer");
        self.next_u64() % n
    }

    /// A number in `low..=high`.
    pub fn range(&mut self, low: i64, high: i64) -> i64 {
        assert!(low <= high, "empty range {low}..={high}");
        let span = high.abs_diff(low).saturating_add(1);
        low.wrapping_add_unsigned(self.below(span))
    }

    /// True `percent` times out of a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items`, or `None` when there are none.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            return None;
        }
        let len = u64::try_from(items.len()).unwrap_or(u64::MAX);
        items.get(usize::try_from(self.below(len)).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_stays_in_range() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let r = a.range(-3, 3);
            assert!((-3..=3).contains(&r));
            b.range(-3, 3);
        }
        assert_eq!(SplitMix64::new(1).pick::<u8>(&[]), None);
    }

    #[test]
    fn the_manual_clock_moves_only_when_told() {
        let clock = ManualClock::default();
        assert_eq!(clock.now(), ManualClock::START);
        let later = clock.advance(Duration::from_secs(2));
        assert_eq!(later.0, ManualClock::START.0 + 2000);
        assert_eq!(clock.now(), later);
        clock.set(Timestamp(5));
        assert_eq!(clock.now(), Timestamp(5));
    }
}
