//! What a NATS store refuses, each with a typed error and nothing created:
//! an unknown URL parameter, a refused connection (said as refused), a
//! server too old to keep the contract, a stream disco did not make, a
//! missing store that may not be created.

mod common;

use std::time::{Duration, Instant};

use disco_core::Error;
use disco_store_nats::{options_of_url, NatsOptions, NatsStore};

fn fresh_name() -> String {
    format!("b{}", &uuid::Uuid::new_v4().simple().to_string()[..20])
}

async fn absent(name: &str) -> bool {
    let options = NatsOptions::new(name).unwrap().create_if_missing(false);
    match NatsStore::connect(&common::servers(), options).await {
        Err(Error::NoStore { location }) => {
            // Each server once, under one scheme.
            assert_eq!(location.matches("nats://").count(), 1, "{location}");
            assert!(location.contains(name), "{location}");
            true
        }
        _ => false,
    }
}

#[tokio::test]
async fn unknown_and_repeated_parameters_are_refused_by_name_and_create_nothing() {
    let name = fresh_name();
    let hosts = common::servers()
        .iter()
        .map(|s| s.trim_start_matches("nats://").to_owned())
        .collect::<Vec<_>>()
        .join(",");
    for (url, said) in [
        (format!("nats://{hosts}?store={name}&replica=3"), "replica"),
        (format!("nats://{hosts}?stor={name}"), "stor"),
        (
            format!("nats://{hosts}?store={name}&store=other"),
            "more than once",
        ),
        (
            format!("nats://{hosts}?store={name}&replicas=9"),
            "replicas",
        ),
        (format!("nats://{hosts}?store=a.b"), "store name"),
    ] {
        match disco::open_url(&url, Default::default()).await.map(|_| ()) {
            Err(Error::InvalidInput(message)) => {
                assert!(message.contains(said), "{url}: {message}")
            }
            other => panic!("{url} gave {other:?}"),
        }
    }
    assert!(absent(&name).await, "a refused URL created the store");
    assert!(
        options_of_url(&format!("nats://{hosts}")).is_err(),
        "no store named"
    );
}

#[tokio::test]
async fn a_refused_connection_is_said_at_once() {
    let options = NatsOptions::new("x")
        .unwrap()
        .timeout(Duration::from_secs(30));
    let start = Instant::now();
    match NatsStore::connect(&["nats://127.0.0.1:1".to_owned()], options).await {
        Err(Error::Unavailable(message)) => assert!(message.contains("refused"), "{message}"),
        other => panic!("a closed port gave {:?}", other.map(|_| ())),
    }
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_server_too_old_to_keep_the_contract_is_refused_with_both_versions() {
    // Debian's nats-server 2.9.10 on the machine's default port: it ignores
    // the atomic-batch and expected-subject headers instead of refusing them.
    let old =
        std::env::var("DISCO_TEST_OLD_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let name = fresh_name();
    match NatsStore::connect(std::slice::from_ref(&old), NatsOptions::new(&name).unwrap()).await {
        Err(Error::UnsupportedServer { found, needed, .. }) => {
            assert!(found.contains("2.9"), "{found}");
            assert!(needed.contains("2.12"), "{needed}");
        }
        Err(Error::Unavailable(message)) => panic!(
            "the old server at {old} is not running ({message}); start Debian's with \
             `start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server` \
             (apt-get install nats-server), or point DISCO_TEST_OLD_NATS_URL at another server older than 2.12"
        ),
        other => panic!("an old server gave {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn a_stream_disco_did_not_make_is_foreign_and_left_as_it_was() {
    let name = fresh_name();
    let client = async_nats::connect(
        common::servers()
            .iter()
            .map(|s| s.parse::<async_nats::ServerAddr>().expect("address"))
            .collect::<Vec<_>>(),
    )
    .await
    .expect("connect");
    let js = async_nats::jetstream::new(client);
    let stream = format!("DISCO_E_{name}");
    js.create_stream(async_nats::jetstream::stream::Config {
        name: stream.clone(),
        subjects: vec![format!("theirs.{name}.>")],
        ..Default::default()
    })
    .await
    .expect("their stream");
    js.publish(format!("theirs.{name}.x"), "their data".into())
        .await
        .expect("publish")
        .await
        .expect("ack");
    match NatsStore::connect(&common::servers(), NatsOptions::new(&name).unwrap()).await {
        Err(Error::Foreign { objects, .. }) => {
            assert!(objects.iter().any(|o| o.contains(&stream)), "{objects:?}")
        }
        other => panic!("a foreign stream gave {:?}", other.map(|_| ())),
    }
    match NatsStore::drop_at(&common::servers(), NatsOptions::new(&name).unwrap()).await {
        Err(Error::Foreign { .. }) => {}
        other => panic!("dropping a foreign stream gave {other:?}"),
    }
    let mut theirs = js.get_stream(&stream).await.expect("still there");
    assert_eq!(theirs.info().await.expect("info").state.messages, 1);
    js.delete_stream(&stream).await.expect("clean up");
}

#[tokio::test]
async fn a_missing_store_that_may_not_be_created_is_no_store() {
    assert!(absent(&fresh_name()).await);
}
