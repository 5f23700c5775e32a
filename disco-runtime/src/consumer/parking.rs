//! Parking per stream: with [`AfterRetries::Park`](super::AfterRetries::Park),
//! an event that still fails after its retries parks its stream for the
//! consumer: the stream's later events are held back (in order) while every
//! other stream goes on. Parked streams are recorded in a stream of the
//! consumer's own, `"parked.{consumer}"` (`StreamParked` and
//! `StreamReleased` events), so they survive restarts;
//! [`release`] (and `disco parked NAME retry|skip STREAM`) lets one go: the
//! runner then delivers the held events in order, the failed one first
//! (`Retry`) or after it (`Skip`, logged with the skipped event's id).
//!
//! A partitioned consumer shares one record stream over its partitions; each
//! partition acts on the streams it parked.

use std::collections::BTreeMap;

use disco_core::{
    Error, EventStore, ExpectedVersion, NewEvent, ReadDirection, RecordedEvent, Result, StreamId,
    Uuid,
};

/// The event type of a parking.
pub const PARKED: &str = "StreamParked";
/// The event type of a release.
pub const RELEASED: &str = "StreamReleased";
/// The event type of a release carried out: the held events were delivered.
pub const RESUMED: &str = "StreamResumed";
/// Events per read of the record stream.
const PAGE: usize = 512;

/// The stream recording what the consumer `name` parked (one per consumer:
/// the partitions of a partitioned consumer share their consumer's).
pub fn records_stream(name: &str) -> Result<StreamId> {
    let group = name.split("/partition-").next().unwrap_or(name);
    StreamId::new(format!("parked.{group}"))
}

/// A parked stream: the event that failed and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParkedStream {
    /// The stream held back.
    pub stream: StreamId,
    /// The event that failed after its retries.
    pub event_id: Uuid,
    /// Its position.
    pub position: u64,
    /// Its version in the stream.
    pub version: u64,
    /// The partition that parked it (0 for an unpartitioned consumer).
    pub partition: u32,
    /// The handler's last error.
    pub error: String,
}

/// How a parked stream is let go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Deliver the failed event again, then the held ones.
    Retry,
    /// Pass over the failed event (logged with its id), then deliver the
    /// held ones.
    Skip,
}

impl ParkedStream {
    pub(crate) fn to_event(&self) -> NewEvent {
        let data = format!(
            "stream={}\nevent_id={}\nposition={}\nversion={}\npartition={}\nerror={}",
            self.stream, self.event_id, self.position, self.version, self.partition, self.error
        );
        NewEvent::new(PARKED, data.into_bytes())
    }

    fn from_event(event: &RecordedEvent) -> Result<ParkedStream> {
        let fields = fields(event)?;
        let get = |key: &str| {
            fields
                .get(key)
                .cloned()
                .ok_or_else(|| corrupt(event, &format!("no {key}")))
        };
        let number =
            |key: &str| -> Result<u64> { get(key)?.parse().map_err(|_| corrupt(event, key)) };
        Ok(ParkedStream {
            stream: StreamId::new(get("stream")?)?,
            event_id: Uuid::parse_str(&get("event_id")?).map_err(|_| corrupt(event, "event_id"))?,
            position: number("position")?,
            version: number("version")?,
            partition: number("partition")? as u32,
            error: get("error")?,
        })
    }
}

fn corrupt(event: &RecordedEvent, what: &str) -> Error {
    Error::Backend(format!(
        "record {} of {} is not a parking record: {what}",
        event.version, event.stream_id
    ))
}

/// The `key=value` lines of a record (the error, last, may hold newlines).
fn fields(event: &RecordedEvent) -> Result<BTreeMap<String, String>> {
    let text = std::str::from_utf8(&event.data).map_err(|_| corrupt(event, "not UTF-8"))?;
    let mut fields = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, value_and_rest) = rest.split_once('=').ok_or_else(|| corrupt(event, "no ="))?;
        if key == "error" {
            fields.insert(key.to_owned(), value_and_rest.to_owned());
            break;
        }
        let (value, next) = value_and_rest
            .split_once('\n')
            .unwrap_or((value_and_rest, ""));
        fields.insert(key.to_owned(), value.to_owned());
        rest = next;
    }
    Ok(fields)
}

