//! How a lane takes its next batch off the queue callers hand their work in on: what waits,
//! plus, when the lane expects more callers soon, those that arrive within a bound.

use std::time::Duration;

use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;

/// How long a lane that comes free waits for callers it expects before it sends what waits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gather {
    /// Wait until this many are taken...
    pub(crate) callers: usize,
    /// ...or this long has passed since the first was taken, whichever comes first.
    pub(crate) for_at_most: Duration,
}

/// Takes what is waiting on `queue`, at least one and at most `most`; `None` once the queue is
/// closed and empty. A lane woken by the first item lets the tasks already woken run before it
/// takes, so items handed in at the same moment go together. With `gather`, a lane that took
/// fewer than `gather.callers` waits up to `gather.for_at_most` for the rest. Lanes hold the
/// lock only while taking, so the next lane takes what arrives while this one's batch runs.
pub(crate) async fn take_waiting<T>(
    queue: &Mutex<mpsc::UnboundedReceiver<T>>,
    mut taken: Vec<T>,
    most: usize,
    gather: Option<Gather>,
) -> Option<Vec<T>> {
    let mut queue = queue.lock().await;
    if taken.is_empty() {
        taken.push(queue.recv().await?);
        // Callers woken together (by one group's answers, say) hand in their items one after
        // another, and the first wakes this lane, which the runtime runs next on that worker:
        // before the others had their turn. Letting them run first sends them together.
        tokio::task::yield_now().await;
    }
    while taken.len() < most {
        match queue.try_recv() {
            Ok(item) => taken.push(item),
            Err(_) => break,
        }
    }
    if let Some(gather) = gather {
        let until = Instant::now() + gather.for_at_most;
        while taken.len() < gather.callers.min(most) {
            match tokio::time::timeout_at(until, queue.recv()).await {
                Ok(Some(item)) => taken.push(item),
                Ok(None) | Err(_) => break,
            }
        }
    }
    Some(taken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A queue holding `items`, and its sender to add more.
    fn queue_of(
        items: &[u32],
    ) -> (
        mpsc::UnboundedSender<u32>,
        Mutex<mpsc::UnboundedReceiver<u32>>,
    ) {
        let (sender, receiver) = mpsc::unbounded_channel();
        for item in items {
            sender.send(*item).expect("the receiver is alive");
        }
        (sender, Mutex::new(receiver))
    }

    /// `taking`, failing the test if it has not finished within a minute (it would hang).
    async fn finished<T>(taking: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(60), taking)
            .await
            .expect("taking finished")
    }

    /// How a lane that expects `callers` waits: for them, whatever the time (an hour is longer
    /// than any test runs).
    fn expecting(callers: usize) -> Gather {
        Gather {
            callers,
            for_at_most: Duration::from_secs(3600),
        }
    }

    #[tokio::test]
    async fn a_lane_expecting_more_callers_waits_for_the_ones_not_yet_arrived() {
        let (sender, queue) = queue_of(&[1]);
        let gather = expecting(3);
        // The runtime runs one task: the sends happen only once taking has taken the first item,
        // let the others run once and is waiting, so without the wait it would have taken one
        // item alone.
        let late = async {
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            for item in [2, 3, 4] {
                sender.send(item).expect("the receiver is alive");
            }
        };
        let (taken, ()) = finished(async {
            tokio::join!(take_waiting(&queue, Vec::new(), 10, Some(gather)), late)
        })
        .await;
        assert_eq!(taken, Some(vec![1, 2, 3]));
        let rest = finished(take_waiting(&queue, Vec::new(), 10, None)).await;
        assert_eq!(rest, Some(vec![4]));
    }

    /// Callers woken at the same moment (as one group's answers wake its buyers) each hand in
    /// an item; the first one's wakes the lane, which the runtime would run before the others.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn items_handed_in_by_callers_woken_together_are_taken_together() {
        let (sender, queue) = queue_of(&[]);
        let queue = Arc::new(queue);
        // Everything below runs on the runtime's one worker, in the order it was spawned: the
        // lane waits first, then the callers, then one task wakes every caller at once.
        let lane = tokio::spawn({
            let queue = queue.clone();
            async move { take_waiting(&queue, Vec::new(), 10, None).await }
        });
        let (wake, woken) = tokio::sync::watch::channel(false);
        for item in [1, 2, 3] {
            let (sender, mut woken) = (sender.clone(), woken.clone());
            tokio::spawn(async move {
                let _ = woken.wait_for(|now| *now).await;
                let _ = sender.send(item);
            });
        }
        tokio::spawn(async move { wake.send_replace(true) });
        let taken = finished(lane).await.expect("the lane ran");
        assert_eq!(
            taken.map(|mut items| {
                items.sort();
                items
            }),
            Some(vec![1, 2, 3])
        );
    }

    #[tokio::test]
    async fn a_lane_sends_what_waits_once_the_time_it_gives_the_others_is_up() {
        let (_sender, queue) = queue_of(&[1, 2]);
        let gather = Gather {
            callers: 5,
            for_at_most: Duration::from_millis(1),
        };
        let taken = finished(take_waiting(&queue, Vec::new(), 10, Some(gather))).await;
        assert_eq!(taken, Some(vec![1, 2]));
    }

    #[tokio::test]
    async fn a_lane_that_has_its_callers_or_its_most_waits_for_no_one() {
        let (_sender, queue) = queue_of(&[1, 2, 3]);
        let enough = expecting(2);
        let taken = finished(take_waiting(&queue, Vec::new(), 10, Some(enough))).await;
        assert_eq!(taken, Some(vec![1, 2, 3]));
        let (_sender, queue) = queue_of(&[1, 2, 3]);
        let beyond_most = expecting(50);
        let taken = finished(take_waiting(&queue, vec![0], 4, Some(beyond_most))).await;
        assert_eq!(taken, Some(vec![0, 1, 2, 3]));
    }

    #[tokio::test]
    async fn a_lane_stops_waiting_when_the_store_closes() {
        let (sender, queue) = queue_of(&[1]);
        let gather = expecting(3);
        let closing = async {
            tokio::task::yield_now().await;
            drop(sender);
        };
        let (taken, ()) = finished(async {
            tokio::join!(take_waiting(&queue, Vec::new(), 10, Some(gather)), closing)
        })
        .await;
        assert_eq!(taken, Some(vec![1]));
    }
}
