//! The whole conformance suite on a store of one replica (R1) on the test
//! cluster, each case on a fresh store removed afterwards.

mod common;

async fn fresh_store() -> disco_conformance::Fixture {
    common::fixture(1).await
}

disco_conformance::suite!(fresh_store);
