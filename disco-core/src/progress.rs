//! [`Progress`]: how far a consumer or projection has seen the store, and
//! waiting until it has seen a position (read-your-writes).
//!
//! A runner keeps the [`ProgressTracker`] and moves it forward as it goes;
//! anyone may hold a [`Progress`] and wait on it. The orchestrator's strong
//! consistency waits on these.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::Duration;
//! use disco::progress::Progress;
//! let (tracker, progress) = Progress::channel("balances", 0);
//! tracker.advance(7);
//! assert_eq!(progress.wait_for(7, Duration::from_millis(10)).await, Ok(7));
//! let behind = progress.wait_for(9, Duration::from_millis(10)).await.unwrap_err();
//! assert_eq!((behind.name.as_str(), behind.wanted, behind.reached), ("balances", 9, 7));
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// The writing side of a [`Progress`], kept by the runner.
#[derive(Debug)]
pub struct ProgressTracker {
    tx: watch::Sender<u64>,
}

/// The position up to which a named consumer or projection has seen the
/// store: every event at or below it was handled, or filtered out.
#[derive(Clone, Debug)]
pub struct Progress {
    name: Arc<str>,
    rx: watch::Receiver<u64>,
}

/// A wait that ended before the runner saw the position it waited for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name} is behind: it has seen position {reached}, not yet {wanted}")]
pub struct Behind {
    /// The consumer or projection that is behind.
    pub name: String,
    /// The position waited for.
    pub wanted: u64,
    /// The position it had seen when the wait ended.
    pub reached: u64,
}

impl ProgressTracker {
    /// Announces that everything up to `position` has been seen.
    pub fn advance(&self, position: u64) {
        // Invariant: a progress only moves forward (a smaller position is
        // ignored), so a wait that succeeded stays true.
        self.tx.send_if_modified(|seen| {
            if position > *seen {
                *seen = position;
                true
            } else {
                false
            }
        });
    }

    /// Sets the position, also backwards (after a reset or a rebuild).
    pub fn reset(&self, position: u64) {
        self.tx.send_replace(position);
    }

    /// The position announced last.
    pub fn position(&self) -> u64 {
        *self.tx.borrow()
    }
}

impl Progress {
    /// A tracker and its first reader for the consumer or projection `name`,
    /// starting at `position`.
    pub fn channel(name: &str, position: u64) -> (ProgressTracker, Progress) {
        let (tx, rx) = watch::channel(position);
        (
            ProgressTracker { tx },
            Progress {
                name: name.into(),
                rx,
            },
        )
    }

    /// The consumer's or projection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The position seen so far.
    pub fn position(&self) -> u64 {
        *self.rx.borrow()
    }

    /// Waits until the position seen is at least `position`, at most
    /// `timeout`; the position reached, or [`Behind`].
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<u64, Behind> {
        let mut rx = self.rx.clone();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|seen| *seen >= position)).await;
        match waited {
            Ok(Ok(seen)) => Ok(*seen),
            _ => Err(Behind {
                name: self.name.to_string(),
                wanted: position,
                reached: self.position(),
            }),
        }
    }
}
