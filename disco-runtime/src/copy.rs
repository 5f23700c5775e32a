//! Copying a whole store into another: the same streams at the same
//! versions, the same event ids, types, data, metadata and recorded times in
//! the same global order; deletions, snapshots, and consumer checkpoints
//! mapped to the target's positions. Resumable, and verified at the end.
//! `disco copy` is this with URLs and a progress bar.
//!
//! Events are read from the source in position order, a page at a time;
//! each page becomes one [`EventStore::append_many`] of runs of consecutive
//! events of one stream, each at `Exact(version - 1)` with the source's ids
//! and times. Positions may differ (hard deletes leave holes in the source
//! that the target closes); their order does not.
//!
//! Progress is the target's checkpoint [`PROGRESS_CHECKPOINT`]: the last
//! source position copied, saved after each page. An interrupted copy
//! resumes after it; re-sending the page that was in flight is safe, as an
//! append with the same ids at the same version returns its first result
//! (contract rule 6).
//!
//! The verification walks both stores in lockstep: the same ids in the same
//! order, and per stream the same count and checksum (FNV-1a over version,
//! id, type, data, metadata and time). The same walk maps each consumer
//! checkpoint to the target position of the last event at or below it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use disco_core::{
    AppendMany, DeleteMode, Error, EventStore, ExpectedVersion, RecordedEvent, StreamId,
    StreamInfo, StreamState,
};

/// The target's checkpoint that records how far a copy got.
pub const PROGRESS_CHECKPOINT: &str = "disco-copy-progress";

/// Streams per page when listing.
const LIST_PAGE: usize = 1000;

/// Why a copy stopped.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A store failed.
    #[error(transparent)]
    Store(#[from] Error),
    /// The target holds events but no interrupted copy.
    #[error("the target already holds events and no interrupted copy; copy into an empty store")]
    TargetNotEmpty,
    /// An append of the copy was refused.
    #[error("copying {stream} at {expected} failed: {error}")]
    Append {
        /// The stream.
        stream: StreamId,
        /// The version it was appended at.
        expected: ExpectedVersion,
        /// Why.
        error: Error,
    },
    /// The verification found the target differs from the source.
    #[error("verification failed: {0}")]
    Mismatch(String),
}

/// What a copy did.
#[derive(Clone, Debug, PartialEq)]
pub struct CopyReport {
    /// Events appended by this run (after a resume: the rest).
    pub copied: u64,
    /// Whether it resumed an interrupted copy.
    pub resumed: bool,
    /// Time spent copying events (not verifying).
    pub elapsed: Duration,
    /// Events verified equal, in order.
    pub verified_events: u64,
    /// Streams verified equal (count and checksum).
    pub verified_streams: usize,
    /// Deleted streams carried over.
    pub deleted_streams: usize,
    /// Snapshots copied.
    pub snapshots: usize,
    /// Consumer checkpoints mapped and copied.
    pub checkpoints: usize,
}

