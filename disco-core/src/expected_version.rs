//! [`ExpectedVersion`]: the optimistic concurrency check of an append or delete.

use std::fmt;

/// What the writer expects the stream's version to be before its write.
///
/// A stream's version is the version of its last event, 0 when it has none.
///
/// ```
/// use disco::ExpectedVersion;
/// assert!(ExpectedVersion::Any.accepts(7));
/// assert!(ExpectedVersion::NoStream.accepts(0));
/// assert!(!ExpectedVersion::StreamExists.accepts(0));
/// assert!(ExpectedVersion::Exact(0).accepts(0)); // Exact(0) is NoStream
/// assert!(!ExpectedVersion::Exact(3).accepts(4));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// No check: the write passes whatever the version.
    Any,
    /// The stream must have no events (version 0).
    NoStream,
    /// The stream must have at least one event.
    StreamExists,
    /// The stream's version must be exactly this; `Exact(0)` is `NoStream`.
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream at `actual` version passes this check.
    pub fn accepts(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::StreamExists => actual > 0,
            ExpectedVersion::Exact(v) => actual == v,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::StreamExists => f.write_str("an existing stream"),
            ExpectedVersion::Exact(v) => write!(f, "version {v}"),
        }
    }
}
