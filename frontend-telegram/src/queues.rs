//! Per-chat queues: updates of one chat are handled one after another, in the order Telegram
//! sent them, while other chats go on concurrently.
//!
//! A chat has a queue only while it has a worker: [`Queues::push`] says when to start one,
//! and the worker takes items with [`Queues::next`] until that finds the queue empty and
//! removes it, both under one lock, so an item is never left without a worker.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

/// Items waiting per chat.
#[derive(Debug)]
pub(crate) struct Queues<T> {
    chats: Mutex<HashMap<i64, VecDeque<T>>>,
}

impl<T> Default for Queues<T> {
    fn default() -> Self {
        Queues {
            chats: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Queues<T> {
    /// Queues `item` for `chat`; `true` when the chat has no worker and one must be started.
    pub(crate) fn push(&self, chat: i64, item: T) -> bool {
        let mut chats = self.chats.lock().unwrap_or_else(PoisonError::into_inner);
        match chats.entry(chat) {
            Entry::Occupied(mut queue) => {
                queue.get_mut().push_back(item);
                false
            }
            Entry::Vacant(slot) => {
                slot.insert(VecDeque::from([item]));
                true
            }
        }
    }

    /// The next item for `chat`'s worker; `None` ends the worker (the queue is gone).
    pub(crate) fn next(&self, chat: i64) -> Option<T> {
        let mut chats = self.chats.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = chats.get_mut(&chat)?;
        let item = queue.pop_front();
        if item.is_none() {
            chats.remove(&chat);
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_chat_is_served_in_order_by_one_worker() {
        let queues = Queues::default();
        assert!(queues.push(1, "a1"), "the first update starts a worker");
        assert!(!queues.push(1, "a2"), "the running worker takes the second");
        assert!(queues.push(2, "b1"), "another chat gets its own worker");
        assert_eq!(queues.next(1), Some("a1"));
        assert_eq!(queues.next(1), Some("a2"));
        assert_eq!(queues.next(1), None);
        assert_eq!(queues.next(2), Some("b1"));
    }

    #[test]
    fn a_chat_whose_worker_finished_gets_a_new_one() {
        let queues = Queues::default();
        assert!(queues.push(1, 1));
        assert_eq!(queues.next(1), Some(1));
        assert_eq!(queues.next(1), None);
        assert!(
            queues.push(1, 2),
            "the finished worker left; a new one must start"
        );
        assert_eq!(queues.next(1), Some(2));
    }

    #[test]
    fn workers_racing_pushes_lose_nothing() {
        // Many threads push into a few chats while workers drain them concurrently.
        let queues = std::sync::Arc::new(Queues::default());
        let started = std::sync::atomic::AtomicUsize::new(0);
        let drained = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for producer in 0..4i64 {
                let queues = &queues;
                let started = &started;
                let drained = &drained;
                scope.spawn(move || {
                    for n in 0..200i64 {
                        let chat = n % 3;
                        if queues.push(chat, producer * 1000 + n) {
                            started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            while let Some(item) = queues.next(chat) {
                                drained
                                    .lock()
                                    .unwrap_or_else(PoisonError::into_inner)
                                    .push(item);
                            }
                        }
                    }
                });
            }
        });
        let drained = drained.into_inner().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(drained.len(), 800);
        assert!(started.load(std::sync::atomic::Ordering::SeqCst) >= 3);
    }
}
