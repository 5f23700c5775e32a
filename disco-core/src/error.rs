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
    /// A conditional append ([`EventStore::append_if`](crate::EventStore::append_if))
    /// found an event matching its condition's query stored after the
    /// condition's position: the facts the decision was made on changed.
    /// Nothing was written. Not retryable as it is: read again and decide again.
    #[error("append condition failed: the event at position {position} matches the condition's query and was stored after position {after}")]
    ConditionFailed {
        /// The position of the first event that matches the query after `after`.
        position: u64,
        /// The position the condition was set at.
        after: u64,
    },
    /// An event carries more tags than a store takes.
    #[error("event {id} carries {count} tags; at most {limit} are allowed")]
    TooManyTags {
        /// The event's id.
        id: Uuid,
        /// How many tags it carries.
        count: usize,
        /// The most tags an event may carry.
        limit: usize,
    },
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
    /// The store refused the credentials it was given (a wrong password, an
    /// unknown user, a rejected certificate or creds file). Not retryable:
    /// the URL or the credentials must change.
    #[error("the store refused the credentials: {0}")]
    Unauthorized(String),
    /// The server is of a version, or runs with a setting, that cannot keep
    /// the contract: it would ignore a check instead of refusing it, or
    /// acknowledge a write before it is durable. Not retryable: upgrade or
    /// reconfigure the server. Nothing was created.
    #[error("{location} runs {found}; disco needs {needed}")]
    UnsupportedServer {
        /// The server looked at.
        location: String,
        /// The version (and setting) it reports.
        found: String,
        /// What disco needs instead (the oldest version, or the setting).
        needed: String,
    },
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

    /// The variant's name (`"WrongExpectedVersion"`), for logs, metrics and
    /// the table of every kind in `docs/errors.md`.
    ///
    /// ```
    /// use disco::Error;
    /// assert_eq!(Error::Closed.kind(), "Closed");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Error::WrongExpectedVersion { .. } => "WrongExpectedVersion",
            Error::StreamDeleted { .. } => "StreamDeleted",
            Error::DuplicateEventId { .. } => "DuplicateEventId",
            Error::InvalidInput(_) => "InvalidInput",
            Error::ConditionFailed { .. } => "ConditionFailed",
            Error::TooManyTags { .. } => "TooManyTags",
            Error::TooLarge { .. } => "TooLarge",
            Error::Unavailable(_) => "Unavailable",
            Error::Backend(_) => "Backend",
            Error::Unauthorized(_) => "Unauthorized",
            Error::UnsupportedServer { .. } => "UnsupportedServer",
            Error::Closed => "Closed",
            Error::Fenced { .. } => "Fenced",
            Error::NoStore { .. } => "NoStore",
            Error::Foreign { .. } => "Foreign",
            Error::IncompatibleSchema { .. } => "IncompatibleSchema",
        }
    }

    /// One error of every kind, in declaration order (for tests that must
    /// cover each kind, such as the check of `docs/errors.md`).
    #[doc(hidden)]
    pub fn one_of_each() -> Vec<Error> {
        // "s" is a valid id; the fallback is never taken.
        let stream = StreamId::new("s").ok();
        let Some(stream) = stream else {
            return Vec::new();
        };
        vec![
            Error::WrongExpectedVersion {
                stream: stream.clone(),
                expected: ExpectedVersion::NoStream,
                actual: 1,
            },
            Error::StreamDeleted { stream },
            Error::DuplicateEventId { id: Uuid::nil() },
            Error::InvalidInput("x".into()),
            Error::ConditionFailed {
                position: 2,
                after: 1,
            },
            Error::TooManyTags {
                id: Uuid::nil(),
                count: 2,
                limit: 1,
            },
            Error::TooLarge {
                id: Uuid::nil(),
                size: 2,
                limit: 1,
            },
            Error::Unavailable("x".into()),
            Error::Backend("x".into()),
            Error::Unauthorized("x".into()),
            Error::UnsupportedServer {
                location: "x".into(),
                found: "1".into(),
                needed: "2".into(),
            },
            Error::Closed,
            Error::Fenced {
                name: "x".into(),
                token: 1,
                current: 2,
            },
            Error::NoStore {
                location: "x".into(),
            },
            Error::Foreign {
                location: "x".into(),
                objects: Vec::new(),
            },
            Error::IncompatibleSchema {
                location: "x".into(),
                found: 2,
                supported: 1,
            },
        ]
    }
}

/// The result of a store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind's place in the declaration; a new variant fails to compile
    /// here until it has one, and then [`Error::one_of_each`] must hold it.
    fn ordinal(error: &Error) -> usize {
        match error {
            Error::WrongExpectedVersion { .. } => 0,
            Error::StreamDeleted { .. } => 1,
            Error::DuplicateEventId { .. } => 2,
            Error::InvalidInput(_) => 3,
            Error::ConditionFailed { .. } => 4,
            Error::TooManyTags { .. } => 5,
            Error::TooLarge { .. } => 6,
            Error::Unavailable(_) => 7,
            Error::Backend(_) => 8,
            Error::Unauthorized(_) => 9,
            Error::UnsupportedServer { .. } => 10,
            Error::Closed => 11,
            Error::Fenced { .. } => 12,
            Error::NoStore { .. } => 13,
            Error::Foreign { .. } => 14,
            Error::IncompatibleSchema { .. } => 15,
        }
    }
    const KINDS: usize = 16;

    #[test]
    fn one_of_each_holds_every_kind_once() {
        let ordinals: Vec<usize> = Error::one_of_each().iter().map(ordinal).collect();
        assert_eq!(ordinals, (0..KINDS).collect::<Vec<_>>());
        let mut kinds: Vec<&str> = Error::one_of_each().iter().map(Error::kind).collect();
        kinds.dedup();
        assert_eq!(kinds.len(), KINDS, "two kinds share a name: {kinds:?}");
    }
}
