//! [`QueryPlan`]: how every store answers a [`Query`] from two indexes, the
//! events by tag and the events by type, and how it checks an
//! [`AppendCondition`] with the same plan.
//!
//! Each query item is driven by one index: its first tag's (an event must
//! carry every tag of the item, so the events of one tag hold all its
//! matches), else each of its types', else the whole log. The plan asks the
//! store for the next chunk of one source at a time ([`QueryPlan::next_fetch`]),
//! keeps what matches ([`QueryPlan::feed`]) and stops each source once it
//! holds `limit` matches or ran dry, so the cost follows the matches (and
//! the candidates of the driving tags), not the store. The caller drives it,
//! which lets a store fetch synchronously inside a transaction or
//! asynchronously over a connection.
//!
//! Invariant: only events at or below the head read before the first fetch
//! are answered, so every fetch saw all of them and the read is consistent
//! at that head.

use disco_core::{AppendCondition, Error, Query, QueryRead, RecordedEvent, Result};

/// Where a query item's candidates come from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The events carrying this tag, ascending by position.
    Tag(String),
    /// The events of this type, ascending by position.
    Type(String),
    /// Every event, ascending by position.
    All,
}

/// One request of a plan: up to `limit` events of `source` with position in
/// `after + 1 ..= until`, ascending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetch {
    /// The index to read.
    pub source: Source,
    /// Events after this position.
    pub after: u64,
    /// Events up to this position (the plan's head).
    pub until: u64,
    /// The most events to return.
    pub limit: usize,
}

/// The fewest and the most candidates a fetch asks for.
const CHUNK_MIN: usize = 64;
const CHUNK_MAX: usize = 1024;

struct Cursor {
    source: Source,
    after: u64,
    kept: usize,
    done: bool,
}

/// A query read being answered: see the [module](self).
///
/// ```
/// use disco::backend::query_plan::{QueryPlan, Source};
/// use disco::{Query, QueryItem};
/// let query = Query::new().or(QueryItem::new().types(["E"]).tags(["t"]));
/// let mut plan = QueryPlan::new(&query, 0, 10, 5);
/// let fetch = plan.next_fetch().unwrap();
/// assert_eq!(fetch.source, Source::Tag("t".into()));
/// plan.feed(Vec::new()); // the store holds no event tagged "t"
/// assert!(plan.next_fetch().is_none());
/// let read = plan.finish();
/// assert!(read.events.is_empty());
/// assert_eq!(read.consistent_at, 5);
/// ```
pub struct QueryPlan<'q> {
    query: &'q Query,
    after: u64,
    limit: usize,
    head: u64,
    cursors: Vec<Cursor>,
    current: Option<usize>,
    chunk: usize,
    found: Vec<RecordedEvent>,
}

impl<'q> QueryPlan<'q> {
    /// A plan for up to `limit` events matching `query` with position in
    /// `after + 1 ..= head`, where `head` is the store's head read before
    /// the first fetch (in the same transaction when the store has them).
    pub fn new(query: &'q Query, after: u64, limit: usize, head: u64) -> Self {
        let mut sources: Vec<Source> = Vec::new();
        for item in &query.items {
            let driving: Vec<Source> = match item.tags.first() {
                Some(tag) => vec![Source::Tag(tag.clone())],
                None if item.types.is_empty() => vec![Source::All],
                None => item.types.iter().cloned().map(Source::Type).collect(),
            };
            for source in driving {
                if !sources.contains(&source) {
                    sources.push(source);
                }
            }
        }
        // The whole log holds every other source's candidates.
        if sources.contains(&Source::All) {
            sources = vec![Source::All];
        }
        let nothing_to_read = limit == 0 || after >= head;
        let cursors = sources
            .into_iter()
            .map(|source| Cursor {
                source,
                after,
                kept: 0,
                done: nothing_to_read,
            })
            .collect();
        QueryPlan {
            query,
            after,
            limit,
            head,
            cursors,
            current: None,
            chunk: limit.clamp(CHUNK_MIN, CHUNK_MAX),
            found: Vec::new(),
        }
    }

    /// The next chunk to fetch, or `None` when the plan has all it needs.
    pub fn next_fetch(&mut self) -> Option<Fetch> {
        let index = self.cursors.iter().position(|c| !c.done)?;
        self.current = Some(index);
        let cursor = self.cursors.get(index)?;
        Some(Fetch {
            source: cursor.source.clone(),
            after: cursor.after,
            until: self.head,
            limit: self.chunk,
        })
    }

