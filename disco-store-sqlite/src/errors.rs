//! Mapping SQLite's errors onto the contract's [`Error`], and the integer
//! conversions between the contract's `u64`s and SQLite's `i64`s.

use disco_core::Error;
use rusqlite::ErrorCode;

/// Maps a rusqlite error: locks and a full disk are `Unavailable` (retryable),
/// everything else is `Backend` with SQLite's message.
pub(crate) fn db_error(error: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(failure, _) = &error {
        return match failure.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Error::Unavailable(format!(
                "the database is locked by another connection or process ({error})"
            )),
            ErrorCode::DiskFull => Error::Unavailable(format!("the disk is full ({error})")),
            ErrorCode::NotADatabase => {
                Error::Backend(format!("the file is not a SQLite database ({error})"))
            }
            ErrorCode::CannotOpen => Error::Backend(format!(
                "cannot open the database file; does its directory exist and is it writable? ({error})"
            )),
            ErrorCode::ReadOnly => Error::Backend(format!("the database is read-only ({error})")),
            _ => Error::Backend(error.to_string()),
        };
    }
    Error::Backend(error.to_string())
}

/// A contract `u64` as a SQLite integer, saturating at `i64::MAX` (positions
/// and versions never get there; a caller's `u64::MAX` means "the end").
pub(crate) fn sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A `usize` limit as a SQLite `LIMIT`.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A stored integer back as a `u64`; negative values only come from a
/// corrupted or foreign file.
pub(crate) fn stored_u64(value: i64, what: &str) -> Result<u64, Error> {
    u64::try_from(value)
        .map_err(|_| Error::Backend(format!("corrupt {what} in the database: {value}")))
}
