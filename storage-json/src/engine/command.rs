//! Commands: every state change as a value, so it can be written to a journal and replayed.

use serde::{Deserialize, Serialize};

use shopbot_core::Error;
use shopbot_core::audit::AuditRecord;
use shopbot_core::cart::{Cart, CartEdit};
use shopbot_core::catalog::{Category, NewCategory, NewProduct, Product, ProductPatch};
use shopbot_core::dialogue::Dialogue;
use shopbot_core::housekeeping::{Sweep, SweepReport};
use shopbot_core::idempotency::Fingerprint;
use shopbot_core::ids::{CategoryId, ChatId, InvoiceId, OutboxId, ProductId, UpdateId, UserId};
use shopbot_core::invoice::{Invoice, InvoiceEvent, NewInvoice, PaymentEvent, PaymentOutcome};
use shopbot_core::jobs::{JobRecord, JobRound};
use shopbot_core::money::Currency;
use shopbot_core::notice::{Notice, NoticeKinds};
use shopbot_core::order::{CheckoutOutcome, CheckoutRequest, RefundOutcome, RefundRequest};
use shopbot_core::outbox::{DeliveryOutcome, OutboxClaim, OutboxMessage};
use shopbot_core::ports::Settings;
use shopbot_core::stock::{ImportReport, OnDuplicate, StockImport, StockLine, StockRemoval};
use shopbot_core::text::CategoryName;
use shopbot_core::time::Timestamp;
use shopbot_core::user::{Role, User, UserProfile};
use shopbot_core::wallet::{LedgerEntry, LedgerRequest};

use super::State;
use super::requests::Answer;
use crate::request_key::RequestKey;

/// One state change, as a storage method was asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
#[allow(missing_docs)] // Each variant is the storage method of the same name.
pub enum Command {
    UpsertUser {
        profile: UserProfile,
        at: Timestamp,
    },
    SetRole {
        user: UserId,
        role: Role,
        audit: AuditRecord,
    },
    SetBanned {
        user: UserId,
        banned: bool,
        audit: AuditRecord,
    },
    SetMaintenance {
        on: bool,
        audit: AuditRecord,
    },
    AdoptCurrency {
        currency: Currency,
    },
    CreateCategory {
        new: NewCategory,
        audit: AuditRecord,
    },
    RenameCategory {
        id: CategoryId,
        name: CategoryName,
        audit: AuditRecord,
    },
    DeleteCategory {
        id: CategoryId,
        audit: AuditRecord,
    },
    CreateProduct {
        new: NewProduct,
        audit: AuditRecord,
    },
    UpdateProduct {
        id: ProductId,
        patch: ProductPatch,
        audit: AuditRecord,
    },
    DeleteProduct {
        id: ProductId,
        audit: AuditRecord,
    },
    ImportStock {
        import: StockImport,
        audit: AuditRecord,
    },
    RemoveStock {
        removal: StockRemoval,
        audit: AuditRecord,
    },
    WriteAudit {
        audit: AuditRecord,
    },
    EditCart {
        user: UserId,
        edit: CartEdit,
    },
    Checkout {
        request: CheckoutRequest,
    },
    Refund {
        request: RefundRequest,
        audit: AuditRecord,
    },
    PostLedgerEntry {
        request: LedgerRequest,
        audit: Option<AuditRecord>,
    },
    CreateInvoice {
        new: NewInvoice,
    },
    TransitionInvoice {
        id: InvoiceId,
        event: InvoiceEvent,
        at: Timestamp,
        audit: Option<AuditRecord>,
    },
    ApplyPayment {
        payment: PaymentEvent,
    },
    SaveDialogue {
        dialogue: Dialogue,
    },
    ClearDialogue {
        chat: ChatId,
        user: UserId,
    },
    MarkUpdate {
        update: UpdateId,
        at: Timestamp,
    },
    ClaimOutbox {
        claim: OutboxClaim,
    },
    CompleteOutbox {
        id: OutboxId,
        outcome: DeliveryOutcome,
    },
    SetNoticeKinds {
        user: UserId,
        kinds: NoticeKinds,
        audit: AuditRecord,
    },
    NotifyStaff {
        notice: Notice,
        key: String,
        at: Timestamp,
    },
    RecordJobRound {
        round: JobRound,
    },
    RequestJobRun {
        name: String,
        at: Timestamp,
    },
    Sweep {
        sweep: Sweep,
    },
    /// Opens a stage for a large import (see `engine::staging`).
    BeginStage {
        product: ProductId,
        on_duplicate: OnDuplicate,
        at: Timestamp,
    },
    /// Adds a chunk of lines to a stage.
    StageStock {
        stage: u64,
        lines: Vec<StockLine>,
    },
    /// Makes a stage's lines available units at once, writing `audit`.
    PublishStage {
        stage: u64,
        audit: AuditRecord,
    },
    /// Forgets a stage.
    DiscardStage {
        stage: u64,
    },
    /// Call `call` of the request named `key`, made at `at`: applies `inner` once and
    /// records its answer; a repeat gets the recorded answer (see `engine::requests`).
    /// `fingerprint` names what the call asked for, without times; `inner` is the call.
    Keyed {
        key: RequestKey,
        call: u32,
        at: Timestamp,
        fingerprint: Fingerprint,
        inner: Box<Command>,
    },
}

