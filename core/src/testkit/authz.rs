//! Authorization: every staff operation checks its permission on every call, and a refusal
//! changes nothing. Ranks, bans and maintenance mode are in [`access`](super::access).

use std::sync::Arc;

use super::{OWNER, TestShop, key, note, qty, usd};
use crate::catalog::ProductPatch;
use crate::error::{Error, Forbidden, Result};
use crate::ids::{InvoiceId, OrderId, ProductId, UserId};
use crate::invoice::{InvoiceFilter, InvoiceLine, TaxRate};
use crate::order::OrderFilter;
use crate::ports::{Page, Storage};
use crate::stock::{OnDuplicate, StockLine};
use crate::text::{CategoryName, StockPayload};
use crate::user::{Permission, Role};

/// Every operation of `AdminService` and every staff operation of `InvoiceService`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StaffOp {
    CreateCategory,
    CreateProduct,
    UpdateProduct,
    ListProducts,
    ImportStockText,
    ImportStock,
    StockLevels,
    LowStock,
    ListUsers,
    ShowUser,
    Ban,
    Unban,
    SetRole,
    AdjustWallet,
    Maintenance,
    ListOrders,
    ShowOrder,
    RefundOrder,
    AuditLog,
    CreateInvoice,
    ListInvoices,
    ShowInvoice,
    VoidInvoice,
    MarkInvoicePaid,
}

impl StaffOp {
    const ALL: [StaffOp; 24] = [
        StaffOp::CreateCategory,
        StaffOp::CreateProduct,
        StaffOp::UpdateProduct,
        StaffOp::ListProducts,
        StaffOp::ImportStockText,
        StaffOp::ImportStock,
        StaffOp::StockLevels,
        StaffOp::LowStock,
        StaffOp::ListUsers,
        StaffOp::ShowUser,
        StaffOp::Ban,
        StaffOp::Unban,
        StaffOp::SetRole,
        StaffOp::AdjustWallet,
        StaffOp::Maintenance,
        StaffOp::ListOrders,
        StaffOp::ShowOrder,
        StaffOp::RefundOrder,
        StaffOp::AuditLog,
        StaffOp::CreateInvoice,
        StaffOp::ListInvoices,
        StaffOp::ShowInvoice,
        StaffOp::VoidInvoice,
        StaffOp::MarkInvoicePaid,
    ];

    fn permission(self) -> Permission {
        use StaffOp::*;
        match self {
            CreateCategory | CreateProduct | UpdateProduct => Permission::ManageCatalog,
            ImportStockText | ImportStock => Permission::ManageStock,
            ListProducts | StockLevels | LowStock => Permission::ViewStock,
            ListUsers | ShowUser => Permission::ViewUsers,
            Ban | Unban => Permission::ModerateUsers,
            SetRole => Permission::ManageRoles,
            AdjustWallet => Permission::AdjustWallets,
            Maintenance => Permission::Maintenance,
            ListOrders | ShowOrder | ListInvoices | ShowInvoice => Permission::ViewOrders,
            RefundOrder => Permission::RefundOrders,
            AuditLog => Permission::ViewAudit,
            CreateInvoice | VoidInvoice | MarkInvoicePaid => Permission::ManageInvoices,
        }
    }

    fn only_reads(self) -> bool {
        use StaffOp::*;
        matches!(
            self,
            ListProducts
                | StockLevels
                | LowStock
                | ListUsers
                | ShowUser
                | ListOrders
                | ShowOrder
                | AuditLog
                | ListInvoices
                | ShowInvoice
        )
    }
}

/// A shop with something for every operation to act on.
struct World {
    t: TestShop,
    target: UserId,
    banned_target: UserId,
    product: ProductId,
    order: OrderId,
    invoice_to_void: InvoiceId,
    invoice_to_pay: InvoiceId,
}

fn line(minor: i64) -> InvoiceLine {
    InvoiceLine {
        description: note("Matrix line"),
        quantity: qty(1),
        unit_price: usd(minor),
    }
}

async fn world(store: Arc<dyn Storage>) -> World {
    let t = TestShop::new(store).await;
    let category = t.category("Matrix shelf").await;
    let mut draft = TestShop::draft("Matrix key", 300);
    draft.category = Some(category.id);
    let product = t.create_product(draft).await.id;
    let mut hidden = TestShop::draft("Matrix secret", 900);
    hidden.hidden = true;
    t.create_product(hidden).await;
    t.keys(product, "MATRIX", 5).await;
    let target = t.customer(100).await;
    t.fund(target, 5_000).await;
    let order = t.buy(target, product, 1).await.id;
    let banned_target = t.customer(101).await;
    t.ban(banned_target).await;
    let invoices = t.shop.invoices();
    let mut open = Vec::new();
    for minor in [700, 800] {
        let invoice = invoices
            .create(OWNER, target, vec![line(minor)], TaxRate::ZERO, None)
            .await
            .unwrap();
        open.push(invoice.id);
    }
    World {
        t,
        target,
        banned_target,
        product,
        order,
        invoice_to_void: open[0],
        invoice_to_pay: open[1],
    }
}

/// Forgets what an operation returned.
fn done<T>(_: T) {}

