//! Catalog and stock: products and categories change with an audit entry each, imports are
//! all or nothing with every duplicate named, and hidden products do not exist for customers.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{OWNER, TestShop, all_audit, key, qty, usd, wallet_request};
use crate::catalog::{ProductFilter, ProductKind, ProductPatch};
use crate::error::{Error, Invalid};
use crate::ids::{CategoryId, ProductId};
use crate::ports::Storage;
use crate::services::PayWith;
use crate::stock::{Duplicate, ImportReport, OnDuplicate, StockCounts, StockError, UnitState};
use crate::text::{CategoryName, Description, ImageRef, ProductName};

/// Categories and products are created and changed as asked, each change with exactly one
/// audit entry naming the owner and the time (newest first); a duplicate category name is a
/// `Conflict` and unknown products or categories are `NotFound`, all without an audit entry.
pub async fn products_and_categories_are_created_changed_and_audited(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let admin = t.shop.admin();
    let audited = |count: usize, action: &'static str| {
        let (store, at) = (t.store.clone(), t.now());
        async move {
            let audit = all_audit(store.as_ref()).await;
            assert_eq!(
                audit.len(),
                count,
                "audit entries after {action}: {audit:?}"
            );
            if let Some(newest) = audit.first() {
                assert_eq!(newest.record.actor, OWNER, "{action}");
                assert_eq!(newest.record.at, at, "{action}");
                assert!(newest.record.action.starts_with(action), "{newest:?}");
            }
            let ids: Vec<_> = audit.iter().map(|e| e.id).collect();
            assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
        }
    };
    audited(0, "nothing").await;

    t.tick();
    let games = t.category("Games").await;
    assert_eq!(games.name.as_str(), "Games");
    assert_eq!(games.created_at, t.now());
    assert_eq!(t.store.categories().await.unwrap(), vec![games.clone()]);
    audited(1, "create category").await;
    let again = admin
        .create_category(OWNER, CategoryName::parse("Games").unwrap())
        .await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
    assert_eq!(t.store.categories().await.unwrap(), vec![games.clone()]);
    audited(1, "create category").await;

    t.tick();
    let mut draft = TestShop::draft("Racing game", 1_999);
    draft.category = Some(games.id);
    let product = t.create_product(draft.clone()).await;
    assert_eq!(
        (
            product.category,
            &product.name,
            product.price,
            product.kind,
            product.hidden
        ),
        (
            Some(games.id),
            &draft.name,
            usd(1_999),
            ProductKind::Key,
            false
        )
    );
    assert_eq!(product.created_at, t.now());
    assert_eq!(
        t.store.product(product.id).await.unwrap(),
        Some(product.clone())
    );
    audited(2, "create product").await;
    let loose = t.product("Loose product", 500).await;
    audited(3, "create product").await;
    let shelf = ProductFilter {
        category: Some(games.id),
        include_hidden: false,
    };
    assert_eq!(
        t.store.products(shelf).await.unwrap(),
        vec![product.clone()]
    );
    let everything = t.store.products(ProductFilter::default()).await.unwrap();
    assert_eq!(
        everything,
        vec![product.clone(), loose.clone()],
        "in id order"
    );

    t.tick();
    let patch = ProductPatch {
        name: Some(ProductName::parse("Racing game deluxe").unwrap()),
        description: Some(Description::parse("Now with more cars.\nAnd tracks.").unwrap()),
        price: Some(usd(2_499)),
        hidden: Some(true),
        category: Some(None),
        image: Some(Some(ImageRef::parse("file:racing.png").unwrap())),
    };
    let mut expected = product.clone();
    patch.apply_to(&mut expected);
    let updated = admin
        .update_product(OWNER, product.id, patch.clone())
        .await
        .unwrap();
    assert_eq!(updated, expected);
    assert_eq!(
        t.store.product(product.id).await.unwrap(),
        Some(expected.clone())
    );
    audited(4, "update product").await;
    let visible = t.store.products(ProductFilter::default()).await.unwrap();
    assert_eq!(
        visible,
        vec![loose.clone()],
        "hidden products are filtered out"
    );
    let with_hidden = ProductFilter {
        category: None,
        include_hidden: true,
    };
    let all = t.store.products(with_hidden).await.unwrap();
    assert_eq!(all, vec![expected, loose]);

    let missing = admin.update_product(OWNER, ProductId(987_654), patch).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    let mut orphan = TestShop::draft("Orphan", 100);
    orphan.category = Some(CategoryId(987_654));
    let missing = admin.create_product(OWNER, orphan).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    audited(4, "update product").await;
}

