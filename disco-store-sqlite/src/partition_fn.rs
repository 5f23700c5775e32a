//! `disco_partition(stream_id, count)`: the partition of a stream id among
//! `count`, as [`StreamPartition::index_of`] computes it, registered on
//! every connection the store opens, so a partitioned read keeps its
//! partition's rows in SQLite (`read_all_filtered.sql`) instead of decoding
//! every row of the log and dropping the others' in Rust.

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Error as SqlError};

use disco_core::StreamPartition;

/// The function's name in SQL.
pub(crate) const NAME: &str = "disco_partition";

/// Registers [`NAME`] on `conn`. It is deterministic (the same stream id
/// and count give the same partition on every connection and in every
/// process) and reads nothing else.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        NAME,
        2,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        partition_of,
    )
}

fn partition_of(ctx: &Context<'_>) -> rusqlite::Result<i64> {
    // Invariant: a stream id that is not text (a damaged row) fails the read instead of being passed over, as an unpartitioned read of the row would.
    let stream = match ctx.get_raw(0) {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .map_err(|_| user_error("a stream id that is not UTF-8 text"))?,
        _ => return Err(user_error("a stream id that is not text")),
    };
    let count = match ctx.get_raw(1) {
        ValueRef::Integer(count) => u32::try_from(count)
            .ok()
            .filter(|count| *count > 0)
            .ok_or_else(|| user_error("a partition count that is not 1 to 2^32-1"))?,
        _ => return Err(user_error("a partition count that is not an integer")),
    };
    Ok(i64::from(StreamPartition::index_of(stream, count)))
}

fn user_error(what: &str) -> SqlError {
    SqlError::UserFunctionError(format!("{NAME}: {what}").into())
}
