//! One active runner per consumer name, fenced: when the server ends the
//! active runner's lease connection (`pg_terminate_backend`, as a restart
//! or an operator would), the runner notices at once and starts no event
//! after the standby has taken over; its checkpoint writes carry its
//! fencing token, so the final checkpoint is the new runner's.

mod common;

use std::sync::Arc;
use std::time::Duration;

use disco_conformance::fencing::{lease_loss, Loss};
use disco_core::EventStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_lease_connection_stops_the_old_runner_at_once() {
    let schema = common::fresh_schema();
    let old = common::connect(common::options(&schema)).await;
    let new = common::connect(common::options(&schema)).await;
    let admin = old.pool().clone();
    let application = format!("disco-lease:{schema}");
    let kill = async move {
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle'",
        )
        .bind(&application)
        .fetch_all(&admin)
        .await
        .unwrap_or_else(|e| panic!("terminating the lease connection: {e}"));
        assert!(
            !killed.is_empty(),
            "no lease connection of {application} to kill"
        );
    };
    let overlap = lease_loss(
        Arc::new(old.clone()) as Arc<dyn EventStore>,
        Arc::new(new.clone()) as Arc<dyn EventStore>,
        Duration::from_secs(3),
        Loss::External(kill),
    )
    .await;
    println!("lease connection killed: {overlap:?}");
    assert!(
        overlap.started_after_takeover <= 1,
        "the old runner started {} events after the new one took over: {overlap:?}",
        overlap.started_after_takeover
    );
    assert!(overlap.old_handled >= 100, "{overlap:?}");
    assert_eq!(overlap.final_checkpoint, Some(overlap.last), "{overlap:?}");
    new.close().await;
    common::cleanup(old).await;
}
