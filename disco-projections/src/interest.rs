//! [`Interest`]: which events a projection receives.

use disco_core::EventFilter;
use disco_cqrs::Aggregate;

/// The events a projection wants: those of an aggregate type, of a stream
/// prefix, of some event types, or a combination (all must hold).
///
/// ```
/// use disco::cqrs::doc_fixture::Counter;
/// use disco::projections::Interest;
/// let interest = Interest::aggregate::<Counter>().and_event_types(["Added"]);
/// assert!(interest.filter().matches("counter-7", "Added"));
/// assert!(!interest.filter().matches("counter-7", "Removed"));
/// assert_eq!(interest.aggregate_id("counter-7"), "7");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interest {
    filter: EventFilter,
}

impl Interest {
    /// Every event of aggregate `A` (its streams `"{NAME}-{id}"`).
    pub fn aggregate<A: Aggregate>() -> Self {
        Self::stream_prefix(format!("{}-", A::NAME))
    }

    /// Every event of the streams whose id starts with `prefix`.
    pub fn stream_prefix(prefix: impl Into<String>) -> Self {
        Interest {
            filter: EventFilter::default().with_stream_prefix(prefix),
        }
    }

    /// Every event of these types, in any stream.
    pub fn event_types<I, S>(types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Interest {
            filter: EventFilter::default().with_event_types(types),
        }
    }

    /// Only the events of these types, of what the interest already names.
    pub fn and_event_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.filter = self.filter.with_event_types(types);
        self
    }

    /// The store filter this interest reads with.
    pub fn filter(&self) -> &EventFilter {
        &self.filter
    }

    /// The aggregate id of a stream: without the interest's stream prefix
    /// when it has one, else what follows the stream's first `-` (the whole
    /// id when it has none).
    pub fn aggregate_id<'a>(&self, stream: &'a str) -> &'a str {
        if let Some(rest) = self
            .filter
            .stream_prefix
            .as_deref()
            .and_then(|prefix| stream.strip_prefix(prefix))
        {
            return rest;
        }
        stream.split_once('-').map_or(stream, |(_, rest)| rest)
    }
}
