//! [`SqliteOptions`]: how a SQLite store is opened.

use std::time::Duration;

use disco_core::Limits;

/// How much SQLite syncs on commit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// `synchronous=FULL` (the default): a committed append survives a power
    /// loss, not only a process crash.
    #[default]
    Full,
    /// `synchronous=NORMAL`: in WAL mode a commit survives a process crash but
    /// may be lost on power loss or an OS crash. Faster; choose it knowingly.
    Normal,
}

impl Synchronous {
    pub(crate) fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Options of [`SqliteStore::open`](crate::SqliteStore::open).
///
/// ```
/// use std::time::Duration;
/// use disco::sqlite::{SqliteOptions, Synchronous};
/// let options = SqliteOptions::default()
///     .busy_timeout(Duration::from_secs(1))
///     .max_event_size(1024 * 1024);
/// assert_eq!(options.synchronous, Synchronous::Full);
/// ```
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// Sync level of commits; [`Synchronous::Full`] by default.
    pub synchronous: Synchronous,
    /// How long a statement waits for a lock held by another connection or
    /// process before failing with `Unavailable`; 5 s by default. SQLite
    /// counts it in milliseconds in a C `int`: a longer one is taken as
    /// `i32::MAX` ms (about 24.8 days).
    pub busy_timeout: Duration,
    /// Input limits (maximum event size, 16 MiB by default).
    pub limits: Limits,
    /// Read connections kept beside the writer; 4 by default.
    pub readers: usize,
    /// The most appends the writer commits in one transaction; 1000 by default.
    pub max_batch: usize,
    /// How often the store looks for commits made by other processes, to wake
    /// waiting readers; 25 ms by default.
    pub poll_interval: Duration,
    /// How long the writer may wait to fill a group commit when the previous
    /// batch showed concurrent appenders; 200 µs by default, zero to never wait.
    pub group_commit_delay: Duration,
    /// Whether an open may create the store (a new file, or disco's tables in
    /// an empty database); true by default. Off, a path without a disco
    /// store is [`Error::NoStore`](disco_core::Error::NoStore).
    pub create_if_missing: bool,
    /// Whether an open may upgrade a store of an older schema version; true
    /// by default. Off, such a store is
    /// [`Error::IncompatibleSchema`](disco_core::Error::IncompatibleSchema).
    pub migrate: bool,
    /// Whether disco may install its tables in an existing SQLite database
    /// that holds other tables (an application's read model beside its
    /// events); false by default, so a path naming another program's
    /// database by mistake is refused. Once installed, the store opens
    /// without it.
    pub share_database: bool,
    /// Bytes of the file each connection reads through a memory map instead
    /// of `read` calls; 256 MiB by default, 0 to read without one. Reads
    /// that jump around the file (one stream's or one tag's events among
    /// many) run about twice as fast with it. The map is read-only and
    /// writes still go through the WAL; the one risk SQLite documents is an
    /// I/O error on the mapped file (a failing disk, a network file system,
    /// another program truncating the live file), which arrives as a signal
    /// that ends the process instead of as an error.
    pub mmap_size: u64,
}

/// The default [`SqliteOptions::mmap_size`]: 256 MiB.
const DEFAULT_MMAP_SIZE: u64 = 256 * 1024 * 1024;

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            limits: Limits::default(),
            readers: 4,
            max_batch: 1000,
            poll_interval: Duration::from_millis(25),
            group_commit_delay: Duration::from_micros(200),
            create_if_missing: true,
            migrate: true,
            share_database: false,
            mmap_size: DEFAULT_MMAP_SIZE,
        }
    }
}

impl SqliteOptions {
    /// Sets the sync level.
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// Sets the busy timeout.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The busy timeout as SQLite can take it: rusqlite panics on one
    /// that does not fit a C `int` of milliseconds, so it is capped there.
    pub(crate) fn sqlite_busy_timeout(&self) -> Duration {
        self.busy_timeout
            .min(Duration::from_millis(i32::MAX.unsigned_abs().into()))
    }

    /// Sets the maximum event size (data plus metadata, in bytes).
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.limits = self.limits.with_max_event_size(bytes);
        self
    }

    /// Sets the number of read connections (at least 1).
    pub fn readers(mut self, readers: usize) -> Self {
        self.readers = readers.max(1);
        self
    }

    /// Sets the largest group-commit batch (at least 1).
    pub fn max_batch(mut self, appends: usize) -> Self {
        self.max_batch = appends.max(1);
        self
    }

    /// Sets the longest wait for a group commit to fill.
    pub fn group_commit_delay(mut self, delay: Duration) -> Self {
        self.group_commit_delay = delay;
        self
    }

    /// Sets whether an open may create the store.
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
        self
    }

    /// Sets whether an open may upgrade an older schema.
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Sets whether disco may install its tables beside other tables.
    pub fn share_database(mut self, share: bool) -> Self {
        self.share_database = share;
        self
    }

    /// Options that open an existing store as it is: nothing created, nothing
    /// upgraded (what read-only tools use).
    pub fn existing_only(self) -> Self {
        self.create_if_missing(false).migrate(false)
    }

    /// Sets the bytes of the file read through a memory map (0: none).
    /// SQLite caps it at its own limit (2 GiB as disco builds it).
    pub fn mmap_size(mut self, bytes: u64) -> Self {
        self.mmap_size = bytes;
        self
    }

    /// Sets the cross-process poll interval.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }
}
