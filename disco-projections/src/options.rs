//! [`ProjectionOptions`]: how a projection's runner batches, retries and
//! competes for its lease.

use std::time::Duration;

use disco_runtime::consumer::ErrorPolicy;

/// How a projection runs. The projection decides *what* an event does; these
/// decide *how* it is delivered.
///
/// ```
/// use std::time::Duration;
/// use disco::consumer::ErrorPolicy;
/// use disco::projections::ProjectionOptions;
/// let options = ProjectionOptions::default()
///     .batch_size(1000)
///     .error_policy(ErrorPolicy::default().retries(3).then_skip());
/// assert_eq!(options.batch_size, 1000);
/// ```
#[derive(Clone, Debug)]
pub struct ProjectionOptions {
    /// The most events applied in one read-model transaction (catching up
    /// fills it; live, a batch is what has arrived, often one event).
    /// Default 500.
    pub batch_size: usize,
    /// Handler, decode and read-model failures: retried with backoff, then
    /// the runner stops (the default) or skips the event.
    pub error_policy: ErrorPolicy,
    /// How long the lease lasts without renewal on stores whose leases
    /// expire. Default 10 s.
    pub lease_ttl: Duration,
    /// How often a standby tries to take the lease, and an active runner
    /// looks for a requested rebuild. Default 1 s.
    pub takeover_poll: Duration,
    /// When the filter lets nothing through, the position seen is written
    /// at most this often (it is announced at once). Default 1 s.
    pub save_seen_every: Duration,
    /// The longest wait for a store notification. Default 1 s.
    pub poll_interval: Duration,
}

impl Default for ProjectionOptions {
    fn default() -> Self {
        ProjectionOptions {
            batch_size: 500,
            error_policy: ErrorPolicy::default(),
            lease_ttl: Duration::from_secs(10),
            takeover_poll: Duration::from_secs(1),
            save_seen_every: Duration::from_secs(1),
            poll_interval: Duration::from_secs(1),
        }
    }
}

impl ProjectionOptions {
    /// At most `events` per transaction (at least 1).
    pub fn batch_size(mut self, events: usize) -> Self {
        self.batch_size = events.max(1);
        self
    }

    /// How failures are treated.
    pub fn error_policy(mut self, policy: ErrorPolicy) -> Self {
        self.error_policy = policy;
        self
    }

    /// The lease's time to live and how often a standby tries to take it.
    pub fn lease(mut self, ttl: Duration, takeover_poll: Duration) -> Self {
        self.lease_ttl = ttl;
        self.takeover_poll = takeover_poll;
        self
    }
}
