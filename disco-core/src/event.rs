//! The events that go in ([`NewEvent`]) and come out ([`RecordedEvent`]) of a
//! store, the answer to an append ([`AppendResult`]) and [`Timestamp`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use crate::StreamId;

/// An event to append. The store gives it a version and a position.
///
/// ```
/// use disco::NewEvent;
/// let e = NewEvent::new("WalletCreated", br#"{"balance":10}"#.to_vec())
///     .with_metadata(br#"{"correlation_id":"c1"}"#.to_vec());
/// assert_eq!(e.event_type, "WalletCreated");
/// assert!(!e.id.is_nil());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// Unique in the store. Re-sending an append with the same ids is how a
    /// client retries safely (rule 6), so keep the id with the event.
    pub id: Uuid,
    /// The event's type name: 1 to 255 bytes, no control characters.
    pub event_type: String,
    /// The payload, stored and returned byte for byte.
    pub data: Vec<u8>,
    /// Free-form metadata (correlation and causation ids, ...), byte for byte.
    pub metadata: Vec<u8>,
    /// When the event happened, if it is being imported from elsewhere
    /// (`disco copy`); `None`, the usual case, stamps it with the store's
    /// clock at commit.
    pub recorded_at: Option<Timestamp>,
    /// Tags that [queries](crate::Query) find the event by (`"course:c1"`,
    /// `"student:s7"`): at most
    /// [`Limits::max_tags_per_event`](crate::Limits::max_tags_per_event),
    /// each 1 to 255 bytes, none twice. Kept in the order given.
    pub tags: Vec<String>,
}

impl NewEvent {
    /// An event with a fresh id and empty metadata.
    ///
    /// The id is a UUIDv7: unique, and ordered by creation time, so events
    /// created together sit together in every store's index of event ids (a
    /// group commit of many appends then touches one index page, not one per
    /// event). Use [`NewEvent::with_id`] to bring your own.
    pub fn new(event_type: impl Into<String>, data: Vec<u8>) -> Self {
        NewEvent {
            id: Uuid::now_v7(),
            event_type: event_type.into(),
            data,
            metadata: Vec::new(),
            recorded_at: None,
            tags: Vec::new(),
        }
    }

    /// Adds tags, which [queries](crate::Query) find the event by.
    ///
    /// ```
    /// use disco::NewEvent;
    /// let e = NewEvent::new("StudentSubscribed", vec![]).with_tags(["course:c1", "student:s7"]);
    /// assert_eq!(e.tags, ["course:c1", "student:s7"]);
    /// ```
    pub fn with_tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Replaces the id (to retry an append, or to use ids of your own).
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = id;
        self
    }

    /// Replaces the metadata.
    pub fn with_metadata(mut self, metadata: Vec<u8>) -> Self {
        self.metadata = metadata;
        self
    }

    /// Keeps `at` as the event's recorded time instead of the commit's (for
    /// imports that keep history as it was).
    pub fn with_recorded_at(mut self, at: Timestamp) -> Self {
        self.recorded_at = Some(at);
        self
    }

    /// Data plus metadata length, the size checked against
    /// [`Limits::max_event_size`](crate::Limits::max_event_size).
    pub fn size(&self) -> usize {
        self.data.len().saturating_add(self.metadata.len())
    }
}

/// An event as the store holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    /// The id it was appended with.
    pub id: Uuid,
    /// The stream it belongs to.
    pub stream_id: StreamId,
    /// Its version in the stream: 1 for the first event, then 2, 3, ...
    pub version: u64,
    /// Its position in the store's global order (> 0, unique).
    pub position: u64,
    /// Its type name.
    pub event_type: String,
    /// The payload, as appended.
    pub data: Vec<u8>,
    /// The metadata, as appended.
    pub metadata: Vec<u8>,
    /// When the store recorded it.
    pub recorded_at: Timestamp,
    /// Its tags, as appended (none for events stored before tags existed).
    pub tags: Vec<String>,
}

