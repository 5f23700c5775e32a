//! Event consumers: a name, a filter and an async handler, run by a runner
//! that resumes from the consumer's checkpoint and delivers every event in
//! position order, at least once.
//!
//! - **Checkpoints.** The runner saves the position of the last handled event
//!   every [`ConsumerOptions::checkpoint_every_events`] events or
//!   [`ConsumerOptions::checkpoint_every`], and on a graceful stop. After a
//!   crash, the events since the last save are delivered again: handlers
//!   must tolerate a repeat (at least once).
//! - **Errors.** A handler error or panic is retried with exponential
//!   backoff ([`ErrorPolicy`]); after the last retry the runner stops (the
//!   default) or, only when asked, skips the event with a warning naming its
//!   id. A retried event is never passed over: nothing after it is handled
//!   before it succeeds or is skipped.
//! - **One active runner per name** across every process sharing the store,
//!   through the store's lease ([`disco_core::lease`]). A runner that does not get
//!   the lease waits as a standby and takes over within
//!   [`ConsumerOptions::takeover_poll`] of the holder's end (plus the lease's
//!   time to live on stores whose leases expire, such as SQLite).
//! - **Control.** [`ConsumerHandle`] stops a runner gracefully (the current
//!   event finishes, the checkpoint is saved), resets it to a position (it
//!   obeys at once), and reports its [`ConsumerStatus`]. A reset written to
//!   the store by anyone else ([`EventStore::save_checkpoint`], the CLI) is
//!   noticed at the runner's next checkpoint.
//!
//! ```
//! # async fn demo(store: std::sync::Arc<dyn disco::EventStore>) -> disco::Result<()> {
//! use disco::consumer::{handler_fn, Consumer, ErrorPolicy};
//! use disco::EventFilter;
//!
//! let handle = Consumer::new(
//!     "wallet-balances",
//!     handler_fn(|event| {
//!         let kind = event.event_type.clone();
//!         async move {
//!             println!("handled {kind}");
//!             Ok(())
//!         }
//!     }),
//! )
//! .filter(EventFilter::default().with_stream_prefix("wallet-"))
//! .error_policy(ErrorPolicy::default().retries(3))
//! .start(store)?;
//! let status = handle.status().await;
//! println!("{} is {:?} at {} ({} behind)", status.name, status.state, status.position, status.lag);
//! handle.stop().await;
//! # Ok(()) }
//! ```

mod handle;
pub mod holding;
pub mod lowest;
pub mod membership;
pub mod parking;
mod partition;
mod partitioned;
mod runner;
pub mod stretch;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use disco_core::limits::check_checkpoint_name;
use disco_core::{EventFilter, EventStore, RecordedEvent, Result};

pub use handle::{head_or_announced, ConsumerExit, ConsumerHandle, ConsumerState, ConsumerStatus};
pub use membership::member_name;
pub use partition::{KeyFn, Partition};
pub use partitioned::{
    partition_name, split_checkpoint_name, PartitionStatus, PartitionedConsumer, PartitionedHandle,
};

/// What a handler fails with: any error, kept as its message.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// What a consumer does with each event.
///
/// ```
/// use async_trait::async_trait;
/// use disco::consumer::{Handler, HandlerError};
/// use disco::RecordedEvent;
///
/// struct CountDeposits(std::sync::atomic::AtomicU64);
///
/// #[async_trait]
/// impl Handler for CountDeposits {
///     async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
///         if event.event_type == "Deposited" {
///             self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         }
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Handles one event. An error (or a panic) is retried as the consumer's
    /// [`ErrorPolicy`] says; the event may come again after a crash.
    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError>;
}

/// A shared handler handles as the handler it shares (so the caller may
/// keep a clone to look at what it collected).
#[async_trait]
impl<H: Handler + ?Sized> Handler for Arc<H> {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        (**self).handle(event).await
    }
}

/// A [`Handler`] made of a closure; see [`handler_fn`].
pub struct FnHandler<F>(F);

