//! The decision every backend makes before it writes an append: refuse it,
//! answer a retry with the original result, or write it (rules 2, 6 and 8).
//!
//! Backends differ in how they look things up, not in what they decide, so
//! the decision lives here once and each store gives it an [`AppendView`] of
//! its state (including earlier appends of the same group-commit batch).

use disco_core::Uuid;

use disco_core::{AppendResult, Error, ExpectedVersion, NewEvent, Result, StreamId};

/// A stream's state as the append check needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStatus {
    /// Version of the last event; 0 when none.
    pub version: u64,
    /// Whether the stream was deleted (either way).
    pub deleted: bool,
}

/// Read access to a store's state for [`decide_append`].
pub trait AppendView {
    /// The stream's version and whether it is deleted.
    fn stream_status(&mut self, stream: &StreamId) -> Result<StreamStatus>;
    /// Where each id sits, in the order of `ids`; `None` for an unknown id.
    fn locate_events(&mut self, ids: &[Uuid]) -> Result<Vec<Option<EventLocation>>>;
}

/// What to do with an append that passed its input checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendDecision {
    /// Write the events at versions `first_version ..`.
    Write {
        /// The version the first event gets.
        first_version: u64,
    },
    /// The same append was already committed: answer with its result and
    /// write nothing.
    AlreadyWritten(AppendResult),
}

/// Decides an append of `events` (already checked by
/// [`Limits::check_append`](disco_core::Limits::check_append)) to `stream`.
///
/// ```
/// use disco::backend::append_check::*;
/// use disco::*;
///
/// struct Empty;
/// impl AppendView for Empty {
///     fn stream_status(&mut self, _: &StreamId) -> Result<StreamStatus> { Ok(StreamStatus::default()) }
///     fn locate_events(&mut self, ids: &[Uuid]) -> Result<Vec<Option<EventLocation>>> {
///         Ok(vec![None; ids.len()])
///     }
/// }
/// let stream = StreamId::new("s").unwrap();
/// let events = [NewEvent::new("E", vec![])];
/// assert_eq!(
///     decide_append(&mut Empty, &stream, ExpectedVersion::NoStream, &events).unwrap(),
///     AppendDecision::Write { first_version: 1 }
/// );
/// assert!(decide_append(&mut Empty, &stream, ExpectedVersion::Exact(3), &events).is_err());
/// ```
pub fn decide_append(
    view: &mut impl AppendView,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<AppendDecision> {
    let status = view.stream_status(stream)?;
    if status.deleted {
        return Err(Error::StreamDeleted {
            stream: stream.clone(),
        });
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let found = view.locate_events(&ids)?;
    if let Some(first_known) = found.iter().position(Option::is_some) {
        return match retried_run(stream, expected, &found) {
            Some(result) => Ok(AppendDecision::AlreadyWritten(result)),
            None => Err(Error::DuplicateEventId {
                id: ids.get(first_known).copied().unwrap_or_default(),
            }),
        };
    }
    if !expected.accepts(status.version) {
        return Err(Error::WrongExpectedVersion {
            stream: stream.clone(),
            expected,
            actual: status.version,
        });
    }
    Ok(AppendDecision::Write {
        first_version: next_version(stream, status.version)?,
    })
}

/// The version after `version`: a stream at `u64::MAX` (only a damaged
/// store holds one) takes no more events.
fn next_version(stream: &StreamId, version: u64) -> Result<u64> {
    version.checked_add(1).ok_or_else(|| {
        Error::Backend(format!(
            "stream {stream} is at version {version}, the last there is: the store is damaged"
        ))
    })
}

/// The original result if `found` is a retry (rule 6): every id stored, in
/// `stream`, at consecutive versions in batch order, and `expected` one that a
/// retry may carry.
fn retried_run(
    stream: &StreamId,
    expected: ExpectedVersion,
    found: &[Option<EventLocation>],
) -> Option<AppendResult> {
    let first = found.first()?.as_ref()?;
    let last = found.last()?.as_ref()?;
    for (offset, location) in found.iter().enumerate() {
        let location = location.as_ref()?;
        let at = first.version.checked_add(u64::try_from(offset).ok()?)?;
        if &location.stream_id != stream || location.version != at {
            return None;
        }
    }
    let expected_ok = match expected {
        ExpectedVersion::Any | ExpectedVersion::StreamExists => true,
        ExpectedVersion::NoStream => first.version == 1,
        ExpectedVersion::Exact(v) => v.checked_add(1) == Some(first.version),
    };
    expected_ok.then_some(AppendResult {
        first_version: first.version,
        last_version: last.version,
        first_position: first.position,
        last_position: last.position,
    })
}

/// Checks a delete of `stream` (rule 8): a hard-deleted stream refuses every
/// delete and a soft-deleted one refuses another soft delete
/// (`StreamDeleted`); then `expected` must pass against `version`.
///
/// ```
/// use disco::backend::append_check::check_delete;
/// use disco::{DeleteMode, ExpectedVersion, StreamId};
/// let s = StreamId::new("s").unwrap();
/// assert!(check_delete(&s, None, 3, ExpectedVersion::Exact(3), DeleteMode::Soft).is_ok());
/// assert!(check_delete(&s, Some(DeleteMode::Soft), 3, ExpectedVersion::Any, DeleteMode::Hard).is_ok());
/// assert!(check_delete(&s, Some(DeleteMode::Soft), 3, ExpectedVersion::Any, DeleteMode::Soft).is_err());
/// ```
pub fn check_delete(
    stream: &StreamId,
    current: Option<disco_core::DeleteMode>,
    version: u64,
    expected: ExpectedVersion,
    mode: disco_core::DeleteMode,
) -> Result<()> {
    use disco_core::DeleteMode::{Hard, Soft};
    if matches!((current, mode), (Some(Hard), _) | (Some(Soft), Soft)) {
        return Err(Error::StreamDeleted {
            stream: stream.clone(),
        });
    }
    if !expected.accepts(version) {
        return Err(Error::WrongExpectedVersion {
            stream: stream.clone(),
            expected,
            actual: version,
        });
    }
    Ok(())
}

/// Checks that a snapshot of `stream` at `version` names a version the stream
/// has (1 ..= `stream_version`).
pub fn check_snapshot_version(stream: &StreamId, version: u64, stream_version: u64) -> Result<()> {
    if version == 0 || version > stream_version {
        return Err(Error::InvalidInput(format!(
            "a snapshot of {stream} must be at a version from 1 to {stream_version}, not {version}"
        )));
    }
    Ok(())
}

/// The cheap first step of an append, for stores whose unique index on event
/// ids refuses a stored id at insert time: refuses a deleted stream, and
/// returns the first version to write if `expected` passes. `None` means the
/// full [`decide_append`] must run (the expected version failed, which may
/// still be a retry of a committed append).
///
/// A store that writes after `Some` must, if the insert hits its event-id
/// index, undo the insert and run [`decide_append`], which answers a retry
/// with the original result or refuses a reused id.
pub fn optimistic_first_version(
    view: &mut impl AppendView,
    stream: &StreamId,
    expected: ExpectedVersion,
) -> Result<Option<u64>> {
    let status = view.stream_status(stream)?;
    if status.deleted {
        return Err(Error::StreamDeleted {
            stream: stream.clone(),
        });
    }
    if !expected.accepts(status.version) {
        return Ok(None);
    }
    next_version(stream, status.version).map(Some)
}

/// Where an event id sits, for the idempotency check of rule 6.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLocation {
    /// The id.
    pub id: Uuid,
    /// The stream holding it.
    pub stream_id: StreamId,
    /// Its version there.
    pub version: u64,
    /// Its global position.
    pub position: u64,
}

/// Where an append decided to be written lands: `count` events after the
/// head, from `first_version` on. Built with checked arithmetic, so a head
/// or a version at the end of the `u64` range (only a damaged store holds
/// one) is a `Backend` error instead of an overflow; every position and
/// version inside it is then in range.
///
/// ```
/// use disco::backend::append_check::Placement;
/// let p = Placement::new(10, 3, 2).unwrap();
/// assert_eq!(p.at(1), (12, 4));
/// assert_eq!((p.result().first_position, p.result().last_version), (11, 4));
/// assert!(Placement::new(u64::MAX, 1, 1).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    first_version: u64,
    last_version: u64,
    first_position: u64,
    last_position: u64,
}

