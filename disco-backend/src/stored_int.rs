//! The contract counts in `u64` and `usize`; SQL databases store `i64`.
//! These conversions are shared by the stores that keep integers in SQL.

use disco_core::Error;

/// A contract `u64` (a position, a version) as an `i64`, saturating at
/// `i64::MAX`: positions and versions never get there, and a caller's
/// `u64::MAX` means "the end".
///
/// ```
/// assert_eq!(disco::backend::stored_int::to_i64(7), 7);
/// assert_eq!(disco::backend::stored_int::to_i64(u64::MAX), i64::MAX);
/// ```
pub fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A `usize` limit as an SQL `LIMIT` value, saturating at `i64::MAX`.
pub fn limit_to_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A stored `i64` back as a `u64`; a negative value only comes from a
/// corrupted or foreign database, and is a `Backend` error naming `what`.
///
/// ```
/// assert_eq!(disco::backend::stored_int::from_stored(5, "version").unwrap(), 5);
/// assert!(disco::backend::stored_int::from_stored(-1, "version").is_err());
/// ```
pub fn from_stored(value: i64, what: &str) -> Result<u64, Error> {
    u64::try_from(value)
        .map_err(|_| Error::Backend(format!("corrupt {what} in the database: {value}")))
}
