//! [`keep_lowest`]: the combined progress of a partitioned consumer or
//! projection, the lowest of its partitions' positions.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use disco_core::progress::ProgressTracker;

/// How the combined progress is kept.
#[derive(Clone, Debug)]
pub struct Lowest {
    /// How many partitions there are.
    pub count: u32,
    /// How often this process's runners are looked at (and, with `wake`,
    /// at the latest).
    pub poll: Duration,
    /// How often the stored positions of partitions other processes run
    /// are read.
    pub stored_every: Duration,
    /// Wakes the loop before `poll` (a partition moved), if given.
    pub wake: Option<Arc<Notify>>,
}

/// Keeps `tracker` at the lowest position of the partitions, each the
/// larger of what this process's runner announced (`local`, by partition;
/// `None` once its owner is gone, which ends the loop) and what is stored
/// for it (`stored`, read only while some partition is not local).
pub async fn keep_lowest<L, LF, S, SF>(
    lowest: Lowest,
    mut local: L,
    mut stored: S,
    tracker: ProgressTracker,
) where
    L: FnMut() -> LF,
    LF: Future<Output = Option<HashMap<u32, u64>>>,
    S: FnMut() -> SF,
    SF: Future<Output = HashMap<u32, u64>>,
{
    let mut saved: HashMap<u32, u64> = HashMap::new();
    let mut read_at: Option<tokio::time::Instant> = None;
    loop {
        let Some(own) = local().await else {
            return;
        };
        let all_local = (0..lowest.count).all(|p| own.contains_key(&p));
        if !all_local && read_at.is_none_or(|at| at.elapsed() >= lowest.stored_every) {
            saved = stored().await;
            read_at = Some(tokio::time::Instant::now());
        }
        let position = (0..lowest.count)
            .map(|p| {
                let runner = own.get(&p).copied().unwrap_or(0);
                runner.max(saved.get(&p).copied().unwrap_or(0))
            })
            .min()
            .unwrap_or(0);
        tracker.advance(position);
        match &lowest.wake {
            Some(wake) => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(lowest.poll) => {}
                }
            }
            None => tokio::time::sleep(lowest.poll).await,
        }
    }
}
