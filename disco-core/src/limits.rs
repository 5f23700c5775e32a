//! [`Limits`]: the input rules a store enforces before it writes anything.

use std::collections::HashSet;

use crate::error::Error;
use crate::event::NewEvent;
use crate::stream_id::validate_name;

/// The most bytes an event type name may hold.
pub const MAX_EVENT_TYPE_LEN: usize = 255;
/// The most bytes a checkpoint (consumer) name may hold.
pub const MAX_CHECKPOINT_NAME_LEN: usize = 255;
/// The default maximum event size: 16 MiB of data plus metadata.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;
/// The default most tags one event may carry.
pub const DEFAULT_MAX_TAGS_PER_EVENT: usize = 16;

/// Input limits of one store, set when it is opened.
///
/// ```
/// use disco::{Limits, NewEvent};
/// let limits = Limits::default().with_max_event_size(8);
/// assert!(limits.check_append(&[NewEvent::new("Small", vec![0; 8])]).is_ok());
/// assert!(limits.check_append(&[NewEvent::new("Big", vec![0; 9])]).is_err());
/// assert!(limits.check_append(&[]).is_err()); // empty appends are refused
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of data plus metadata one event may hold.
    pub max_event_size: usize,
    /// The most events one append (all parts of an atomic append together)
    /// may hold; unbounded (`usize::MAX`) unless the store says (NATS: 500,
    /// the server's atomic batch of 1,000 messages carrying each event and
    /// its id's claim).
    pub max_events_per_append: usize,
    /// The most tags one event may carry.
    pub max_tags_per_event: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
            max_events_per_append: usize::MAX,
            max_tags_per_event: DEFAULT_MAX_TAGS_PER_EVENT,
        }
    }
}

impl Limits {
    /// These limits with another maximum event size.
    pub fn with_max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// These limits with another most events per append.
    ///
    /// ```
    /// use disco::{Limits, NewEvent};
    /// let limits = Limits::default().with_max_events_per_append(2);
    /// let events = vec![NewEvent::new("E", vec![]), NewEvent::new("E", vec![]), NewEvent::new("E", vec![])];
    /// assert!(limits.check_append(&events[..2]).is_ok());
    /// assert!(limits.check_append(&events).is_err());
    /// ```
    pub fn with_max_events_per_append(mut self, events: usize) -> Self {
        self.max_events_per_append = events.max(1);
        self
    }

    /// These limits with another most tags per event.
    ///
    /// ```
    /// use disco::{Error, Limits, NewEvent};
    /// let limits = Limits::default().with_max_tags_per_event(1);
    /// let tagged = NewEvent::new("E", vec![]).with_tags(["a", "b"]);
    /// assert!(matches!(limits.check_append(&[tagged]), Err(Error::TooManyTags { count: 2, limit: 1, .. })));
    /// ```
    pub fn with_max_tags_per_event(mut self, tags: usize) -> Self {
        self.max_tags_per_event = tags;
        self
    }

    /// Checks the events of one append: at least one event and at most the
    /// store's most, valid type names, valid tags (at most the store's most
    /// per event, none twice), no event over the size limit, no id twice in
    /// the batch.
    pub fn check_append(&self, events: &[NewEvent]) -> Result<(), Error> {
        if events.is_empty() {
            return Err(Error::InvalidInput(
                "an append needs at least one event".into(),
            ));
        }
        self.check_count(events.len())?;
        // Small batches (the common case) compare ids pairwise; a set pays off
        // only for larger ones.
        let mut ids = HashSet::new();
        for (i, event) in events.iter().enumerate() {
            check_event_type(&event.event_type)?;
            self.check_tags(event)?;
            let size = event.size();
            if size > self.max_event_size {
                return Err(Error::TooLarge {
                    id: event.id,
                    size,
                    limit: self.max_event_size,
                });
            }
            let repeated = if events.len() <= 16 {
                events.iter().take(i).any(|earlier| earlier.id == event.id)
            } else {
                !ids.insert(event.id)
            };
            if repeated {
                return Err(Error::DuplicateEventId { id: event.id });
            }
        }
        Ok(())
    }
}