/// The lines of the duplicate test import: line 2 repeats stock, line 4 repeats line 1, line 5
/// is blank, line 6 repeats stock.
const WITH_DUPLICATES: &str = "KEY-C\nKEY-A\nKEY-D\nKEY-C\n\nKEY-B\nKEY-E";

fn expected_duplicates() -> Vec<Duplicate> {
    vec![
        Duplicate {
            line: 2,
            first_line: None,
            sold: false,
        },
        Duplicate {
            line: 4,
            first_line: Some(1),
            sold: false,
        },
        Duplicate {
            line: 6,
            first_line: None,
            sold: false,
        },
    ]
}

fn sorted(mut duplicates: Vec<Duplicate>) -> Vec<Duplicate> {
    duplicates.sort_by_key(|d| d.line);
    duplicates
}

/// An import that repeats itself or the product's stock is refused whole with
/// `Invalid(Stock(Duplicates))` naming every duplicate line, and imports nothing; the same
/// payloads are fine for another product.
pub async fn a_stock_import_with_duplicates_is_refused_whole_naming_every_one(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    let product = t.product("Keys", 100).await;
    t.import(product.id, &["KEY-A".to_owned(), "KEY-B".to_owned()])
        .await;
    let before = t.snapshot().await;
    let result = t
        .shop
        .admin()
        .import_stock_text(OWNER, product.id, WITH_DUPLICATES, OnDuplicate::Refuse)
        .await;
    match result {
        Err(Error::Invalid(Invalid::Stock(StockError::Duplicates(found)))) => {
            assert_eq!(sorted(found), expected_duplicates());
        }
        other => panic!("expected the duplicates named, got {other:?}"),
    }
    assert_eq!(
        t.snapshot().await,
        before,
        "a refused import changed something"
    );
    assert_eq!(t.counts(product.id).await.available, 2);

    let other = t.product("Other keys", 100).await;
    let report = t
        .shop
        .admin()
        .import_stock_text(OWNER, other.id, "KEY-A\nKEY-B", OnDuplicate::Refuse)
        .await
        .unwrap();
    assert_eq!(report.added, 2, "duplicates are per product");
}

/// With `OnDuplicate::Skip` the other lines are imported and the duplicates reported; the
/// imported payloads are exactly what buyers then receive.
pub async fn skipping_duplicates_imports_the_rest_and_reports_them(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Keys", 100).await;
    t.import(product.id, &["KEY-A".to_owned(), "KEY-B".to_owned()])
        .await;
    let ImportReport { added, skipped } = t
        .shop
        .admin()
        .import_stock_text(OWNER, product.id, WITH_DUPLICATES, OnDuplicate::Skip)
        .await
        .unwrap();
    assert_eq!(added, 3, "KEY-C, KEY-D and KEY-E");
    assert_eq!(sorted(skipped), expected_duplicates());
    let counts = StockCounts {
        available: 5,
        reserved: 0,
        sold: 0,
    };
    assert_eq!(t.counts(product.id).await, counts);

    let buyer = t.customer(10).await;
    t.fund(buyer, 500).await;
    let order = t.buy(buyer, product.id, 5).await;
    let payloads: BTreeSet<&str> = order
        .delivered_units()
        .map(|(_, u)| u.payload.as_str())
        .collect();
    let all: BTreeSet<&str> = ["KEY-A", "KEY-B", "KEY-C", "KEY-D", "KEY-E"].into();
    assert_eq!(payloads, all);
}

