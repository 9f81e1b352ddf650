//! A storage-neutral copy of everything a store holds, ids included: what `shopbot migrate`
//! carries from one backend to another.
//!
//! Owns [`Dump`], its record types, and [`Summary`], the counts and ledger totals both sides of
//! a copy compare. A dump is plain data: backends export their state into one and build a new
//! store from one, each in its own terms. This module must never know how a backend stores
//! anything, and must never change what it is given: a dump is copied, not repaired.
//!
//! Records added after the first dumps (staff-notice choices and keys, job records) default to
//! none when absent, so a dump written before them still loads, as a shop that had none.
//!
//! Two dumps of the same shop compare equal whichever backend wrote them once both are in
//! canonical order ([`Dump::sort`]), with one documented exception: PostgreSQL does not keep
//! which units a cancelled order once reserved (they went back to stock), so its dumps list no
//! units on cancelled orders.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::audit::AuditEntry;
use crate::cart::Cart;
use crate::catalog::{Category, Product};
use crate::dialogue::Dialogue;
use crate::idempotency::Fingerprint;
use crate::ids::{InvoiceId, OrderId, UserId};
use crate::invoice::{Invoice, PaymentProvider};
use crate::jobs::JobRecord;
use crate::money::Currency;
use crate::notice::NoticeKinds;
use crate::order::Order;
use crate::outbox::OutboxMessage;
use crate::ports::Settings;
use crate::stock::StockUnit;
use crate::text::{IdempotencyKey, Note};
use crate::time::Timestamp;
use crate::user::User;
use crate::wallet::{Balance, Hold, LedgerEntry};

/// Everything a store holds, as plain data with every id preserved.
///
/// Records that refer to each other do so by id, exactly as in the store they came from; a
/// backend building a store from a dump keeps those ids and continues its own counters after
/// the highest ones ([`Dump::highest_ids`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dump {
    /// Shop-wide switches.
    pub settings: Settings,
    /// The currency the shop sells in; `None` for a shop that has recorded none (made before
    /// shops recorded their currency), whose copy then records none either.
    #[serde(default)]
    pub currency: Option<Currency>,
    /// Everyone the shop knows.
    pub users: Vec<User>,
    /// Product categories.
    pub categories: Vec<Category>,
    /// Products, hidden ones included.
    pub products: Vec<Product>,
    /// Every stock unit, whatever its state.
    pub units: Vec<StockUnit>,
    /// Carts that were ever written.
    pub carts: Vec<Cart>,
    /// Orders, with the units delivered to them.
    pub orders: Vec<Order>,
    /// The idempotency record of each checkout.
    pub checkouts: Vec<CheckoutRecord>,
    /// The ledger, with each entry's request fingerprint.
    pub entries: Vec<LedgerRecord>,
    /// Wallet holds (each shares its id with the entry that opened it).
    pub holds: Vec<Hold>,
    /// Wallet balances, one per user and currency.
    pub wallets: Vec<WalletRecord>,
    /// Invoices.
    pub invoices: Vec<Invoice>,
    /// Payment charges applied, so a redelivered charge is still recognised.
    pub charges: Vec<ChargeRecord>,
    /// Conversation states.
    pub dialogues: Vec<Dialogue>,
    /// Messages owed to users, delivered or not.
    pub outbox: Vec<OutboxMessage>,
    /// The audit log.
    pub audit: Vec<AuditEntry>,
    /// The last invoice number handed out: the next invoice gets the one after it.
    pub last_invoice_number: u64,
    /// The staff notices each person opted into; nobody who chose none.
    #[serde(default)]
    pub notice_kinds: Vec<NoticeChoice>,
    /// The keys of staff notices already raised, so none is raised twice.
    #[serde(default)]
    pub notice_keys: Vec<NoticeKeyRecord>,
    /// What the store knows of each background job.
    #[serde(default)]
    pub jobs: Vec<JobRecord>,
}

/// The kinds of staff notice one person opted into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeChoice {
    /// Who chose.
    pub user: UserId,
    /// What they chose (never none: a person who chose none has no record).
    pub kinds: NoticeKinds,
}

/// The key of a staff notice already raised
/// ([`Storage::notify_staff`](crate::ports::Storage::notify_staff)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeKeyRecord {
    /// The key.
    pub key: String,
    /// When a notice with it was first raised.
    pub at: Timestamp,
}

