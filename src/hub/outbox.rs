//! A bounded single-consumer queue that allocates nothing until something is queued.
//!
//! tokio's mpsc channel allocates its shared state (512 bytes) and a first block of 32 slots
//! (32 × 56 bytes here) when created, which an idle connection pays for ever. This queue is a
//! `VecDeque` behind a std `Mutex` (held only to push or pop, never across an await) and a
//! `Notify`; it gives its buffer back whenever the receiver finds it empty and waits.
//!
//! A push to a full queue fails and marks the queue overflowed; the receiver then hears of the
//! overflow before anything else, which is how a slow reader's connection learns to close.

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
    overflowed: AtomicBool,
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
        overflowed: AtomicBool::new(false),
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    /// Queues `value` without waiting: `Full` at capacity (and the queue is overflowed from then
    /// on), `Closed` once the receiver is gone.
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
            drop(queue);
            self.shared.overflowed.store(true, Ordering::Release);
            self.shared.notify.notify_one();
            return Err(TrySendError::Full(value));
        }
        queue.push_back(value);
        drop(queue);
        self.shared.notify.notify_one();
        Ok(())
    }
}

impl<T> Sender<T> {
    /// Whether a push ever found the queue full.
    pub fn is_overflowed(&self) -> bool {
        self.shared.overflowed.load(Ordering::Acquire)
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
        queue.pop_front()
    }

    /// About to wait: an empty queue gives its buffer back, so an idle connection holds none.
    fn release_if_empty(&self) {
        let mut queue = self
            .shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if queue.is_empty() && queue.capacity() > 0 {
            *queue = VecDeque::new();
        }
    }

    /// The next value, waiting for one. An overflow is reported before any queued value.
    pub async fn recv(&mut self) -> Next<T> {
        loop {
            if self.shared.overflowed.load(Ordering::Acquire) {
                return Next::Overflowed;
            }
            if let Some(value) = self.try_recv() {
                return Next::Value(value);
            }
            if self.shared.closed.load(Ordering::Acquire) {
                return self.try_recv().map_or(Next::Closed, Next::Value);
            }
            self.release_if_empty();
            self.shared.notify.notified().await;
        }
    }
}

/// What [`Receiver::recv`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<T> {
    Value(T),
    /// A push found the queue full: the reader fell too far behind.
    Overflowed,
    /// The sender is gone and nothing is queued.
    Closed,
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
        assert_eq!(receiver.recv().await, Next::Overflowed);
        assert!(sender.is_overflowed());
        assert_eq!(receiver.try_recv(), Some(1));
        assert_eq!(receiver.try_recv(), Some(2));
        assert_eq!(receiver.try_recv(), None);
    }

    #[tokio::test]
    async fn the_receiver_ends_when_the_sender_is_gone() {
        let (sender, mut receiver) = channel(4);
        assert!(sender.try_send(7).is_ok());
        drop(sender);
        assert_eq!(receiver.recv().await, Next::Value(7));
        assert_eq!(receiver.recv().await, Next::Closed);
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_send() {
        let (sender, mut receiver) = channel(4);
        let waiting = tokio::spawn(async move { receiver.recv().await });
        tokio::task::yield_now().await;
        assert!(sender.try_send(9).is_ok());
        assert_eq!(waiting.await.expect("join"), Next::Value(9));
    }

    #[test]
    fn sending_to_a_dropped_receiver_is_closed() {
        let (sender, receiver) = channel::<u8>(4);
        drop(receiver);
        assert!(matches!(sender.try_send(1), Err(TrySendError::Closed(1))));
    }
}
