//! The bookkeeping rows read back from either database: the columns of a
//! [`Row`] as the numbers, flags and texts they hold (SQLite gives flags
//! as 0 and 1, PostgreSQL as booleans; both give whole numbers as
//! integers).

use disco_core::Timestamp;

use crate::error::ProjectionError;
use crate::read_model::{GenerationRow, GenerationState, PartitionRow, PartitionSlot};
use crate::sql::{Row, SqlValue};

fn column(row: &Row, index: usize) -> Result<&SqlValue, ProjectionError> {
    row.values().get(index).ok_or_else(|| {
        ProjectionError::ReadModel(format!(
            "a bookkeeping row has {} columns, not more than {index}",
            row.values().len()
        ))
    })
}

fn damaged(what: &str, value: &SqlValue) -> ProjectionError {
    ProjectionError::ReadModel(format!("a bookkeeping row's {what} is {value:?}"))
}

/// Column `index` as a whole number.
pub(crate) fn integer(row: &Row, index: usize) -> Result<i64, ProjectionError> {
    match column(row, index)? {
        SqlValue::Integer(n) => Ok(*n),
        other => Err(damaged("number", other)),
    }
}

/// Column `index` as a whole number, `None` for NULL.
pub(crate) fn optional_integer(row: &Row, index: usize) -> Result<Option<i64>, ProjectionError> {
    match column(row, index)? {
        SqlValue::Null => Ok(None),
        _ => integer(row, index).map(Some),
    }
}

/// Column `index` as a `u32` (generations, versions, counts).
pub(crate) fn small(row: &Row, index: usize) -> Result<u32, ProjectionError> {
    let n = integer(row, index)?;
    u32::try_from(n).map_err(|_| damaged("number", &SqlValue::Integer(n)))
}

/// Column `index` as a `u64` (positions, tokens), stored as the `BIGINT`
/// of the same bits ([`wide`]).
pub(crate) fn large(row: &Row, index: usize) -> Result<u64, ProjectionError> {
    Ok(integer(row, index)? as u64)
}

/// Column `index` as a flag.
pub(crate) fn flag(row: &Row, index: usize) -> Result<bool, ProjectionError> {
    match column(row, index)? {
        SqlValue::Bool(b) => Ok(*b),
        SqlValue::Integer(n) => Ok(*n != 0),
        other => Err(damaged("flag", other)),
    }
}

/// Column `index` as text.
pub(crate) fn text(row: &Row, index: usize) -> Result<String, ProjectionError> {
    match column(row, index)? {
        SqlValue::Text(s) => Ok(s.clone()),
        other => Err(damaged("text", other)),
    }
}

/// Column `index` as text, `None` for NULL.
pub(crate) fn optional_text(row: &Row, index: usize) -> Result<Option<String>, ProjectionError> {
    match column(row, index)? {
        SqlValue::Null => Ok(None),
        _ => text(row, index).map(Some),
    }
}

/// A `u32` as a parameter.
pub(crate) fn arg(n: u32) -> SqlValue {
    SqlValue::Integer(i64::from(n))
}

/// A position or token as a parameter: the `BIGINT` of the same bits
/// (read back by [`large`]).
pub(crate) fn wide(n: u64) -> SqlValue {
    SqlValue::Integer(n as i64)
}

/// The time now, as stored (microseconds).
pub(crate) fn now() -> SqlValue {
    SqlValue::Integer(Timestamp::now().as_micros())
}

/// A generation row (`rows.sql`'s columns).
pub(crate) fn generation_row(row: &Row) -> Result<GenerationRow, ProjectionError> {
    Ok(GenerationRow {
        name: text(row, 0)?,
        generation: small(row, 1)?,
        version: small(row, 2)?,
        state: GenerationState::parse(&text(row, 3)?)?,
        position: large(row, 4)?,
        tables: text(row, 5)?
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        ready: flag(row, 6)?,
        token: large(row, 7)?,
        updated_at: Timestamp::from_micros(integer(row, 8)?),
    })
}

/// A partition row (`partition_rows.sql`'s columns).
pub(crate) fn partition_row(row: &Row) -> Result<PartitionRow, ProjectionError> {
    Ok(PartitionRow {
        name: text(row, 0)?,
        generation: small(row, 1)?,
        slot: PartitionSlot {
            count: small(row, 2)?,
            index: small(row, 3)?,
        },
        position: large(row, 4)?,
        current: flag(row, 5)?,
        previous: small(row, 6)?,
        created_at: Timestamp::from_micros(integer(row, 7)?),
        updated_at: Timestamp::from_micros(integer(row, 8)?),
    })
}