impl Placement {
    /// The placement of `count` (at least one) events after `head`.
    pub fn new(head: u64, first_version: u64, count: usize) -> Result<Placement> {
        let span = u64::try_from(count.max(1))
            .unwrap_or(u64::MAX)
            .saturating_sub(1);
        let out_of_range = || {
            Error::Backend(format!(
                "an append of {count} events after position {head} at version {first_version} passes the end of the position range: the store is damaged"
            ))
        };
        let first_position = head.checked_add(1).ok_or_else(out_of_range)?;
        Ok(Placement {
            first_version,
            last_version: first_version.checked_add(span).ok_or_else(out_of_range)?,
            first_position,
            last_position: first_position.checked_add(span).ok_or_else(out_of_range)?,
        })
    }

    /// The position and version of the event at `offset` in the append.
    pub fn at(&self, offset: usize) -> (u64, u64) {
        // Invariant: offset < count, so both sums stay within what `new` checked.
        let offset = u64::try_from(offset).unwrap_or(u64::MAX);
        (
            self.first_position.saturating_add(offset),
            self.first_version.saturating_add(offset),
        )
    }

    /// The head after the append.
    pub fn head_after(&self) -> u64 {
        self.last_position
    }

    /// The append's result.
    pub fn result(&self) -> AppendResult {
        AppendResult {
            first_version: self.first_version,
            last_version: self.last_version,
            first_position: self.first_position,
            last_position: self.last_position,
        }
    }
}
