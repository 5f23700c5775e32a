//! Appends: each part's events, then a claim per event id, in one atomic
//! batch. The first event of a part is stored only if the stream's subject
//! still ends where it was read (its expected version, checked on the
//! server); a claim only if its id was never claimed (ids unique store-wide,
//! with no time window). A refused batch writes nothing; the append is then
//! decided again on fresh state by the shared rules (`decide_append`), which
//! answer a retry with its original result from the claims.

use std::collections::HashMap;

use disco_backend::append_check::{
    decide_append, AppendDecision, AppendView, EventLocation, StreamStatus,
};
use disco_backend::query_plan::{answer_conflict, parts_of};
use disco_core::{
    AppendCondition, AppendMany, AppendResult, Error, ExpectedVersion, Result, StreamId, Timestamp,
    Uuid,
};

use futures_util::StreamExt;

use crate::codec;
use crate::js::{Out, Refused, MAX_BATCH};
use crate::state::State;
use crate::{NatsStore, ROUNDS};

/// How many reads an append's decision has in flight at once.
const READS_AT_ONCE: usize = 32;

/// The state an append is decided on, fetched before the decision.
struct Facts {
    states: HashMap<StreamId, State>,
    located: HashMap<Uuid, EventLocation>,
}

impl AppendView for Facts {
    fn stream_status(&mut self, stream: &StreamId) -> Result<StreamStatus> {
        let state = self.states.get(stream).copied().unwrap_or_default();
        Ok(StreamStatus {
            version: state.version,
            deleted: state.deleted.is_some(),
        })
    }

    fn locate_events(&mut self, ids: &[Uuid]) -> Result<Vec<Option<EventLocation>>> {
        Ok(ids.iter().map(|id| self.located.get(id).cloned()).collect())
    }
}

/// A part decided to be written.
struct Planned {
    index: usize,
    first_version: u64,
    last_seq: u64,
}

impl NatsStore {
    /// Appends `parts` all or nothing: each part's result, or the first
    /// refused part's error.
    /// With a `condition`, each round checks it first (reading the store
    /// up to its head) and the batch carries a guard that is refused if any
    /// event came in since that head was read.
    pub(crate) async fn append_parts(
        &self,
        parts: Vec<AppendMany>,
        condition: Option<&AppendCondition>,
    ) -> Result<Vec<AppendResult>> {
        let events: usize = parts.iter().map(|(_, _, e)| e.len()).sum();
        // Invariant: an append is one atomic batch, its events and their claims (and a condition's guard).
        if events
            .saturating_mul(2)
            .saturating_add(usize::from(condition.is_some()))
            > MAX_BATCH
        {
            return Err(Error::InvalidInput(format!(
                "an append to a NATS store holds at most {} events (the server's atomic batch of {MAX_BATCH} messages carries each event and its id's claim); this one has {events}",
                MAX_BATCH / 2
            )));
        }
        let mut careful = false;
        for _ in 0..ROUNDS {
            let guard = match condition {
                None => None,
                Some(condition) => {
                    let (head, last) = self.head_and_last().await?;
                    let conflict = self.first_match(condition, head).await?;
                    if let Some(conflict) = conflict {
                        let mut facts = self.facts(&parts, true).await?;
                        return answer_conflict(&mut facts, parts_of(&parts), condition, conflict);
                    }
                    Some(last)
                }
            };
            let mut facts = self.facts(&parts, careful).await?;
            let mut planned = Vec::new();
            let mut answers: Vec<Option<AppendResult>> = vec![None; parts.len()];
            for (index, (stream, expected, events)) in parts.iter().enumerate() {
                let decision = if careful {
                    decide_append(&mut facts, stream, *expected, events)?
                } else {
                    match optimistic(&facts, stream, *expected) {
                        Ok(Some(first_version)) => AppendDecision::Write { first_version },
                        // A refusal may not be the first one: an earlier
                        // part's ids are only checked by the careful pass,
                        // which decides every part in order.
                        Ok(None) | Err(_) => {
                            careful = true;
                            break;
                        }
                    }
                };
                match decision {
                    AppendDecision::AlreadyWritten(result) => {
                        if let Some(slot) = answers.get_mut(index) {
                            *slot = Some(result);
                        }
                    }
                    AppendDecision::Write { first_version } => planned.push(Planned {
                        index,
                        first_version,
                        last_seq: facts.states.get(stream).map_or(0, |s| s.last_seq),
                    }),
                }
            }
            let decided = planned
                .len()
                .saturating_add(answers.iter().flatten().count());
            if careful && decided < parts.len() {
                // The optimistic pass gave up part way: decide all again.
                continue;
            }
            if planned.is_empty() {
                // Every part was already written (a retry).
                return Ok(answers.into_iter().flatten().collect());
            }
            match self.write(&parts, &planned, guard).await? {
                Ok(written) => {
                    // A part already written answers its first result; the
                    // others were written now, together.
                    for (plan, result) in planned.iter().zip(written) {
                        if let Some(slot) = answers.get_mut(plan.index) {
                            *slot = Some(result);
                        }
                    }
                    return answers
                        .into_iter()
                        .map(|a| {
                            a.ok_or_else(|| {
                                Error::Backend("NATS: an append part without a result".into())
                            })
                        })
                        .collect();
                }
                Err(Refused::WrongLastSequence(_)) => {
                    // A stream moved, an id was claimed or (with a
                    // condition) an event came in meanwhile.
                    careful = true;
                    continue;
                }
                Err(Refused::Other(code, description)) => {
                    return Err(refused(code, &description));
                }
            }
        }
        Err(Error::Unavailable(
            "NATS: the streams of this append kept changing; try again".into(),
        ))
    }

