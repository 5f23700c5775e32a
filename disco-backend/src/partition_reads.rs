//! `read_all_filtered` with a [`StreamPartition`] for a store whose query
//! cannot hash stream ids (PostgreSQL; SQLite hashes them in its query):
//! pages are read with the rest of the filter and the partition is kept
//! from their rows, until `limit` of them or the end of the log
//! ([`PartitionPages`]).
//!
//! [`StreamPartition`]: disco_core::StreamPartition

use disco_core::{EventFilter, RecordedEvent};

/// The pages of one partitioned read: ask [`PartitionPages::next`] what to
/// read (with [`PartitionPages::rest`] as the filter), hand the rows to
/// [`PartitionPages::take`], and [`PartitionPages::finish`] when `next`
/// says `None`.
///
/// ```
/// use disco::backend::partition_reads::PartitionPages;
/// use disco::{EventFilter, StreamPartition};
/// let filter = EventFilter::default().with_partition(StreamPartition::new(0, 1));
/// let mut pages = PartitionPages::new(0, 10, &filter);
/// assert_eq!(pages.next(), Some((0, 10)));
/// assert!(pages.rest().partition.is_none());
/// pages.take(Vec::new()); // the log is empty
/// assert_eq!(pages.next(), None);
/// assert!(pages.finish().is_empty());
/// ```
#[derive(Debug)]
pub struct PartitionPages {
    filter: EventFilter,
    rest: EventFilter,
    after: u64,
    limit: usize,
    page: usize,
    kept: Vec<RecordedEvent>,
    done: bool,
}

impl PartitionPages {
    /// A read of up to `limit` events after `after` that pass `filter`.
    pub fn new(after: u64, limit: usize, filter: &EventFilter) -> Self {
        PartitionPages {
            filter: filter.clone(),
            rest: filter.without_partition(),
            after,
            limit,
            page: limit.clamp(1, 1000),
            kept: Vec::new(),
            done: limit == 0,
        }
    }

    /// The filter each page is read with: the partition left out.
    pub fn rest(&self) -> &EventFilter {
        &self.rest
    }

    /// The next page to read, `(after, limit)`; `None` once done.
    pub fn next(&self) -> Option<(u64, usize)> {
        (!self.done && self.kept.len() < self.limit).then_some((self.after, self.page))
    }

    /// Takes a page's rows: keeps the partition's, notes where to go on.
    pub fn take(&mut self, rows: Vec<RecordedEvent>) {
        let Some(last) = rows.last() else {
            self.done = true;
            return;
        };
        self.after = last.position;
        self.done = rows.len() < self.page;
        let filter = &self.filter;
        self.kept.extend(
            rows.into_iter()
                .filter(|e| filter.matches(e.stream_id.as_str(), &e.event_type)),
        );
    }

    /// The events read: at most `limit`, in position order.
    pub fn finish(mut self) -> Vec<RecordedEvent> {
        self.kept.truncate(self.limit);
        self.kept
    }
}
