//! Deadlines from caller-given durations, without overflow.
//!
//! `Instant::now() + duration` panics when the sum does not fit the
//! platform's clock (`Duration::MAX`, `u64::MAX` seconds), and durations in
//! options and lease calls come from callers. Every deadline the library
//! computes from such a duration goes through [`deadline_after`].

use std::time::{Duration, Instant};

/// How far a deadline may lie ahead: about thirty years, which every
/// platform's monotonic clock represents, and which no lease, poll or
/// timeout needs to tell apart from "never".
pub const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// The instant `after` from now, capped at [`FAR_FUTURE`] from now: never
/// panics, whatever `after` is.
///
/// ```
/// use std::time::{Duration, Instant};
/// use disco::clock::deadline_after;
/// let far = deadline_after(Duration::MAX);
/// assert!(far > Instant::now() + Duration::from_secs(3600));
/// assert!(deadline_after(Duration::ZERO) <= Instant::now());
/// ```
pub fn deadline_after(after: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(after.min(FAR_FUTURE)).unwrap_or(now)
}
