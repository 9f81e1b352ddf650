//! Housekeeping: a sweep forgets dialogues that expired at or before its cut and update ids
//! recorded before its cut, keeps everything else, and counts what it forgot.

use std::sync::Arc;

use super::TestShop;
use crate::dialogue::Dialogue;
use crate::housekeeping::{Sweep, SweepReport};
use crate::ids::{ChatId, UpdateId, UserId};
use crate::ports::Storage;
use crate::time::Timestamp;

fn dialogue(user: i64, expires_at: Timestamp) -> Dialogue {
    Dialogue {
        chat: ChatId(-100),
        user: UserId(user),
        state: format!("state of {user}"),
        expires_at,
    }
}

/// Of dialogues expiring just before, exactly at and just after the cut, the first two are
/// forgotten (not returned even when asked at a time they had not expired yet) and the third
/// is kept; the report counts two dialogues and no updates. A second identical sweep forgets
/// nothing more.
pub async fn a_sweep_forgets_dialogues_expired_by_its_cut_and_keeps_live_ones(
    store: Arc<dyn Storage>,
) {
    let t = TestShop::new(store).await;
    let early = t.now();
    let cut = Timestamp(early.0 + 60_000);
    let before = dialogue(1, Timestamp(cut.0 - 1));
    let exactly = dialogue(2, cut);
    let after = dialogue(3, Timestamp(cut.0 + 1));
    for d in [&before, &exactly, &after] {
        t.store.save_dialogue(d.clone()).await.unwrap();
    }
    let sweep = Sweep {
        dialogues_expired_by: cut,
        updates_before: early,
    };

    let report = t.store.sweep(sweep).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            dialogues: 2,
            updates: 0
        }
    );
    let get = |user: i64| {
        let store = t.store.clone();
        async move {
            store
                .dialogue(ChatId(-100), UserId(user), early)
                .await
                .unwrap()
        }
    };
    assert_eq!(get(1).await, None, "expired before the cut: forgotten");
    assert_eq!(get(2).await, None, "expired at the cut: forgotten");
    assert_eq!(get(3).await, Some(after), "still live at the cut: kept");

    let again = t.store.sweep(sweep).await.unwrap();
    assert_eq!(again, SweepReport::default());
    assert_eq!(get(3).await.map(|d| d.user), Some(UserId(3)));
}

/// Update ids recorded before the cut are forgotten (and a forgotten id is accepted again as
/// new); ids recorded at or after the cut are kept (a redelivery is still recognised); the
/// report counts them, and dialogues are not touched.
pub async fn a_sweep_forgets_update_ids_recorded_before_its_cut(store: Arc<dyn Storage>) {
    let t = TestShop::new(store).await;
    let start = t.now();
    let cut = Timestamp(start.0 + 10_000);
    let recorded = [
        (UpdateId(1), Timestamp(cut.0 - 2_000)),
        (UpdateId(2), Timestamp(cut.0 - 1)),
        (UpdateId(3), cut),
        (UpdateId(4), Timestamp(cut.0 + 1)),
    ];
    for (update, at) in recorded {
        assert!(t.store.mark_update_processed(update, at).await.unwrap());
    }
    let live = dialogue(9, Timestamp(cut.0 + 60_000));
    t.store.save_dialogue(live.clone()).await.unwrap();

    let report = t
        .store
        .sweep(Sweep {
            dialogues_expired_by: start,
            updates_before: cut,
        })
        .await
        .unwrap();
    assert_eq!(
        report,
        SweepReport {
            dialogues: 0,
            updates: 2
        }
    );
    let later = Timestamp(cut.0 + 5);
    for (update, forgotten) in [
        (UpdateId(1), true),
        (UpdateId(2), true),
        (UpdateId(3), false),
        (UpdateId(4), false),
    ] {
        let first = t.store.mark_update_processed(update, later).await.unwrap();
        assert_eq!(first, forgotten, "update {update:?} after the sweep");
    }
    let kept = t
        .store
        .dialogue(ChatId(-100), UserId(9), start)
        .await
        .unwrap();
    assert_eq!(kept, Some(live));
}
