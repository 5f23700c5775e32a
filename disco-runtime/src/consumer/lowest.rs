//! [`keep_lowest`]: the combined progress of a partitioned consumer or
//! projection, the lowest of its partitions' positions.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex as AsyncMutex, Notify};

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

/// This process's runners of a partitioned consumer or projection, by
/// partition.
pub type LocalRunners<R> = Arc<AsyncMutex<BTreeMap<u32, R>>>;

/// Keeps `tracker` at the lowest position of the partitions, each the
/// larger of what this process's runner announced (`position` of each of
/// `runners`) and what is stored for it (`stored`, read only while some
/// partition is not local). Ends once nobody else holds `runners` (the
/// handle and the member are gone: so is anyone to tell).
pub async fn keep_lowest<R, P, S, SF>(
    lowest: Lowest,
    runners: LocalRunners<R>,
    position: P,
    mut stored: S,
    tracker: ProgressTracker,
) where
    P: Fn(&R) -> u64,
    S: FnMut() -> SF,
    SF: Future<Output = HashMap<u32, u64>>,
{
    let mut saved: HashMap<u32, u64> = HashMap::new();
    let mut read_at: Option<tokio::time::Instant> = None;
    while Arc::strong_count(&runners) > 1 {
        let own: HashMap<u32, u64> = runners
            .lock()
            .await
            .iter()
            .map(|(partition, runner)| (*partition, position(runner)))
            .collect();
        let all_local = (0..lowest.count).all(|p| own.contains_key(&p));
        if !all_local && read_at.is_none_or(|at| at.elapsed() >= lowest.stored_every) {
            saved = stored().await;
            read_at = Some(tokio::time::Instant::now());
        }
        let lowest_position = (0..lowest.count)
            .map(|p| {
                let runner = own.get(&p).copied().unwrap_or(0);
                runner.max(saved.get(&p).copied().unwrap_or(0))
            })
            .min()
            .unwrap_or(0);
        tracker.advance(lowest_position);
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
