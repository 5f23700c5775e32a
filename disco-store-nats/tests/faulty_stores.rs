//! The suite can fail on this backend too: each of the conformance crate's
//! deliberate faults, wrapped around fresh R3 and one-node stores on the test cluster,
//! is caught by the cases that cover its rule and, where the model sees it,
//! by the model test.

mod common;

use disco_conformance::faulty::{check_fault, Fault};

/// On an R3 store, then on a one-node store.
fn caught(fault: Fault) -> Result<(), String> {
    for replicas in [3, 1] {
        let report = check_fault(fault, || common::fixture(replicas), false)
            .map_err(|e| format!("R{replicas}: {e}"))?;
        println!("R{replicas}: {report}");
    }
    Ok(())
}

#[test]
fn suite_catches_a_store_that_ignores_expected_versions() -> Result<(), String> {
    caught(Fault::IgnoresExpectedVersion)
}

#[test]
fn suite_catches_positions_out_of_commit_order() -> Result<(), String> {
    caught(Fault::PositionsOutOfCommitOrder)
}

#[test]
fn suite_catches_a_store_that_drops_the_last_event_of_a_batch() -> Result<(), String> {
    caught(Fault::DropsLastEventOfBatch)
}

#[test]
fn suite_catches_leases_that_are_not_exclusive() -> Result<(), String> {
    caught(Fault::LeasesNeverExclusive)
}

#[test]
fn suite_catches_notifications_that_never_fire() -> Result<(), String> {
    caught(Fault::SilentNotifications)
}

#[test]
fn suite_catches_a_store_that_ignores_fencing_tokens() -> Result<(), String> {
    caught(Fault::IgnoresFences)
}

#[test]
fn suite_catches_a_store_that_never_closes() -> Result<(), String> {
    caught(Fault::NeverCloses)
}