/// A record as the runner folds it.
pub(crate) enum Record {
    Parked(ParkedStream),
    Released(StreamId, Release),
    Resumed(StreamId),
}

pub(crate) fn record_of(event: &RecordedEvent) -> Result<Option<Record>> {
    match event.event_type.as_str() {
        PARKED => Ok(Some(Record::Parked(ParkedStream::from_event(event)?))),
        RELEASED => {
            let fields = fields(event)?;
            let stream = fields
                .get("stream")
                .ok_or_else(|| corrupt(event, "no stream"))?;
            let release = match fields.get("action").map(String::as_str) {
                Some("skip") => Release::Skip,
                Some("retry") => Release::Retry,
                _ => return Err(corrupt(event, "action")),
            };
            Ok(Some(Record::Released(StreamId::new(stream)?, release)))
        }
        RESUMED => {
            let fields = fields(event)?;
            let stream = fields
                .get("stream")
                .ok_or_else(|| corrupt(event, "no stream"))?;
            Ok(Some(Record::Resumed(StreamId::new(stream)?)))
        }
        _ => Ok(None),
    }
}

/// The records of `records` after `version`, in order, and the version
/// read up to.
pub(crate) async fn read_records(
    store: &dyn EventStore,
    records: &StreamId,
    mut version: u64,
) -> Result<(Vec<Record>, u64)> {
    let mut out = Vec::new();
    loop {
        let page = store
            .read_stream(
                records,
                version.saturating_add(1),
                ReadDirection::Forward,
                PAGE,
            )
            .await?;
        for event in &page {
            if let Some(record) = record_of(event)? {
                out.push(record);
            }
            version = event.version;
        }
        if page.len() < PAGE {
            return Ok((out, version));
        }
    }
}

/// What the records say of each stream: parked, or released and not yet
/// resumed (with how).
pub(crate) type Fold = BTreeMap<StreamId, (ParkedStream, Option<Release>)>;

/// Folds `records` into `fold`.
pub(crate) fn fold(fold: &mut Fold, records: Vec<Record>) {
    for record in records {
        match record {
            Record::Parked(p) => {
                fold.insert(p.stream.clone(), (p, None));
            }
            Record::Released(stream, how) => {
                if let Some(entry) = fold.get_mut(&stream) {
                    entry.1 = Some(how);
                }
            }
            Record::Resumed(stream) => {
                fold.remove(&stream);
            }
        }
    }
}

/// The streams the consumer `name` holds back now (every partition's),
/// with, for one released but not yet resumed by the runner, how.
pub async fn parked(
    store: &dyn EventStore,
    name: &str,
) -> Result<Vec<(ParkedStream, Option<Release>)>> {
    let records = records_stream(name)?;
    let (all, _) = read_records(store, &records, 0).await?;
    let mut state = Fold::new();
    fold(&mut state, all);
    Ok(state.into_values().collect())
}

/// The record that the held events of `stream` were delivered.
pub(crate) fn resumed_event(stream: &StreamId) -> NewEvent {
    NewEvent::new(RESUMED, format!("stream={stream}").into_bytes())
}

/// Lets the parked `stream` of the consumer `name` go; the consumer's
/// runner acts on it at its next look (within a second or so). Refused with
/// [`Error::InvalidInput`] when the stream is not parked.
pub async fn release(
    store: &dyn EventStore,
    name: &str,
    stream: &StreamId,
    how: Release,
) -> Result<ParkedStream> {
    let Some((parked, _)) = parked(store, name)
        .await?
        .into_iter()
        .find(|(p, released)| &p.stream == stream && released.is_none())
    else {
        return Err(Error::InvalidInput(format!(
            "stream {stream} is not parked for consumer {name}"
        )));
    };
    let action = match how {
        Release::Retry => "retry",
        Release::Skip => "skip",
    };
    let data = format!("stream={stream}\naction={action}");
    store
        .append(
            &records_stream(name)?,
            ExpectedVersion::StreamExists,
            vec![NewEvent::new(RELEASED, data.into_bytes())],
        )
        .await?;
    Ok(parked)
}
