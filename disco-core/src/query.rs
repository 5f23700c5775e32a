//! Queries by event type and tag ([`Query`]), what a query read answers
//! ([`QueryRead`]) and the condition of a conditional append
//! ([`AppendCondition`]): the Dynamic Consistency Boundary of dcb.events,
//! beside streams rather than instead of them.
//!
//! A decision reads the events that matter to it with
//! [`EventStore::read_query`](crate::EventStore::read_query), which answers
//! the position the read was consistent at, and appends with
//! [`EventStore::append_if`](crate::EventStore::append_if) on the condition
//! that no event matching the same query was stored after that position.

use crate::error::Error;
use crate::limits::check_event_type;
use crate::stream_id::validate_name;
use crate::RecordedEvent;

/// The most bytes a tag may hold.
pub const MAX_TAG_LEN: usize = 255;
/// The most items one query may hold.
pub const MAX_QUERY_ITEMS: usize = 64;
/// The most event types, and the most tags, one query item may hold.
pub const MAX_ITEM_TERMS: usize = 64;

/// One item of a [`Query`]: an event matches it when it has one of the
/// item's types (any type when there are none) and every one of its tags.
///
/// ```
/// use disco::QueryItem;
/// let item = QueryItem::new().types(["Subscribed", "Unsubscribed"]).tags(["course:c1"]);
/// assert!(item.matches("Subscribed", &["course:c1".into(), "student:s1".into()]));
/// assert!(!item.matches("Subscribed", &["course:c2".into()]));
/// assert!(!item.matches("CourseRenamed", &["course:c1".into()]));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueryItem {
    /// The event types, ORed; every type when empty.
    pub types: Vec<String>,
    /// The tags, ANDed; no tag needed when empty.
    pub tags: Vec<String>,
}

impl QueryItem {
    /// An item that matches every event (add types or tags to narrow it).
    pub fn new() -> Self {
        QueryItem::default()
    }

    /// This item with these event types (an event of any one of them).
    pub fn types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.types.extend(types.into_iter().map(Into::into));
        self
    }

    /// This item with these tags (an event carrying every one of them).
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Whether an event of `event_type` carrying `tags` matches this item.
    pub fn matches(&self, event_type: &str, tags: &[String]) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t == event_type))
            && self.tags.iter().all(|wanted| tags.contains(wanted))
    }
}

/// The events a decision depends on: those matching any of its items.
///
/// A query of no items matches no event; [`Query::all`] (one item with no
/// type and no tag) matches every event.
///
/// ```
/// use disco::{Query, QueryItem};
/// let q = Query::new()
///     .or(QueryItem::new().types(["CourseDefined", "CourseCapacityChanged"]).tags(["course:c1"]))
///     .or(QueryItem::new().types(["StudentSubscribed"]).tags(["course:c1"]));
/// assert!(q.matches("StudentSubscribed", &["course:c1".into(), "student:s7".into()]));
/// assert!(!q.matches("StudentSubscribed", &["course:c2".into()]));
/// assert!(!Query::new().matches("E", &[]));
/// assert!(Query::all().matches("E", &[]));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Query {
    /// The items, ORed.
    pub items: Vec<QueryItem>,
}

impl Query {
    /// A query of no items (it matches nothing until items are added).
    pub fn new() -> Self {
        Query::default()
    }

    /// The query that matches every event.
    pub fn all() -> Self {
        Query {
            items: vec![QueryItem::new()],
        }
    }

    /// This query with one more item.
    pub fn or(mut self, item: QueryItem) -> Self {
        self.items.push(item);
        self
    }

    /// Whether an event of `event_type` carrying `tags` matches any item.
    pub fn matches(&self, event_type: &str, tags: &[String]) -> bool {
        self.items.iter().any(|i| i.matches(event_type, tags))
    }

    /// Whether `event` matches any item.
    pub fn matches_event(&self, event: &RecordedEvent) -> bool {
        self.matches(&event.event_type, &event.tags)
    }

    /// Checks the query: at most [`MAX_QUERY_ITEMS`] items, each with at
    /// most [`MAX_ITEM_TERMS`] types and tags, every type and tag valid.
    ///
    /// ```
    /// use disco::{Query, QueryItem};
    /// assert!(Query::all().check().is_ok());
    /// assert!(Query::new().or(QueryItem::new().tags([""])).check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), Error> {
        if self.items.len() > MAX_QUERY_ITEMS {
            return Err(Error::InvalidInput(format!(
                "a query holds at most {MAX_QUERY_ITEMS} items; this one has {}",
                self.items.len()
            )));
        }
        for item in &self.items {
            if item.types.len() > MAX_ITEM_TERMS || item.tags.len() > MAX_ITEM_TERMS {
                return Err(Error::InvalidInput(format!(
                    "a query item holds at most {MAX_ITEM_TERMS} types and {MAX_ITEM_TERMS} tags; this one has {} and {}",
                    item.types.len(),
                    item.tags.len()
                )));
            }
            for event_type in &item.types {
                check_event_type(event_type)?;
            }
            for tag in &item.tags {
                check_tag(tag)?;
            }
        }
        Ok(())
    }
}

/// Checks a tag: 1 to [`MAX_TAG_LEN`] bytes, no control characters.
///
/// ```
/// use disco::query::check_tag;
/// assert!(check_tag("course:c1").is_ok());
/// assert!(check_tag("").is_err());
/// assert!(check_tag("a\nb").is_err());
/// ```
pub fn check_tag(tag: &str) -> Result<(), Error> {
    validate_name("tag", tag, MAX_TAG_LEN)
}

/// What a query read answers: the matching events, and the position the
/// read is consistent at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryRead {
    /// The matching events with position after the read's `after`,
    /// ascending by position, at most the limit asked for.
    pub events: Vec<RecordedEvent>,
    /// No event matching the query, other than those returned, has a
    /// position in `after ..= consistent_at`. With fewer events than the
    /// limit it is the store's head when the read ran (the head even when
    /// nothing matched); with a full page, the last event's position (read
    /// on from there for more).
    pub consistent_at: u64,
}

/// The condition of a conditional append: no event matching
/// `fail_if_events_match` may have been stored after position `after`.
///
/// ```
/// use disco::{AppendCondition, Query, QueryItem};
/// let query = Query::new().or(QueryItem::new().tags(["email:ada@example.com"]));
/// // Set after a read that was consistent at position 41:
/// let condition = AppendCondition::new(query).after(41);
/// assert_eq!(condition.after, 41);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AppendCondition {
    /// The query whose matches would change the decision.
    pub fail_if_events_match: Query,
    /// The position the decision's read was consistent at; 0 means that
    /// no matching event may exist at all.
    pub after: u64,
}

impl AppendCondition {
    /// The condition that no event matches `query` (any position); narrow
    /// it with [`after`](AppendCondition::after).
    pub fn new(query: Query) -> Self {
        AppendCondition {
            fail_if_events_match: query,
            after: 0,
        }
    }

    /// This condition, checked only on events after `position`.
    pub fn after(mut self, position: u64) -> Self {
        self.after = position;
        self
    }
}
