//! `read_all_filtered` with a [`StreamPartition`] for a store whose query
//! cannot hash stream ids (PostgreSQL; SQLite hashes them in its query): pages are read with the rest
//! of the filter and the partition is kept from their rows, until `limit`
//! of them or the end of the log. [`PartitionPages`] is the paging;
//! [`read_partition`] runs it with a synchronous read.
//!
//! [`StreamPartition`]: disco_core::StreamPartition

use disco_core::{EventFilter, RecordedEvent, Result};

/// The pages of one partitioned read: ask [`PartitionPages::next`] what to
/// read (with [`PartitionPages::rest`] as the filter), hand the rows to
/// [`PartitionPages::take`], and [`PartitionPages::finish`] when `next`
/// says `None`.
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

/// A partitioned read with a synchronous `read(after, limit, filter)`.
///
/// ```
/// use disco::backend::partition_reads::read_partition;
/// use disco::{EventFilter, StreamPartition};
/// let filter = EventFilter::default().with_partition(StreamPartition::new(0, 1));
/// let none = read_partition(0, 10, &filter, |_, _, _| Ok(Vec::new())).unwrap();
/// assert!(none.is_empty());
/// ```
pub fn read_partition(
    after: u64,
    limit: usize,
    filter: &EventFilter,
    mut read: impl FnMut(u64, usize, &EventFilter) -> Result<Vec<RecordedEvent>>,
) -> Result<Vec<RecordedEvent>> {
    let mut pages = PartitionPages::new(after, limit, filter);
    while let Some((after, limit)) = pages.next() {
        let rows = read(after, limit, pages.rest())?;
        pages.take(rows);
    }
    Ok(pages.finish())
}
