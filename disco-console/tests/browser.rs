//! The console in a real browser (headless chromium through chromedriver):
//! a bank store seeded through the public API, and the pages checked
//! against the store's own numbers; the story of a transfer that was
//! refunded; the live tail; retry and skip of parked streams and a rebuild with
//! actions on, their absence without, and the token; a hostile store that
//! runs no script and shows its ids as they are.
//!
//! Screenshots of the main pages go to the test's temp dir, and to
//! `DISCO_CONSOLE_SCREENSHOTS` when it names a directory.

#[path = "../../examples/bank/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../../examples/bank/balances.rs"]
#[allow(dead_code)]
mod balances;
#[path = "../../examples/bank/domain.rs"]
#[allow(dead_code)]
mod domain;
#[path = "../../examples/bank/flow.rs"]
#[allow(dead_code)]
mod flow;
mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use disco::consumer::parking;
use disco::consumer::{handler_fn, Consumer, ErrorPolicy};
use disco::cqrs::Metadata;
use disco::{EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId};
use disco_console::ConsoleConfig;
use support::webdriver::Browser;
use support::{serve, shown, until, TempDir};

const WAIT: Duration = Duration::from_secs(20);

/// Every event of `store`.
async fn all_events(store: &dyn EventStore) -> Vec<RecordedEvent> {
    store.read_all(0, 1_000_000).await.unwrap()
}

/// Saves a screenshot of the browser's page as `name` in `dir` (and in
/// `DISCO_CONSOLE_SCREENSHOTS`).
async fn screenshot(browser: &Browser, dir: &TempDir, name: &str) {
    let path = dir.file(name);
    browser.screenshot(&path).await;
    assert!(std::fs::metadata(&path)
        .map(|m| m.len() > 1000)
        .unwrap_or(false));
    if let Ok(extra) = std::env::var("DISCO_CONSOLE_SCREENSHOTS") {
        let _ = std::fs::create_dir_all(&extra);
        let _ = std::fs::copy(&path, std::path::Path::new(&extra).join(name));
    }
}

