//! [`Counts`]: how many streams (by state) and events a store holds,
//! counted by paging through every stream (`disco status` and the console
//! show them), and [`thousands`], the way both write a count for people.

use disco_core::{EventStore, Result, StreamState};

/// Streams per page when counting.
const PAGE: usize = 1000;

/// Stream and event counts of a store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Streams that can be read and appended to.
    pub active: u64,
    /// Soft-deleted streams (their events kept, hidden).
    pub soft_deleted: u64,
    /// Hard-deleted streams (tombstones).
    pub hard_deleted: u64,
    /// Events in streams that are not hard-deleted.
    pub events: u64,
}

impl Counts {
    /// Every stream, whatever its state.
    pub fn streams(&self) -> u64 {
        self.active
            .saturating_add(self.soft_deleted)
            .saturating_add(self.hard_deleted)
    }
}

/// Counts the streams and events of `store`, a page of streams at a time
/// (a cost proportional to the number of streams).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> disco::Result<()> {
/// use disco::{EventStore, ExpectedVersion, NewEvent, StreamId};
/// let store = disco::connect("memory:").await?;
/// let s = StreamId::new("s-1")?;
/// store.append(&s, ExpectedVersion::Any, vec![NewEvent::new("A", vec![]), NewEvent::new("B", vec![])]).await?;
/// let counts = disco::counts::count(&*store).await?;
/// assert_eq!((counts.streams(), counts.events), (1, 2));
/// # Ok(()) }
/// ```
pub async fn count(store: &dyn EventStore) -> Result<Counts> {
    let mut counts = Counts::default();
    let mut after = None;
    loop {
        let page = store.list_streams("", after.as_ref(), PAGE).await?;
        for info in &page {
            match info.state {
                StreamState::Active => counts.active = counts.active.saturating_add(1),
                StreamState::SoftDeleted => {
                    counts.soft_deleted = counts.soft_deleted.saturating_add(1)
                }
                StreamState::HardDeleted => {
                    counts.hard_deleted = counts.hard_deleted.saturating_add(1)
                }
            }
            if info.state != StreamState::HardDeleted {
                // A damaged store may report any version: sum without overflow.
                counts.events = counts.events.saturating_add(info.version);
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.stream_id.clone()),
            _ => return Ok(counts),
        }
    }
}

/// A count with thousands separators, as people read it: `1,204,311`.
///
/// ```
/// assert_eq!(disco::counts::thousands(999), "999");
/// assert_eq!(disco::counts::thousands(1_204_311), "1,204,311");
/// ```
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len().saturating_mul(2));
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && digits.len().saturating_sub(i).checked_rem(3) == Some(0) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(49_383), "49,383");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }
}