    /// The events the last [`next_fetch`](QueryPlan::next_fetch) asked for,
    /// ascending by position (events past the head are left out).
    pub fn feed(&mut self, events: Vec<RecordedEvent>) {
        let Some(cursor) = self.current.take().and_then(|i| self.cursors.get_mut(i)) else {
            return;
        };
        let fetched = events.len();
        let mut passed_head = false;
        for event in events {
            if event.position > self.head {
                passed_head = true;
                continue;
            }
            if event.position <= cursor.after {
                continue;
            }
            cursor.after = event.position;
            if self.query.matches_event(&event) {
                cursor.kept = cursor.kept.saturating_add(1);
                self.found.push(event);
            }
        }
        cursor.done = fetched < self.chunk
            || passed_head
            || cursor.kept >= self.limit
            || cursor.after >= self.head;
    }

    /// The answer: the matches in position order, each once, at most
    /// `limit`, and the position the read is consistent at.
    pub fn finish(mut self) -> QueryRead {
        self.found.sort_by_key(|e| e.position);
        self.found.dedup_by_key(|e| e.position);
        self.found.truncate(self.limit);
        let consistent_at = if self.found.len() >= self.limit {
            self.found.last().map_or(self.after, |e| e.position)
        } else {
            self.head.max(self.after)
        };
        QueryRead {
            events: self.found,
            consistent_at,
        }
    }
}

/// A plan for the first event that breaks `condition`: its position, if
/// any, is the conflict ([`QueryPlan::finish`] then holds one event).
pub fn condition_plan(condition: &AppendCondition, head: u64) -> QueryPlan<'_> {
    QueryPlan::new(&condition.fail_if_events_match, condition.after, 1, head)
}

/// Runs `plan` over a store whose index reads are synchronous (an
/// in-memory map, a SQLite or redb transaction).
pub fn run_sync(
    mut plan: QueryPlan<'_>,
    mut fetch: impl FnMut(&Fetch) -> Result<Vec<RecordedEvent>>,
) -> Result<QueryRead> {
    while let Some(next) = plan.next_fetch() {
        let events = fetch(&next)?;
        plan.feed(events);
    }
    Ok(plan.finish())
}

/// The answer to an append whose condition's query matched the event at
/// `conflict`: every part's original result when every part was written
/// already (a retry after a lost answer, rule 6: its own events match),
/// else [`Error::ConditionFailed`]. `parts` gives each part's stream,
/// expected version and events.
///
/// ```
/// use disco::backend::append_check::{AppendView, EventLocation, StreamStatus};
/// use disco::backend::query_plan::answer_conflict;
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
/// let condition = AppendCondition::new(Query::all()).after(3);
/// let part = [(&stream, ExpectedVersion::Any, &events[..])];
/// assert!(matches!(
///     answer_conflict(&mut Empty, part, &condition, 4),
///     Err(Error::ConditionFailed { position: 4, after: 3 })
/// ));
/// ```
pub fn answer_conflict<'p>(
    view: &mut impl crate::append_check::AppendView,
    parts: impl IntoIterator<
        Item = (
            &'p disco_core::StreamId,
            disco_core::ExpectedVersion,
            &'p [disco_core::NewEvent],
        ),
    >,
    condition: &AppendCondition,
    conflict: u64,
) -> Result<Vec<disco_core::AppendResult>> {
    use crate::append_check::{decide_append, AppendDecision};
    let mut results = Vec::new();
    for (stream, expected, events) in parts {
        match decide_append(view, stream, expected, events) {
            Ok(AppendDecision::AlreadyWritten(result)) => results.push(result),
            // Invariant: an append whose condition's query matches an event after its position writes nothing (unless it is a retry of one already written).
            Ok(AppendDecision::Write { .. }) | Err(_) => {
                return Err(Error::ConditionFailed {
                    position: conflict,
                    after: condition.after,
                })
            }
        }
    }
    Ok(results)
}

/// [`answer_conflict`] for a one-part conditional append of a group
/// commit: its original result, or [`Error::ConditionFailed`].
pub fn answer_conflict_one(
    view: &mut impl crate::append_check::AppendView,
    request: &crate::group_commit::AppendRequest,
    condition: &AppendCondition,
    conflict: u64,
) -> Result<disco_core::AppendResult> {
    let part = [(&request.stream, request.expected, request.events.as_slice())];
    answer_conflict(view, part, condition, conflict)?
        .pop()
        .ok_or_else(|| Error::Backend("a retried conditional append without its result".into()))
}

/// The parts of an atomic append as [`answer_conflict`] takes them.
pub fn parts_of(
    parts: &[disco_core::AppendMany],
) -> impl Iterator<
    Item = (
        &disco_core::StreamId,
        disco_core::ExpectedVersion,
        &[disco_core::NewEvent],
    ),
> {
    parts
        .iter()
        .map(|(s, e, events)| (s, *e, events.as_slice()))
}