/// Seeds the bank example's session into a fresh SQLite store.
async fn bank(dir: &TempDir) -> String {
    let url = format!("sqlite:{}", dir.file("bank.db").display());
    let mut out = Vec::new();
    if let Err(e) = Box::pin(app::run(&url, &mut out)).await {
        panic!(
            "the bank session failed: {e}\n{}",
            String::from_utf8_lossy(&out)
        );
    }
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_show_the_stores_numbers_and_a_transfers_whole_story() {
    // Boxed: the whole test as one future is too big for a test thread's stack.
    Box::pin(the_pages_show_the_stores_numbers_and_a_transfers_whole_story_body()).await
}

async fn the_pages_show_the_stores_numbers_and_a_transfers_whole_story_body() {
    let dir = TempDir::new("console-bank");
    let url = bank(&dir).await;
    let store = disco::connect(&url).await.unwrap();
    let console = serve(ConsoleConfig::new(&url)).await;
    let browser = Browser::start().await;

    // The overview: the store's head, counts and kind.
    let head = store.head_position().await.unwrap();
    let counts = disco::counts::count(&*store).await.unwrap();
    browser.open(&console.at("/")).await;
    until("the overview's counts", || async {
        browser.open(&console.at("/")).await;
        !browser.texts("#events").await.is_empty()
    })
    .await;
    assert_eq!(browser.text("#head").await, shown(head));
    assert_eq!(browser.text("#events").await, shown(counts.events));
    assert_eq!(browser.text("#streams").await, shown(counts.streams()));
    assert_eq!(browser.text("#kind").await, "sqlite");
    let lags = browser.texts("#lags td.lag").await;
    assert!(
        lags.len() >= 2,
        "the flow and the balances projection: {lags:?}"
    );
    screenshot(&browser, &dir, "overview.png").await;

    // The consumers page: each consumer's lag is the head less its checkpoint.
    browser.open(&console.at("/consumers")).await;
    for checkpoint in store.list_checkpoints().await.unwrap() {
        let row = format!("tr.consumer[data-name=\"{}\"] td.lag", checkpoint.name);
        assert_eq!(
            browser.text(&row).await,
            shown(head - checkpoint.position),
            "{}",
            checkpoint.name
        );
    }
    // The projections page: the balances projection's generation and lag.
    let models = disco::open_read_models(&url, true).await.unwrap();
    browser.open(&console.at("/projections")).await;
    for row in models.list().await.unwrap() {
        let css = format!(
            "tr[data-name=\"{}\"][data-generation=\"{}\"] td.lag",
            row.name, row.generation
        );
        assert_eq!(browser.text(&css).await, shown(head - row.position));
    }
    screenshot(&browser, &dir, "projections.png").await;

    // The story of the transfer whose credit was refused and refunded,
    // reached from the refund's event page.
    let events = all_events(&*store).await;
    let refund = events
        .iter()
        .find(|e| e.event_type == "AccountRefunded")
        .expect("the bank session refunds a transfer");
    let correlation = serde_json::from_slice::<Metadata>(&refund.metadata)
        .unwrap()
        .correlation_id;
    let expected: Vec<&RecordedEvent> = events
        .iter()
        .filter(|e| {
            serde_json::from_slice::<Metadata>(&e.metadata)
                .is_ok_and(|m| m.correlation_id == correlation)
        })
        .collect();
    browser
        .open(&console.at(&format!("/event?position={}", refund.position)))
        .await;
    browser.click("#story-link").await;
    browser
        .wait_for_text("#story-count", &expected.len().to_string(), WAIT)
        .await;
    let shown_types: Vec<String> = browser.texts("li.event > a.type").await;
    let expected_types: Vec<String> = expected.iter().map(|e| e.event_type.clone()).collect();
    assert_eq!(
        shown_types.iter().collect::<BTreeSet<_>>(),
        expected_types.iter().collect::<BTreeSet<_>>()
    );
    assert_eq!(shown_types.len(), expected.len(), "every event once");
    for step in [
        "TransferStarted",
        "AccountDebited",
        "CommandRefused",
        "AccountRefunded",
        "TransferFailed",
    ] {
        assert!(
            shown_types.iter().any(|t| t == step),
            "{step} in {shown_types:?}"
        );
    }
    // Causation order: the debit is nested under the start, the refund
    // under the debit, and the refusal says why.
    let nested = browser
        .run("return [...document.querySelectorAll('li.event')].map(li => { let d = 0; for (let p = li.parentElement; p; p = p.parentElement) if (p.tagName === 'OL') d++; return li.dataset.type + ':' + d; })")
        .await;
    let depth = |ty: &str| {
        nested
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .find_map(|s| {
                s.strip_prefix(&format!("{ty}:"))
                    .map(|d| d.parse::<u32>().unwrap())
            })
            .unwrap_or_else(|| panic!("{ty} not in {nested}"))
    };
    assert!(depth("TransferStarted") < depth("AccountDebited"));
    assert!(depth("AccountDebited") < depth("AccountRefunded"));
    assert!(browser.text("li.refused .reason").await.contains("closed"));
    screenshot(&browser, &dir, "story.png").await;

    // Metrics: the head and every consumer's lag.
    let metrics = support::http::get(&console.addr, "/metrics").await.text();
    assert!(
        metrics.contains(&format!("disco_head_position {head}")),
        "{metrics}"
    );
    let flow = store
        .load_checkpoint("transfer_flow")
        .await
        .unwrap()
        .unwrap();
    let lag = format!(
        "disco_consumer_lag{{consumer=\"transfer_flow\"}} {}",
        head - flow
    );
    assert!(metrics.contains(&lag), "{lag} in {metrics}");

    browser.quit().await;
    console.stop().await;
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_tail_shows_events_appended_after_the_page_loaded() {
    // Boxed: the whole test as one future is too big for a test thread's stack.
    Box::pin(the_live_tail_shows_events_appended_after_the_page_loaded_body()).await
}

async fn the_live_tail_shows_events_appended_after_the_page_loaded_body() {
    let dir = TempDir::new("console-tail");
    let url = format!("sqlite:{}", dir.file("tail.db").display());
    let store = disco::connect(&url).await.unwrap();
    let put = |stream: &'static str, ty: &'static str| {
        let store = store.clone();
        async move {
            store
                .append(
                    &StreamId::new(stream).unwrap(),
                    ExpectedVersion::Any,
                    vec![NewEvent::new(ty, b"{}".to_vec())],
                )
                .await
                .unwrap();
        }
    };
    put("before-1", "Old").await;
    let console = serve(ConsoleConfig::new(&url)).await;
    let browser = Browser::start().await;

    browser.open(&console.at("/tail")).await;
    browser
        .wait_for_text("#tail-status", "following", WAIT)
        .await;
    put("order-1", "OrderPlaced").await;
    let row = browser.wait_for_text("tr.tailed", "order-1", WAIT).await;
    assert!(row.contains("OrderPlaced"), "{row}");
    assert!(browser
        .texts("tr.tailed")
        .await
        .iter()
        .all(|r| !r.contains("before-1")));
    screenshot(&browser, &dir, "tail.png").await;

    // Filtered by prefix and type: only what matches arrives.
    browser
        .open(&console.at("/tail?prefix=keep-&type=Kept"))
        .await;
    browser
        .wait_for_text("#tail-status", "following", WAIT)
        .await;
    put("drop-1", "Kept").await;
    put("keep-1", "Other").await;
    put("keep-2", "Kept").await;
    browser.wait_for_text("tr.tailed", "keep-2", WAIT).await;
    let rows = browser.texts("tr.tailed").await;
    assert_eq!(rows.len(), 1, "{rows:?}");

    browser.quit().await;
    console.stop().await;
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_and_skip_release_parked_streams_and_rebuild_switches_a_generation_only_with_actions()
{
    // Boxed: the whole test as one future is too big for a test thread's stack.
    Box::pin(
        retry_and_skip_release_parked_streams_and_rebuild_switches_a_generation_only_with_actions_body(),
    )
    .await
}

async fn retry_and_skip_release_parked_streams_and_rebuild_switches_a_generation_only_with_actions_body(
) {
    let dir = TempDir::new("console-actions");
    let url = bank(&dir).await;
    // The bank keeps running: its projection runner carries out a rebuild.
    let bank = Box::pin(app::Bank::start(&url)).await.unwrap();
    let store = bank.store.clone();

    // A consumer that parks the stream whose event it cannot handle yet.
    let failing = Arc::new(AtomicBool::new(true));
    let handled = Arc::new(AtomicUsize::new(0));
    let (f, h) = (failing.clone(), handled.clone());
    let handler = handler_fn(move |event| {
        let (f, h) = (f.clone(), h.clone());
        let poison = event.event_type == "Bounce";
        let never = event.event_type == "Garbled";
        async move {
            if poison && f.load(Ordering::SeqCst) {
                return Err("the mail server said no".into());
            }
            if never {
                return Err("no mail server reads this".into());
            }
            h.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let mailer = Consumer::new("mailer", handler)
        .error_policy(
            ErrorPolicy::default()
                .retries(1)
                .backoff(Duration::from_millis(1), Duration::from_millis(2))
                .then_park(),
        )
        .checkpoint_every(1, Duration::from_millis(30))
        .filter(disco::EventFilter::default().with_stream_prefix("mail-"))
        .start(store.clone())
        .unwrap();
    for (stream, ty) in [
        ("mail-1", "Bounce"),
        ("mail-1", "Next"),
        ("mail-2", "Fine"),
        ("mail-3", "Garbled"),
        ("mail-3", "After"),
    ] {
        store
            .append(
                &StreamId::new(stream).unwrap(),
                ExpectedVersion::Any,
                vec![NewEvent::new(ty, b"{\"to\":\"ann\"}".to_vec())],
            )
            .await
            .unwrap();
    }
    until("mail-1 and mail-3 parked", || async {
        parking::parked(&*store, "mailer")
            .await
            .map(|p| {
                ["mail-1", "mail-3"].iter().all(|name| {
                    p.iter()
                        .any(|(s, r)| s.stream.as_str() == *name && r.is_none())
                })
            })
            .unwrap_or(false)
    })
    .await;

    // Without --allow-actions, behind a token: no buttons, and a POST is refused.
    let token = "a-console-token-for-tests";
    let mut config = ConsoleConfig::new(&url);
    config.token = Some(token.into());
    let read_only = serve(config).await;
    let browser = Browser::start().await;
    browser.open(&read_only.at("/consumers")).await;
    assert!(browser.text("main").await.contains("needs its token"));
    let refused = support::http::get(&read_only.addr, "/metrics").await;
    assert_eq!(refused.status, 401);
    browser.open(&read_only.url).await;
    browser.open(&read_only.at("/consumers")).await;
    browser
        .wait_for_text("tr.parked-stream", "mail-1", WAIT)
        .await;
    assert!(browser.texts("button.retry").await.is_empty());
    browser.open(&read_only.at("/projections")).await;
    assert!(browser.texts("button.rebuild").await.is_empty());
    let status = browser
        .run("const r = new XMLHttpRequest(); r.open('POST', '/actions/parked', false); r.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded'); r.send('csrf=x&consumer=mailer&stream=mail-1&how=retry'); return r.status;")
        .await;
    assert_eq!(status, 403);
    read_only.stop().await;

    // With --allow-actions: a POST without the page's CSRF token is refused;
    // the Retry button releases the stream.
    let mut config = ConsoleConfig::new(&url);
    config.allow_actions = true;
    let console = serve(config).await;
    let forged = support::http::request(
        &console.addr,
        "POST",
        "/actions/parked",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"consumer=mailer&stream=mail-1&how=retry",
    )
    .await;
    assert_eq!(forged.status, 403, "{}", forged.text());
    browser.open(&console.at("/consumers")).await;
    browser
        .wait_for_text("tr.parked-stream", "mail-1", WAIT)
        .await;
    screenshot(&browser, &dir, "consumers.png").await;
    failing.store(false, Ordering::SeqCst);
    let before = handled.load(Ordering::SeqCst);
    browser
        .click("tr.parked-stream[data-stream=\"mail-1\"] button.retry")
        .await;
    until("the retried event and the held one handled", || async {
        handled.load(Ordering::SeqCst) >= before + 2
    })
    .await;
    until("mail-1 no longer parked", || async {
        parking::parked(&*store, "mailer")
            .await
            .map(|p| p.iter().all(|(s, _)| s.stream.as_str() != "mail-1"))
            .unwrap_or(false)
    })
    .await;
    // Skip: the event no handler reads is passed over, the one after it
    // handled, the stream released.
    let before = handled.load(Ordering::SeqCst);
    browser.open(&console.at("/consumers")).await;
    browser
        .click("tr.parked-stream[data-stream=\"mail-3\"] button.skip")
        .await;
    until("mail-3 no longer parked", || async {
        parking::parked(&*store, "mailer")
            .await
            .map(|p| p.iter().all(|(s, _)| s.stream.as_str() != "mail-3"))
            .unwrap_or(false)
    })
    .await;
    until("the event after the skipped one handled", || async {
        handled.load(Ordering::SeqCst) > before
    })
    .await;
    assert_eq!(
        handled.load(Ordering::SeqCst),
        before + 1,
        "only the event after the skipped one"
    );

    // Rebuild: a new generation, built by the running projection, goes live.
    let models = disco::open_read_models(&url, true).await.unwrap();
    let live = |rows: &[disco::projections::GenerationRow]| {
        rows.iter()
            .find(|r| r.name == "balances" && r.state == disco::projections::GenerationState::Live)
            .map(|r| r.generation)
    };
    let first = live(&models.list().await.unwrap()).unwrap();
    browser.open(&console.at("/projections")).await;
    browser
        .click("tr[data-name=\"balances\"].live button.rebuild")
        .await;
    until("the rebuilt generation live", || async {
        live(&models.list().await.unwrap()) == Some(first + 1)
    })
    .await;
    browser.open(&console.at("/projections")).await;
    browser
        .wait_for_text(
            &format!(
                "tr[data-name=\"balances\"][data-generation=\"{}\"]",
                first + 1
            ),
            "live",
            WAIT,
        )
        .await;
    browser
        .click("tr[data-name=\"balances\"].live button.drop-retired")
        .await;
    until("the retired generation dropped", || async {
        models
            .list()
            .await
            .unwrap()
            .iter()
            .all(|r| r.state != disco::projections::GenerationState::Retired)
    })
    .await;

    browser.quit().await;
    console.stop().await;
    mailer.stop().await;
    bank.stop().await;
}

/// Stream ids, event types and payloads written to break a page.
const HOSTILE_IDS: &[&str] = &[
    "<script>window.__pwned=1;alert(1)</script>",
    "\"><img src=x onerror=\"window.__pwned=2;alert(2)\">",
    "x' onmouseover='alert(3)",
    "evil-\u{202e}gnp.exe",
    "ünïcode/with spaces&amp;",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_store_runs_no_script_and_shows_its_ids_as_they_are() {
    // Boxed: the whole test as one future is too big for a test thread's stack.
    Box::pin(a_hostile_store_runs_no_script_and_shows_its_ids_as_they_are_body()).await
}

async fn a_hostile_store_runs_no_script_and_shows_its_ids_as_they_are_body() {
    let dir = TempDir::new("console-hostile");
    let url = format!("sqlite:{}", dir.file("hostile.db").display());
    let store = disco::connect(&url).await.unwrap();
    let big = format!(
        "{{\"note\":\"</pre><script>window.__pwned=4;alert(4)</script>{}\"}}",
        "x".repeat(1 << 20)
    );
    for (i, id) in HOSTILE_IDS.iter().enumerate() {
        let events = vec![
            NewEvent::new(
                "<svg onload=\"window.__pwned=5;alert(5)\">",
                br#"{"html":"<script>window.__pwned=6;alert(6)</script>"}"#.to_vec(),
            )
            .with_metadata(b"\"><script>alert(7)</script>".to_vec()),
            NewEvent::new("Binary", vec![0xff, 0xfe, b'<', b's', 0, 0x1b, i as u8]),
            NewEvent::new("Big", big.clone().into_bytes()),
        ];
        store
            .append(&StreamId::new(*id).unwrap(), ExpectedVersion::Any, events)
            .await
            .unwrap();
    }
    let console = serve(ConsoleConfig::new(&url)).await;
    let browser = Browser::start().await;

    let inert = |page: String| {
        let browser = &browser;
        async move {
            assert_eq!(browser.dialog().await, None, "a dialog opened on {page}");
            assert_eq!(
                browser.run("return typeof window.__pwned").await,
                "undefined",
                "a script ran on {page}"
            );
        }
    };
    browser.open(&console.at("/streams")).await;
    inert("/streams".into()).await;
    let listed = browser.texts("a.stream-id").await;
    for id in HOSTILE_IDS {
        let as_shown = id.replace('\u{202e}', "\\u{202e}");
        assert!(listed.contains(&as_shown), "{as_shown:?} not in {listed:?}");
    }
    // Each stream's page, reached by clicking its link, and its events'.
    for (i, id) in HOSTILE_IDS.iter().enumerate() {
        browser.open(&console.at("/streams")).await;
        let as_shown = serde_json::to_string(&id.replace('\u{202e}', "\\u{202e}")).unwrap();
        let links = browser
            .run(&format!(
                "return [...document.querySelectorAll('a.stream-id')].find(a => a.textContent === {as_shown}).href"
            ))
            .await;
        browser.open(links.as_str().unwrap()).await;
        inert(format!("the stream {id:?}")).await;
        assert_eq!(
            browser.text("code.stream-id").await,
            id.replace('\u{202e}', "\\u{202e}"),
            "stream {i}"
        );
        let types = browser.texts("td.type").await;
        assert_eq!(types[0], "<svg onload=\"window.__pwned=5;alert(5)\">");
        for position in browser
            .run("return [...document.querySelectorAll('#events a')].map(a => a.href)")
            .await
            .as_array()
            .unwrap()
            .clone()
        {
            browser.open(position.as_str().unwrap()).await;
            inert(position.to_string()).await;
        }
    }
    // The big payload whole, the binary one as hex.
    let events = all_events(&*store).await;
    let big_event = events.iter().find(|e| e.event_type == "Big").unwrap();
    browser
        .open(&console.at(&format!("/event?position={}", big_event.position)))
        .await;
    let length = browser
        .run("return document.getElementById('data').textContent.length")
        .await;
    assert!(length.as_u64().unwrap() >= (1 << 20), "{length}");
    let binary = events.iter().find(|e| e.event_type == "Binary").unwrap();
    browser
        .open(&console.at(&format!("/event?position={}", binary.position)))
        .await;
    assert!(browser.text("#data").await.contains("ff fe 3c 73 00 1b"));
    // The live tail of hostile appends.
    browser.open(&console.at("/tail")).await;
    browser
        .wait_for_text("#tail-status", "following", WAIT)
        .await;
    store
        .append(
            &StreamId::new(HOSTILE_IDS[0]).unwrap(),
            ExpectedVersion::Any,
            vec![NewEvent::new(
                "<img src=x onerror=alert(8)>",
                b"{}".to_vec(),
            )],
        )
        .await
        .unwrap();
    browser
        .wait_for_text("tr.tailed", HOSTILE_IDS[0], WAIT)
        .await;
    inert("/tail".into()).await;

    browser.quit().await;
    console.stop().await;
    store.close().await.unwrap();
}
