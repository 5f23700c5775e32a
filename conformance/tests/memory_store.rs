//! The whole conformance suite against the memory store.

use disco_conformance::Fixture;
use disco_store_memory::MemoryStore;

async fn fresh_store() -> Fixture {
    Fixture::new(MemoryStore::new())
}

disco_conformance::suite!(fresh_store);