/// The idempotency record of one checkout: the order a `(user, key)` created, and the
/// fingerprint of the request that created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRecord {
    /// The buyer.
    pub user: UserId,
    /// The checkout's idempotency key.
    pub key: IdempotencyKey,
    /// The fingerprint of the checkout request.
    pub fingerprint: Fingerprint,
    /// The order it created.
    pub order: OrderId,
}

/// One ledger entry with the fingerprint of the request that wrote it (its key is in the entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRecord {
    /// The entry.
    pub entry: LedgerEntry,
    /// The fingerprint of the ledger request the entry answers.
    pub fingerprint: Fingerprint,
}

/// One user's wallet in one currency (the currency is the balance's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletRecord {
    /// Whose wallet.
    pub user: UserId,
    /// Its totals.
    pub balance: Balance,
}

/// A payment charge that was applied, and the invoice it paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeRecord {
    /// Who took the payment.
    pub provider: PaymentProvider,
    /// The provider's charge id.
    pub charge_id: Note,
    /// The invoice it paid.
    pub invoice: InvoiceId,
}

/// The kinds of record a dump holds, in the order a summary lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// [`Dump::users`].
    Users,
    /// [`Dump::categories`].
    Categories,
    /// [`Dump::products`].
    Products,
    /// [`Dump::units`].
    Units,
    /// [`Dump::carts`].
    Carts,
    /// [`Dump::orders`].
    Orders,
    /// [`Dump::checkouts`].
    Checkouts,
    /// [`Dump::entries`].
    Entries,
    /// [`Dump::holds`].
    Holds,
    /// [`Dump::wallets`].
    Wallets,
    /// [`Dump::invoices`].
    Invoices,
    /// [`Dump::charges`].
    Charges,
    /// [`Dump::dialogues`].
    Dialogues,
    /// [`Dump::outbox`].
    Outbox,
    /// [`Dump::audit`].
    Audit,
    /// [`Dump::notice_kinds`].
    NoticeKinds,
    /// [`Dump::notice_keys`].
    NoticeKeys,
    /// [`Dump::jobs`].
    Jobs,
}

impl Kind {
    /// Every kind, in summary order.
    pub const ALL: [Kind; 18] = [
        Kind::Users,
        Kind::Categories,
        Kind::Products,
        Kind::Units,
        Kind::Carts,
        Kind::Orders,
        Kind::Checkouts,
        Kind::Entries,
        Kind::Holds,
        Kind::Wallets,
        Kind::Invoices,
        Kind::Charges,
        Kind::Dialogues,
        Kind::Outbox,
        Kind::Audit,
        Kind::NoticeKinds,
        Kind::NoticeKeys,
        Kind::Jobs,
    ];

    /// The kind's name for people, e.g. `ledger entries` (JSON uses the snake_case variant
    /// name, e.g. `entries`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Categories => "categories",
            Kind::Products => "products",
            Kind::Units => "units",
            Kind::Carts => "carts",
            Kind::Orders => "orders",
            Kind::Checkouts => "checkouts",
            Kind::Entries => "ledger entries",
            Kind::Holds => "holds",
            Kind::Wallets => "wallets",
            Kind::Invoices => "invoices",
            Kind::Charges => "payment charges",
            Kind::Dialogues => "dialogues",
            Kind::Outbox => "outbox messages",
            Kind::Audit => "audit entries",
            Kind::NoticeKinds => "notice choices",
            Kind::NoticeKeys => "notice keys",
            Kind::Jobs => "job records",
        }
    }
}

/// The ledger of one currency, totalled exactly.
///
/// The sums are 128-bit: every wallet of a shop together can hold more than one 64-bit amount,
/// and a sum clamped at that limit would make two different ledgers look alike.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerTotals {
    /// How many entries move this currency.
    pub entries: u64,
    /// The sum of the entries' balance deltas, in minor units: what all wallets hold.
    pub balance_delta: i128,
    /// The sum of the entries' held deltas, in minor units: what open holds set aside.
    pub held_delta: i128,
}

/// What both sides of a copy compare: counts per kind, ledger totals per currency, the last
/// invoice number, the maintenance switch and the shop's currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// How many records of each kind (every kind is present, zero included).
    pub counts: BTreeMap<Kind, u64>,
    /// The ledger's totals per currency.
    pub ledger: BTreeMap<Currency, LedgerTotals>,
    /// [`Dump::last_invoice_number`].
    pub last_invoice_number: u64,
    /// Whether the shop is in maintenance mode.
    pub maintenance: bool,
    /// [`Dump::currency`].
    #[serde(default)]
    pub currency: Option<Currency>,
}

