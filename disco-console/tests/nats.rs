//! The console on a NATS JetStream store (the test cluster that
//! `scripts/nats-cluster.sh start` runs, or `DISCO_TEST_NATS_URL`): the
//! same pages from the same URL-generic open, with the numbers the store
//! gives, and a story kept live as events arrive.

mod support;

use disco::nats::{NatsOptions, NatsStore};
use disco::{ExpectedVersion, NewEvent, StreamId, Uuid};
use disco_console::ConsoleConfig;
use support::http::get;
use support::serve;

/// The test cluster's servers, as `host:port` pairs.
fn servers() -> Vec<String> {
    let url = std::env::var("DISCO_TEST_NATS_URL")
        .unwrap_or_else(|_| "127.0.0.1:4301,127.0.0.1:4302,127.0.0.1:4303".into());
    url.trim_start_matches("nats://")
        .split(',')
        .map(|h| h.trim_start_matches("nats://").to_owned())
        .collect()
}

/// Metadata that puts an event in conversation `correlation`, caused by
/// `causation`.
fn meta(correlation: Uuid, causation: Uuid) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schema_version": 1,
        "correlation_id": correlation,
        "causation_id": causation,
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_a_nats_store() {
    let name = format!("console{}", &Uuid::new_v4().simple().to_string()[..12]);
    // The body runs as a task, so its store is dropped from the cluster
    // whether it passes or panics.
    let outcome = tokio::spawn(shows(name.clone())).await;
    let servers: Vec<String> = servers().iter().map(|s| format!("nats://{s}")).collect();
    let dropped = NatsStore::drop_at(&servers, NatsOptions::new(&name).unwrap()).await;
    if let Err(failed) = outcome {
        std::panic::resume_unwind(failed.into_panic());
    }
    dropped.unwrap();
}

async fn shows(name: String) {
    let url = format!("nats://{}?store={name}", servers().join(","));
    let store = disco::connect(&url).await.unwrap_or_else(|e| {
        panic!(
            "cannot open a store on the test NATS cluster {:?}: {e}\nStart it with \
             `scripts/nats-cluster.sh start` (`bash .ci/run` does), or point \
             DISCO_TEST_NATS_URL at another cluster.",
            servers()
        )
    });
    let conversation = Uuid::new_v4();
    let started = Uuid::new_v4();
    let transfer = StreamId::new("transfer-1").unwrap();
    store
        .append(
            &transfer,
            ExpectedVersion::NoStream,
            vec![
                NewEvent::new("TransferStarted", br#"{"amount":10}"#.to_vec())
                    .with_id(started)
                    .with_metadata(meta(conversation, conversation)),
            ],
        )
        .await
        .unwrap();
    store
        .append(
            &StreamId::new("account-a").unwrap(),
            ExpectedVersion::Any,
            vec![
                NewEvent::new("AccountDebited", br#"{"amount":10}"#.to_vec())
                    .with_metadata(meta(conversation, started)),
            ],
        )
        .await
        .unwrap();

    let console = serve(ConsoleConfig::new(&url)).await;
    let head = store.head_position().await.unwrap();
    let overview = get(&console.addr, "/").await;
    assert_eq!(overview.status, 200, "{}", overview.text());
    assert!(
        overview.text().contains(&format!("id=\"head\">{head}<")),
        "{}",
        overview.text()
    );
    assert!(
        overview.text().contains("id=\"kind\">nats<"),
        "{}",
        overview.text()
    );
    let stream = get(&console.addr, "/stream?id=transfer-1").await;
    assert_eq!(stream.status, 200, "{}", stream.text());
    assert!(
        stream.text().contains("TransferStarted"),
        "{}",
        stream.text()
    );
    let metrics = get(&console.addr, "/metrics").await.text();
    assert!(
        metrics.contains(&format!("disco_head_position {head}\n")),
        "{metrics}"
    );

    // The story grows as the conversation goes on, while the page is served.
    let story = format!("/story?correlation={conversation}");
    support::until("the story of two events", || async {
        get(&console.addr, &story)
            .await
            .text()
            .contains("<b id=\"story-count\">2</b>")
    })
    .await;
    store
        .append(
            &transfer,
            ExpectedVersion::Exact(1),
            vec![NewEvent::new("TransferCompleted", br#"{}"#.to_vec())
                .with_metadata(meta(conversation, started))],
        )
        .await
        .unwrap();
    support::until("the story of three events", || async {
        get(&console.addr, &story)
            .await
            .text()
            .contains("<b id=\"story-count\">3</b>")
    })
    .await;

    console.stop().await;
    store.close().await.unwrap();
}