/// A line repeating a unit that was sold is a duplicate that says so (`sold`), and one
/// repeating a unit still in stock says it is not; neither is imported.
pub async fn reimporting_a_sold_key_says_it_was_already_sold(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Keys", 100).await;
    t.import(product.id, &["KEY-A".to_owned(), "KEY-B".to_owned()])
        .await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 100).await;
    let order = t.buy(buyer, product.id, 1).await;
    let sold = order
        .delivered_units()
        .map(|(_, u)| u.payload.as_str().to_owned())
        .next()
        .unwrap();
    let kept = if sold == "KEY-A" { "KEY-B" } else { "KEY-A" };

    let text = format!("{sold}\n{kept}\nKEY-C");
    let refused = t
        .shop
        .admin()
        .import_stock_text(OWNER, product.id, &text, OnDuplicate::Refuse)
        .await;
    let Err(Error::Invalid(problem)) = refused else {
        panic!("expected duplicates, got {refused:?}");
    };
    let message = problem.to_string();
    assert!(message.contains("line 1 was already sold"), "{message}");
    assert!(message.contains("line 2 is already in stock"), "{message}");

    let report = t
        .shop
        .admin()
        .import_stock_text(OWNER, product.id, &text, OnDuplicate::Skip)
        .await
        .unwrap();
    assert_eq!(report.added, 1, "KEY-C");
    let expected = vec![
        Duplicate {
            line: 1,
            first_line: None,
            sold: true,
        },
        Duplicate {
            line: 2,
            first_line: None,
            sold: false,
        },
    ];
    assert_eq!(sorted(report.skipped), expected);
}

/// A service product refuses stock (`Invalid`, nothing changed) and sells any quantity without
/// units; importing into an unknown product is `NotFound`.
pub async fn a_service_product_takes_no_stock_and_sells_without_units(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let mut draft = TestShop::draft("Setup call", 2_000);
    draft.kind = ProductKind::Service;
    let service = t.create_product(draft).await;
    let before = t.snapshot().await;
    let refused = t
        .shop
        .admin()
        .import_stock_text(OWNER, service.id, "SLOT-1", OnDuplicate::Refuse)
        .await;
    assert!(matches!(refused, Err(Error::Invalid(_))), "{refused:?}");
    assert_eq!(
        t.snapshot().await,
        before,
        "a refused import changed something"
    );
    assert_eq!(t.counts(service.id).await, StockCounts::default());
    let unknown = t
        .shop
        .admin()
        .import_stock_text(OWNER, ProductId(987_654), "X-1", OnDuplicate::Refuse)
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    assert_eq!(t.counts(ProductId(987_654)).await, StockCounts::default());

    let buyer = t.customer(10).await;
    t.fund(buyer, 5_000).await;
    let order = t.buy(buyer, service.id, 2).await;
    assert_eq!(order.total, usd(4_000));
    assert!(order.lines[0].units.is_empty(), "{order:?}");
    assert_eq!(t.balance(buyer).await.balance, usd(1_000));
}

/// Customers neither see a hidden product (listing, lookup) nor put it in a cart; staff see it.
/// A product hidden after the buyer confirmed the cart cannot be checked out, through the
/// service or straight at the store, and nothing changes.
pub async fn hidden_products_are_neither_shown_nor_sold_to_customers(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let shown = t.product("Shown", 100).await;
    t.keys(shown.id, "SHOWN", 3).await;
    let mut draft = TestShop::draft("Secret", 100);
    draft.hidden = true;
    let secret = t.create_product(draft).await;
    t.keys(secret.id, "SECRET", 3).await;
    let customer = t.customer(10).await;
    t.fund(customer, 1_000).await;
    let catalog = t.shop.catalog();

    let seen: Vec<ProductId> = catalog
        .products(customer, None)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(seen, vec![shown.id]);
    let lookup = catalog.product(customer, secret.id).await;
    assert!(matches!(lookup, Err(Error::NotFound { .. })), "{lookup:?}");
    let added = t.shop.cart().add(customer, secret.id, qty(1)).await;
    assert!(matches!(added, Err(Error::NotFound { .. })), "{added:?}");
    assert!(t.store.cart(customer).await.unwrap().is_empty());
    let staff_view = catalog.products(OWNER, None).await.unwrap();
    assert_eq!(staff_view.len(), 2, "staff see hidden products");

    let cart = t.shop.cart().add(customer, shown.id, qty(1)).await.unwrap();
    let request = wallet_request(&t, &cart, std::slice::from_ref(&shown), "hidden-direct");
    let hide = ProductPatch {
        hidden: Some(true),
        ..ProductPatch::default()
    };
    t.shop
        .admin()
        .update_product(OWNER, shown.id, hide)
        .await
        .unwrap();
    let before = t.snapshot().await;
    let via_service = t
        .shop
        .checkout()
        .buy_cart(customer, cart.version, key("hidden"), PayWith::Wallet)
        .await;
    assert!(
        matches!(via_service, Err(Error::Conflict(_))),
        "{via_service:?}"
    );
    let direct = t.store.commit_checkout(request).await;
    assert!(matches!(direct, Err(Error::Conflict(_))), "{direct:?}");
    assert_eq!(
        t.snapshot().await,
        before,
        "buying a hidden product changed something"
    );
    assert_eq!(t.counts(shown.id).await.available, 3);
}