/// The highest id of each kind of record in a dump (0 when there is none): a backend that
/// builds a store from the dump hands out ids after these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HighestIds {
    /// Categories.
    pub category: i64,
    /// Products.
    pub product: i64,
    /// Stock units.
    pub unit: i64,
    /// Orders.
    pub order: i64,
    /// Invoices.
    pub invoice: i64,
    /// The highest of [`Dump::last_invoice_number`] and every invoice's number.
    pub invoice_number: u64,
    /// Ledger entries (holds share their ids).
    pub entry: i64,
    /// Outbox messages.
    pub outbox: i64,
    /// Audit entries.
    pub audit: i64,
}

/// The largest of `ids`, or 0.
fn highest(ids: impl Iterator<Item = i64>) -> i64 {
    ids.max().unwrap_or(0).max(0)
}

impl Dump {
    /// Puts every list in canonical order (by id, or by key where records have no id), so that
    /// dumps of one shop written by different backends compare equal.
    pub fn sort(&mut self) {
        self.users.sort_by_key(|u| u.id);
        self.categories.sort_by_key(|c| c.id);
        self.products.sort_by_key(|p| p.id);
        self.units.sort_by_key(|u| u.id);
        self.carts.sort_by_key(|c| c.user);
        self.orders.sort_by_key(|o| o.id);
        self.checkouts
            .sort_by(|a, b| (a.user, &a.key).cmp(&(b.user, &b.key)));
        self.entries.sort_by_key(|e| e.entry.id);
        self.holds.sort_by_key(|h| h.id);
        self.wallets
            .sort_by_key(|w| (w.user, w.balance.balance.currency));
        self.invoices.sort_by_key(|i| i.id);
        self.charges
            .sort_by(|a, b| (a.provider, &a.charge_id).cmp(&(b.provider, &b.charge_id)));
        self.dialogues.sort_by_key(|d| (d.chat, d.user));
        self.outbox.sort_by_key(|m| m.id);
        self.audit.sort_by_key(|a| a.id);
        self.notice_kinds.sort_by_key(|c| c.user);
        self.notice_keys.sort_by(|a, b| a.key.cmp(&b.key));
        self.jobs.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// How many records of `kind` the dump holds.
    pub fn count(&self, kind: Kind) -> u64 {
        let n = match kind {
            Kind::Users => self.users.len(),
            Kind::Categories => self.categories.len(),
            Kind::Products => self.products.len(),
            Kind::Units => self.units.len(),
            Kind::Carts => self.carts.len(),
            Kind::Orders => self.orders.len(),
            Kind::Checkouts => self.checkouts.len(),
            Kind::Entries => self.entries.len(),
            Kind::Holds => self.holds.len(),
            Kind::Wallets => self.wallets.len(),
            Kind::Invoices => self.invoices.len(),
            Kind::Charges => self.charges.len(),
            Kind::Dialogues => self.dialogues.len(),
            Kind::Outbox => self.outbox.len(),
            Kind::Audit => self.audit.len(),
            Kind::NoticeKinds => self.notice_kinds.len(),
            Kind::NoticeKeys => self.notice_keys.len(),
            Kind::Jobs => self.jobs.len(),
        };
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    /// Counts per kind and ledger totals per currency: what the two sides of a copy compare.
    pub fn summary(&self) -> Summary {
        let counts = Kind::ALL.iter().map(|&k| (k, self.count(k))).collect();
        let mut ledger: BTreeMap<Currency, LedgerTotals> = BTreeMap::new();
        // No sum here can overflow: a dump holds fewer than 2^63 entries of at most 2^63 minor
        // units each, so every total stays below 2^126, well inside 128 bits.
        for record in &self.entries {
            let entry = &record.entry;
            let totals = ledger.entry(entry.balance_delta.currency).or_default();
            totals.entries += 1;
            totals.balance_delta += i128::from(entry.balance_delta.minor);
            totals.held_delta += i128::from(entry.held_delta.minor);
        }
        Summary {
            counts,
            ledger,
            last_invoice_number: self.last_invoice_number,
            maintenance: self.settings.maintenance,
            currency: self.currency,
        }
    }

    /// The highest id of each kind, for the counters of a store built from this dump.
    pub fn highest_ids(&self) -> HighestIds {
        let invoice_numbers = self.invoices.iter().map(|i| i.number).max().unwrap_or(0);
        HighestIds {
            category: highest(self.categories.iter().map(|c| c.id.0)),
            product: highest(self.products.iter().map(|p| p.id.0)),
            unit: highest(self.units.iter().map(|u| u.id.0)),
            order: highest(self.orders.iter().map(|o| o.id.0)),
            invoice: highest(self.invoices.iter().map(|i| i.id.0)),
            invoice_number: self.last_invoice_number.max(invoice_numbers),
            entry: highest(
                self.entries
                    .iter()
                    .map(|e| e.entry.id.0)
                    .chain(self.holds.iter().map(|h| h.id.0)),
            ),
            outbox: highest(self.outbox.iter().map(|m| m.id.0)),
            audit: highest(self.audit.iter().map(|a| a.id.0)),
        }
    }

    /// Whether the dump holds no records at all (settings and the invoice counter aside).
    pub fn is_empty(&self) -> bool {
        Kind::ALL.iter().all(|&k| self.count(k) == 0)
    }
}

impl Summary {
    /// Every way `target` differs from `self` (the source), one sentence each, such as
    /// `units: 12 in the source, 11 in the target`; empty when they agree.
    pub fn differences(&self, target: &Summary) -> Vec<String> {
        let mut found = Vec::new();
        for kind in Kind::ALL {
            let (source, copy) = (count_of(self, kind), count_of(target, kind));
            if source != copy {
                found.push(format!(
                    "{}: {source} in the source, {copy} in the target",
                    kind.as_str()
                ));
            }
        }
        let currencies: std::collections::BTreeSet<&Currency> =
            self.ledger.keys().chain(target.ledger.keys()).collect();
        for currency in currencies {
            let source = self.ledger.get(currency).copied().unwrap_or_default();
            let copy = target.ledger.get(currency).copied().unwrap_or_default();
            let pairs = [
                (
                    "entries",
                    i128::from(source.entries),
                    i128::from(copy.entries),
                ),
                (
                    "balance deltas sum to",
                    source.balance_delta,
                    copy.balance_delta,
                ),
                ("held deltas sum to", source.held_delta, copy.held_delta),
            ];
            for (what, a, b) in pairs {
                if a != b {
                    found.push(format!(
                        "{currency} ledger {what}: {a} in the source, {b} in the target"
                    ));
                }
            }
        }
        if self.last_invoice_number != target.last_invoice_number {
            found.push(format!(
                "last invoice number: {} in the source, {} in the target",
                self.last_invoice_number, target.last_invoice_number
            ));
        }
        if self.maintenance != target.maintenance {
            found.push(format!(
                "maintenance mode: {} in the source, {} in the target",
                on_off(self.maintenance),
                on_off(target.maintenance)
            ));
        }
        if self.currency != target.currency {
            found.push(format!(
                "shop currency: {} in the source, {} in the target",
                currency_text(self.currency),
                currency_text(target.currency)
            ));
        }
        found
    }
}

fn currency_text(currency: Option<Currency>) -> String {
    currency.map_or_else(|| "none recorded".to_owned(), |c| c.to_string())
}

fn count_of(summary: &Summary, kind: Kind) -> u64 {
    summary.counts.get(&kind).copied().unwrap_or(0)
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{EntryId, HoldId};
    use crate::money::Money;
    use crate::time::Timestamp;
    use crate::wallet::{HoldState, LedgerOp};

    fn entry(id: i64, minor: i64, currency: Currency) -> LedgerRecord {
        let amount = Money::new(minor, currency);
        LedgerRecord {
            entry: LedgerEntry {
                id: EntryId(id),
                user: UserId(7),
                key: IdempotencyKey::parse(&format!("k{id}")).unwrap(),
                op: LedgerOp::Deposit { amount },
                balance_delta: amount,
                held_delta: Money::zero(currency),
                note: None,
                at: Timestamp(id),
            },
            fingerprint: Fingerprint(format!("f{id}")),
        }
    }

    #[test]
    fn a_summary_counts_every_kind_and_totals_the_ledger_per_currency() {
        let dump = Dump {
            entries: vec![
                entry(1, 500, Currency::USD),
                entry(2, 250, Currency::USD),
                entry(3, 40, Currency::XTR),
            ],
            last_invoice_number: 3,
            ..Dump::default()
        };
        let summary = dump.summary();
        assert_eq!(summary.counts.len(), Kind::ALL.len());
        assert_eq!(summary.counts[&Kind::Entries], 3);
        assert_eq!(summary.counts[&Kind::Users], 0);
        assert_eq!(
            summary.ledger[&Currency::USD],
            LedgerTotals {
                entries: 2,
                balance_delta: 750,
                held_delta: 0
            }
        );
        assert_eq!(summary.ledger[&Currency::XTR].balance_delta, 40);
        assert_eq!(summary.last_invoice_number, 3);
    }

    #[test]
    fn differences_name_each_count_and_total_that_disagrees() {
        let source = Dump {
            entries: vec![entry(1, 500, Currency::USD), entry(2, 250, Currency::USD)],
            ..Dump::default()
        };
        let target = Dump {
            entries: vec![entry(1, 500, Currency::USD)],
            ..Dump::default()
        };
        assert!(source.summary().differences(&source.summary()).is_empty());
        let recorded = Dump {
            currency: Some(Currency::EUR),
            ..Dump::default()
        };
        assert_eq!(
            recorded.summary().differences(&Dump::default().summary()),
            vec!["shop currency: EUR in the source, none recorded in the target".to_owned()]
        );
        let found = source.summary().differences(&target.summary());
        assert_eq!(
            found,
            vec![
                "ledger entries: 2 in the source, 1 in the target".to_owned(),
                "USD ledger entries: 2 in the source, 1 in the target".to_owned(),
                "USD ledger balance deltas sum to: 750 in the source, 500 in the target".to_owned(),
            ]
        );
    }

    #[test]
    fn ledger_totals_past_64_bits_are_exact_and_their_differences_are_found() {
        let huge = |id| entry(id, i64::MAX, Currency::USD);
        let source = Dump {
            entries: vec![huge(1), huge(2), huge(3)],
            ..Dump::default()
        };
        // As many entries, summing to less: a total clamped at 64 bits would call them equal.
        let target = Dump {
            entries: vec![huge(1), huge(2), entry(3, 1, Currency::USD)],
            ..Dump::default()
        };

        let (source, target) = (source.summary(), target.summary());

        let max = i128::from(i64::MAX);
        assert_eq!(source.ledger[&Currency::USD].balance_delta, 3 * max);
        assert_eq!(target.ledger[&Currency::USD].balance_delta, 2 * max + 1);
        assert_eq!(
            source.differences(&target),
            vec![format!(
                "USD ledger balance deltas sum to: {} in the source, {} in the target",
                3 * max,
                2 * max + 1
            )]
        );
    }

    #[test]
    fn highest_ids_cover_holds_and_invoice_numbers() {
        let dump = Dump {
            entries: vec![entry(4, 1, Currency::USD)],
            holds: vec![Hold {
                id: HoldId(9),
                user: UserId(7),
                amount: Money::new(1, Currency::USD),
                state: HoldState::Open,
            }],
            last_invoice_number: 2,
            ..Dump::default()
        };
        let ids = dump.highest_ids();
        assert_eq!(ids.entry, 9);
        assert_eq!(ids.invoice_number, 2);
        assert_eq!(ids.product, 0);
        assert!(!dump.is_empty());
        assert!(Dump::default().is_empty());
    }

    #[test]
    fn a_dump_written_before_notices_and_job_records_loads_with_none_of_them() {
        let mut old = serde_json::to_value(Dump::default()).unwrap();
        let fields = old.as_object_mut().unwrap();
        for added in ["notice_kinds", "notice_keys", "jobs"] {
            assert!(fields.remove(added).is_some(), "{added} is a dump field");
        }
        let loaded: Dump = serde_json::from_value(old).unwrap();
        assert_eq!(loaded, Dump::default());
        assert_eq!(loaded.count(Kind::Jobs), 0);
    }

    #[test]
    fn sorting_puts_records_in_id_order() {
        let mut dump = Dump {
            entries: vec![entry(2, 1, Currency::USD), entry(1, 1, Currency::USD)],
            ..Dump::default()
        };
        dump.sort();
        let ids: Vec<i64> = dump.entries.iter().map(|e| e.entry.id.0).collect();
        assert_eq!(ids, vec![1, 2]);
    }
}