/// A handler from a closure that takes the event and returns a future
/// (which owns what it needs from the event).
pub fn handler_fn<F, Fut>(f: F) -> FnHandler<F>
where
    F: Fn(&RecordedEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    FnHandler(f)
}

#[async_trait]
impl<F, Fut> Handler for FnHandler<F>
where
    F: Fn(&RecordedEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        // The closure runs inside the future, so a panic in it is caught
        // with the future's.
        (self.0)(event).await
    }
}

/// What the runner does after the last retry of a failing event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AfterRetries {
    /// Stop the runner; its checkpoint stays before the event (the default).
    #[default]
    Stop,
    /// Log the event's id and position as a warning and go on past it.
    Skip,
    /// Park the event's stream: record it (with the event and the error),
    /// hold back the stream's later events in order, and go on with every
    /// other stream; see [`parking`].
    Park,
}

/// How a consumer treats a handler that fails (returns an error or panics).
///
/// ```
/// use std::time::Duration;
/// use disco::consumer::{AfterRetries, ErrorPolicy};
/// let policy = ErrorPolicy::default()
///     .retries(3)
///     .backoff(Duration::from_millis(10), Duration::from_secs(1))
///     .then_skip();
/// assert_eq!(policy.after_retries, AfterRetries::Skip);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorPolicy {
    /// Retries after the first failure. Default 5.
    pub retries: u32,
    /// The wait before the first retry; it doubles each time. Default 100 ms.
    pub first_backoff: Duration,
    /// The longest wait between retries. Default 10 s.
    pub max_backoff: Duration,
    /// What happens after the last retry. Default: stop.
    pub after_retries: AfterRetries,
}

impl Default for ErrorPolicy {
    fn default() -> Self {
        ErrorPolicy {
            retries: 5,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            after_retries: AfterRetries::Stop,
        }
    }
}

impl ErrorPolicy {
    /// Retry `n` times after the first failure.
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }

    /// Wait `first` before the first retry, doubling up to `max`.
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.first_backoff = first;
        self.max_backoff = max;
        self
    }

    /// Skip the event after the last retry.
    pub fn then_skip(mut self) -> Self {
        self.after_retries = AfterRetries::Skip;
        self
    }

    /// Park the event's stream after the last retry.
    pub fn then_park(mut self) -> Self {
        self.after_retries = AfterRetries::Park;
        self
    }

    /// Stop the runner after the last retry (the default).
    pub fn then_stop(mut self) -> Self {
        self.after_retries = AfterRetries::Stop;
        self
    }

    /// The retries of one failing piece of work under this policy.
    pub fn start(self) -> Retries {
        Retries {
            policy: self,
            failures: 0,
            backoff: self.first_backoff,
        }
    }
}

/// Where a failing piece of work (a consumer's event, a projection's batch)
/// stands in its [`ErrorPolicy`]: the runner decides *whether* a failure is
/// retried, the policy *how* (how many times, how long between).
///
/// ```
/// use std::time::Duration;
/// use disco::consumer::ErrorPolicy;
/// let policy = ErrorPolicy::default().retries(2).backoff(Duration::from_millis(10), Duration::from_millis(15));
/// let mut retries = policy.start();
/// assert_eq!(retries.failed(), Some(Duration::from_millis(10)));
/// assert_eq!(retries.failed(), Some(Duration::from_millis(15)));
/// assert_eq!(retries.failed(), None); // spent: `after_retries` decides
/// assert_eq!(retries.failures(), 2);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Retries {
    policy: ErrorPolicy,
    failures: u32,
    backoff: Duration,
}

impl Retries {
    /// A failure: the wait before the next try, or `None` when the
    /// policy's retries are spent.
    pub fn failed(&mut self) -> Option<Duration> {
        if self.failures >= self.policy.retries {
            return None;
        }
        self.failures = self.failures.saturating_add(1);
        let wait = self.backoff;
        self.backoff = self.backoff.saturating_mul(2).min(self.policy.max_backoff);
        Some(wait)
    }

