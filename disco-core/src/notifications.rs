//! [`Notifications`]: how a store wakes readers when its head moves.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use crate::error::Error;

/// The sending side, kept by a store: call [`Notifier::notify`] after a commit.
#[derive(Debug)]
pub struct Notifier {
    tx: watch::Sender<u64>,
    closed: Arc<AtomicBool>,
}

/// The receiving side, from [`EventStore::notifications`](crate::EventStore::notifications).
///
/// It carries the highest head position the store has announced. Treat it as a
/// hint that the head *may* have moved: read the store to see what is there.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use disco::notifications::Notifier;
/// let notifier = Notifier::new(0);
/// let mut rx = notifier.subscribe();
/// notifier.notify(5);
/// assert_eq!(rx.wait_beyond(0).await.unwrap(), 5);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Notifications {
    rx: watch::Receiver<u64>,
    closed: Arc<AtomicBool>,
}

impl Notifier {
    /// A notifier whose head starts at `head`.
    pub fn new(head: u64) -> Self {
        Notifier {
            tx: watch::Sender::new(head),
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Announces `head`, waking every waiting receiver if it is beyond the last
    /// announced head.
    pub fn notify(&self, head: u64) {
        // Invariant: the announced head only grows (an older head is ignored).
        self.tx.send_if_modified(|current| {
            if head > *current {
                *current = head;
                true
            } else {
                false
            }
        });
    }

    /// A new receiver.
    pub fn subscribe(&self) -> Notifications {
        Notifications {
            rx: self.tx.subscribe(),
            closed: self.closed.clone(),
        }
    }

    /// Marks the store closed and wakes every waiting receiver, whose
    /// [`Notifications::wait_beyond`] then fails with [`Error::Closed`].
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.tx.send_modify(|_| {});
    }

    /// Whether [`Notifier::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The last announced head.
    pub fn head(&self) -> u64 {
        *self.tx.borrow()
    }
}

impl Notifications {
    /// The last announced head.
    pub fn head(&self) -> u64 {
        *self.rx.borrow()
    }

    /// Waits until the announced head is beyond `position` and returns it; at
    /// once if it already is. Fails with [`Error::Closed`] once the store
    /// was closed (or its notifier dropped).
    pub async fn wait_beyond(&mut self, position: u64) -> Result<u64, Error> {
        let closed = self.closed.clone();
        let head = match self
            .rx
            .wait_for(|head| *head > position || closed.load(Ordering::Acquire))
            .await
        {
            Ok(head) => *head,
            Err(_) => return Err(Error::Closed),
        };
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(head)
    }
}