impl Limits {
    /// Checks the parts of an atomic append
    /// ([`EventStore::append_atomic`](crate::EventStore::append_atomic)):
    /// at least one part, each part as [`check_append`](Limits::check_append)
    /// checks an append, no stream twice, and no event id twice across parts.
    ///
    /// ```
    /// use disco::{ExpectedVersion, Limits, NewEvent, StreamId};
    /// let (a, b) = (StreamId::new("a").unwrap(), StreamId::new("b").unwrap());
    /// let e = NewEvent::new("E", vec![]);
    /// let limits = Limits::default();
    /// assert!(limits.check_atomic(&[(a.clone(), ExpectedVersion::Any, vec![e.clone()])]).is_ok());
    /// // the same id in two parts is a duplicate
    /// assert!(limits
    ///     .check_atomic(&[
    ///         (a, ExpectedVersion::Any, vec![e.clone()]),
    ///         (b, ExpectedVersion::Any, vec![e]),
    ///     ])
    ///     .is_err());
    /// assert!(limits.check_atomic(&[]).is_err());
    /// ```
    pub fn check_atomic(&self, parts: &[crate::AppendMany]) -> Result<(), Error> {
        if parts.is_empty() {
            return Err(Error::InvalidInput(
                "an atomic append needs at least one part".into(),
            ));
        }
        if let [(_, _, events)] = parts {
            // One part: no stream or id can be in two parts.
            return self.check_append(events);
        }
        for (_, _, events) in parts {
            self.check_append(events)?;
        }
        self.check_count(parts.iter().map(|(_, _, e)| e.len()).sum())?;
        let mut streams = HashSet::new();
        let mut ids = HashSet::new();
        for (stream, _, events) in parts {
            // Invariant: one atomic append names each stream once, so every part is decided against the state before the append.
            if !streams.insert(stream.as_str()) {
                return Err(Error::InvalidInput(format!(
                    "stream {stream} appears in two parts of one atomic append; put its events in one part"
                )));
            }
            for event in events {
                if !ids.insert(event.id) {
                    return Err(Error::DuplicateEventId { id: event.id });
                }
            }
        }
        Ok(())
    }
}

impl Limits {
    /// Checks a conditional append
    /// ([`EventStore::append_if`](crate::EventStore::append_if)): its parts
    /// as [`check_atomic`](Limits::check_atomic) checks them, then its
    /// condition's query ([`Query::check`](crate::Query::check)).
    pub fn check_append_if(
        &self,
        parts: &[crate::AppendMany],
        condition: &crate::AppendCondition,
    ) -> Result<(), Error> {
        self.check_atomic(parts)?;
        condition.fail_if_events_match.check()
    }

    /// Checks an event's tags: at most the store's most, each valid, none twice.
    fn check_tags(&self, event: &NewEvent) -> Result<(), Error> {
        if event.tags.len() > self.max_tags_per_event {
            return Err(Error::TooManyTags {
                id: event.id,
                count: event.tags.len(),
                limit: self.max_tags_per_event,
            });
        }
        for (i, tag) in event.tags.iter().enumerate() {
            crate::query::check_tag(tag)?;
            // Invariant: an event carries each tag once, so a tag index holds one entry per (tag, event).
            if event.tags.iter().take(i).any(|earlier| earlier == tag) {
                return Err(Error::InvalidInput(format!(
                    "event {} carries the tag {tag:?} twice",
                    event.id
                )));
            }
        }
        Ok(())
    }

    fn check_count(&self, events: usize) -> Result<(), Error> {
        // Invariant: an append never holds more events than its store takes in one step.
        if events > self.max_events_per_append {
            return Err(Error::InvalidInput(format!(
                "this store takes at most {} events in one append; this one has {events} (split it into several appends)",
                self.max_events_per_append
            )));
        }
        Ok(())
    }
}

/// Checks an event type name: 1 to [`MAX_EVENT_TYPE_LEN`] bytes, no control
/// characters.
pub fn check_event_type(event_type: &str) -> Result<(), Error> {
    validate_name("event type", event_type, MAX_EVENT_TYPE_LEN)
}

/// Checks a checkpoint name: 1 to [`MAX_CHECKPOINT_NAME_LEN`] bytes, no
/// control characters.
pub fn check_checkpoint_name(name: &str) -> Result<(), Error> {
    validate_name("checkpoint name", name, MAX_CHECKPOINT_NAME_LEN)
}

/// Checks a lease name: the rules of a checkpoint name (a consumer's lease
/// and checkpoint share its name), reported as a lease name.
///
/// ```
/// use disco::limits::check_lease_name;
/// let refused = check_lease_name("").unwrap_err().to_string();
/// assert!(refused.contains("lease name"), "{refused}");
/// ```
pub fn check_lease_name(name: &str) -> Result<(), Error> {
    validate_name("lease name", name, MAX_CHECKPOINT_NAME_LEN)
}
