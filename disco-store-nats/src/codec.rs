//! The stored formats: what the payload of each kind of message holds.
//! Every payload starts with a kind byte; numbers are big-endian. A payload
//! that does not parse is a damaged store (`Backend`), never a panic.
//!
//! - event: version u64, recorded at i64 (µs), id 16 bytes, type length
//!   u16, type, metadata length u32, metadata, data (the rest);
//! - tagged event (an event with tags): as an event, with the tags' length
//!   u32 and the tags as `disco_backend::stored_tags` writes them between
//!   the metadata and the data (an untagged event keeps the first layout,
//!   byte for byte what earlier releases wrote);
//! - delete marker: soft or hard, the stream's version u64 when deleted,
//!   the head u64 when deleted;
//! - claim: how many sequences back its event is u64, version u64, then the
//!   stream id.

use disco_core::{Error, NewEvent, RecordedEvent, Result, StreamId, Timestamp, Uuid};

const EVENT: u8 = 1;
const SOFT: u8 = 2;
const HARD: u8 = 3;
const CLAIM: u8 = 4;
const TAGGED_EVENT: u8 = 5;

/// A message of a stream's subject, decoded.
#[derive(Debug, Clone)]
pub(crate) enum StreamMessage {
    Event(RecordedEvent),
    /// The stream was deleted (hard or soft) at `version`; the head was
    /// `head` then.
    Deleted {
        hard: bool,
        version: u64,
        head: u64,
    },
}

/// A claim, decoded.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub back: u64,
    pub version: u64,
    pub stream: StreamId,
}

fn damaged(what: &str) -> Error {
    Error::Backend(format!("NATS: a stored {what} is damaged"))
}

struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(damaged(self.what));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64> {
        let bytes: [u8; 8] = self.take(8)?.try_into().map_err(|_| damaged(self.what))?;
        Ok(u64::from_be_bytes(bytes))
    }

    fn u32(&mut self) -> Result<u32> {
        let bytes: [u8; 4] = self.take(4)?.try_into().map_err(|_| damaged(self.what))?;
        Ok(u32::from_be_bytes(bytes))
    }

    fn u16(&mut self) -> Result<u16> {
        let bytes: [u8; 2] = self.take(2)?.try_into().map_err(|_| damaged(self.what))?;
        Ok(u16::from_be_bytes(bytes))
    }

    fn text(&mut self, n: usize) -> Result<&'a str> {
        std::str::from_utf8(self.take(n)?).map_err(|_| damaged(self.what))
    }
}

/// The payload of `event` at `version`.
pub(crate) fn event(event: &NewEvent, version: u64, now: Timestamp) -> Vec<u8> {
    let at = event.recorded_at.unwrap_or(now).as_micros();
    let mut out = Vec::with_capacity(
        event
            .size()
            .saturating_add(event.event_type.len())
            .saturating_add(40),
    );
    let tags = (!event.tags.is_empty()).then(|| disco_backend::stored_tags::encode(&event.tags));
    out.push(if tags.is_some() { TAGGED_EVENT } else { EVENT });
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&at.to_be_bytes());
    out.extend_from_slice(event.id.as_bytes());
    // The type is at most 255 bytes and metadata at most the event limit
    // (checked before), so both lengths fit.
    out.extend_from_slice(
        &u16::try_from(event.event_type.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(event.event_type.as_bytes());
    out.extend_from_slice(
        &u32::try_from(event.metadata.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(&event.metadata);
    if let Some(tags) = tags {
        // At most 16 tags of 255 bytes each: the length fits.
        out.extend_from_slice(&u32::try_from(tags.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(tags.as_bytes());
    }
    out.extend_from_slice(&event.data);
    out
}

/// The payload of a delete marker.
pub(crate) fn deleted(hard: bool, version: u64, head: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(17);
    out.push(if hard { HARD } else { SOFT });
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&head.to_be_bytes());
    out
}

/// The payload of a claim.
pub(crate) fn claim(back: u64, version: u64, stream: &StreamId) -> Vec<u8> {
    let mut out = Vec::with_capacity(17usize.saturating_add(stream.as_str().len()));
    out.push(CLAIM);
    out.extend_from_slice(&back.to_be_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(stream.as_str().as_bytes());
    out
}

/// Decodes a message stored on `stream`'s subject at `position`.
pub(crate) fn stream_message(
    stream: &StreamId,
    position: u64,
    payload: &[u8],
) -> Result<StreamMessage> {
    let mut r = Reader {
        bytes: payload,
        what: "event",
    };
    let kind = *r.take(1)?.first().ok_or_else(|| damaged("event"))?;
    match kind {
        EVENT | TAGGED_EVENT => {
            let version = r.u64()?;
            let at = i64::from_be_bytes(r.u64()?.to_be_bytes());
            let id: [u8; 16] = r.take(16)?.try_into().map_err(|_| damaged("event"))?;
            let type_len = usize::from(r.u16()?);
            let event_type = r.text(type_len)?.to_owned();
            let meta_len = usize::try_from(r.u32()?).map_err(|_| damaged("event"))?;
            let metadata = r.take(meta_len)?.to_vec();
            let tags = if kind == TAGGED_EVENT {
                let tags_len = usize::try_from(r.u32()?).map_err(|_| damaged("event"))?;
                disco_backend::stored_tags::decode(r.text(tags_len)?)
            } else {
                Vec::new()
            };
            let data = r.bytes.to_vec();
            Ok(StreamMessage::Event(RecordedEvent {
                id: Uuid::from_bytes(id),
                stream_id: stream.clone(),
                version,
                position,
                event_type,
                data,
                metadata,
                recorded_at: Timestamp::from_micros(at),
                tags,
            }))
        }
        SOFT | HARD => Ok(StreamMessage::Deleted {
            hard: kind == HARD,
            version: r.u64()?,
            head: r.u64()?,
        }),
        _ => Err(damaged("event")),
    }
}

/// Decodes a claim.
pub(crate) fn decode_claim(payload: &[u8]) -> Result<Claim> {
    let mut r = Reader {
        bytes: payload,
        what: "claim",
    };
    if r.take(1)?.first() != Some(&CLAIM) {
        return Err(damaged("claim"));
    }
    let back = r.u64()?;
    let version = r.u64()?;
    let stream = StreamId::new(r.text(r.bytes.len())?).map_err(|_| damaged("claim"))?;
    Ok(Claim {
        back,
        version,
        stream,
    })
}