impl RecordedEvent {
    /// `event` as a store records it in `stream` at `version` and `position`
    /// (stamped `now` unless it carries its own time).
    ///
    /// ```
    /// use disco::{NewEvent, RecordedEvent, StreamId, Timestamp};
    /// let stream = StreamId::new("s-1").unwrap();
    /// let at = Timestamp::from_micros(7);
    /// let recorded = RecordedEvent::recorded(NewEvent::new("E", vec![1]), stream, 1, 10, at);
    /// assert_eq!((recorded.version, recorded.position, recorded.recorded_at), (1, 10, at));
    /// assert_eq!(recorded.to_new_event().recorded_at, Some(at));
    /// ```
    pub fn recorded(
        event: NewEvent,
        stream_id: StreamId,
        version: u64,
        position: u64,
        now: Timestamp,
    ) -> RecordedEvent {
        RecordedEvent {
            id: event.id,
            stream_id,
            version,
            position,
            event_type: event.event_type,
            data: event.data,
            metadata: event.metadata,
            recorded_at: event.recorded_at.unwrap_or(now),
            tags: event.tags,
        }
    }

    /// The event to append again to import this one elsewhere: the same id,
    /// type, data, metadata, time and tags (what `disco copy` writes).
    pub fn to_new_event(&self) -> NewEvent {
        NewEvent::new(self.event_type.clone(), self.data.clone())
            .with_id(self.id)
            .with_metadata(self.metadata.clone())
            .with_recorded_at(self.recorded_at)
            .with_tags(self.tags.iter().cloned())
    }
}

/// What an append wrote: the versions and positions of its first and last
/// events. For a single-event append first and last are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AppendResult {
    /// Version of the first event written.
    pub first_version: u64,
    /// Version of the last event written; the stream's new version.
    pub last_version: u64,
    /// Position of the first event written.
    pub first_position: u64,
    /// Position of the last event written.
    pub last_position: u64,
}

/// Microseconds since the Unix epoch, UTC.
///
/// ```
/// use disco::Timestamp;
/// let t = Timestamp::from_micros(1_500_000);
/// assert_eq!(t.as_micros(), 1_500_000);
/// assert_eq!(
///     t.to_system_time(),
///     std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_500_000)
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time of the system clock.
    pub fn now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_micros()).unwrap_or(i64::MAX)),
            Err(before) => Timestamp(
                i64::try_from(before.duration().as_micros()).map_or(i64::MIN, i64::wrapping_neg),
            ),
        }
    }

    /// A timestamp of `micros` microseconds since the epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// The same instant as a [`SystemTime`] (any `i64` of microseconds,
    /// about 292,000 years either side of the epoch, fits the platform's
    /// clock; one that would not is the epoch).
    pub fn to_system_time(self) -> SystemTime {
        let span = Duration::from_micros(self.0.unsigned_abs());
        let at = if self.0 >= 0 {
            UNIX_EPOCH.checked_add(span)
        } else {
            UNIX_EPOCH.checked_sub(span)
        };
        at.unwrap_or(UNIX_EPOCH)
    }

    /// The instant as RFC 3339 in UTC with microseconds.
    ///
    /// ```
    /// use disco::Timestamp;
    /// assert_eq!(Timestamp::from_micros(0).to_rfc3339(), "1970-01-01T00:00:00.000000Z");
    /// assert_eq!(
    ///     Timestamp::from_micros(1_795_777_248_123_456).to_rfc3339(),
    ///     "2026-11-27T11:00:48.123456Z"
    /// );
    /// // A leap day.
    /// assert_eq!(
    ///     Timestamp::from_micros(951_782_400_000_000).to_rfc3339(),
    ///     "2000-02-29T00:00:00.000000Z"
    /// );
    /// ```
    // Bounded arithmetic: an i64 of µs is at most ~1.07e8 days, and every
    // product below stays under 1e12, far inside i64.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn to_rfc3339(self) -> String {
        let micros = self.0;
        let secs = micros.div_euclid(1_000_000);
        let frac = micros.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{frac:06}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }
}
