//! `disco copy`: a whole store into another, resumable, then verified.
//!
//! Events are read from the source in position order, a page at a time;
//! each page becomes one `append_many` of runs of consecutive events of one
//! stream, each at `Exact(version - 1)` with the source's ids, types, data,
//! metadata and recorded times. So the target holds the same streams at the
//! same versions in the same global order (positions may differ: hard
//! deletes leave holes in the source that the target closes).
//!
//! Progress is the checkpoint `disco-copy-progress` in the target: the last
//! source position copied, saved after each page. An interrupted copy
//! resumes after it; re-sending the page that was in flight is safe, as an
//! append with the same ids at the same version returns its first result
//! (contract rule 6).
//!
//! Then stream deletions and snapshots are copied, the verification walks
//! both stores in lockstep (same ids in the same order; per stream the same
//! count and checksum), and consumer checkpoints are mapped to the target's
//! positions on that walk.

use std::collections::HashMap;
use std::time::Instant;

use disco::{
    AppendMany, DeleteMode, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId,
    StreamInfo, StreamState,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::failure::{code, Failure};
use crate::show::Format;
use crate::stores::{Location, Opened};

/// The target's checkpoint that records how far a copy got.
pub const PROGRESS: &str = "disco-copy-progress";

/// Streams per page when listing.
const LIST_PAGE: usize = 1000;

/// Runs of consecutive events of one stream, as appends.
fn appends(page: &[RecordedEvent]) -> Vec<AppendMany> {
    let mut out: Vec<AppendMany> = Vec::new();
    for e in page {
        let event = NewEvent::new(e.event_type.clone(), e.data.clone())
            .with_id(e.id)
            .with_metadata(e.metadata.clone())
            .with_recorded_at(e.recorded_at);
        match out.last_mut() {
            Some((stream, _, events)) if *stream == e.stream_id => events.push(event),
            _ => out.push((
                e.stream_id.clone(),
                ExpectedVersion::Exact(e.version - 1),
                vec![event],
            )),
        }
    }
    out
}

async fn all_streams(store: &dyn EventStore) -> Result<Vec<StreamInfo>, Failure> {
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

fn bar(total: u64, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:8} [{bar:40}] {pos}/{len} positions ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// `disco copy --from URL --to URL`.
pub async fn run(
    from: &str,
    to: &str,
    batch: usize,
    quiet: bool,
    format: Format,
) -> Result<(), Failure> {
    let (source_at, target_at) = (Location::parse(from)?, Location::parse(to)?);
    if source_at == target_at && source_at != Location::Memory {
        return Err(Failure::new(
            code::USAGE,
            "--from and --to name the same store",
        ));
    }
    let source = Opened::open(&source_at, false, false).await?;
    let target = Opened::open(&target_at, true, true).await?;
    let (s, t) = (source.store(), target.store());
    let resume = t.load_checkpoint(PROGRESS).await?;
    if resume.is_none() && t.head_position().await? > 0 {
        return Err(Failure::new(
            code::USAGE,
            format!("{to} already holds events and no interrupted copy; copy into an empty store"),
        ));
    }
    let head = s.head_position().await?;
    let bar = bar(head, quiet || format == Format::Json);
    bar.set_message("events");
    let mut after = resume.unwrap_or(0);
    bar.set_position(after);
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
                return Err(Failure::new(
                    code::OTHER,
                    format!("copying {stream} at {expected} failed: {error}"),
                ));
            }
        }
        t.save_checkpoint(PROGRESS, last).await?;
        copied += page.len() as u64;
        after = last;
        bar.set_position(after);
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();

    let streams = copy_streams(&*s, &*t).await?;
    let verified = verify(&*s, &*t, batch.max(1)).await?;
    let rate = copied as f64 / elapsed.as_secs_f64().max(1e-9);
    match format {
        Format::Human => {
            println!(
                "copied {copied} events in {:.1} s ({rate:.0} events/s){}",
                elapsed.as_secs_f64(),
                if resume.is_some() { ", resumed" } else { "" }
            );
            println!(
                "verified: {} events in {} streams, same order, same count and checksum per stream; {} deleted streams, {} snapshots, {} checkpoints copied",
                verified.events, verified.streams, streams.deleted, streams.snapshots, verified.checkpoints
            );
        }
        Format::Json => println!(
            "{}",
            json!({
                "from": from, "to": to, "copied": copied, "resumed": resume.is_some(),
                "seconds": elapsed.as_secs_f64(), "events_per_s": rate,
                "verified_events": verified.events, "verified_streams": verified.streams,
                "deleted_streams": streams.deleted, "snapshots": streams.snapshots,
                "checkpoints": verified.checkpoints,
            })
        ),
    }
    source.close().await;
    target.close().await;
    Ok(())
}

struct StreamsCopied {
    deleted: usize,
    snapshots: usize,
}

/// Deletions and snapshots, then a check that both list the same streams.
async fn copy_streams(s: &dyn EventStore, t: &dyn EventStore) -> Result<StreamsCopied, Failure> {
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
            copied.deleted += 1;
            continue;
        }
        if let Some(snapshot) = s.load_snapshot(&info.stream_id).await? {
            t.save_snapshot(&info.stream_id, snapshot.version, snapshot.data)
                .await?;
            copied.snapshots += 1;
        }
    }
    let after = all_streams(t).await?;
    let differs = |a: &StreamInfo, b: &StreamInfo| {
        a.stream_id != b.stream_id
            || a.state != b.state
            || (a.state != StreamState::HardDeleted && a.version != b.version)
    };
    if after.len() != source.len() || after.iter().zip(&source).any(|(a, b)| differs(a, b)) {
        return Err(Failure::new(
            code::VERIFY_FAILED,
            "the target's streams differ from the source's (ids, versions or states)",
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
    h
}

type Sums = HashMap<StreamId, (u64, u64)>;

fn add(sums: &mut Sums, e: &RecordedEvent) {
    let entry = sums
        .entry(e.stream_id.clone())
        .or_insert((0, 0xcbf2_9ce4_8422_2325));
    entry.0 += 1;
    entry.1 = fold(entry.1, e);
}

/// Walks both stores in position order: the same ids in the same order, the
/// same count and checksum per stream; maps the source's checkpoints.
async fn verify(s: &dyn EventStore, t: &dyn EventStore, page: usize) -> Result<Verified, Failure> {
    let mut checkpoints: Vec<(String, u64)> = s
        .list_checkpoints()
        .await?
        .into_iter()
        .filter(|c| c.name != PROGRESS)
        .map(|c| (c.name, c.position))
        .collect();
    checkpoints.sort_by_key(|c| c.1);
    let mut mapped: Vec<(String, u64)> = Vec::new();
    let mut pending = checkpoints.into_iter().peekable();
    let (mut source_sums, mut target_sums) = (Sums::new(), Sums::new());
    let (mut s_after, mut t_after, mut events) = (0u64, 0u64, 0u64);
    let mut last_target = 0u64;
    let mismatch = |what: String| Failure::new(code::VERIFY_FAILED, what);
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
            events += 1;
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
    fn runs_of_one_stream_become_one_append() {
        let stream = |s: &str| StreamId::new(s).unwrap_or_else(|e| panic!("{e}"));
        let event = |s: &str, version: u64, position: u64| RecordedEvent {
            id: disco::Uuid::now_v7(),
            stream_id: stream(s),
            version,
            position,
            event_type: "E".into(),
            data: vec![1],
            metadata: vec![],
            recorded_at: disco::Timestamp::from_micros(7),
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
            Some(disco::Timestamp::from_micros(7))
        );
    }
}
