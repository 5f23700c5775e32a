//! [`Error`]: the one error type of every store operation.

use uuid::Uuid;

use crate::{ExpectedVersion, StreamId};

/// Everything a store operation can fail with.
///
/// A failed operation has written nothing. Only [`Error::Unavailable`] is worth
/// retrying as it is ([`Error::is_retryable`]); an append retried with the same
/// event ids is safe even if the first attempt did commit (rule 6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stream's version did not pass the expected-version check.
    #[error("wrong expected version on stream {stream}: expected {expected}, the stream is at version {actual}")]
    WrongExpectedVersion {
        /// The stream written to.
        stream: StreamId,
        /// What the caller expected.
        expected: ExpectedVersion,
        /// The stream's version when the check ran.
        actual: u64,
    },
    /// The stream was deleted; it refuses reads and writes.
    #[error("stream {stream} is deleted")]
    StreamDeleted {
        /// The deleted stream.
        stream: StreamId,
    },
    /// An event id is already in the store, and this is not a retry of the
    /// append that wrote it.
    #[error("event id {id} is already in the store")]
    DuplicateEventId {
        /// The first id of the append that was found already stored.
        id: Uuid,
    },
    /// The input breaks a rule of the contract (an empty append, a bad stream
    /// id or event type, ...); the message says which.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// An event is bigger than the store's limit.
    #[error("event {id} is {size} bytes (data and metadata); the limit is {limit}")]
    TooLarge {
        /// The event's id.
        id: Uuid,
        /// Its data plus metadata length in bytes.
        size: usize,
        /// The store's maximum event size.
        limit: usize,
    },
    /// The backend could not be reached or gave up for now (a lost connection,
    /// a busy database, a shut-down writer). Retrying may succeed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Any other failure of the backend (corruption, an I/O error). Retrying
    /// as it is will not help.
    #[error("store backend error: {0}")]
    Backend(String),
    /// The store handle was closed ([`EventStore::close`](crate::EventStore::close)).
    /// Not retryable: live subscriptions and consumers end with it.
    #[error("the store was closed")]
    Closed,
    /// A write carried a lease's fencing token older than the newest one
    /// handed out for that name: another holder took the lease since, and the
    /// write was refused. The writer has lost its lease.
    #[error("lease {name:?}: token {token} is fenced off by a newer holder (token {current})")]
    Fenced {
        /// The lease (consumer) name.
        name: String,
        /// The token the write carried.
        token: u64,
        /// The newest token handed out for the name.
        current: u64,
    },
    /// There is no disco store where one was asked for, and the open was not
    /// allowed to create one (a missing file, a schema without disco's
    /// tables). Nothing was written.
    #[error("there is no disco store at {location}")]
    NoStore {
        /// The file or schema looked at.
        location: String,
    },
    /// The location holds data disco does not own (a file that is not a
    /// SQLite database, another application's tables, a schema with other
    /// objects). It was refused and left byte for byte as it was.
    #[error("{location} holds data disco does not own ({}); disco left it untouched", .objects.join(", "))]
    Foreign {
        /// The file or schema looked at.
        location: String,
        /// What was found there (tables, objects), as the backend names them.
        objects: Vec<String>,
    },
    /// The store's schema version is not one this library can use as it
    /// is: newer than it knows (upgrade disco), or older and the open was not
    /// allowed to migrate. Nothing was written.
    #[error("{location} has schema version {found}; this disco uses version {supported}{}", if .found > .supported { " (written by a newer disco: upgrade disco)" } else { " (run the migrations: `disco migrate`)" })]
    IncompatibleSchema {
        /// The file or schema looked at.
        location: String,
        /// The version found.
        found: u64,
        /// The version this library reads and writes.
        supported: u64,
    },
}

impl Error {
    /// Whether the same call may succeed if tried again later.
    ///
    /// ```
    /// use disco::Error;
    /// assert!(Error::Unavailable("connection reset".into()).is_retryable());
    /// assert!(!Error::InvalidInput("empty append".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable(_))
    }
}

/// The result of a store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
