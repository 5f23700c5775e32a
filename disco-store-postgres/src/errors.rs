//! Mapping sqlx's errors onto the contract's [`Error`].

use disco_core::Error;

/// Maps a sqlx error: lost connections, pool timeouts, a server shutting
/// down or refusing connections, serialization failures and deadlocks are
/// `Unavailable` (retryable); the pool closed by `close()` is `Closed`;
/// everything else is `Backend`.
pub(crate) fn db_error(error: sqlx::Error) -> Error {
    match &error {
        // Only `close()` closes the pool: not an outage, and not retryable.
        sqlx::Error::PoolClosed => Error::Closed,
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
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

pub(crate) use disco_backend::stored_int::{
    from_stored as stored_u64, limit_to_i64 as sql_limit, to_i64 as sql_int,
};
