//! What a store checks of the servers and how it authenticates, each on a
//! one-node server of the test's own: a server that acknowledges before
//! fsync (refused unless accepted, seen through `monitor=`), wrong
//! credentials and tokens (`Unauthorized`), TLS with a private CA.

mod common;

use common::OneServer;
use std::sync::Arc;

use disco::backend::registry::{OpenMode, OpenOptions};
use disco::{Error, EventStore, NewEvent, StreamId};

async fn open_store(url: &str) -> disco::Result<Arc<dyn EventStore>> {
    disco::connect(url).await
}

/// The error opening `url` gives (a store that opens fails the test).
async fn refusal(url: &str) -> Error {
    match open_store(url).await {
        Ok(_) => panic!("{url} opened"),
        Err(e) => e,
    }
}

fn url(server: &OneServer, query: &str) -> String {
    format!("nats://127.0.0.1:{}?store=settings{query}", server.port)
}

async fn writes(url: &str) {
    let store = open_store(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let stream = StreamId::new("s-1").unwrap();
    let event = NewEvent::new("Happened", b"{}".to_vec());
    store
        .append(&stream, disco::ExpectedVersion::NoStream, vec![event])
        .await
        .unwrap();
    assert_eq!(store.stream_version(&stream).await.unwrap(), 1);
}

#[tokio::test]
async fn a_server_acknowledging_before_fsync_is_refused_unless_accepted() {
    // The server's default: flush every two minutes, acknowledge at once.
    let server = OneServer::start("", "");
    let monitor = format!("&monitor=127.0.0.1:{}", server.http);
    match refusal(&url(&server, &monitor)).await {
        Error::UnsupportedServer { found, needed, .. } => {
            assert!(found.contains("before they are on disk"), "{found}");
            assert!(needed.contains("sync_interval: always"), "{needed}");
        }
        other => panic!("expected UnsupportedServer, got {other:?}"),
    }
    // Nothing was created: the store is not there to open.
    let existing = OpenOptions::mode(OpenMode::Existing);
    assert!(matches!(
        disco::open_url(
            &url(&server, &format!("{monitor}&ack_before_fsync=accept")),
            existing
        )
        .await
        .map(|_| ()),
        Err(Error::NoStore { .. })
    ));
    // Accepted: it opens and writes.
    writes(&url(&server, &format!("{monitor}&ack_before_fsync=accept"))).await;
    // A monitoring port that is not there is said, not ignored.
    let nowhere = format!("&monitor=127.0.0.1:{}", server.port.wrapping_add(1).max(1));
    let refused = refusal(&url(&server, &nowhere)).await;
    assert!(matches!(refused, Error::Unavailable(_)), "{refused:?}");
    assert!(refused.to_string().contains("monitor"), "{refused}");
    assert!(matches!(
        refusal(&url(&server, "&ack_before_fsync=maybe")).await,
        Error::InvalidInput(_)
    ));
}

#[tokio::test]
async fn a_server_that_syncs_each_write_passes_the_check() {
    let server = OneServer::start("sync_interval: always", "");
    writes(&url(
        &server,
        &format!("&monitor=127.0.0.1:{}", server.http),
    ))
    .await;
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized() {
    let server = OneServer::start(
        "sync_interval: always",
        "authorization { users: [ { user: app, password: s3cret } ] }",
    );
    writes(&url(&server, "&user=app&password=s3cret")).await;
    for wrong in ["&user=app&password=nope", "&user=eve&password=s3cret", ""] {
        match refusal(&url(&server, wrong)).await {
            Error::Unauthorized(message) => assert!(!message.is_empty()),
            other => panic!("{wrong}: expected Unauthorized, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized() {
    let server = OneServer::start("sync_interval: always", "authorization { token: t0ken }");
    writes(&url(&server, "&token=t0ken")).await;
    match refusal(&url(&server, "&token=other")).await {
        Error::Unauthorized(_) => {}
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

/// A private CA and a server certificate for 127.0.0.1, made with openssl.
fn certificates(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl (Debian's openssl package) makes the test's certificates");
        assert!(status.success(), "openssl {args:?}");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=disco test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
}

#[tokio::test]
async fn tls_with_a_private_ca() {
    let dir = disco_conformance::helpers::TempDir::new("nats-tls");
    certificates(dir.path());
    let tls = format!(
        "tls {{ cert_file: \"{0}/server.pem\", key_file: \"{0}/server.key\" }}",
        dir.path().display()
    );
    let ca = dir.path().join("ca.pem").display().to_string();
    let server = OneServer::start_in(dir, "sync_interval: always", &tls);
    writes(&url(&server, &format!("&tls_ca={ca}"))).await;
    // Without the CA the server's certificate is not trusted: refused, typed.
    let untrusted = refusal(&url(&server, "&tls=true")).await;
    assert!(
        matches!(untrusted, Error::Unauthorized(_) | Error::Unavailable(_)),
        "{untrusted:?}"
    );
    let missing = refusal(&url(&server, "&tls_ca=/nonexistent/ca.pem")).await;
    assert!(matches!(missing, Error::InvalidInput(_)), "{missing:?}");
}
