//! Staff notices: the kinds a person opted into (none until they choose, replaced whole,
//! audited, cleared when they become a customer again), and `notify_staff`, which queues one
//! message per opted-in, unbanned person, in user id order, once per key however many ask at
//! once.

use std::sync::Arc;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::{TestShop, all_audit, claim_all};
use crate::audit::AuditRecord;
use crate::error::Error;
use crate::ids::{InvoiceId, OrderId, ProductId, UserId};
use crate::notice::{MAX_NOTICE_KEY, Notice, NoticeKind, NoticeKinds};
use crate::outbox::{OutboxBody, OutboxMessage, OutboxStatus};
use crate::ports::Storage;
use crate::user::Role;

fn kinds(list: &[NoticeKind]) -> NoticeKinds {
    list.iter().copied().collect()
}

fn audit(t: &TestShop, action: &str) -> AuditRecord {
    AuditRecord {
        actor: super::OWNER,
        action: action.to_owned(),
        at: t.now(),
    }
}

async fn opt_in(t: &TestShop, user: UserId, list: &[NoticeKind]) {
    let record = audit(t, &format!("set notices of user {user}"));
    let set = t
        .store
        .set_notice_kinds(user, kinds(list), record)
        .await
        .unwrap();
    assert_eq!(set, kinds(list));
}

/// The staff notices among `messages`, as (recipient, notice), in the order given.
fn staff_notices(messages: &[OutboxMessage]) -> Vec<(UserId, Notice)> {
    messages
        .iter()
        .filter_map(|m| match &m.body {
            OutboxBody::StaffNotice { notice } => Some((m.user, notice.clone())),
            _ => None,
        })
        .collect()
}

/// A person who never chose, and an unknown one, has no notice kinds. Setting kinds returns
/// and keeps exactly those, writes the audit record given, and a later set replaces them
/// whole (also with none). Setting the kinds of an unknown user is `NotFound` and changes
/// nothing, not even the audit log.
pub async fn notice_kinds_start_empty_and_are_replaced_whole_with_an_audit_entry(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    let admin = t.staff(20, Role::Admin).await;
    assert_eq!(
        t.store.notice_kinds(admin).await.unwrap(),
        NoticeKinds::none()
    );
    assert_eq!(
        t.store.notice_kinds(UserId(999)).await.unwrap(),
        NoticeKinds::none(),
        "an unknown user has none"
    );

    let first = kinds(&[NoticeKind::OrderPaid, NoticeKind::LowStock]);
    let record = audit(&t, "set notices of user 20 to order-paid,low-stock");
    let set = t
        .store
        .set_notice_kinds(admin, first.clone(), record.clone())
        .await
        .unwrap();
    assert_eq!(set, first);
    assert_eq!(t.store.notice_kinds(admin).await.unwrap(), first);
    let newest = all_audit(t.store.as_ref()).await.remove(0);
    assert_eq!(newest.record, record, "the audit record is written");

    t.tick();
    let second = kinds(&[NoticeKind::PaymentReceived]);
    let record = audit(&t, "set notices of user 20 to payment-received");
    let set = t
        .store
        .set_notice_kinds(admin, second.clone(), record.clone())
        .await
        .unwrap();
    assert_eq!(set, second);
    assert_eq!(t.store.notice_kinds(admin).await.unwrap(), second);
    assert_eq!(all_audit(t.store.as_ref()).await.remove(0).record, record);

    let all = NoticeKinds::all();
    t.store
        .set_notice_kinds(admin, all.clone(), audit(&t, "all"))
        .await
        .unwrap();
    assert_eq!(t.store.notice_kinds(admin).await.unwrap(), all);
    t.store
        .set_notice_kinds(admin, NoticeKinds::none(), audit(&t, "none"))
        .await
        .unwrap();
    assert_eq!(
        t.store.notice_kinds(admin).await.unwrap(),
        NoticeKinds::none()
    );

    let before = t.snapshot().await;
    let refused = t
        .store
        .set_notice_kinds(UserId(999), all.clone(), audit(&t, "unknown"))
        .await;
    assert!(
        matches!(refused, Err(Error::NotFound { .. })),
        "{refused:?}"
    );
    assert_eq!(t.snapshot().await, before, "a refused set writes nothing");
    assert_eq!(
        t.store.notice_kinds(UserId(999)).await.unwrap(),
        NoticeKinds::none()
    );
}

