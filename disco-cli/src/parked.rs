//! `disco parked NAME`: the streams a consumer parked (the event that
//! failed and the error); `retry STREAM` and `skip STREAM` let one go (the
//! consumer's runner acts on it within its checkpoint interval).

use serde_json::json;

use disco::consumer::parking::{self, Release};
use disco::StreamId;

use crate::failure::{code, Failure};
use crate::show::{self, Format};
use crate::stores::{Mode, Store};

/// `disco parked NAME`.
pub async fn list(url: &str, name: &str, format: Format) -> Result<(), Failure> {
    let opened = Store::open(url, Mode::Existing).await?;
    let parked = parking::parked(&*opened.store(), name).await?;
    for (p, released) in &parked {
        let state = match released {
            None => "parked",
            Some(Release::Retry) => "released (retry), resuming",
            Some(Release::Skip) => "released (skip), resuming",
        };
        match format {
            Format::Human => println!(
                "{:<32} {state:<28} event {} (version {}, position {}, partition {}): {}",
                show::escape(p.stream.as_str()),
                p.event_id,
                p.version,
                p.position,
                p.partition,
                show::escape(&p.error)
            ),
            Format::Json => println!(
                "{}",
                json!({
                    "consumer": name, "stream": p.stream.as_str(), "state": state,
                    "event_id": p.event_id.to_string(), "version": p.version,
                    "position": p.position, "partition": p.partition, "error": p.error
                })
            ),
        }
    }
    if format == Format::Human && parked.is_empty() {
        println!("-- no parked streams for {}", show::escape(name));
    }
    opened.close().await;
    Ok(())
}

/// `disco parked NAME retry|skip STREAM`.
pub async fn release(
    url: &str,
    name: &str,
    stream: &str,
    how: Release,
    format: Format,
) -> Result<(), Failure> {
    let stream = StreamId::new(stream)
        .map_err(|e| Failure::new(code::USAGE, format!("bad stream id: {e}")))?;
    let opened = Store::open(url, Mode::Existing).await?;
    let released = parking::release(&*opened.store(), name, &stream, how).await;
    opened.close().await;
    let parked = released?;
    let action = match how {
        Release::Retry => "retry",
        Release::Skip => "skip",
    };
    match format {
        Format::Human => match how {
            Release::Retry => println!(
                "released {}: the consumer delivers event {} (version {}) again, then the held events",
                show::escape(stream.as_str()),
                parked.event_id,
                parked.version
            ),
            Release::Skip => println!(
                "released {}: the consumer skips event {} (version {}) and delivers the held events",
                show::escape(stream.as_str()),
                parked.event_id,
                parked.version
            ),
        },
        Format::Json => println!(
            "{}",
            json!({"consumer": name, "stream": stream.as_str(), "action": action, "event_id": parked.event_id.to_string(), "version": parked.version})
        ),
    }
    Ok(())
}
