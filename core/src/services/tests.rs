//! Service rules that a real store would hide: what is refused before storage is touched.
//! Mocks without an expectation for a storage command fail the test if it is called.

use std::sync::Arc;

use mockall::predicate::eq;

use super::*;
use crate::catalog::{ProductDraft, ProductKind};
use crate::error::{Error, Forbidden};
use crate::ids::{InvoiceId, OrderId};
use crate::invoice::{Invoice, InvoiceEvent, InvoicePurpose, InvoiceStatus, TaxRate, Totals};
use crate::money::{Currency, Money};
use crate::order::{Order, OrderPayment, OrderStatus};
use crate::ports::{MockStorage, Settings};
use crate::text::{Description, IdempotencyKey, PersonName, ProductName};
use crate::time::Timestamp;
use crate::user::{Permission, Role};
use crate::wallet::LedgerOp;

const OWNER: UserId = UserId(1);
const CUSTOMER: UserId = UserId(2);
const NOW: Timestamp = Timestamp(1_000_000);

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        NOW
    }
}

fn user(id: UserId, role: Role, banned: bool) -> User {
    User {
        id,
        name: PersonName::lenient("someone"),
        role,
        banned,
        created_at: Timestamp(0),
    }
}

/// A mock that knows one user with `role`, and the shop's settings.
fn storage_with(id: UserId, role: Role, banned: bool, maintenance: bool) -> MockStorage {
    let mut storage = MockStorage::new();
    storage
        .expect_user()
        .with(eq(id))
        .returning(move |id| Ok(Some(user(id, role, banned))));
    storage
        .expect_settings()
        .returning(move || Ok(Settings { maintenance }));
    storage
}

fn shop(storage: MockStorage) -> Shop {
    let config = ShopConfig {
        owners: [OWNER].into(),
        ..ShopConfig::default()
    };
    Shop::new(Arc::new(storage), Arc::new(FixedClock), config)
}

fn draft(price: i64) -> ProductDraft {
    ProductDraft {
        category: None,
        name: ProductName::parse("Game key").unwrap(),
        description: Description::parse("").unwrap(),
        kind: ProductKind::Key,
        price: Money::new(price, Currency::USD),
        hidden: false,
        image: None,
    }
}

fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).unwrap()
}

#[tokio::test]
async fn a_customer_cannot_create_a_product_and_storage_is_never_asked() {
    let shop = shop(storage_with(CUSTOMER, Role::Customer, false, false));
    let result = shop.admin().create_product(CUSTOMER, draft(100)).await;
    assert!(matches!(
        result,
        Err(Error::Forbidden(Forbidden::Missing(
            Permission::ManageCatalog
        )))
    ));
}

#[tokio::test]
async fn a_banned_admin_can_do_nothing() {
    let shop = shop(storage_with(UserId(5), Role::Admin, true, false));
    let result = shop.admin().set_maintenance(UserId(5), true).await;
    assert!(matches!(result, Err(Error::Forbidden(Forbidden::Banned))));
}

#[tokio::test]
async fn a_configured_owner_is_an_owner_whatever_the_stored_role() {
    let mut storage = storage_with(OWNER, Role::Customer, false, false);
    storage
        .expect_set_maintenance()
        .times(1)
        .returning(|on, audit| {
            assert_eq!(audit.actor, OWNER);
            Ok(Settings { maintenance: on })
        });
    let settings = shop(storage).admin().set_maintenance(OWNER, true).await;
    assert_eq!(settings.ok(), Some(Settings { maintenance: true }));
}

#[tokio::test]
async fn a_price_outside_the_limits_is_refused_before_storage() {
    let shop = shop(storage_with(OWNER, Role::Owner, false, false));
    for price in [0, -100, 100_000_001] {
        let result = shop.admin().create_product(OWNER, draft(price)).await;
        assert!(matches!(result, Err(Error::Invalid(_))), "price {price}");
    }
}

#[tokio::test]
async fn maintenance_turns_customers_away_before_their_cart_changes() {
    let shop = shop(storage_with(CUSTOMER, Role::Customer, false, true));
    let result = shop.cart().clear(CUSTOMER).await;
    assert!(matches!(result, Err(Error::Maintenance)));
}

