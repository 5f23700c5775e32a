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

disco_conformance::faulty_suite!(caught);