/// Changing a staff member's role between staff roles, or banning them, keeps their notice
/// kinds; making them a customer clears them in the same command, so a demoted person is told
/// nothing more, also after being made staff again.
pub async fn making_a_user_a_customer_clears_their_notice_kinds(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let support = t.staff(20, Role::Support).await;
    let other = t.staff(30, Role::Admin).await;
    opt_in(&t, support, &[NoticeKind::OrderPaid, NoticeKind::LowStock]).await;
    opt_in(&t, other, &[NoticeKind::DeliveryFailed]).await;
    let chosen = kinds(&[NoticeKind::OrderPaid, NoticeKind::LowStock]);

    t.shop
        .admin()
        .set_role(super::OWNER, support, Role::Admin)
        .await
        .unwrap();
    assert_eq!(t.store.notice_kinds(support).await.unwrap(), chosen);
    t.ban(support).await;
    assert_eq!(t.store.notice_kinds(support).await.unwrap(), chosen);

    let demoted = t
        .shop
        .admin()
        .set_role(super::OWNER, support, Role::Customer)
        .await
        .unwrap();
    assert_eq!(demoted.role, Role::Customer);
    assert_eq!(
        t.store.notice_kinds(support).await.unwrap(),
        NoticeKinds::none()
    );
    assert_eq!(
        t.store.notice_kinds(other).await.unwrap(),
        kinds(&[NoticeKind::DeliveryFailed]),
        "nobody else's kinds change"
    );

    t.shop
        .admin()
        .set_role(super::OWNER, support, Role::Admin)
        .await
        .unwrap();
    assert_eq!(
        t.store.notice_kinds(support).await.unwrap(),
        NoticeKinds::none(),
        "made staff again, they start from none"
    );
}

/// A notice goes as one pending `StaffNotice` message, due at once, to every person who opted
/// into its kind and is not banned, in user id order, and `notify_staff` answers how many it
/// queued; people who chose other kinds, banned people and customers get nothing. The same
/// key again, even with another notice, queues nothing and answers 0.
pub async fn a_notice_goes_once_to_every_opted_in_unbanned_person_in_id_order(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    let late = t.staff(30, Role::Admin).await;
    let early = t.staff(20, Role::Support).await;
    let other_kind = t.staff(10, Role::Admin).await;
    let banned = t.staff(40, Role::Support).await;
    t.customer(50).await;
    opt_in(&t, late, &[NoticeKind::OrderPaid]).await;
    opt_in(&t, early, &[NoticeKind::OrderPaid, NoticeKind::LowStock]).await;
    opt_in(&t, other_kind, &[NoticeKind::LowStock]).await;
    opt_in(&t, banned, &NoticeKind::ALL).await;
    t.ban(banned).await;

    let now = t.tick();
    let paid = Notice::OrderPaid { order: OrderId(7) };
    let queued = t
        .store
        .notify_staff(paid.clone(), "order-paid:7".to_owned(), now)
        .await
        .unwrap();
    assert_eq!(queued, 2);

    let messages = claim_all(t.store.as_ref(), now).await;
    assert_eq!(
        staff_notices(&messages),
        vec![(early, paid.clone()), (late, paid.clone())],
        "to the opted-in, unbanned people, in user id order"
    );
    assert!(messages.windows(2).all(|w| w[0].id < w[1].id));
    for message in &messages {
        assert_eq!(message.status, OutboxStatus::Pending);
        assert_eq!(message.attempts, 1);
        assert_eq!(message.created_at, now);
    }

    let later = t.tick();
    let again = t
        .store
        .notify_staff(paid, "order-paid:7".to_owned(), later)
        .await
        .unwrap();
    assert_eq!(again, 0, "a key used before queues nothing");
    let other = Notice::PaymentReceived {
        invoice: InvoiceId(3),
    };
    let reused = t
        .store
        .notify_staff(other, "order-paid:7".to_owned(), later)
        .await
        .unwrap();
    assert_eq!(reused, 0, "the key decides, not the notice");
    let low = Notice::LowStock {
        product: ProductId(4),
        available: 1,
        threshold: 2,
    };
    let fresh = t
        .store
        .notify_staff(low.clone(), "low-stock:4:1".to_owned(), later)
        .await
        .unwrap();
    assert_eq!(fresh, 2);
    let messages = claim_all(t.store.as_ref(), later).await;
    assert_eq!(
        staff_notices(&messages),
        vec![(other_kind, low.clone()), (early, low)],
        "only the new key's notice is queued"
    );
}

