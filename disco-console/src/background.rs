//! What the console watches while it runs: the head every two seconds (the
//! append-rate chart), and stream and event counts every half minute
//! (counting pages through every stream, too slow to do per request).

use std::sync::Arc;
use std::time::{Duration, Instant};

use disco::Timestamp;

use crate::state::{lock, State, SAMPLES, SAMPLE_EVERY};

/// How often the counts are taken again.
const COUNT_EVERY: Duration = Duration::from_secs(30);

/// Samples the head until the console ends.
pub(crate) async fn sample_head(state: Arc<State>) {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Ok(store) = state.store().await else {
            continue;
        };
        if let Ok(head) = store.head_position().await {
            let mut samples = lock(&state.samples);
            if samples.len() >= SAMPLES {
                samples.pop_front();
            }
            samples.push_back((Instant::now(), head));
        }
    }
}

/// Counts streams and events until the console ends.
pub(crate) async fn count(state: Arc<State>) {
    loop {
        if let Ok(store) = state.store().await {
            if let Ok(counts) = disco::counts::count(&*store).await {
                *lock(&state.counts) = Some((counts, Timestamp::now()));
            }
        }
        tokio::time::sleep(COUNT_EVERY).await;
    }
}

/// Events per second between consecutive samples, oldest first, with the
/// seconds ago each interval ended.
pub(crate) fn rates(state: &State) -> Vec<(f64, f64)> {
    let samples = lock(&state.samples);
    let now = Instant::now();
    samples
        .iter()
        .zip(samples.iter().skip(1))
        .map(|((t0, h0), (t1, h1))| {
            let seconds = t1.saturating_duration_since(*t0).as_secs_f64().max(0.001);
            let events = h1.saturating_sub(*h0) as f64;
            (
                events / seconds,
                now.saturating_duration_since(*t1).as_secs_f64(),
            )
        })
        .collect()
}

/// The append rate over the last minute (events per second), if the
/// console has watched long enough to say.
pub(crate) fn rate_last_minute(state: &State) -> Option<f64> {
    let samples = lock(&state.samples);
    let (t1, h1) = *samples.back()?;
    let (t0, h0) = *samples
        .iter()
        .find(|(t, _)| t1.saturating_duration_since(*t) <= Duration::from_secs(60))?;
    let seconds = t1.saturating_duration_since(t0).as_secs_f64();
    (seconds > 0.0).then(|| h1.saturating_sub(h0) as f64 / seconds)
}
