//! The documented option that bounds the servers' memory: with
//! `id_window`, an event id stays claimed for the window only. Within it
//! a retry answers the first result and another stream's use of the id is
//! refused; after it, the id is free again (the contract's "no time
//! window" is given up, by choice). Without the option, the claim stays.

mod common;

use std::time::{Duration, Instant};

use disco_core::{Error, EventStore, ExpectedVersion, NewEvent, StreamId};
use disco_store_nats::{NatsOptions, NatsStore};

async fn store(window: Option<Duration>) -> NatsStore {
    let name = format!("w{}", &uuid::Uuid::new_v4().simple().to_string()[..20]);
    let mut options = NatsOptions::new(&name).expect("name");
    if let Some(window) = window {
        options = options.id_window(window);
    }
    NatsStore::connect(&common::servers(), options)
        .await
        .unwrap_or_else(|e| panic!("the test cluster: {e} (scripts/nats-cluster.sh start)"))
}

async fn drop_store(store: NatsStore) {
    let options = NatsOptions::new(store.store_name()).expect("name");
    let _ = NatsStore::drop_at(&common::servers(), options).await;
}

#[tokio::test]
async fn an_id_window_frees_ids_after_it_and_only_then() {
    let windowed = store(Some(Duration::from_secs(1))).await;
    let forever = store(None).await;
    let (a, b) = (StreamId::new("a-1").unwrap(), StreamId::new("b-1").unwrap());
    let event = NewEvent::new("Happened", b"{}".to_vec());
    let mut first = Vec::new();
    for store in [&windowed, &forever] {
        let written = store
            .append(&a, ExpectedVersion::NoStream, vec![event.clone()])
            .await
            .unwrap();
        // Within the window: a retry is the first result, another stream
        // may not use the id.
        let retried = store
            .append(&a, ExpectedVersion::NoStream, vec![event.clone()])
            .await
            .unwrap();
        assert_eq!(retried, written);
        assert!(matches!(
            store
                .append(&b, ExpectedVersion::Any, vec![event.clone()])
                .await,
            Err(Error::DuplicateEventId { .. })
        ));
        first.push(written);
    }
    // Past the window (the server expires messages within about a second).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        match windowed
            .append(&b, ExpectedVersion::Any, vec![event.clone()])
            .await
        {
            Ok(again) => {
                assert!(again.first_position > first[0].last_position);
                break;
            }
            Err(Error::DuplicateEventId { .. }) => {
                assert!(Instant::now() < deadline, "the claim did not expire");
            }
            Err(e) => panic!("{e}"),
        }
    }
    // Without a window the id stays refused, as long as it takes.
    assert!(matches!(
        forever
            .append(&b, ExpectedVersion::Any, vec![event.clone()])
            .await,
        Err(Error::DuplicateEventId { .. })
    ));
    assert_eq!(
        forever
            .append(&a, ExpectedVersion::Any, vec![event])
            .await
            .unwrap(),
        first[1]
    );
    drop_store(windowed).await;
    drop_store(forever).await;
}