/// Customers see only the categories that hold a visible product: an empty one, or one whose
/// products are all hidden, is not shown to them until a visible product is in it; staff see
/// every category.
pub async fn categories_without_a_visible_product_are_hidden_from_customers(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    let games = t.category("Games").await;
    let empty = t.category("42").await;
    let secrets = t.category("Secrets").await;
    let mut draft = TestShop::draft("Racing game", 100);
    draft.category = Some(games.id);
    t.create_product(draft).await;
    let mut draft = TestShop::draft("Secret", 100);
    draft.category = Some(secrets.id);
    draft.hidden = true;
    let secret = t.create_product(draft).await;
    let customer = t.customer(10).await;
    let catalog = t.shop.catalog();
    let ids = |categories: Vec<crate::catalog::Category>| -> Vec<CategoryId> {
        categories.into_iter().map(|c| c.id).collect()
    };

    let seen = ids(catalog.categories(customer).await.unwrap());
    assert_eq!(
        seen,
        vec![games.id],
        "customers see only non-empty categories"
    );
    let staff = ids(catalog.categories(OWNER).await.unwrap());
    assert_eq!(staff, vec![games.id, empty.id, secrets.id], "staff see all");

    let shown = ProductPatch {
        hidden: Some(false),
        ..ProductPatch::default()
    };
    t.shop
        .admin()
        .update_product(OWNER, secret.id, shown)
        .await
        .unwrap();
    let seen = ids(catalog.categories(customer).await.unwrap());
    assert_eq!(
        seen,
        vec![games.id, secrets.id],
        "a shown product shows its category"
    );
}

/// A product's units are listed in id order with their states, masked unless revealed (which
/// writes one audit entry). Removing units takes available ones out with one audit entry; a
/// removal naming a reserved or sold unit is `Conflict`, one naming another product's or an
/// unknown unit `NotFound`, and either changes nothing, not even the other units named.
pub async fn units_are_listed_masked_and_only_available_ones_are_removed(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let product = t.product("Game", 100).await;
    let other = t.product("Other", 100).await;
    t.import(
        product.id,
        &[
            "CSV-HEADER".to_owned(),
            "KEY-0001".to_owned(),
            "KEY-0002".to_owned(),
        ],
    )
    .await;
    t.keys(other.id, "OTHER", 1).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    t.buy(buyer, product.id, 1).await;
    let admin = t.shop.admin();

    let listed = admin.stock_units(OWNER, product.id, false).await.unwrap();
    let payloads: Vec<&str> = listed.iter().map(|u| u.payload.as_str()).collect();
    assert_eq!(payloads, ["CS••••••ER", "KE••••01", "KE••••02"]);
    assert!(
        matches!(listed[0].state, UnitState::Sold { .. }),
        "{listed:?}"
    );
    assert_eq!(listed[1].state, UnitState::Available);
    let audits = all_audit(t.store.as_ref()).await.len();
    let revealed = admin.stock_units(OWNER, product.id, true).await.unwrap();
    assert_eq!(revealed[1].payload, "KEY-0001");
    let audit = all_audit(t.store.as_ref()).await;
    assert_eq!(audit.len(), audits + 1);
    assert_eq!(
        audit[0].record.action,
        format!("revealed stock of product {}", product.id)
    );
    let unknown = admin.stock_units(OWNER, ProductId(999), false).await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );

    let (sold, first, second) = (listed[0].id, listed[1].id, listed[2].id);
    let other_unit = t.store.stock_units(other.id).await.unwrap()[0].id;
    let before = t.snapshot().await;
    let refused = admin
        .remove_stock(OWNER, product.id, vec![first, sold])
        .await;
    assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
    let foreign = admin
        .remove_stock(OWNER, product.id, vec![first, other_unit])
        .await;
    assert!(
        matches!(foreign, Err(Error::NotFound { .. })),
        "{foreign:?}"
    );
    let missing = admin.remove_stock(OWNER, ProductId(999), vec![first]).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    let twice = admin
        .remove_stock(OWNER, product.id, vec![first, first])
        .await;
    assert!(matches!(twice, Err(Error::Invalid(_))), "{twice:?}");
    assert_eq!(
        t.snapshot().await,
        before,
        "a refused removal changed something"
    );

    let removed = admin
        .remove_stock(OWNER, product.id, vec![second])
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let left: Vec<_> = t
        .store
        .stock_units(product.id)
        .await
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(left, vec![sold, first]);
    assert_eq!(t.counts(product.id).await.available, 1);
    let newest = &all_audit(t.store.as_ref()).await[0];
    assert!(
        newest.record.action.starts_with("remove stock"),
        "{newest:?}"
    );
    // A removed payload may be imported again.
    t.import(product.id, &["KEY-0002".to_owned()]).await;
    assert_eq!(t.counts(product.id).await.available, 2);
}

