//! # shopbot-storage-json
//!
//! shopbot's embedded store, the zero-setup default (`json:./shopbot-data`). One directory holds
//! an append-only journal of committed commands, a snapshot written by compaction, and a lock
//! file; see [`JsonStore::open`]. [`JsonStore::in_memory`] keeps the same engine in memory only,
//! for tests, demos and embedding. [`JsonStore::export_dump`] and [`JsonStore::import_dump`]
//! move a whole shop out of a store and into a new directory as a storage-neutral dump
//! (`shopbot migrate`). [`JsonStore::keyed`] gives a request that may be repeated (a command
//! forwarded to the running shop, retried after its connection dropped) a [`KeyedStore`]
//! through which it applies once. An import of more than [`STAGE_CHUNK_LINES`] lines is staged
//! in chunks and published at once (`staged_import`), so buyers are served while it runs.
//!
//! All state lives in one [`engine::State`] behind one lock: a command is applied whole under
//! the lock or not at all, which is what makes every storage invariant hold. Durability is
//! the journal's job: a command is answered only once its journal record is on disk.

#![warn(missing_docs)]

mod dump;
mod durable;
pub mod engine;
pub mod fs;
mod journal;
mod keyed;
mod lock;
mod recovery;
mod request_key;
mod snapshot_file;
mod staged_import;

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod keyed_tests;
#[cfg(test)]
mod sim_fs;
#[cfg(test)]
mod staged_import_tests;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use shopbot_core::audit::{AuditEntry, AuditRecord};
use shopbot_core::cart::{Cart, CartEdit};
use shopbot_core::catalog::{
    Category, NewCategory, NewProduct, Product, ProductFilter, ProductPatch,
};
use shopbot_core::dialogue::Dialogue;
use shopbot_core::housekeeping::{Sweep, SweepReport};
use shopbot_core::ids::{
    CategoryId, ChatId, InvoiceId, OrderId, OutboxId, ProductId, UpdateId, UserId,
};
use shopbot_core::invoice::{
    Invoice, InvoiceEvent, InvoiceFilter, NewInvoice, PaymentEvent, PaymentOutcome,
};
use shopbot_core::jobs::{JobRecord, JobRound};
use shopbot_core::money::Currency;
use shopbot_core::notice::{Notice, NoticeKinds, check_notice_key};
use shopbot_core::order::{
    CheckoutOutcome, CheckoutRequest, Order, OrderFilter, RefundOutcome, RefundRequest,
};
use shopbot_core::outbox::{DeliveryOutcome, OutboxClaim, OutboxMessage};
use shopbot_core::ports::{Page, Settings, Storage};
use shopbot_core::stock::{ImportReport, StockCounts, StockImport, StockRemoval, StockUnit};
use shopbot_core::text::{CategoryName, IdempotencyKey};
use shopbot_core::time::Timestamp;
use shopbot_core::user::{Role, User, UserProfile};
use shopbot_core::wallet::{Balance, LedgerEntry, LedgerRequest};
use shopbot_core::{Error, Result};

pub use dump::ImportError;
pub use durable::{Options, RecoveryReport};
pub use keyed::KeyedStore;
pub use request_key::RequestKey;
pub use snapshot_file::SnapshotError;
pub use staged_import::STAGE_CHUNK_LINES;

use durable::Durable;
use engine::{Command, Outcome, State};
use fs::{Fs, RealFs};

/// Why a store directory could not be opened. Each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process has the store open.
    #[error(
        "the store at {} is in use by another process{}: stop that process first, or use \
         another store directory",
        dir.display(),
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Locked {
        /// The store directory.
        dir: PathBuf,
        /// The process holding it, if it wrote its pid.
        pid: Option<u32>,
    },
    /// A journal record is damaged and valid records follow it.
    #[error(
        "journal {} is damaged at byte {offset} ({detail}); refusing to open so that no \
         committed data is dropped. Restore the store from a backup, or run `shopbot store \
         repair` to accept losing the records from that point on (it keeps the bytes it cuts \
         in files beside the journal)",
        file.display()
    )]
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// The byte offset of the damaged record.
        offset: u64,
        /// What is wrong there.
        detail: String,
    },
    /// The snapshot cannot be read.
    #[error("snapshot {} cannot be read: {error}{}", file.display(), match error {
        SnapshotError::Damaged(_) => ". Restore the store from a backup, or run `shopbot \
            store repair` to rebuild it from the previous snapshot and the journal",
        SnapshotError::Newer { .. } => "",
    })]
    Snapshot {
        /// The snapshot file.
        file: PathBuf,
        /// Why.
        error: SnapshotError,
    },
    /// The operating system refused a file operation.
    #[error("cannot use {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
}