    /// Reads the state of every part's stream, and where the parts' ids sit
    /// when `careful` (the claims).
    async fn facts(&self, parts: &[AppendMany], careful: bool) -> Result<Facts> {
        // The state this handle last saw saves a read, and so does an
        // append that expects no stream (a new stream has no message on its
        // subject); the server checks either guess (a wrong one fails the
        // batch and the careful pass reads). The reads left go out together.
        let mut states = HashMap::new();
        let mut to_read = Vec::new();
        for (stream, expected, _) in parts {
            let guess = if careful {
                None
            } else if let Some(state) = self.known().get(stream) {
                Some(state)
            } else if matches!(
                expected,
                ExpectedVersion::NoStream | ExpectedVersion::Exact(0)
            ) {
                Some(State::default())
            } else {
                None
            };
            match guess {
                Some(state) => {
                    states.insert(stream.clone(), state);
                }
                None => to_read.push(stream),
            }
        }
        let mut reads = Vec::with_capacity(to_read.len());
        for stream in to_read {
            reads.push(self.state_of(stream.clone()));
        }
        let read: Vec<Result<(StreamId, State)>> = futures_util::stream::iter(reads)
            .buffered(READS_AT_ONCE)
            .collect()
            .await;
        for result in read {
            let (stream, state) = result?;
            self.known().remember(&stream, state);
            states.insert(stream, state);
        }
        let mut located = HashMap::new();
        if careful {
            let mut finds = Vec::new();
            for (_, _, events) in parts {
                for event in events {
                    finds.push(self.locate(event.id));
                }
            }
            let found: Vec<Result<Option<EventLocation>>> = futures_util::stream::iter(finds)
                .buffered(READS_AT_ONCE)
                .collect()
                .await;
            for location in found {
                if let Some(location) = location? {
                    located.insert(location.id, location);
                }
            }
        }
        Ok(Facts { states, located })
    }

    /// `stream` and its state.
    async fn state_of(&self, stream: StreamId) -> Result<(StreamId, State)> {
        let state = self.state(&stream).await?;
        Ok((stream, state))
    }

    /// Where the event `id` sits, from its claim; `None` if unclaimed (or
    /// freed by a hard delete).
    pub(crate) async fn locate(&self, id: Uuid) -> Result<Option<EventLocation>> {
        let Some(claim) = self
            .js()
            .last(&self.names().events, &self.names().claim(id))
            .await?
        else {
            return Ok(None);
        };
        let decoded = codec::decode_claim(&claim.payload)?;
        Ok(Some(EventLocation {
            id,
            stream_id: decoded.stream,
            version: decoded.version,
            position: claim.seq.saturating_sub(decoded.back),
        }))
    }

