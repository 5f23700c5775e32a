//! Reads: a stream's events, the global log forward and backward, and the
//! list of streams, through batch direct gets. A replica may answer a
//! direct get; one that has not caught up with what this process already
//! saw written answers short, and the read is asked again, so a process
//! reads its own writes.

use std::time::Duration;

use disco_backend::query_plan::{condition_plan, QueryPlan, Source};
use disco_core::{
    AppendCondition, Error, EventFilter, QueryRead, ReadDirection, RecordedEvent, Result, StreamId,
    StreamInfo, StreamState,
};
use serde_json::json;

use crate::codec::{stream_message, StreamMessage};
use crate::js::Stored;
use crate::NatsStore;

/// Messages asked for per batch direct get.
const PAGE: usize = 512;
/// The most streams one listing reads (the server answers a `multi_last`
/// of at most this many subjects).
const MULTI_LAST: usize = 100_000;
/// How often a read that ended below what this process saw is asked again
/// (a millisecond apart: a follower is usually that far behind).
const FRESH_TRIES: u32 = 100;

impl NatsStore {
    /// A batch of messages on `subject` from `seq` on, from a replica that
    /// has everything up to `at_least` (the last message on `subject` this
    /// process knows of) when the batch ends short of it.
    async fn page(
        &self,
        seq: u64,
        subject: &str,
        batch: usize,
        at_least: u64,
    ) -> Result<Vec<Stored>> {
        let mut tries = 0;
        loop {
            let found = self
                .js()
                .batch(
                    &self.names().events,
                    json!({ "seq": seq.max(1), "next_by_subj": subject }),
                    batch,
                )
                .await?;
            let reached = found.last().map_or(0, |m| m.seq);
            let full = found.len() >= batch;
            if full || reached >= at_least || at_least < seq || tries >= FRESH_TRIES {
                if let Some(last) = found.last() {
                    self.saw(last.seq);
                }
                return Ok(found);
            }
            // Short of what this process saw written: a replica behind.
            tries = tries.saturating_add(1);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Hands every event on `stream`'s subject, up to its last message
    /// `last_seq` (as the leader said), to `visit` in version order, until
    /// `visit` answers `false`.
    pub(crate) async fn stream_events(
        &self,
        stream: &StreamId,
        last_seq: u64,
        mut visit: impl FnMut(RecordedEvent) -> bool,
    ) -> Result<()> {
        let subject = self.names().stream(stream);
        let mut seq = 1;
        loop {
            let page = self.page(seq, &subject, PAGE, last_seq).await?;
            let done = page.len() < PAGE;
            for message in &page {
                seq = message.seq.saturating_add(1);
                if let StreamMessage::Event(event) =
                    stream_message(stream, message.seq, &message.payload)?
                {
                    if !visit(event) {
                        return Ok(());
                    }
                }
                if message.seq >= last_seq {
                    return Ok(());
                }
            }
            if done || page.is_empty() {
                return Ok(());
            }
        }
    }

    pub(crate) async fn read_stream_events(
        &self,
        stream: &StreamId,
        from: u64,
        direction: ReadDirection,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let state = self.state(stream).await?;
        if state.deleted.is_some() {
            return Err(Error::StreamDeleted {
                stream: stream.clone(),
            });
        }
        // Forward `from` 0 reads from 1; backward from 0 reads nothing.
        if limit == 0 || state.version == 0 || (direction == ReadDirection::Backward && from == 0) {
            return Ok(Vec::new());
        }
        let from = from.max(1);
        let mut events = Vec::new();
        self.stream_events(stream, state.last_seq, |event| {
            let wanted = match direction {
                ReadDirection::Forward => event.version >= from,
                ReadDirection::Backward => event.version <= from,
            };
            if wanted {
                events.push(event);
            }
            // Forward, the first `limit` are all it needs.
            !(direction == ReadDirection::Forward && events.len() >= limit)
        })
        .await?;
        if direction == ReadDirection::Backward {
            events.reverse();
            events.truncate(limit);
        }
        Ok(events)
    }

    pub(crate) async fn read_all_events(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<Vec<RecordedEvent>> {
        let mut events = Vec::new();
        if limit == 0 {
            return Ok(events);
        }
        let subject = self.names().event_streams();
        let mut seq = after.saturating_add(1);
        let batch = PAGE.max(limit.min(1000));
        // Where the store ends, by its leader, asked once per call and
        // alongside the first page (so it costs no wait): a replica that
        // lost or has not yet applied messages (a node that restarted with
        // damaged files) would end the store early, and a page short of the
        // leader's end is asked again up to there. A reader never stops
        // short of what was acknowledged before it looked.
        let mut leader_end = None;
        loop {
            let mut page = if leader_end.is_none() {
                let (page, end) = tokio::join!(
                    self.page(seq, &subject, batch, self.seen()),
                    self.head_and_last()
                );
                let (_, last) = end?;
                leader_end = Some(last);
                page?
            } else {
                self.page(seq, &subject, batch, self.seen()).await?
            };
            let reached = page.last().map_or(seq.saturating_sub(1), |m| m.seq);
            if let Some(end) = leader_end.filter(|end| page.len() < batch && *end > reached) {
                page = self.page(seq, &subject, batch, end).await?;
            }
            let done = page.len() < batch;
            for message in &page {
                seq = message.seq.saturating_add(1);
                let Some(stream) = self.names().stream_of(&message.subject) else {
                    continue;
                };
                if let StreamMessage::Event(event) =
                    stream_message(&stream, message.seq, &message.payload)?
                {
                    if filter.matches(event.stream_id.as_str(), &event.event_type) {
                        events.push(event);
                        if events.len() >= limit {
                            return Ok(events);
                        }
                    }
                }
            }
            if done || page.is_empty() {
                return Ok(events);
            }
        }
    }

    pub(crate) async fn read_all_events_backward(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (head, _) = self.head_and_last().await?;
        let top = from.min(head);
        // Read windows forward, doubling back from the top, until enough.
        let mut window = u64::try_from(limit)
            .unwrap_or(u64::MAX)
            .saturating_mul(2)
            .max(64);
        loop {
            let start = top.saturating_sub(window);
            let mut found = Vec::new();
            let mut after = start;
            loop {
                let page = self
                    .read_all_events(after, 1000, &EventFilter::default())
                    .await?;
                let last = page.last().map(|e| e.position);
                let more = page.len() == 1000;
                for event in page {
                    if event.position <= top {
                        found.push(event);
                    }
                }
                match last {
                    Some(last) if more && last < top => after = last,
                    _ => break,
                }
            }
            if found.len() >= limit || start == 0 {
                found.reverse();
                found.truncate(limit);
                return Ok(found);
            }
            window = window.saturating_mul(2);
        }
    }

    pub(crate) async fn stream_list(
        &self,
        prefix: &str,
        after: Option<&StreamId>,
        limit: usize,
    ) -> Result<Vec<StreamInfo>> {
        // The last message of every stream's subject, in one answer.
        let page = self
            .js()
            .batch(
                &self.names().events,
                json!({ "multi_last": [self.names().event_streams()] }),
                MULTI_LAST,
            )
            .await?;
        let mut all = Vec::new();
        for message in page {
            if let Some(stream) = self.names().stream_of(&message.subject) {
                all.push((stream, message));
            }
        }
        let mut infos = Vec::new();
        for (stream, message) in all {
            if !stream.as_str().starts_with(prefix) {
                continue;
            }
            if after.is_some_and(|a| stream.as_str() <= a.as_str()) {
                continue;
            }
            let (version, state) = match stream_message(&stream, message.seq, &message.payload)? {
                StreamMessage::Event(event) => (event.version, StreamState::Active),
                StreamMessage::Deleted { hard, version, .. } => (
                    version,
                    if hard {
                        StreamState::HardDeleted
                    } else {
                        StreamState::SoftDeleted
                    },
                ),
            };
            infos.push(StreamInfo {
                stream_id: stream,
                version,
                state,
            });
        }
        infos.sort_by(|a, b| {
            a.stream_id
                .as_str()
                .as_bytes()
                .cmp(b.stream_id.as_str().as_bytes())
        });
        infos.truncate(limit);
        Ok(infos)
    }
}

impl NatsStore {
    /// Runs a query plan over the log. This store keeps no tag or type
    /// index yet: a tag's or the whole log's chunks read every event after
    /// the cursor (a type's read the log filtered by type), so a read costs
    /// the events after its `after`, not its matches.
    pub(crate) async fn run_plan(&self, mut plan: QueryPlan<'_>) -> Result<QueryRead> {
        while let Some(fetch) = plan.next_fetch() {
            let filter = match &fetch.source {
                Source::Type(event_type) => {
                    EventFilter::default().with_event_types([event_type.clone()])
                }
                Source::Tag(_) | Source::All => EventFilter::default(),
            };
            let events = self
                .read_all_events(fetch.after, fetch.limit, &filter)
                .await?;
            plan.feed(events);
        }
        Ok(plan.finish())
    }

    /// The position of the first event breaking `condition` at or below `head`.
    pub(crate) async fn first_match(
        &self,
        condition: &AppendCondition,
        head: u64,
    ) -> Result<Option<u64>> {
        let read = self.run_plan(condition_plan(condition, head)).await?;
        Ok(read.events.first().map(|e| e.position))
    }
}
