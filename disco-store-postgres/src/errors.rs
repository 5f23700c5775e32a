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
            // 08P01 (protocol violation) is a malformed message, not an outage.
            let retryable = (code.starts_with("08") && code != "08P01") // connection exceptions
                || code.starts_with("57P")         // admin shutdown, crash shutdown, cannot connect now
                || code == "40001"                 // serialization failure
                || code == "40P01"                 // deadlock
                || code == "53300"                 // too many connections
                || code == "55P03"; // lock not available
                                    // The message alone: sqlx's Display appends the server's C
                                    // source line ("at line 948"), which tells a user nothing.
            let message = db.message();
            if retryable {
                Error::Unavailable(format!("PostgreSQL: {message} (SQLSTATE {code})"))
            } else {
                Error::Backend(format!("PostgreSQL: {message} (SQLSTATE {code})"))
            }
        }
        _ => Error::Backend(format!("PostgreSQL: {error}")),
    }
}

pub(crate) use disco_backend::stored_int::{
    from_stored as stored_u64, limit_to_i64 as sql_limit, to_i64 as sql_int,
};

/// Maps the error of a first connection to `target` (`host:port/db`, for
/// the message), telling apart what the OS or the server already said:
/// a refused connection, an unreachable host, a name that does not
/// resolve, wrong credentials ([`Error::Unauthorized`]) and a missing
/// database ([`Error::NoStore`]: disco creates schemas, never databases).
/// The first three are `Unavailable` (a server may be starting); the
/// message names which it was.
pub(crate) fn connect_error(error: sqlx::Error, target: &str) -> Error {
    use std::io::ErrorKind;
    match &error {
        sqlx::Error::Io(io) => {
            let what = match io.kind() {
                ErrorKind::ConnectionRefused => {
                    "refused the connection: nothing listens there (is the server running, on that port?)"
                        .to_owned()
                }
                ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                    format!("is unreachable: {io}")
                }
                ErrorKind::TimedOut => format!("did not answer: {io}"),
                ErrorKind::NotFound => format!("has no socket there: {io}"),
                _ if io.to_string().contains("lookup") => {
                    format!("cannot be found: the host name does not resolve ({io})")
                }
                _ => format!("cannot be reached: {io}"),
            };
            Error::Unavailable(format!("PostgreSQL at {target} {what}"))
        }
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                // invalid_password, invalid_authorization_specification
                "28P01" | "28000" => Error::Unauthorized(format!(
                    "PostgreSQL at {target}: {} (SQLSTATE {code})",
                    db.message()
                )),
                // invalid_catalog_name: the database does not exist
                "3D000" => Error::NoStore {
                    location: format!(
                        "{target} ({}: disco creates schemas in an existing database, never the database)",
                        db.message()
                    ),
                },
                _ => db_error(error),
            }
        }
        _ => db_error(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_says_so() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let error = connect_error(sqlx::Error::Io(refused), "127.0.0.1:1/db");
        assert!(error.is_retryable());
        assert!(
            error.to_string().contains("refused the connection"),
            "{error}"
        );
    }
}
