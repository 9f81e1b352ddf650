//! Access beyond single permissions: ranks among staff, bans, maintenance mode, and greeting
//! that never promotes or pardons anyone.

use std::sync::Arc;

use super::{OWNER, TestShop, key, qty, usd};
use crate::error::{Error, Forbidden, Result};
use crate::ids::UserId;
use crate::ports::Storage;
use crate::services::PayWith;
use crate::user::Role;

/// Nobody bans or unbans themselves or anyone of their rank or above (configured owners count
/// as owners), nobody changes their own role, and such refusals change nothing; banning
/// someone below works.
pub async fn staff_cannot_ban_themselves_or_anyone_of_equal_or_higher_rank(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    let support = t.staff(10, Role::Support).await;
    let support2 = t.staff(11, Role::Support).await;
    let admin = t.staff(12, Role::Admin).await;
    let admin2 = t.staff(13, Role::Admin).await;
    let owner2 = t.staff(14, Role::Owner).await;
    let customer = t.customer(15).await;
    let refused = [
        (support, support),
        (support, support2),
        (support, admin),
        (support, OWNER),
        (admin, admin),
        (admin, admin2),
        (admin, owner2),
        (admin, OWNER),
        (owner2, OWNER),
        (OWNER, owner2),
        (OWNER, OWNER),
    ];
    let admin_service = t.shop.admin();
    for (actor, target) in refused {
        for banned in [true, false] {
            let before = t.snapshot().await;
            let result = admin_service.set_banned(actor, target, banned).await;
            let ok = match &result {
                Err(Error::Forbidden(Forbidden::SelfTarget)) => true,
                Err(Error::Forbidden(_)) => actor != target,
                _ => false,
            };
            assert!(ok, "{actor} setting ban={banned} on {target}: {result:?}");
            assert_eq!(
                t.snapshot().await,
                before,
                "{actor} on {target} changed something"
            );
        }
    }
    let before = t.snapshot().await;
    let own = admin_service.set_role(OWNER, OWNER, Role::Customer).await;
    assert!(
        matches!(own, Err(Error::Forbidden(Forbidden::SelfTarget))),
        "{own:?}"
    );
    let own = admin_service.set_role(admin, admin, Role::Owner).await;
    assert!(matches!(own, Err(Error::Forbidden(_))), "{own:?}");
    assert_eq!(t.snapshot().await, before);

    let banned = admin_service
        .set_banned(support, customer, true)
        .await
        .unwrap();
    assert!(banned.banned);
    assert!(t.store.user(customer).await.unwrap().unwrap().banned);
    let pardoned = admin_service
        .set_banned(admin, customer, false)
        .await
        .unwrap();
    assert!(!pardoned.banned);
    assert!(
        admin_service
            .set_banned(admin, support, true)
            .await
            .unwrap()
            .banned
    );
}

/// A banned customer can neither edit the cart, check out, browse nor use the wallet
/// (`Forbidden`), and nothing changes; unbanned, the same cart checks out.
pub async fn a_banned_customer_cannot_shop(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Ban key", 100).await;
    t.keys(product.id, "BAN", 3).await;
    let customer = t.customer(10).await;
    t.fund(customer, 1_000).await;
    let cart = t
        .shop
        .cart()
        .add(customer, product.id, qty(1))
        .await
        .unwrap();
    t.ban(customer).await;

    let before = t.snapshot().await;
    let refusals: Vec<(&str, Result<()>)> = vec![
        (
            "add",
            t.shop
                .cart()
                .add(customer, product.id, qty(1))
                .await
                .map(|_| ()),
        ),
        ("view cart", t.shop.cart().view(customer).await.map(|_| ())),
        (
            "checkout",
            t.shop
                .checkout()
                .buy_cart(customer, cart.version, key("banned"), PayWith::Wallet)
                .await
                .map(|_| ()),
        ),
        (
            "browse",
            t.shop.catalog().products(customer, None).await.map(|_| ()),
        ),
        (
            "balance",
            t.shop.wallet().balance(customer).await.map(|_| ()),
        ),
        (
            "top up",
            t.shop
                .invoices()
                .top_up(customer, usd(500))
                .await
                .map(|_| ()),
        ),
    ];
    for (what, result) in refusals {
        assert!(
            matches!(result, Err(Error::Forbidden(Forbidden::Banned))),
            "{what}: {result:?}"
        );
    }
    assert_eq!(
        t.snapshot().await,
        before,
        "a banned customer changed something"
    );

    t.shop
        .admin()
        .set_banned(OWNER, customer, false)
        .await
        .unwrap();
    let order = t
        .shop
        .checkout()
        .buy_cart(customer, cart.version, key("pardoned"), PayWith::Wallet)
        .await
        .unwrap()
        .order;
    assert_eq!(order.total, usd(100));
}

