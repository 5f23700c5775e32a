//! The console when things are missing or go away: a store it cannot open,
//! a read-model database that is not there, a PostgreSQL store dropped
//! while it runs. Each gives a page that says why, no panic, and nothing
//! created; a console that would listen beyond loopback without a token
//! does not start.

mod support;

use disco::{ExpectedVersion, NewEvent, StreamId};
use disco_console::{Console, ConsoleConfig, ConsoleError};
use support::http::get;
use support::{serve, TempDir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_store_gives_a_page_and_is_not_created() {
    let dir = TempDir::new("console-missing");
    let path = dir.file("nothing.db");
    let console = serve(ConsoleConfig::new(format!("sqlite:{}", path.display()))).await;
    for page in [
        "/",
        "/streams",
        "/consumers",
        "/projections",
        "/metrics",
        "/event?position=1",
    ] {
        let answer = get(&console.addr, page).await;
        assert_eq!(answer.status, 503, "{page}: {}", answer.text());
        assert!(
            answer.text().contains("Store unavailable"),
            "{page}: {}",
            answer.text()
        );
    }
    let overview = get(&console.addr, "/").await.text();
    assert!(
        overview.contains("nothing.db"),
        "the page names what is missing: {overview}"
    );
    assert!(!path.exists(), "the console created the store's file");
    console.stop().await;
    assert!(!path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_read_model_database_is_said_on_its_page_and_not_created() {
    let dir = TempDir::new("console-no-models");
    let store_path = dir.file("store.redb");
    let url = format!("redb:{}", store_path.display());
    let store = disco::connect(&url).await.unwrap();
    store
        .append(
            &StreamId::new("a-1").unwrap(),
            ExpectedVersion::Any,
            vec![NewEvent::new("A", b"{}".to_vec())],
        )
        .await
        .unwrap();
    store.close().await.unwrap();
    drop(store);
    let console = serve(ConsoleConfig::new(&url)).await;
    // The test's own handle lets go of the file (redb: one process per
    // file) a moment after it closed.
    support::until("the store opened by the console", || async {
        get(&console.addr, "/").await.status == 200
    })
    .await;
    let page = get(&console.addr, "/projections").await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("cannot be read"), "{}", page.text());
    let overview = get(&console.addr, "/").await;
    assert_eq!(overview.status, 200, "{}", overview.text());
    assert!(
        overview.text().contains("id=\"head\">1<"),
        "{}",
        overview.text()
    );
    console.stop().await;
    let beside = dir.file("store.redb.read-models.db");
    assert!(!beside.exists(), "the console created {}", beside.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_goes_away_gives_pages_that_say_so() {
    let (schema, url) = support::pg::Schema::new().await;
    let store = disco::connect(&url).await.unwrap();
    store
        .append(
            &StreamId::new("a-1").unwrap(),
            ExpectedVersion::Any,
            vec![NewEvent::new("A", b"{}".to_vec())],
        )
        .await
        .unwrap();
    let console = serve(ConsoleConfig::new(&url)).await;
    assert_eq!(get(&console.addr, "/streams").await.status, 200);
    // The store's schema goes away under the running console.
    let name = schema.0.clone();
    schema.drop().await;
    for page in ["/", "/streams", "/stream?id=a-1", "/consumers", "/metrics"] {
        let answer = get(&console.addr, page).await;
        assert_eq!(answer.status, 503, "{page}: {}", answer.text());
    }
    console.stop().await;
    store.close().await.unwrap();
    // Nothing was made again.
    let models = disco::open_read_models(&support::pg::base(), true)
        .await
        .unwrap();
    let left: Option<String> = models
        .query_scalar(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = $1",
            disco::projections::args![name.clone()],
        )
        .await
        .unwrap();
    assert_eq!(left, None, "the console made schema {name} again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_loopback_needs_a_token_and_the_token_guards_every_page() {
    let mut config = ConsoleConfig::new("memory:");
    config.listen = "0.0.0.0:0".parse().unwrap();
    assert!(matches!(
        Console::bind(config.clone()).await,
        Err(ConsoleError::TokenRequired(_))
    ));
    let token = "0123456789abcdef-token";
    let mut config = ConsoleConfig::new("memory:");
    config.token = Some(token.into());
    let console = serve(config).await;
    for page in ["/", "/streams", "/metrics", "/tail/feed", "/static/tail.js"] {
        assert_eq!(get(&console.addr, page).await.status, 401, "{page}");
    }
    let bearer = format!("Bearer {token}");
    let answer = support::http::request(
        &console.addr,
        "GET",
        "/metrics",
        &[("Authorization", &bearer)],
        b"",
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let wrong = support::http::request(
        &console.addr,
        "GET",
        "/metrics",
        &[("Authorization", "Bearer 0123456789abcdef-tokeN")],
        b"",
    )
    .await;
    assert_eq!(wrong.status, 401);
    // Opened with ?token=, the page sets the cookie and drops the token.
    let opened = get(&console.addr, &format!("/streams?prefix=a&token={token}")).await;
    assert_eq!(opened.status, 303);
    assert_eq!(opened.header("location"), Some("/streams?prefix=a"));
    let cookie = opened.header("set-cookie").unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let answer =
        support::http::request(&console.addr, "GET", "/streams", &[("Cookie", &pair)], b"").await;
    assert_eq!(answer.status, 200);
    assert!(answer
        .header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
    console.stop().await;
}