    /// Publishes the planned parts as one batch: every part's events in
    /// part order, then every claim.
    async fn write(
        &self,
        parts: &[AppendMany],
        planned: &[Planned],
        guard: Option<u64>,
    ) -> Result<std::result::Result<Vec<AppendResult>, Refused>> {
        let now = Timestamp::now();
        let total: usize = planned
            .iter()
            .filter_map(|p| parts.get(p.index))
            .map(|(_, _, e)| e.len())
            .sum();
        let back = u64::try_from(total).unwrap_or(u64::MAX);
        let mut events = Vec::with_capacity(total.saturating_add(1));
        let mut claims = Vec::with_capacity(total);
        if let Some(last) = guard {
            // Invariant: a conditional append lands only if no event came in since its condition was checked.
            events.push(
                Out::new(self.names().guard(), Vec::new())
                    .with("Nats-TTL", "1s")
                    .expect_last_on(&self.names().event_streams(), last),
            );
        }

        for plan in planned {
            let Some((stream, _, batch)) = parts.get(plan.index) else {
                continue;
            };
            let subject = self.names().stream(stream);
            for (offset, event) in batch.iter().enumerate() {
                let version = plan
                    .first_version
                    .saturating_add(u64::try_from(offset).unwrap_or(u64::MAX));
                let mut out = Out::new(subject.clone(), codec::event(event, version, now));
                if offset == 0 {
                    out = out.expect_last(plan.last_seq);
                }
                events.push(out);
                let mut claim = Out::new(
                    self.names().claim(event.id),
                    codec::claim(back, version, stream),
                )
                .expect_last(0);
                if let Some(window) = self.id_window() {
                    // Invariant: with an id window, a claim (and the
                    // refusal of its id) lasts the window, then expires.
                    claim = claim.with("Nats-TTL", crate::leases::ttl_header(window));
                }
                claims.push(claim);
            }
        }
        events.extend(claims);
        // A guard checks every stream's subject: grouped with other appends
        // it would fail on their writes, so a conditional append goes alone.
        let published = if guard.is_some() {
            self.js().publish_batch(events).await?
        } else {
            self.grouper().publish(self.js(), events).await?
        };
        let last = match published {
            Ok(last) => last,
            Err(refused) => return Ok(Err(refused)),
        };
        // The batch's sequences are contiguous: the guard, events, then claims.
        let first = last
            .saturating_sub(back.saturating_mul(2))
            .saturating_add(1);
        let mut position = first;
        let mut results = Vec::with_capacity(planned.len());
        for plan in planned {
            let Some((stream, _, batch)) = parts.get(plan.index) else {
                continue;
            };
            let count = u64::try_from(batch.len()).unwrap_or(u64::MAX);
            let last_position = position.saturating_add(count.saturating_sub(1));
            self.known().remember(
                stream,
                State {
                    version: plan.first_version.saturating_add(count.saturating_sub(1)),
                    deleted: None,
                    last_seq: last_position,
                },
            );
            results.push(AppendResult {
                first_version: plan.first_version,
                last_version: plan.first_version.saturating_add(count.saturating_sub(1)),
                first_position: position,
                last_position,
            });
            position = last_position.saturating_add(1);
        }
        // What readers must find: the last event (the claims after it are
        // not on a stream's subject).
        self.saw(position.saturating_sub(1));
        self.announce(position.saturating_sub(1));
        Ok(Ok(results))
    }
}

/// The first version to write if `expected` passes on the stream as read;
/// `None` when the full decision must run.
fn optimistic(facts: &Facts, stream: &StreamId, expected: ExpectedVersion) -> Result<Option<u64>> {
    let state = facts.states.get(stream).copied().unwrap_or_default();
    if state.deleted.is_some() {
        return Err(Error::StreamDeleted {
            stream: stream.clone(),
        });
    }
    if !expected.accepts(state.version) {
        return Ok(None);
    }
    Ok(state.version.checked_add(1))
}

/// A refusal of the server that is not a failed check.
pub(crate) fn refused(code: u64, description: &str) -> Error {
    match code {
        // 10054: message too large (max_payload or the stream's max_msg_size).
        10054 => Error::InvalidInput(format!("NATS refused the message: {description}")),
        _ => Error::Backend(format!("NATS refused the write ({code}): {description}")),
    }
}
