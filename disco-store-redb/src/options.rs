//! [`RedbOptions`]: how a redb store is opened.

use std::time::Duration;

use disco_core::Limits;

/// Options of [`RedbStore::open`](crate::RedbStore::open).
///
/// ```
/// use disco::redb::RedbOptions;
/// let options = RedbOptions::default().cache_size(16 * 1024 * 1024).max_event_size(1 << 20);
/// assert_eq!(options.limits.max_event_size, 1 << 20);
/// ```
#[derive(Clone, Debug)]
pub struct RedbOptions {
    /// Memory redb may use to cache pages; 64 MiB by default (redb's own
    /// default is 1 GiB).
    pub cache_size: usize,
    /// Input limits (maximum event size, 16 MiB by default).
    pub limits: Limits,
    /// The most appends the writer commits in one transaction; 1000 by default.
    pub max_batch: usize,
    /// How long the writer may wait to fill a group commit when the previous
    /// batch showed concurrent appenders; 200 µs by default.
    pub group_commit_delay: Duration,
    /// Whether every commit records redb's allocator state (redb's quick
    /// repair; on by default), so that opening the file after a crash takes
    /// milliseconds whatever its size. Off, a commit is cheaper (one fsync
    /// instead of two: 20-35% more appends per second in disco-bench) and the
    /// first open after a crash walks the whole file (about 1 s per GiB in
    /// a release build, 10-20x that in a debug build). It matters with
    /// [`RedbOptions::check_integrity_on_open`] off: with the check on,
    /// every open reads the whole file anyway.
    pub quick_repair: bool,
    /// Whether opening an existing file first verifies the checksum of every
    /// page and rebuilds redb's allocator state (redb's integrity check; on
    /// by default). A file damaged since redb wrote it (a bad disk, another
    /// program) is then refused with a typed error, where redb without the
    /// check may panic, or abort the process from a destructor, on its first
    /// read or commit, or answer a damaged event's bytes as if they were
    /// the event's. The check reads the whole file (0.8-0.9 s per GiB in
    /// a release build, `disco-bench --case reopen-after-kill`); turn it off
    /// only for a file whose storage you trust and whose open must take
    /// milliseconds.
    pub check_integrity_on_open: bool,
}

impl Default for RedbOptions {
    fn default() -> Self {
        RedbOptions {
            cache_size: 64 * 1024 * 1024,
            limits: Limits::default(),
            max_batch: 1000,
            group_commit_delay: Duration::from_micros(200),
            quick_repair: true,
            check_integrity_on_open: true,
        }
    }
}

impl RedbOptions {
    /// Sets redb's page cache size in bytes.
    pub fn cache_size(mut self, bytes: usize) -> Self {
        self.cache_size = bytes;
        self
    }

    /// Sets the maximum event size (data plus metadata, in bytes).
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.limits = self.limits.with_max_event_size(bytes);
        self
    }

    /// Sets the largest group-commit batch (at least 1).
    pub fn max_batch(mut self, appends: usize) -> Self {
        self.max_batch = appends.max(1);
        self
    }

    /// Sets whether commits record the allocator state for a fast recovery
    /// after a crash (see [`RedbOptions::quick_repair`]).
    pub fn quick_repair(mut self, enabled: bool) -> Self {
        self.quick_repair = enabled;
        self
    }

    /// Sets whether an open verifies the whole file first (see
    /// [`RedbOptions::check_integrity_on_open`]).
    pub fn check_integrity_on_open(mut self, enabled: bool) -> Self {
        self.check_integrity_on_open = enabled;
        self
    }

    /// Sets the longest wait for a group commit to fill.
    pub fn group_commit_delay(mut self, delay: Duration) -> Self {
        self.group_commit_delay = delay;
        self
    }
}
