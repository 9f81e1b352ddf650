//! Between the engine's state and core's storage-neutral [`Dump`]: what `shopbot migrate` reads
//! from and writes into a JSON store.
//!
//! A state built from a dump keeps every id and continues its counters after the highest ones,
//! so the next product, order or invoice never reuses an imported id or invoice number. Neither
//! direction repairs or drops anything: what the dump says is what the state holds.

use std::collections::BTreeMap;

use shopbot_core::Error;
use shopbot_core::dump::{
    ChargeRecord, CheckoutRecord, Dump, LedgerRecord, NoticeChoice, NoticeKeyRecord, WalletRecord,
};
use shopbot_core::ids::EntryId;

use super::snapshot::Snapshot;
use super::{Counters, State};

impl State {
    /// Everything the state holds, in canonical order.
    pub fn to_dump(&self) -> Result<Dump, Error> {
        let fingerprints: BTreeMap<EntryId, _> = self
            .ledger_keys
            .values()
            .map(|(fingerprint, id)| (*id, fingerprint))
            .collect();
        let entries = self
            .entries
            .values()
            .map(|entry| {
                let fingerprint = fingerprints.get(&entry.id).ok_or_else(|| {
                    Error::internal_msg(format!("ledger entry {} has no key record", entry.id))
                })?;
                Ok(LedgerRecord {
                    entry: entry.clone(),
                    fingerprint: (*fingerprint).clone(),
                })
            })
            .collect::<Result<_, Error>>()?;
        let mut dump = Dump {
            settings: self.settings,
            currency: self.currency,
            users: self.users.values().cloned().collect(),
            categories: self.categories.values().cloned().collect(),
            products: self.products.values().cloned().collect(),
            units: self.units.values().cloned().collect(),
            carts: self.carts.values().cloned().collect(),
            orders: self.orders.values().cloned().collect(),
            checkouts: self
                .checkout_keys
                .iter()
                .map(|((user, key), (fingerprint, order))| CheckoutRecord {
                    user: *user,
                    key: key.clone(),
                    fingerprint: fingerprint.clone(),
                    order: *order,
                })
                .collect(),
            entries,
            holds: self.holds.values().copied().collect(),
            wallets: self
                .balances
                .iter()
                .map(|((user, _), balance)| WalletRecord {
                    user: *user,
                    balance: *balance,
                })
                .collect(),
            invoices: self.invoices.values().cloned().collect(),
            charges: self
                .charges
                .iter()
                .map(|((provider, charge_id), invoice)| ChargeRecord {
                    provider: *provider,
                    charge_id: charge_id.clone(),
                    invoice: *invoice,
                })
                .collect(),
            dialogues: self.dialogues.values().cloned().collect(),
            outbox: self.outbox.values().cloned().collect(),
            audit: self.audit.clone(),
            last_invoice_number: self.next.invoice_number,
            notice_kinds: self
                .notice_kinds
                .iter()
                .map(|(user, kinds)| NoticeChoice {
                    user: *user,
                    kinds: kinds.clone(),
                })
                .collect(),
            notice_keys: self
                .notice_keys
                .iter()
                .map(|(key, at)| NoticeKeyRecord {
                    key: key.clone(),
                    at: *at,
                })
                .collect(),
            jobs: self.jobs.values().cloned().collect(),
        };
        dump.sort();
        Ok(dump)
    }

    /// A state, indexes included, holding exactly what `dump` holds, with its id counters after
    /// the dump's highest ids.
    pub fn from_dump(mut dump: Dump) -> State {
        dump.sort();
        let highest = dump.highest_ids();
        let next = Counters {
            category: highest.category,
            product: highest.product,
            unit: highest.unit,
            order: highest.order,
            invoice: highest.invoice,
            invoice_number: highest.invoice_number,
            entry: highest.entry,
            outbox: highest.outbox,
            audit: highest.audit,
            stage: 0,
        };
        let ledger_keys = dump
            .entries
            .iter()
            .map(|r| {
                (
                    r.entry.user,
                    r.entry.key.clone(),
                    r.fingerprint.clone(),
                    r.entry.id,
                )
            })
            .collect();
        let snapshot = Snapshot {
            next,
            settings: dump.settings,
            currency: dump.currency,
            users: dump.users,
            categories: dump.categories,
            products: dump.products,
            units: dump.units,
            carts: dump.carts,
            orders: dump.orders,
            checkout_keys: dump
                .checkouts
                .into_iter()
                .map(|c| (c.user, c.key, c.fingerprint, c.order))
                .collect(),
            entries: dump.entries.into_iter().map(|r| r.entry).collect(),
            ledger_keys,
            balances: dump
                .wallets
                .into_iter()
                .map(|w| (w.user, w.balance.balance.currency, w.balance))
                .collect(),
            holds: dump.holds,
            invoices: dump.invoices,
            charges: dump
                .charges
                .into_iter()
                .map(|c| (c.provider, c.charge_id, c.invoice))
                .collect(),
            dialogues: dump.dialogues,
            // Handled update ids matter for a day; a migrated store starts without them.
            processed_updates: Vec::new(),
            outbox: dump.outbox,
            audit: dump.audit,
            notice_kinds: dump
                .notice_kinds
                .into_iter()
                .map(|c| (c.user, c.kinds))
                .collect(),
            notice_keys: dump
                .notice_keys
                .into_iter()
                .map(|k| (k.key, k.at))
                .collect(),
            jobs: dump.jobs,
            // Like update ids, the answers of keyed requests matter for a day only.
            requests: Vec::new(),
            stages: Vec::new(),
        };
        State::from_snapshot(snapshot)
    }
}