/// A category is renamed (a name another category has, in any case, is `Conflict`) and an
/// empty one deleted, each with one audit entry; deleting one that holds a product, even a
/// hidden one, is `Conflict` naming how many, and unknown ids are `NotFound`, changing nothing.
pub async fn categories_are_renamed_and_empty_ones_deleted(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let games = t.category("Games").await;
    let empty = t.category("42").await;
    let mut draft = TestShop::draft("Secret", 100);
    draft.category = Some(games.id);
    draft.hidden = true;
    t.create_product(draft).await;
    let admin = t.shop.admin();
    let name = |text: &str| CategoryName::parse(text).unwrap();

    let renamed = admin
        .rename_category(OWNER, empty.id, name("Music"))
        .await
        .unwrap();
    assert_eq!(renamed.name.as_str(), "Music");
    assert_eq!(renamed.created_at, empty.created_at);
    let audits = all_audit(t.store.as_ref()).await;
    assert!(
        audits[0].record.action.starts_with("rename category"),
        "{audits:?}"
    );

    let before = t.snapshot().await;
    let taken = admin.rename_category(OWNER, empty.id, name("GAMES")).await;
    assert!(matches!(taken, Err(Error::Conflict(_))), "{taken:?}");
    let unknown = admin
        .rename_category(OWNER, CategoryId(99), name("X"))
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    let held = admin.delete_category(OWNER, games.id).await;
    assert!(
        matches!(&held, Err(Error::Conflict(m)) if m.contains("1 product")),
        "{held:?}"
    );
    let unknown = admin.delete_category(OWNER, CategoryId(99)).await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    assert_eq!(
        t.snapshot().await,
        before,
        "a refused category edit changed something"
    );
    assert_eq!(all_audit(t.store.as_ref()).await.len(), audits.len());

    admin.delete_category(OWNER, empty.id).await.unwrap();
    let left: Vec<CategoryId> = t
        .store
        .categories()
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(left, vec![games.id]);
    let newest = &all_audit(t.store.as_ref()).await[0];
    assert_eq!(
        newest.record.action,
        format!("delete category {}", empty.id)
    );
}

/// A product never ordered is deleted with its units and one audit entry; one an order names
/// is `Conflict` and an unknown one `NotFound`, both changing nothing.
pub async fn only_a_never_ordered_product_is_deleted_with_its_units(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let mistake = t.product("Mistake", 100).await;
    t.keys(mistake.id, "MISTAKE", 2).await;
    let sold = t.product("Sold", 100).await;
    t.keys(sold.id, "SOLD", 2).await;
    let buyer = t.customer(10).await;
    t.fund(buyer, 1_000).await;
    t.buy(buyer, sold.id, 1).await;
    let admin = t.shop.admin();

    let before = t.snapshot().await;
    let refused = admin.delete_product(OWNER, sold.id).await;
    assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
    let unknown = admin.delete_product(OWNER, ProductId(999)).await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    assert_eq!(
        t.snapshot().await,
        before,
        "a refused delete changed something"
    );

    assert_eq!(admin.delete_product(OWNER, mistake.id).await.unwrap(), 2);
    assert_eq!(t.store.product(mistake.id).await.unwrap(), None);
    assert!(t.store.stock_units(mistake.id).await.unwrap().is_empty());
    assert_eq!(t.counts(mistake.id).await, StockCounts::default());
    let newest = &all_audit(t.store.as_ref()).await[0];
    assert_eq!(
        newest.record.action,
        format!("delete product {}", mistake.id)
    );
}
