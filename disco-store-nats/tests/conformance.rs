//! The whole conformance suite on a store replicated three ways (R3) on
//! the test cluster, each case on a fresh store removed afterwards.

mod common;

async fn fresh_store() -> disco_conformance::Fixture {
    common::fixture(3).await
}

disco_conformance::suite!(fresh_store);