impl CopyReport {
    /// Events copied per second.
    pub fn rate(&self) -> f64 {
        self.copied as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Copies `source` into `target`, `batch` events per read and bulk append,
/// calling `progress(position, head)` after each page; then copies
/// deletions, snapshots and checkpoints and verifies. The target must be
/// empty or hold an interrupted copy of the same source.
pub async fn copy_store(
    source: &dyn EventStore,
    target: &dyn EventStore,
    batch: usize,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<CopyReport, CopyError> {
    let (s, t) = (source, target);
    let resume = t.load_checkpoint(PROGRESS_CHECKPOINT).await?;
    // Invariant: without an interrupted copy to resume, the target holds
    // nothing at all (no event, no stream id, no checkpoint) before the
    // first write, so nothing of it could be mixed with the copy.
    if resume.is_none()
        && (t.head_position().await? > 0
            || !t.list_streams("", None, 1).await?.is_empty()
            || !t.list_checkpoints().await?.is_empty())
    {
        return Err(CopyError::TargetNotEmpty);
    }
    let head = s.head_position().await?;
    let mut after = resume.unwrap_or(0);
    progress(after, head);
    let started = Instant::now();
    let mut copied = 0u64;
    loop {
        let page = s.read_all(after, batch.max(1)).await?;
        let Some(last) = page.last().map(|e| e.position) else {
            break;
        };
        let runs = appends(&page);
        let labels: Vec<(StreamId, ExpectedVersion)> =
            runs.iter().map(|(s, e, _)| (s.clone(), *e)).collect();
        for (result, (stream, expected)) in t.append_many(runs).await.into_iter().zip(labels) {
            if let Err(error) = result {
                return Err(CopyError::Append {
                    stream,
                    expected,
                    error,
                });
            }
        }
        t.save_checkpoint(PROGRESS_CHECKPOINT, last).await?;
        copied = copied.saturating_add(page.len() as u64);
        after = last;
        progress(after, head);
    }
    let elapsed = started.elapsed();
    let streams = copy_streams(s, t).await?;
    let verified = verify(s, t, batch.max(1)).await?;
    Ok(CopyReport {
        copied,
        resumed: resume.is_some(),
        elapsed,
        verified_events: verified.events,
        verified_streams: verified.streams,
        deleted_streams: streams.deleted,
        snapshots: streams.snapshots,
        checkpoints: verified.checkpoints,
    })
}

/// The most events one copied append holds: what every store takes in one
/// append (a NATS store's atomic batch carries 500 events and their ids'
/// claims). A longer run is copied as several appends, each idempotent.
pub const MAX_COPY_RUN: usize = 500;

/// Runs of consecutive events of one stream (at most [`MAX_COPY_RUN`]), as
/// appends that write them again with the same ids, times and versions
/// (`Exact(version - 1)`).
pub fn appends(page: &[RecordedEvent]) -> Vec<AppendMany> {
    let mut out: Vec<AppendMany> = Vec::new();
    for e in page {
        let event = e.to_new_event();
        match out.last_mut() {
            Some((stream, _, events)) if *stream == e.stream_id && events.len() < MAX_COPY_RUN => {
                events.push(event)
            }
            _ => out.push((
                e.stream_id.clone(),
                ExpectedVersion::Exact(e.version.saturating_sub(1)),
                vec![event],
            )),
        }
    }
    out
}

async fn all_streams(store: &dyn EventStore) -> Result<Vec<StreamInfo>, Error> {
    let mut all = Vec::new();
    let mut after: Option<StreamId> = None;
    loop {
        let page = store.list_streams("", after.as_ref(), LIST_PAGE).await?;
        let full = page.len() == LIST_PAGE;
        after = page.last().map(|i| i.stream_id.clone());
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

struct StreamsCopied {
    deleted: usize,
    snapshots: usize,
}

/// Deletions and snapshots, then a check that both list the same streams.
async fn copy_streams(s: &dyn EventStore, t: &dyn EventStore) -> Result<StreamsCopied, CopyError> {
    let source = all_streams(s).await?;
    let target: HashMap<StreamId, StreamInfo> = all_streams(t)
        .await?
        .into_iter()
        .map(|i| (i.stream_id.clone(), i))
        .collect();
    let mut copied = StreamsCopied {
        deleted: 0,
        snapshots: 0,
    };
    for info in &source {
        let there = target.get(&info.stream_id).map(|i| i.state);
        let mode = match info.state {
            StreamState::Active => None,
            StreamState::SoftDeleted => Some(DeleteMode::Soft),
            StreamState::HardDeleted => Some(DeleteMode::Hard),
        };
        if let Some(mode) = mode {
            if there != Some(info.state) {
                t.delete_stream(&info.stream_id, ExpectedVersion::Any, mode)
                    .await?;
            }
            copied.deleted = copied.deleted.saturating_add(1);
            continue;
        }
        if let Some(snapshot) = s.load_snapshot(&info.stream_id).await? {
            t.save_snapshot(&info.stream_id, snapshot.version, snapshot.data)
                .await?;
            copied.snapshots = copied.snapshots.saturating_add(1);
        }
    }
    let after = all_streams(t).await?;
    let differs = |a: &StreamInfo, b: &StreamInfo| {
        a.stream_id != b.stream_id
            || a.state != b.state
            || (a.state != StreamState::HardDeleted && a.version != b.version)
    };
    if after.len() != source.len() || after.iter().zip(&source).any(|(a, b)| differs(a, b)) {
        return Err(CopyError::Mismatch(
            "the target's streams differ from the source's (ids, versions or states)".into(),
        ));
    }
    Ok(copied)
}

struct Verified {
    events: u64,
    streams: usize,
    checkpoints: usize,
}

/// FNV-1a over an event's bytes, folded into a stream's running checksum.
fn fold(hash: u64, e: &RecordedEvent) -> u64 {
    let mut h = hash;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(&e.version.to_le_bytes());
    eat(e.id.as_bytes());
    eat(e.event_type.as_bytes());
    eat(&(e.data.len() as u64).to_le_bytes());
    eat(&e.data);
    eat(&(e.metadata.len() as u64).to_le_bytes());
    eat(&e.metadata);
    eat(&e.recorded_at.as_micros().to_le_bytes());
    eat(&(e.tags.len() as u64).to_le_bytes());
    for tag in &e.tags {
        eat(&(tag.len() as u64).to_le_bytes());
        eat(tag.as_bytes());
    }
    h
}

type Sums = HashMap<StreamId, (u64, u64)>;

fn add(sums: &mut Sums, e: &RecordedEvent) {
    let entry = sums
        .entry(e.stream_id.clone())
        .or_insert((0, 0xcbf2_9ce4_8422_2325));
    entry.0 = entry.0.saturating_add(1);
    entry.1 = fold(entry.1, e);
}

/// Walks both stores in position order: the same ids in the same order, the
/// same count and checksum per stream; maps the source's checkpoints.
async fn verify(
    s: &dyn EventStore,
    t: &dyn EventStore,
    page: usize,
) -> Result<Verified, CopyError> {
    let mut checkpoints: Vec<(String, u64)> = s
        .list_checkpoints()
        .await?
        .into_iter()
        .filter(|c| c.name != PROGRESS_CHECKPOINT)
        .map(|c| (c.name, c.position))
        .collect();
    checkpoints.sort_by_key(|c| c.1);
    let mut mapped: Vec<(String, u64)> = Vec::new();
    let mut pending = checkpoints.into_iter().peekable();
    let (mut source_sums, mut target_sums) = (Sums::new(), Sums::new());
    let (mut s_after, mut t_after, mut events) = (0u64, 0u64, 0u64);
    let mut last_target = 0u64;
    let mismatch = CopyError::Mismatch;
    loop {
        let (a, b) = (
            s.read_all(s_after, page).await?,
            t.read_all(t_after, page).await?,
        );
        if a.len() != b.len() {
            return Err(mismatch(format!(
                "after source position {s_after} the source holds {} more events, the target {}",
                a.len(),
                b.len()
            )));
        }
        if a.is_empty() {
            break;
        }
        for (x, y) in a.iter().zip(&b) {
            if x.id != y.id {
                return Err(mismatch(format!(
                    "source position {} holds event {}, the target's matching position {} holds {}",
                    x.position, x.id, y.position, y.id
                )));
            }
            // A checkpoint below this event maps to the target position of
            // the event before it.
            while let Some((name, _)) = pending.next_if(|(_, at)| *at < x.position) {
                mapped.push((name, last_target));
            }
            last_target = y.position;
            add(&mut source_sums, x);
            add(&mut target_sums, y);
            events = events.saturating_add(1);
        }
        s_after = a.last().map_or(s_after, |e| e.position);
        t_after = b.last().map_or(t_after, |e| e.position);
    }
    mapped.extend(pending.map(|(name, _)| (name, last_target)));
    for (stream, sum) in &source_sums {
        if target_sums.get(stream) != Some(sum) {
            return Err(mismatch(format!(
                "stream {stream}: {} events with checksum {:016x} in the source, {:?} in the target",
                sum.0,
                sum.1,
                target_sums.get(stream)
            )));
        }
    }
    if target_sums.len() != source_sums.len() {
        return Err(mismatch(
            "the target holds streams the source does not".into(),
        ));
    }
    for (name, position) in &mapped {
        t.save_checkpoint(name, *position).await?;
    }
    Ok(Verified {
        events,
        streams: source_sums.len(),
        checkpoints: mapped.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_run_is_copied_in_appends_every_store_takes() {
        let stream = StreamId::new("a").unwrap_or_else(|e| panic!("{e}"));
        let page: Vec<RecordedEvent> = (1..=1200u64)
            .map(|version| RecordedEvent {
                id: disco_core::Uuid::now_v7(),
                stream_id: stream.clone(),
                version,
                position: version,
                event_type: "E".into(),
                data: vec![],
                metadata: vec![],
                recorded_at: disco_core::Timestamp::from_micros(7),
                tags: Vec::new(),
            })
            .collect();
        let shape: Vec<(ExpectedVersion, usize)> = appends(&page)
            .iter()
            .map(|(_, e, v)| (*e, v.len()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (ExpectedVersion::Exact(0), 500),
                (ExpectedVersion::Exact(500), 500),
                (ExpectedVersion::Exact(1000), 200),
            ]
        );
    }

    #[test]
    fn runs_of_one_stream_become_one_append() {
        let stream = |s: &str| StreamId::new(s).unwrap_or_else(|e| panic!("{e}"));
        let event = |s: &str, version: u64, position: u64| RecordedEvent {
            id: disco_core::Uuid::now_v7(),
            stream_id: stream(s),
            version,
            position,
            event_type: "E".into(),
            data: vec![1],
            metadata: vec![],
            recorded_at: disco_core::Timestamp::from_micros(7),
            tags: Vec::new(),
        };
        let page = [
            event("a", 3, 10),
            event("a", 4, 11),
            event("b", 1, 12),
            event("a", 5, 13),
        ];
        let runs = appends(&page);
        let shape: Vec<(String, ExpectedVersion, usize)> = runs
            .iter()
            .map(|(s, e, v)| (s.to_string(), *e, v.len()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("a".into(), ExpectedVersion::Exact(2), 2),
                ("b".into(), ExpectedVersion::Exact(0), 1),
                ("a".into(), ExpectedVersion::Exact(4), 1),
            ]
        );
        assert_eq!(runs[0].2[0].id, page[0].id);
        assert_eq!(
            runs[0].2[0].recorded_at,
            Some(disco_core::Timestamp::from_micros(7))
        );
    }
}