/// A key is remembered even when nobody opted in (the answer is 0), so a person who opts in
/// afterwards is never told of that event late; a new key reaches them.
pub async fn a_notice_key_is_remembered_even_when_nobody_opted_in(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let admin = t.staff(20, Role::Admin).await;
    let now = t.now();
    let failed = Notice::DeliveryFailed {
        message: crate::ids::OutboxId(1),
        user: UserId(50),
        about: None,
    };
    let nobody = t
        .store
        .notify_staff(failed.clone(), "delivery-failed:1".to_owned(), now)
        .await
        .unwrap();
    assert_eq!(nobody, 0);

    opt_in(&t, admin, &[NoticeKind::DeliveryFailed]).await;
    let late = t
        .store
        .notify_staff(failed.clone(), "delivery-failed:1".to_owned(), now)
        .await
        .unwrap();
    assert_eq!(late, 0, "the event was announced already, to nobody");
    assert!(staff_notices(&claim_all(t.store.as_ref(), now).await).is_empty());

    let fresh = t
        .store
        .notify_staff(failed.clone(), "delivery-failed:2".to_owned(), now)
        .await
        .unwrap();
    assert_eq!(fresh, 1);
    assert_eq!(
        staff_notices(&claim_all(t.store.as_ref(), now).await),
        vec![(admin, failed)]
    );
}

/// A key that is empty, too long, or not printable ASCII is `Invalid`, queues nothing and is
/// not remembered: the same event under a good key is announced afterwards.
pub async fn a_bad_notice_key_is_invalid_and_queues_nothing(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let admin = t.staff(20, Role::Admin).await;
    opt_in(&t, admin, &NoticeKind::ALL).await;
    let now = t.now();
    let paid = Notice::PaymentReceived {
        invoice: InvoiceId(1),
    };
    let before = t.snapshot().await;
    let too_long = "k".repeat(MAX_NOTICE_KEY + 1);
    for bad in [
        "",
        " ",
        "a b",
        "tab\tkey",
        "naïve",
        "line\n",
        too_long.as_str(),
    ] {
        let refused = t
            .store
            .notify_staff(paid.clone(), bad.to_owned(), now)
            .await;
        assert!(
            matches!(refused, Err(Error::Invalid(_))),
            "key {bad:?}: {refused:?}"
        );
    }
    assert_eq!(t.snapshot().await, before);
    assert!(claim_all(t.store.as_ref(), now).await.is_empty());

    let longest = "k".repeat(MAX_NOTICE_KEY);
    let queued = t.store.notify_staff(paid, longest, now).await.unwrap();
    assert_eq!(queued, 1, "a key of the largest size is accepted");
}

/// Twenty callers raising one notice with one key at once: exactly one of them queues (and
/// answers how many), every other answers 0, and each opted-in person gets it once.
pub async fn a_notice_raised_many_times_at_once_is_queued_once(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let mut staff = Vec::new();
    for id in [20, 30, 40] {
        let user = t.staff(id, Role::Admin).await;
        opt_in(&t, user, &[NoticeKind::OrderPaid]).await;
        staff.push(user);
    }
    let now = t.now();
    let paid = Notice::OrderPaid { order: OrderId(9) };

    let barrier = Arc::new(Barrier::new(20));
    let mut tasks = JoinSet::new();
    for _ in 0..20 {
        let (store, barrier, paid) = (t.store.clone(), barrier.clone(), paid.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            store
                .notify_staff(paid, "order-paid:9".to_owned(), now)
                .await
                .unwrap()
        });
    }
    let mut answers = tasks.join_all().await;
    answers.sort_unstable();
    let mut expected = vec![0; 19];
    expected.push(3);
    assert_eq!(answers, expected, "exactly one caller queues");

    let got = staff_notices(&claim_all(t.store.as_ref(), now).await);
    let want: Vec<(UserId, Notice)> = staff.iter().map(|u| (*u, paid.clone())).collect();
    assert_eq!(got, want, "each opted-in person is told once");
}