    /// The retries made so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// What happens once they are spent.
    pub fn after(&self) -> AfterRetries {
        self.policy.after_retries
    }
}

/// How a consumer's runner reads, saves and competes for its lease.
#[derive(Clone, Debug)]
pub struct ConsumerOptions {
    /// Which events the consumer sees.
    pub filter: EventFilter,
    /// Where a consumer without a checkpoint starts (0: the beginning).
    pub start_after: u64,
    /// Save the checkpoint after this many handled events. Default 1000.
    pub checkpoint_every_events: u64,
    /// ... or this long after the last save. Default 1 s.
    pub checkpoint_every: Duration,
    /// Handler failures.
    pub error_policy: ErrorPolicy,
    /// How long a lease lasts without renewal on stores whose leases expire
    /// (SQLite); the runner renews it every third of this. Default 10 s.
    pub lease_ttl: Duration,
    /// How often a standby runner tries to take the lease. Default 1 s.
    pub takeover_poll: Duration,
    /// Events per read. Default 512.
    pub page_size: usize,
    /// Pages read ahead of the handler. Default 4.
    pub buffer_pages: usize,
    /// The longest wait for a store notification before reading again.
    /// Default 1 s.
    pub poll_interval: Duration,
    /// Only this partition's events (set by [`PartitionedConsumer`] for
    /// each of its partitions); `None`: every event.
    pub partition: Option<Partition>,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        ConsumerOptions {
            filter: EventFilter::default(),
            start_after: 0,
            checkpoint_every_events: 1000,
            checkpoint_every: Duration::from_secs(1),
            error_policy: ErrorPolicy::default(),
            lease_ttl: Duration::from_secs(10),
            takeover_poll: Duration::from_secs(1),
            page_size: 512,
            buffer_pages: 4,
            poll_interval: Duration::from_secs(1),
            partition: None,
        }
    }
}

/// A named consumer, ready to [start](Consumer::start) on a store.
pub struct Consumer {
    name: String,
    handler: Arc<dyn Handler>,
    options: ConsumerOptions,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("name", &self.name)
            .field("options", &self.options)
            .finish()
    }
}

impl Consumer {
    /// A consumer `name` (its checkpoint's and lease's name) with `handler`
    /// and the default options.
    pub fn new(name: impl Into<String>, handler: impl Handler) -> Self {
        Consumer {
            name: name.into(),
            handler: Arc::new(handler),
            options: ConsumerOptions::default(),
        }
    }

    /// Only events that pass `filter`.
    pub fn filter(mut self, filter: EventFilter) -> Self {
        self.options.filter = filter;
        self
    }

    /// Save the checkpoint every `events` handled events or after `interval`.
    pub fn checkpoint_every(mut self, events: u64, interval: Duration) -> Self {
        self.options.checkpoint_every_events = events.max(1);
        self.options.checkpoint_every = interval;
        self
    }

    /// How handler failures are treated.
    pub fn error_policy(mut self, policy: ErrorPolicy) -> Self {
        self.options.error_policy = policy;
        self
    }

    /// The lease's time to live and how often a standby tries to take it.
    pub fn lease(mut self, ttl: Duration, takeover_poll: Duration) -> Self {
        self.options.lease_ttl = ttl;
        self.options.takeover_poll = takeover_poll;
        self
    }

    /// Replaces every option at once.
    pub fn options(mut self, options: ConsumerOptions) -> Self {
        self.options = options;
        self
    }

    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts a runner on `store` (on the current tokio runtime). It waits
    /// as a standby while another runner of this name holds the lease.
    /// Fails only if the name is not a valid checkpoint name.
    pub fn start(self, store: Arc<dyn EventStore>) -> Result<ConsumerHandle> {
        check_checkpoint_name(&self.name)?;
        Ok(runner::spawn(self.name, self.handler, self.options, store))
    }
}
