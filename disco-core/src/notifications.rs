//! [`Notifications`]: how a store wakes readers when its head moves.

use tokio::sync::watch;

use crate::error::Error;

/// The sending side, kept by a store: call [`Notifier::notify`] after a commit.
#[derive(Debug)]
pub struct Notifier {
    tx: watch::Sender<u64>,
}

/// The receiving side, from [`EventStore::notifications`](crate::EventStore::notifications).
///
/// It carries the highest head position the store has announced. Treat it as a
/// hint that the head *may* have moved: read the store to see what is there.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use disco_core::Notifier;
/// let notifier = Notifier::new(0);
/// let mut rx = notifier.subscribe();
/// notifier.notify(5);
/// assert_eq!(rx.wait_beyond(0).await.unwrap(), 5);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Notifications {
    rx: watch::Receiver<u64>,
}

impl Notifier {
    /// A notifier whose head starts at `head`.
    pub fn new(head: u64) -> Self {
        Notifier {
            tx: watch::Sender::new(head),
        }
    }

    /// Announces `head`, waking every waiting receiver if it is beyond the last
    /// announced head.
    pub fn notify(&self, head: u64) {
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
        }
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
    /// once if it already is. Fails with [`Error::Unavailable`] when the store
    /// has shut down.
    pub async fn wait_beyond(&mut self, position: u64) -> Result<u64, Error> {
        match self.rx.wait_for(|head| *head > position).await {
            Ok(head) => Ok(*head),
            Err(_) => Err(Error::Unavailable("the store was closed".into())),
        }
    }
}