/// The embedded store.
pub struct JsonStore {
    shared: Arc<Shared>,
    /// Whether dropping this handle waits for a background compaction: true for the store
    /// itself, false for the view a [`KeyedStore`] holds, whose drop must never block.
    owner: bool,
}

struct Shared {
    inner: Mutex<Inner>,
    durable: Option<Durable>,
    /// Opened to look only ([`JsonStore::open_read_only`]): every command is refused.
    read_only: bool,
    /// What a read-only open found on disk that opening for use would change.
    findings: Vec<String>,
    /// What opening for use changed.
    report: RecoveryReport,
    /// The shared lock of a read-only open.
    _shared_lock: Option<std::fs::File>,
    /// A compaction running in the background; joined before the store goes away.
    compaction: Mutex<Option<std::thread::JoinHandle<()>>>,
}

struct Inner {
    state: State,
    /// The sequence number of the last journal record (0 in memory).
    seq: u64,
}

impl JsonStore {
    /// A store that lives in memory only and forgets everything when dropped.
    pub fn in_memory() -> Self {
        JsonStore::with(State::new(), 0, None)
    }

    /// Opens the store in `dir`, creating it if needed, and recovers it: loads the snapshot,
    /// replays the journal, sets aside a torn last batch (a write cut short by a crash, never
    /// acknowledged: its bytes go to a file beside the journal, and a warning names it), and
    /// refuses to open on damage anywhere else. Tightens the modes of a store that other users
    /// could read, upgrades a store in an older format, and holds an exclusive lock on the
    /// directory until the store is dropped.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, OpenError> {
        JsonStore::open_with(dir, Options::default())
    }

    /// [`open`](Self::open) with tuning options.
    pub fn open_with(dir: impl AsRef<Path>, options: Options) -> Result<Self, OpenError> {
        JsonStore::open_locked(dir.as_ref(), options, recovery::Mode::Open)
    }

    /// Repairs the store in `dir`, which refused to open: cuts the journal at its first damage
    /// and sets aside everything from there on (each part in a file beside it, never deleted),
    /// and rebuilds a damaged snapshot from the previous one and the journal since it. Then
    /// opens it; [`recovery_report`](Self::recovery_report) says what was set aside. Records
    /// after the damage are lost from the store (they stay in the set-aside files).
    pub fn repair(dir: impl AsRef<Path>) -> Result<Self, OpenError> {
        JsonStore::open_locked(dir.as_ref(), Options::default(), recovery::Mode::Repair)
    }

    fn open_locked(dir: &Path, options: Options, mode: recovery::Mode) -> Result<Self, OpenError> {
        let io = |source| OpenError::Io {
            path: dir.to_path_buf(),
            source,
        };
        RealFs.create_dir_all(dir).map_err(io)?;
        for path in fs::tighten_modes(dir).map_err(io)? {
            tracing::warn!(
                file = %path.display(),
                "other users could read the store's {}; made it owner-only",
                path.display()
            );
        }
        let lock = lock::acquire(dir)?;
        JsonStore::recover(dir, Arc::new(RealFs), Some(lock), options, mode)
    }

    /// Whether `dir` holds a store (a snapshot or a journal segment), without creating,
    /// locking or changing anything. A missing directory holds none.
    pub fn exists(dir: impl AsRef<Path>) -> io::Result<bool> {
        let dir = dir.as_ref();
        if !dir.try_exists()? {
            return Ok(false);
        }
        durable::holds_store(&RealFs, dir)
    }

    /// Opens a store on another file system, without the directory lock: the caller
    /// guarantees that nothing else uses the directory. For fault-injection tests.
    pub fn open_on(fs: Arc<dyn Fs>, dir: &Path, options: Options) -> Result<Self, OpenError> {
        JsonStore::recover(dir, fs, None, options, recovery::Mode::Open)
    }

    /// Opens the store in `dir` to look at it only, changing no byte on disk: no lock file is
    /// created, nothing is set aside, tightened or upgraded, and every command is refused.
    /// What opening it for use would change is reported by [`check`](Self::check). Refused
    /// while another process has the store open for use.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Self, OpenError> {
        let dir = dir.as_ref();
        let lock = lock::acquire_shared(dir)?;
        let recovery = recovery::recover(&RealFs, dir, recovery::Mode::ReadOnly)?;
        let mut findings: Vec<String> = recovery
            .set_aside
            .iter()
            .map(|cut| {
                format!(
                    "journal {} is damaged from byte {} on ({}; {} record(s) recognisable), a \
                     write cut short: opening the store for use moves those bytes to {}",
                    cut.segment.display(),
                    cut.offset,
                    cut.detail,
                    cut.records,
                    cut.target().display()
                )
            })
            .collect();
        let loose = fs::loose_modes(dir).map_err(|source| OpenError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        findings.extend(loose.iter().map(|(path, mode)| {
            format!(
                "other users can read {}: opening the store for use makes it owner-only ({mode:o})",
                path.display()
            )
        }));
        let mut store = JsonStore::with(recovery.state, recovery.seq, None);
        if let Some(shared) = Arc::get_mut(&mut store.shared) {
            shared.read_only = true;
            shared.findings = findings;
            shared._shared_lock = lock;
        }
        Ok(store)
    }

    fn recover(
        dir: &Path,
        fs: Arc<dyn Fs>,
        lock: Option<std::fs::File>,
        options: Options,
        mode: recovery::Mode,
    ) -> Result<Self, OpenError> {
        let recovered = Durable::open(dir, fs, lock, options, mode)?;
        let upgrade = recovered.legacy || recovered.report.damaged_snapshot.is_some();
        let mut store = JsonStore::with(recovered.state, recovered.seq, Some(recovered.durable));
        if let Some(shared) = Arc::get_mut(&mut store.shared) {
            shared.report = recovered.report;
        }
        if upgrade {
            // A store in the older format, or rebuilt from its previous snapshot, gets a
            // current snapshot (with this store's identity) before anyone uses it.
            store.compact_now().map_err(|e| OpenError::Io {
                path: dir.to_path_buf(),
                source: io::Error::other(e.to_string()),
            })?;
            tracing::info!(dir = %dir.display(), "wrote a new snapshot of the store (format 2)");
        }
        Ok(store)
    }

    fn with(state: State, seq: u64, durable: Option<Durable>) -> Self {
        JsonStore {
            owner: true,
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner { state, seq }),
                durable,
                read_only: false,
                findings: Vec::new(),
                report: RecoveryReport::default(),
                _shared_lock: None,
                compaction: Mutex::new(None),
            }),
        }
    }

    /// What opening the store had to set aside or rebuild; empty when it opened clean.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.shared.report
    }

    /// Writes a snapshot now, on this thread.
    fn compact_now(&self) -> Result<()> {
        let Some(durable) = &self.shared.durable else {
            return Ok(());
        };
        if !durable.claim_compaction() {
            return Err(Error::internal_msg("a compaction is already running"));
        }
        self.shared.compact()
    }

    /// Writes a consistent copy of the committed state into `dir` (which must not hold a
    /// store yet) while the store stays open. The copy is itself a store directory.
    pub async fn backup(&self, dir: impl AsRef<Path>) -> Result<()> {
        let (snapshot, seq) = {
            let inner = self.shared.lock()?;
            // A copy is a store of its own, with its own identity.
            let bytes = snapshot_file::encode(
                &inner.state.to_snapshot(),
                inner.seq,
                journal::StoreId::random(),
            )
            .map_err(Error::internal)?;
            (bytes, inner.seq)
        };
        self.shared.wait_durable(seq).await?;
        durable::write_backup(&RealFs, dir.as_ref(), &snapshot).map_err(Error::internal)
    }

    /// Every problem of the store, described; empty when the store is sound: every broken
    /// invariant of the stored state and, for a store opened read-only, what is wrong on disk
    /// (a damaged last batch, files other users can read).
    pub async fn check(&self) -> Result<Vec<String>> {
        let mut problems = self.shared.findings.clone();
        problems.extend(self.read_durable(State::check).await?);
        Ok(problems)
    }

    /// Closes the store cleanly: writes a snapshot (so the next open replays nothing) and
    /// stops the journal writer. Further calls fail. Blocks while the snapshot is written.
    pub async fn close(&self) -> Result<()> {
        let Some(durable) = &self.shared.durable else {
            return Ok(());
        };
        durable.check()?;
        // One snapshot at a time: wait out a background compaction, then claim the next.
        loop {
            let running = self
                .shared
                .compaction
                .lock()
                .ok()
                .and_then(|mut h| h.take());
            if let Some(handle) = running {
                let _ = handle.join();
            }
            if durable.claim_compaction() {
                break;
            }
            std::thread::yield_now();
        }
        let begun = self.shared.lock().and_then(|inner| {
            let snapshot = durable.begin_compaction(&inner.state, inner.seq)?;
            Ok((snapshot, inner.seq))
        });
        let result = match begun {
            Ok((snapshot, seq)) => match durable.wait_durable(seq).await {
                Ok(()) => durable.finish_compaction(&snapshot, seq),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if result.is_err() {
            durable.release_compaction();
        }
        result?;
        durable.stop();
        Ok(())
    }

    async fn execute(&self, command: Command) -> Result<Outcome> {
        let shared = &self.shared;
        if shared.read_only {
            return Err(Error::internal_msg("the store is open read-only"));
        }
        let (outcome, seq) = {
            let mut inner = shared.lock()?;
            // A repeated keyed call changes nothing: it is answered, once what it answers
            // with is durable, without a journal record.
            if let Some(recorded) = inner.state.replay(&command)? {
                (recorded, inner.seq)
            } else {
                let record = match &shared.durable {
                    Some(durable) => {
                        durable.check()?;
                        Some(journal::encode(inner.seq + 1, &command).map_err(Error::internal)?)
                    }
                    None => None,
                };
                let outcome = inner.state.apply(command)?;
                if let (Some(durable), Some(record)) = (&shared.durable, record) {
                    inner.seq += 1;
                    durable.submit(inner.seq, record)?;
                }
                (outcome, inner.seq)
            }
        };
        if shared.durable.as_ref().is_some_and(Durable::should_compact) {
            let background = Arc::clone(shared);
            let handle = std::thread::spawn(move || {
                if let Err(e) = background.compact() {
                    tracing::error!(error = ?e, "compaction failed");
                }
            });
            if let Ok(mut slot) = shared.compaction.lock() {
                // The previous compaction has finished: `should_compact` claimed this one only
                // after it did.
                *slot = Some(handle);
            }
        }
        shared.wait_durable(seq).await?;
        Ok(outcome)
    }

    /// The recorded answer of call `call` of request `key`, if it was made with `fingerprint`
    /// (`Conflict` if it was made with another), once that answer is durable.
    async fn recorded_answer(
        &self,
        key: &RequestKey,
        call: u32,
        fingerprint: &shopbot_core::idempotency::Fingerprint,
    ) -> Result<Option<Outcome>> {
        let (answer, seq) = {
            let inner = self.shared.lock()?;
            (inner.state.recorded(key, call, fingerprint)?, inner.seq)
        };
        self.shared.wait_durable(seq).await?;
        Ok(answer)
    }

    /// Reads the state as applied. It may include commands whose records are not durable
    /// yet; those commands' own callers are answered only once they are.
    async fn read<T>(&self, query: impl FnOnce(&State) -> T) -> Result<T> {
        let inner = self.shared.lock()?;
        Ok(query(&inner.state))
    }

    /// Reads the state and answers once everything the read could see is durable: for reads
    /// that acknowledge a commit to their caller.
    async fn read_durable<T>(&self, query: impl FnOnce(&State) -> T) -> Result<T> {
        let (value, seq) = {
            let inner = self.shared.lock()?;
            (query(&inner.state), inner.seq)
        };
        self.shared.wait_durable(seq).await?;
        Ok(value)
    }
}

impl Drop for JsonStore {
    /// Waits for a background compaction, so that once the store is gone nothing touches its
    /// directory any more.
    fn drop(&mut self) {
        if !self.owner {
            return;
        }
        let handle = self
            .shared
            .compaction
            .lock()
            .ok()
            .and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        // A poisoned lock means a command panicked half-way: refuse rather than serve a state
        // that may break an invariant.
        self.inner
            .lock()
            .map_err(|_| Error::internal_msg("the store's state lock is poisoned"))
    }

    async fn wait_durable(&self, seq: u64) -> Result<()> {
        match &self.durable {
            Some(durable) => durable.wait_durable(seq).await,
            None => Ok(()),
        }
    }

    /// Snapshot and journal rotation, run on its own thread when the journal has grown. The
    /// caller has claimed the compaction.
    fn compact(&self) -> Result<()> {
        let Some(durable) = &self.durable else {
            return Ok(());
        };
        let begun = self.lock().and_then(|inner| {
            let snapshot = durable.begin_compaction(&inner.state, inner.seq)?;
            Ok((snapshot, inner.seq))
        });
        let result = begun.and_then(|(snapshot, seq)| {
            durable.wait_durable_blocking(seq)?;
            durable.finish_compaction(&snapshot, seq)
        });
        if result.is_err() {
            durable.release_compaction();
        }
        result
    }
}

/// Unwraps the outcome variant a command is known to return.
macro_rules! outcome {
    ($outcome:expr, $variant:ident) => {
        match $outcome? {
            Outcome::$variant(value) => Ok(value),
            other => Err(Error::internal_msg(format!(
                "expected {} outcome, got {other:?}",
                stringify!($variant)
            ))),
        }
    };
}

#[async_trait]
impl Storage for JsonStore {
    async fn upsert_user(&self, profile: UserProfile, at: Timestamp) -> Result<User> {
        outcome!(
            self.execute(Command::UpsertUser { profile, at }).await,
            User
        )
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        self.read(|s| s.user(id)).await
    }

    async fn users(&self, page: Page) -> Result<Vec<User>> {
        self.read(|s| s.users(page)).await
    }

    async fn set_role(&self, user: UserId, role: Role, audit: AuditRecord) -> Result<User> {
        outcome!(
            self.execute(Command::SetRole { user, role, audit }).await,
            User
        )
    }

    async fn set_banned(&self, user: UserId, banned: bool, audit: AuditRecord) -> Result<User> {
        let command = Command::SetBanned {
            user,
            banned,
            audit,
        };
        outcome!(self.execute(command).await, User)
    }

    async fn settings(&self) -> Result<Settings> {
        self.read(|s| s.settings()).await
    }

    async fn set_maintenance(&self, on: bool, audit: AuditRecord) -> Result<Settings> {
        outcome!(
            self.execute(Command::SetMaintenance { on, audit }).await,
            Settings
        )
    }

    async fn shop_currency(&self) -> Result<Option<Currency>> {
        self.read(State::shop_currency).await
    }

    async fn adopt_currency(&self, currency: Currency) -> Result<Currency> {
        // A shop that has its currency changes nothing: answer without a journal record.
        if let Some(recorded) = self.read_durable(State::shop_currency).await? {
            return Ok(recorded);
        }
        outcome!(
            self.execute(Command::AdoptCurrency { currency }).await,
            Currency
        )
    }

    async fn create_category(&self, new: NewCategory, audit: AuditRecord) -> Result<Category> {
        outcome!(
            self.execute(Command::CreateCategory { new, audit }).await,
            Category
        )
    }

    async fn categories(&self) -> Result<Vec<Category>> {
        self.read(|s| s.categories()).await
    }

    async fn rename_category(
        &self,
        id: CategoryId,
        name: CategoryName,
        audit: AuditRecord,
    ) -> Result<Category> {
        outcome!(
            self.execute(Command::RenameCategory { id, name, audit })
                .await,
            Category
        )
    }

    async fn delete_category(&self, id: CategoryId, audit: AuditRecord) -> Result<()> {
        self.execute(Command::DeleteCategory { id, audit })
            .await
            .map(drop)
    }

    async fn create_product(&self, new: NewProduct, audit: AuditRecord) -> Result<Product> {
        outcome!(
            self.execute(Command::CreateProduct { new, audit }).await,
            Product
        )
    }

    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        audit: AuditRecord,
    ) -> Result<Product> {
        let command = Command::UpdateProduct { id, patch, audit };
        outcome!(self.execute(command).await, Product)
    }

    async fn delete_product(&self, id: ProductId, audit: AuditRecord) -> Result<u64> {
        outcome!(
            self.execute(Command::DeleteProduct { id, audit }).await,
            Removed
        )
    }

    async fn product(&self, id: ProductId) -> Result<Option<Product>> {
        self.read(|s| s.product(id)).await
    }

    async fn products(&self, filter: ProductFilter) -> Result<Vec<Product>> {
        self.read(|s| s.products(filter)).await
    }

    async fn import_stock(&self, import: StockImport, audit: AuditRecord) -> Result<ImportReport> {
        if import.lines.len() > STAGE_CHUNK_LINES {
            let publish = async |stage, audit| {
                outcome!(
                    self.execute(Command::PublishStage { stage, audit }).await,
                    Import
                )
            };
            return self
                .import_staged(import, audit, publish, async |_| {})
                .await;
        }
        outcome!(
            self.execute(Command::ImportStock { import, audit }).await,
            Import
        )
    }

    async fn stock_counts(&self, product: ProductId) -> Result<StockCounts> {
        self.read(|s| s.stock_counts(product)).await
    }

    async fn stock_units(&self, product: ProductId) -> Result<Vec<StockUnit>> {
        self.read(|s| s.stock_units(product)).await
    }

    async fn remove_stock(&self, removal: StockRemoval, audit: AuditRecord) -> Result<u64> {
        outcome!(
            self.execute(Command::RemoveStock { removal, audit }).await,
            Removed
        )
    }

    async fn cart(&self, user: UserId) -> Result<Cart> {
        self.read(|s| s.cart(user)).await
    }

    async fn edit_cart(&self, user: UserId, edit: CartEdit) -> Result<Cart> {
        outcome!(self.execute(Command::EditCart { user, edit }).await, Cart)
    }

    async fn commit_checkout(&self, request: CheckoutRequest) -> Result<CheckoutOutcome> {
        outcome!(self.execute(Command::Checkout { request }).await, Checkout)
    }

    async fn checkout_by_key(&self, user: UserId, key: IdempotencyKey) -> Result<Option<Order>> {
        self.read_durable(|s| s.checkout_by_key(user, key)).await
    }

    async fn order(&self, id: OrderId) -> Result<Option<Order>> {
        self.read(|s| s.order(id)).await
    }

    async fn orders(&self, filter: OrderFilter) -> Result<Vec<Order>> {
        self.read(|s| s.orders(filter)).await
    }

    async fn refund_order(
        &self,
        request: RefundRequest,
        audit: AuditRecord,
    ) -> Result<RefundOutcome> {
        outcome!(
            self.execute(Command::Refund { request, audit }).await,
            Refund
        )
    }

    async fn post_ledger_entry(
        &self,
        request: LedgerRequest,
        audit: Option<AuditRecord>,
    ) -> Result<LedgerEntry> {
        let command = Command::PostLedgerEntry { request, audit };
        outcome!(self.execute(command).await, Entry)
    }

    async fn balance(&self, user: UserId, currency: Currency) -> Result<Balance> {
        self.read(|s| s.balance(user, currency)).await
    }

    async fn ledger(&self, user: UserId, page: Page) -> Result<Vec<LedgerEntry>> {
        self.read(|s| s.ledger(user, page)).await
    }

    async fn create_invoice(&self, new: NewInvoice) -> Result<Invoice> {
        outcome!(self.execute(Command::CreateInvoice { new }).await, Invoice)
    }

    async fn invoice(&self, id: InvoiceId) -> Result<Option<Invoice>> {
        self.read(|s| s.invoice(id)).await
    }

    async fn invoices(&self, filter: InvoiceFilter) -> Result<Vec<Invoice>> {
        self.read(|s| s.invoices(filter)).await
    }

    async fn transition_invoice(
        &self,
        id: InvoiceId,
        event: InvoiceEvent,
        at: Timestamp,
        audit: Option<AuditRecord>,
    ) -> Result<Invoice> {
        let command = Command::TransitionInvoice {
            id,
            event,
            at,
            audit,
        };
        outcome!(self.execute(command).await, Invoice)
    }

    async fn apply_payment(&self, payment: PaymentEvent) -> Result<PaymentOutcome> {
        outcome!(
            self.execute(Command::ApplyPayment { payment }).await,
            Payment
        )
    }

    async fn dialogue(
        &self,
        chat: ChatId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Option<Dialogue>> {
        self.read(|s| s.dialogue(chat, user, now)).await
    }

    async fn save_dialogue(&self, dialogue: Dialogue) -> Result<()> {
        self.execute(Command::SaveDialogue { dialogue })
            .await
            .map(drop)
    }

    async fn clear_dialogue(&self, chat: ChatId, user: UserId) -> Result<()> {
        self.execute(Command::ClearDialogue { chat, user })
            .await
            .map(drop)
    }

    async fn mark_update_processed(&self, update: UpdateId, at: Timestamp) -> Result<bool> {
        outcome!(
            self.execute(Command::MarkUpdate { update, at }).await,
            Marked
        )
    }

    async fn claim_outbox(&self, claim: OutboxClaim) -> Result<Vec<OutboxMessage>> {
        outcome!(self.execute(Command::ClaimOutbox { claim }).await, Outbox)
    }

    async fn complete_outbox(&self, id: OutboxId, outcome: DeliveryOutcome) -> Result<()> {
        self.execute(Command::CompleteOutbox { id, outcome })
            .await
            .map(drop)
    }

    async fn audit_log(&self, page: Page) -> Result<Vec<AuditEntry>> {
        self.read(|s| s.audit_log(page)).await
    }

    async fn write_audit(&self, audit: AuditRecord) -> Result<()> {
        self.execute(Command::WriteAudit { audit }).await.map(drop)
    }

    async fn notice_kinds(&self, user: UserId) -> Result<NoticeKinds> {
        self.read(|s| s.notice_kinds(user)).await
    }

    async fn set_notice_kinds(
        &self,
        user: UserId,
        kinds: NoticeKinds,
        audit: AuditRecord,
    ) -> Result<NoticeKinds> {
        let command = Command::SetNoticeKinds { user, kinds, audit };
        outcome!(self.execute(command).await, NoticeKinds)
    }

    async fn notify_staff(&self, notice: Notice, key: String, at: Timestamp) -> Result<u64> {
        // A notice raised again (the common case: a redelivered event) changes nothing, so it
        // is answered without a journal record once the key's first use is durable.
        check_notice_key(&key)?;
        if self.read_durable(|s| s.knows_notice_key(&key)).await? {
            return Ok(0);
        }
        let command = Command::NotifyStaff { notice, key, at };
        outcome!(self.execute(command).await, Notified)
    }

    async fn record_job_round(&self, round: JobRound) -> Result<JobRecord> {
        outcome!(self.execute(Command::RecordJobRound { round }).await, Job)
    }

    async fn job_records(&self) -> Result<Vec<JobRecord>> {
        self.read(State::job_records).await
    }

    async fn request_job_run(&self, name: String, at: Timestamp) -> Result<JobRecord> {
        outcome!(self.execute(Command::RequestJobRun { name, at }).await, Job)
    }

    async fn sweep(&self, sweep: Sweep) -> Result<SweepReport> {
        outcome!(self.execute(Command::Sweep { sweep }).await, Swept)
    }
}
