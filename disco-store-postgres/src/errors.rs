//! Mapping sqlx's errors onto the contract's [`Error`].

use disco_core::Error;

/// Maps a sqlx error: lost connections, pool timeouts, a server shutting
/// down or refusing connections, serialization failures and deadlocks are
/// `Unavailable` (retryable); everything else is `Backend`.
pub(crate) fn db_error(error: sqlx::Error) -> Error {
    match &error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => {
            Error::Unavailable(format!("PostgreSQL is unreachable: {error}"))
        }
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let retryable = code.starts_with("08") // connection exceptions
                || code.starts_with("57P")         // admin shutdown, crash shutdown, cannot connect now
                || code == "40001"                 // serialization failure
                || code == "40P01"                 // deadlock
                || code == "53300"                 // too many connections
                || code == "55P03"; // lock not available
            if retryable {
                Error::Unavailable(format!("PostgreSQL: {db} (SQLSTATE {code})"))
            } else {
                Error::Backend(format!("PostgreSQL: {db} (SQLSTATE {code})"))
            }
        }
        _ => Error::Backend(format!("PostgreSQL: {error}")),
    }
}

/// A contract `u64` as a PostgreSQL `bigint`, saturating at `i64::MAX`.
pub(crate) fn sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A `usize` limit as a `LIMIT` value.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A stored `bigint` back as a `u64`.
pub(crate) fn stored_u64(value: i64, what: &str) -> Result<u64, Error> {
    u64::try_from(value)
        .map_err(|_| Error::Backend(format!("corrupt {what} in the database: {value}")))
}
