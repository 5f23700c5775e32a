//! The suite can fail: it runs against deliberately faulty wrappers of the
//! memory store ([`disco_conformance::faulty`]), and each fault must be
//! caught by the cases that cover its rule (every case runs) and, where
//! the model sees it, by the model test.

use std::sync::Arc;

use disco_conformance::faulty::{check_fault, Fault};
use disco_conformance::{all_cases, Fixture};
use disco_core::EventStore;
use disco_store_memory::MemoryStore;

fn caught(fault: Fault) -> Result<(), String> {
    let report = check_fault(fault, || async { Fixture::new(MemoryStore::new()) }, true)?;
    println!("{report}");
    Ok(())
}

disco_conformance::faulty_suite!(caught);

#[tokio::test]
async fn the_suite_has_at_least_forty_cases_and_passes_on_the_memory_store() {
    let cases = all_cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    for (name, case) in cases {
        let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
        assert!(
            tokio::spawn(case(store)).await.is_ok(),
            "{name} failed on the memory store"
        );
    }
}
