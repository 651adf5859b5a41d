//! A bounded single-consumer queue that allocates nothing until something is queued.
//!
//! tokio's mpsc channel allocates its shared state (512 bytes) and a first block of 32 slots
//! (32 × 56 bytes here) when created, which an idle connection pays for ever. This queue is a
//! `VecDeque` behind a std `Mutex` (held only to push or pop, never across an await) and a
//! `Notify`; it shrinks back when a backlog is drained.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;
pub use tokio::sync::mpsc::error::TrySendError;

struct Shared<T> {
    queue: Mutex<VecDeque<T>>,
    capacity: usize,
    notify: Notify,
    closed: AtomicBool,
}

pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("outbox::Sender")
    }
}

/// A queue holding at most `capacity` values.
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(VecDeque::new()),
        capacity,
        notify: Notify::new(),
        closed: AtomicBool::new(false),
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    /// Queues `value` without waiting: `Full` at capacity, `Closed` once the receiver is gone.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        if Arc::strong_count(&self.shared) < 2 {
            return Err(TrySendError::Closed(value));
        }
        let mut queue = self
            .shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if queue.len() >= self.shared.capacity {
            return Err(TrySendError::Full(value));
        }
        queue.push_back(value);
        drop(queue);
        self.shared.notify.notify_one();
        Ok(())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.notify.notify_one();
    }
}

impl<T> Receiver<T> {
    /// The next value if one is queued.
    pub fn try_recv(&mut self) -> Option<T> {
        let mut queue = self
            .shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let value = queue.pop_front()?;
        if queue.is_empty() && queue.capacity() > 64 {
            queue.shrink_to_fit();
        }
        Some(value)
    }

    /// The next value, waiting for one; `None` once the sender is gone and the queue empty.
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            if let Some(value) = self.try_recv() {
                return Some(value);
            }
            if self.shared.closed.load(Ordering::Acquire) {
                return self.try_recv();
            }
            self.shared.notify.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_arrive_in_order_up_to_capacity() {
        let (sender, mut receiver) = channel(2);
        assert!(sender.try_send(1).is_ok());
        assert!(sender.try_send(2).is_ok());
        assert!(matches!(sender.try_send(3), Err(TrySendError::Full(3))));
        assert_eq!(receiver.recv().await, Some(1));
        assert_eq!(receiver.try_recv(), Some(2));
        assert_eq!(receiver.try_recv(), None);
    }

    #[tokio::test]
    async fn the_receiver_ends_when_the_sender_is_gone() {
        let (sender, mut receiver) = channel(4);
        assert!(sender.try_send(7).is_ok());
        drop(sender);
        assert_eq!(receiver.recv().await, Some(7));
        assert_eq!(receiver.recv().await, None);
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_send() {
        let (sender, mut receiver) = channel(4);
        let waiting = tokio::spawn(async move { receiver.recv().await });
        tokio::task::yield_now().await;
        assert!(sender.try_send(9).is_ok());
        assert_eq!(waiting.await.expect("join"), Some(9));
    }

    #[test]
    fn sending_to_a_dropped_receiver_is_closed() {
        let (sender, receiver) = channel::<u8>(4);
        drop(receiver);
        assert!(matches!(sender.try_send(1), Err(TrySendError::Closed(1))));
    }
}