async fn perform(w: &World, actor: UserId, op: StaffOp) -> Result<()> {
    let admin = w.t.shop.admin();
    let invoices = w.t.shop.invoices();
    match op {
        StaffOp::CreateCategory => {
            let name = CategoryName::parse("Matrix extra shelf")?;
            admin.create_category(actor, name).await.map(done)
        }
        StaffOp::CreateProduct => {
            let draft = TestShop::draft("Matrix extra", 100);
            admin.create_product(actor, draft).await.map(done)
        }
        StaffOp::UpdateProduct => {
            let patch = ProductPatch {
                price: Some(usd(1)),
                ..ProductPatch::default()
            };
            admin
                .update_product(actor, w.product, patch)
                .await
                .map(done)
        }
        StaffOp::ListProducts => admin.products(actor).await.map(done),
        StaffOp::ImportStockText => admin
            .import_stock_text(actor, w.product, "MATRIX-EXTRA-1", OnDuplicate::Refuse)
            .await
            .map(done),
        StaffOp::ImportStock => {
            let lines = vec![StockLine {
                line: 1,
                payload: StockPayload::parse("MATRIX-EXTRA-2")?,
            }];
            admin
                .import_stock(actor, w.product, lines, OnDuplicate::Refuse)
                .await
                .map(done)
        }
        StaffOp::StockLevels => admin.stock_levels(actor).await.map(done),
        StaffOp::LowStock => admin.low_stock(actor, 10).await.map(done),
        StaffOp::ListUsers => admin.users(actor, Page::first(100)).await.map(done),
        StaffOp::ShowUser => admin.user(actor, w.target).await.map(done),
        StaffOp::Ban => admin.set_banned(actor, w.target, true).await.map(done),
        StaffOp::Unban => admin
            .set_banned(actor, w.banned_target, false)
            .await
            .map(done),
        StaffOp::SetRole => admin.set_role(actor, w.target, Role::Admin).await.map(done),
        StaffOp::AdjustWallet => admin
            .adjust_wallet(
                actor,
                w.target,
                usd(100),
                note("matrix credit"),
                key("matrix-adjust"),
            )
            .await
            .map(done),
        StaffOp::Maintenance => admin.set_maintenance(actor, true).await.map(done),
        StaffOp::ListOrders => admin.orders(actor, OrderFilter::default()).await.map(done),
        StaffOp::ShowOrder => admin.order(actor, w.order).await.map(done),
        StaffOp::RefundOrder => admin.refund_order(actor, w.order).await.map(done),
        StaffOp::AuditLog => admin.audit_log(actor, Page::first(10)).await.map(done),
        StaffOp::CreateInvoice => invoices
            .create(actor, w.target, vec![line(900)], TaxRate::ZERO, None)
            .await
            .map(done),
        StaffOp::ListInvoices => invoices
            .list(actor, InvoiceFilter::default())
            .await
            .map(done),
        StaffOp::ShowInvoice => invoices.show(actor, w.invoice_to_pay).await.map(done),
        StaffOp::VoidInvoice => invoices.void(actor, w.invoice_to_void).await.map(done),
        StaffOp::MarkInvoicePaid => invoices
            .mark_paid(actor, w.invoice_to_pay, note("matrix bank ref"))
            .await
            .map(done),
    }
}

/// Every staff operation, tried by a customer, a banned admin, a support agent (where support
/// lacks the permission) and a stranger the shop never saw, is `Forbidden` with the right
/// reason and changes nothing at all: products (hidden too), categories, stock, users,
/// wallets, carts, orders, invoices, settings and the audit log read the same before and after.
/// Support's read-only permissions work. Finally the owner performs every operation, which
/// proves each refusal was about permission alone.
pub async fn staff_operations_without_permission_are_forbidden_and_change_nothing(
    store: Arc<dyn Storage>,
) {
    let w = world(store).await;
    let customer = w.t.customer(20).await;
    let banned_admin = w.t.staff(21, Role::Admin).await;
    w.t.ban(banned_admin).await;
    let support = w.t.staff(22, Role::Support).await;
    let stranger = UserId(23);

    for op in StaffOp::ALL {
        let permission = op.permission();
        let support_may = Role::Support.allows(permission);
        let actors = [
            ("customer", customer, Some(Forbidden::Missing(permission))),
            ("banned admin", banned_admin, Some(Forbidden::Banned)),
            (
                "support",
                support,
                (!support_may).then_some(Forbidden::Missing(permission)),
            ),
            ("stranger", stranger, Some(Forbidden::UnknownUser)),
        ];
        for (who, actor, refusal) in actors {
            if refusal.is_none() && !op.only_reads() {
                continue; // support may ban and unban; that is tested with ranks
            }
            let before = w.t.snapshot().await;
            let result = perform(&w, actor, op).await;
            match (&refusal, &result) {
                (Some(expected), Err(Error::Forbidden(got))) if got == expected => {}
                (None, Ok(())) => {}
                _ => panic!("{op:?} by {who}: expected {refusal:?}, got {result:?}"),
            }
            assert_eq!(
                w.t.snapshot().await,
                before,
                "{op:?} by {who} changed something"
            );
        }
    }

    for op in StaffOp::ALL {
        let result = perform(&w, OWNER, op).await;
        assert!(result.is_ok(), "the owner may {op:?}: {result:?}");
    }
}
