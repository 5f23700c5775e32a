//! The stored form of a [`StreamState`]: one small integer, the same in
//! every backend (0 active, 1 soft-deleted, 2 hard-deleted), and the check
//! that turns a stored code back into a state.

use disco_core::{DeleteMode, Error, Result, StreamState};

/// The code of [`StreamState::Active`].
pub const ACTIVE: u8 = 0;
/// The code of [`StreamState::SoftDeleted`].
pub const SOFT_DELETED: u8 = 1;
/// The code of [`StreamState::HardDeleted`].
pub const HARD_DELETED: u8 = 2;

/// The stored code of `state`.
///
/// ```
/// use disco::backend::stream_state::{code, state_of};
/// use disco::StreamState;
/// for state in [StreamState::Active, StreamState::SoftDeleted, StreamState::HardDeleted] {
///     assert_eq!(state_of(code(state)).unwrap(), state);
/// }
/// assert!(state_of(7).is_err());
/// ```
pub fn code(state: StreamState) -> u8 {
    match state {
        StreamState::Active => ACTIVE,
        StreamState::SoftDeleted => SOFT_DELETED,
        StreamState::HardDeleted => HARD_DELETED,
    }
}

/// The code a stream gets when deleted with `mode`.
pub fn deleted_code(mode: DeleteMode) -> u8 {
    code(match mode {
        DeleteMode::Soft => StreamState::SoftDeleted,
        DeleteMode::Hard => StreamState::HardDeleted,
    })
}

/// The state a stored code stands for; any other value is corruption.
pub fn state_of(stored: impl Into<i64>) -> Result<StreamState> {
    let stored = stored.into();
    match u8::try_from(stored) {
        Ok(ACTIVE) => Ok(StreamState::Active),
        Ok(SOFT_DELETED) => Ok(StreamState::SoftDeleted),
        Ok(HARD_DELETED) => Ok(StreamState::HardDeleted),
        _ => Err(Error::Backend(format!(
            "corrupt stream state {stored} in the store"
        ))),
    }
}

/// A stream's row as the delete check of
/// [`check_delete`](crate::append_check::check_delete) takes it: its
/// version (0 when absent) and how it was deleted, if it was.
pub fn for_delete(row: Option<(u64, StreamState)>) -> (u64, Option<DeleteMode>) {
    match row {
        None => (0, None),
        Some((version, StreamState::Active)) => (version, None),
        Some((version, StreamState::SoftDeleted)) => (version, Some(DeleteMode::Soft)),
        Some((version, StreamState::HardDeleted)) => (version, Some(DeleteMode::Hard)),
    }
}