#[tokio::test]
async fn staff_keep_working_in_maintenance() {
    let mut storage = storage_with(UserId(3), Role::Support, false, true);
    storage
        .expect_edit_cart()
        .times(1)
        .returning(|user, _| Ok(crate::cart::Cart::empty(user)));
    let result = shop(storage).cart().clear(UserId(3)).await;
    assert!(result.is_ok());
}

fn order_for_version(version: u64) -> Order {
    Order {
        id: OrderId(7),
        user: CUSTOMER,
        lines: Vec::new(),
        total: Money::new(100, Currency::USD),
        status: OrderStatus::Paid,
        payment: OrderPayment::Wallet,
        key: key("tap-1"),
        cart_version: Some(version),
        created_at: NOW,
    }
}

fn storage_with_cart_version(version: u64) -> MockStorage {
    let mut storage = storage_with(CUSTOMER, Role::Customer, false, false);
    storage.expect_cart().returning(move |user| {
        let mut cart = crate::cart::Cart::empty(user);
        cart.version = version;
        Ok(cart)
    });
    storage
}

#[tokio::test]
async fn a_second_tap_after_the_first_committed_replays_the_same_order() {
    let mut storage = storage_with_cart_version(4);
    storage
        .expect_checkout_by_key()
        .with(eq(CUSTOMER), eq(key("tap-1")))
        .returning(|_, _| Ok(Some(order_for_version(3))));
    let order = shop(storage)
        .checkout()
        .buy_cart(CUSTOMER, 3, key("tap-1"), PayWith::Wallet)
        .await;
    assert_eq!(
        order.map(|o| (o.order.id, o.replayed)).ok(),
        Some((OrderId(7), true))
    );
}

#[tokio::test]
async fn a_stale_cart_version_without_a_recorded_checkout_buys_nothing() {
    let mut storage = storage_with_cart_version(4);
    storage.expect_checkout_by_key().returning(|_, _| Ok(None));
    let result = shop(storage)
        .checkout()
        .buy_cart(CUSTOMER, 3, key("tap-1"), PayWith::Wallet)
        .await;
    assert!(matches!(result, Err(Error::Conflict(_))));
}

#[tokio::test]
async fn a_key_recorded_for_another_cart_version_is_a_conflict() {
    let mut storage = storage_with_cart_version(9);
    storage
        .expect_checkout_by_key()
        .returning(|_, _| Ok(Some(order_for_version(5))));
    let result = shop(storage)
        .checkout()
        .buy_cart(CUSTOMER, 3, key("tap-1"), PayWith::Wallet)
        .await;
    assert!(matches!(result, Err(Error::Conflict(_))));
}

fn open_invoice(id: i64, due: Option<Timestamp>) -> Invoice {
    let total = Money::new(500, Currency::USD);
    Invoice {
        id: InvoiceId(id),
        number: id as u64,
        user: CUSTOMER,
        lines: Vec::new(),
        tax: TaxRate::ZERO,
        totals: Totals {
            subtotal: total,
            tax: Money::zero(Currency::USD),
            total,
        },
        purpose: InvoicePurpose::Custom,
        status: InvoiceStatus::Open,
        payment: None,
        due_at: due,
        created_at: Timestamp(0),
        closed_at: None,
    }
}

#[tokio::test]
async fn only_overdue_invoices_expire_and_a_lost_race_is_not_an_error() {
    let mut storage = MockStorage::new();
    storage.expect_invoices().returning(|_| {
        Ok(vec![
            open_invoice(1, Some(Timestamp(NOW.0 - 1))),
            open_invoice(2, Some(Timestamp(NOW.0 + 1))),
            open_invoice(3, None),
            open_invoice(4, Some(NOW)),
        ])
    });
    storage
        .expect_transition_invoice()
        .withf(|id, event, _, _| *id == InvoiceId(1) && *event == InvoiceEvent::Expire)
        .times(1)
        .returning(|id, _, _, _| {
            let mut invoice = open_invoice(id.0, None);
            invoice.status = InvoiceStatus::Expired;
            Ok(invoice)
        });
    storage
        .expect_transition_invoice()
        .withf(|id, _, _, _| *id == InvoiceId(4))
        .times(1)
        .returning(|_, _, _, _| Err(Error::Conflict("already paid".into())));
    let expired = shop(storage).invoices().expire_overdue().await;
    let ids: Vec<InvoiceId> = expired.unwrap().iter().map(|i| i.id).collect();
    assert_eq!(ids, vec![InvoiceId(1)]);
}