/// What a command returned. Serializable, because keyed calls record their answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "value")]
#[allow(missing_docs)] // Each variant carries the type of the same name.
pub enum Outcome {
    User(User),
    Settings(Settings),
    Currency(Currency),
    Category(Category),
    Product(Product),
    Import(ImportReport),
    Removed(u64),
    Cart(Cart),
    Checkout(CheckoutOutcome),
    Refund(RefundOutcome),
    Entry(LedgerEntry),
    Invoice(Invoice),
    Payment(PaymentOutcome),
    Outbox(Vec<OutboxMessage>),
    Marked(bool),
    NoticeKinds(NoticeKinds),
    Notified(u64),
    Job(JobRecord),
    Swept(SweepReport),
    /// The id of a stage opened.
    Stage(u64),
    Done,
    /// The answer of a keyed command: what the inner command returned, or its refusal.
    Keyed(Box<Answer>),
}

impl State {
    /// Applies one command: all of it, or (with an error) none of it.
    pub fn apply(&mut self, command: Command) -> Result<Outcome, Error> {
        Ok(match command {
            Command::UpsertUser { profile, at } => Outcome::User(self.upsert_user(profile, at)),
            Command::SetRole { user, role, audit } => {
                Outcome::User(self.set_role(user, role, audit)?)
            }
            Command::SetBanned {
                user,
                banned,
                audit,
            } => Outcome::User(self.set_banned(user, banned, audit)?),
            Command::SetMaintenance { on, audit } => {
                Outcome::Settings(self.set_maintenance(on, audit))
            }
            Command::AdoptCurrency { currency } => Outcome::Currency(self.adopt_currency(currency)),
            Command::CreateCategory { new, audit } => {
                Outcome::Category(self.create_category(new, audit)?)
            }
            Command::RenameCategory { id, name, audit } => {
                Outcome::Category(self.rename_category(id, name, audit)?)
            }
            Command::DeleteCategory { id, audit } => {
                self.delete_category(id, audit)?;
                Outcome::Done
            }
            Command::CreateProduct { new, audit } => {
                Outcome::Product(self.create_product(new, audit)?)
            }
            Command::UpdateProduct { id, patch, audit } => {
                Outcome::Product(self.update_product(id, patch, audit)?)
            }
            Command::DeleteProduct { id, audit } => {
                Outcome::Removed(self.delete_product(id, audit)?)
            }
            Command::ImportStock { import, audit } => {
                Outcome::Import(self.import_stock(import, audit)?)
            }
            Command::RemoveStock { removal, audit } => {
                Outcome::Removed(self.remove_stock(removal, audit)?)
            }
            Command::WriteAudit { audit } => {
                self.write_audit(Some(audit));
                Outcome::Done
            }
            Command::EditCart { user, edit } => Outcome::Cart(self.edit_cart(user, edit)?),
            Command::Checkout { request } => Outcome::Checkout(self.commit_checkout(request)?),
            Command::Refund { request, audit } => {
                Outcome::Refund(self.refund_order(request, audit)?)
            }
            Command::PostLedgerEntry { request, audit } => {
                Outcome::Entry(self.post_ledger_entry(request, audit)?)
            }
            Command::CreateInvoice { new } => Outcome::Invoice(self.create_invoice(new)?),
            Command::TransitionInvoice {
                id,
                event,
                at,
                audit,
            } => Outcome::Invoice(self.transition_invoice(id, event, at, audit)?),
            Command::ApplyPayment { payment } => Outcome::Payment(self.apply_payment(payment)?),
            Command::SaveDialogue { dialogue } => {
                self.save_dialogue(dialogue)?;
                Outcome::Done
            }
            Command::ClearDialogue { chat, user } => {
                self.clear_dialogue(chat, user);
                Outcome::Done
            }
            Command::MarkUpdate { update, at } => Outcome::Marked(self.mark_update(update, at)),
            Command::ClaimOutbox { claim } => Outcome::Outbox(self.claim_outbox(claim)),
            Command::CompleteOutbox { id, outcome } => {
                self.complete_outbox(id, outcome)?;
                Outcome::Done
            }
            Command::SetNoticeKinds { user, kinds, audit } => {
                Outcome::NoticeKinds(self.set_notice_kinds(user, kinds, audit)?)
            }
            Command::NotifyStaff { notice, key, at } => {
                Outcome::Notified(self.notify_staff(notice, key, at)?)
            }
            Command::RecordJobRound { round } => Outcome::Job(self.record_job_round(round)?),
            Command::RequestJobRun { name, at } => Outcome::Job(self.request_job_run(name, at)?),
            Command::Sweep { sweep } => Outcome::Swept(self.sweep(sweep)),
            Command::BeginStage {
                product,
                on_duplicate,
                at,
            } => Outcome::Stage(self.begin_stage(product, on_duplicate, at)?),
            Command::StageStock { stage, lines } => {
                self.stage_stock(stage, lines)?;
                Outcome::Done
            }
            Command::PublishStage { stage, audit } => {
                Outcome::Import(self.publish_stage(stage, audit)?)
            }
            Command::DiscardStage { stage } => {
                self.discard_stage(stage);
                Outcome::Done
            }
            Command::Keyed {
                key,
                call,
                at,
                fingerprint,
                inner,
            } => self.apply_keyed(key, call, at, fingerprint, *inner)?,
        })
    }
}
