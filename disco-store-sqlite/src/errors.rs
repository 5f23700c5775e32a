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

pub(crate) use disco_backend::stored_int::{
    from_stored as stored_u64, limit_to_i64 as sql_limit, to_i64 as sql_int,
};