#[tokio::test]
async fn support_cannot_ban_an_admin() {
    let mut storage = storage_with(UserId(3), Role::Support, false, false);
    storage
        .expect_user()
        .with(eq(UserId(4)))
        .returning(|id| Ok(Some(user(id, Role::Admin, false))));
    let result = shop(storage)
        .admin()
        .set_banned(UserId(3), UserId(4), true)
        .await;
    assert!(matches!(result, Err(Error::Forbidden(Forbidden::Rank))));
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

fn reason() -> crate::text::Note {
    crate::text::Note::parse("ticket 7").unwrap()
}

/// A mock that knows the owner and customer and posts exactly `posts` ledger entries.
fn wallet_storage(posts: usize) -> MockStorage {
    let mut storage = storage_with(OWNER, Role::Owner, false, false);
    storage
        .expect_user()
        .with(eq(CUSTOMER))
        .returning(|id| Ok(Some(user(id, Role::Customer, false))));
    storage
        .expect_post_ledger_entry()
        .times(posts)
        .returning(|request, _| {
            let LedgerOp::Adjustment { amount } = request.op else {
                panic!("a manual credit posts an adjustment");
            };
            Ok(crate::wallet::LedgerEntry {
                id: crate::ids::EntryId(1),
                user: request.user,
                key: request.key,
                op: request.op,
                balance_delta: amount,
                held_delta: Money::zero(amount.currency),
                note: request.note,
                at: request.at,
            })
        });
    storage
}

fn shop_with_limit(storage: MockStorage, limit: &str) -> Shop {
    let config = ShopConfig {
        owners: [OWNER].into(),
        max_manual_credit: CreditLimit::parse(limit).unwrap(),
        ..ShopConfig::default()
    };
    Shop::new(Arc::new(storage), Arc::new(FixedClock), config)
}

#[tokio::test]
async fn an_unconfirmed_credit_above_the_limit_is_refused_before_storage_naming_the_limit() {
    let admin = shop(wallet_storage(0)).admin();

    let result = admin
        .adjust_wallet(OWNER, CUSTOMER, usd(100_000_001), reason(), key("k1"))
        .await;

    let Err(error @ Error::Invalid(_)) = result else {
        panic!("expected a refusal, got {result:?}");
    };
    assert_eq!(
        error.to_string(),
        "a manual credit of 1000000.01 USD is above the limit of 1000000.00 USD \
         (max_manual_credit)"
    );
}

#[tokio::test]
async fn a_confirmed_credit_above_the_limit_is_posted() {
    let admin = shop(wallet_storage(1)).admin();

    let entry = admin
        .adjust_wallet_confirmed(OWNER, CUSTOMER, usd(100_000_001), reason(), key("k1"))
        .await
        .unwrap();

    assert_eq!(entry.balance_delta, usd(100_000_001));
}

#[tokio::test]
async fn the_configured_limit_applies_to_credits_and_never_to_debits() {
    let admin = shop_with_limit(wallet_storage(2), "50").admin();

    let above = admin
        .adjust_wallet(OWNER, CUSTOMER, usd(5_001), reason(), key("k1"))
        .await;
    let at = admin
        .adjust_wallet(OWNER, CUSTOMER, usd(5_000), reason(), key("k2"))
        .await;
    let debit = admin
        .adjust_wallet(OWNER, CUSTOMER, usd(-1_000_000), reason(), key("k3"))
        .await;

    assert!(
        matches!(&above, Err(e) if e.to_string().contains("above the limit of 50.00 USD")),
        "{above:?}"
    );
    assert!(at.is_ok(), "{at:?}");
    assert!(debit.is_ok(), "{debit:?}");
}

#[tokio::test]
async fn a_limit_with_more_decimals_than_the_currency_is_refused_naming_the_setting() {
    let admin = shop_with_limit(wallet_storage(0), "10.005").admin();

    let result = admin
        .adjust_wallet(OWNER, CUSTOMER, usd(1), reason(), key("k1"))
        .await;

    let Err(error @ Error::Invalid(_)) = result else {
        panic!("expected a refusal, got {result:?}");
    };
    assert!(
        error.to_string().contains("max_manual_credit `10.005`"),
        "{error}"
    );
}