/// In maintenance mode customers get `Maintenance` for the catalog, the cart, checkout and the
/// wallet, and nothing changes; staff keep browsing and even buying; switched off, customers
/// are back.
pub async fn maintenance_mode_turns_customers_away_but_not_staff(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Maintenance key", 100).await;
    t.keys(product.id, "MAINT", 5).await;
    let customer = t.customer(10).await;
    t.fund(customer, 1_000).await;
    let admin = t.staff(11, Role::Admin).await;
    t.fund(admin, 1_000).await;
    let cart = t
        .shop
        .cart()
        .add(customer, product.id, qty(1))
        .await
        .unwrap();

    let settings = t.shop.admin().set_maintenance(OWNER, true).await.unwrap();
    assert!(settings.maintenance);
    assert!(t.store.settings().await.unwrap().maintenance);

    let before = t.snapshot().await;
    let catalog = t.shop.catalog();
    let refusals: Vec<(&str, Result<()>)> = vec![
        ("categories", catalog.categories(customer).await.map(|_| ())),
        (
            "products",
            catalog.products(customer, None).await.map(|_| ()),
        ),
        (
            "product",
            catalog.product(customer, product.id).await.map(|_| ()),
        ),
        ("view cart", t.shop.cart().view(customer).await.map(|_| ())),
        (
            "add",
            t.shop
                .cart()
                .add(customer, product.id, qty(1))
                .await
                .map(|_| ()),
        ),
        (
            "checkout",
            t.shop
                .checkout()
                .buy_cart(customer, cart.version, key("closed"), PayWith::Wallet)
                .await
                .map(|_| ()),
        ),
        (
            "balance",
            t.shop.wallet().balance(customer).await.map(|_| ()),
        ),
    ];
    for (what, result) in refusals {
        assert!(
            matches!(result, Err(Error::Maintenance)),
            "{what}: {result:?}"
        );
    }
    assert_eq!(
        t.snapshot().await,
        before,
        "a customer changed something in maintenance"
    );

    assert_eq!(catalog.products(admin, None).await.unwrap().len(), 1);
    let order = t.buy(admin, product.id, 1).await;
    assert_eq!(order.user, admin);

    t.shop.admin().set_maintenance(OWNER, false).await.unwrap();
    let order = t
        .shop
        .checkout()
        .buy_cart(customer, cart.version, key("open-again"), PayWith::Wallet)
        .await
        .unwrap()
        .order;
    assert_eq!(order.user, customer);
}

/// Greeting creates a customer once; greeting again updates the name only, never the role, the
/// ban or the first-seen time. Users list in id order; roles and bans of unknown users are
/// `NotFound`.
pub async fn greeting_a_user_again_keeps_their_role_and_ban(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let first = t.greet(UserId(30), "Ann").await;
    assert_eq!(first.role, Role::Customer);
    assert!(!first.banned);
    assert_eq!(first.created_at, t.now());
    t.shop
        .admin()
        .set_role(OWNER, first.id, Role::Support)
        .await
        .unwrap();
    t.ban(first.id).await;
    t.tick();
    let again = t.greet(UserId(30), "Ann B.").await;
    assert_eq!(again.name.as_str(), "Ann B.");
    assert_eq!(again.role, Role::Support);
    assert!(again.banned);
    assert_eq!(again.created_at, first.created_at);
    assert_eq!(t.store.user(first.id).await.unwrap(), Some(again));

    t.greet(UserId(20), "Bob").await;
    let ids: Vec<UserId> = super::all_users(t.store.as_ref())
        .await
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(ids, vec![OWNER, UserId(20), UserId(30)]);

    let audit = crate::audit::AuditRecord {
        actor: OWNER,
        action: "suite probe".into(),
        at: t.now(),
    };
    let nobody = UserId(999);
    let role = t.store.set_role(nobody, Role::Admin, audit.clone()).await;
    assert!(matches!(role, Err(Error::NotFound { .. })), "{role:?}");
    let ban = t.store.set_banned(nobody, true, audit).await;
    assert!(matches!(ban, Err(Error::NotFound { .. })), "{ban:?}");
    assert_eq!(t.store.user(nobody).await.unwrap(), None);
}
