//! `streams`, `read`, `events`, `tail` and `checkpoints`.

use disco::{EventFilter, ReadDirection, StreamId, StreamState, Subscription, SubscriptionOptions};
use serde_json::json;

use crate::failure::{code, Failure};
use crate::show::{self, Format};
use crate::stores::{Mode, Store};

/// Browsing opens the store as it is: nothing created, migrated or written.
async fn open(url: &str) -> Result<Store, Failure> {
    Store::open(url, Mode::Existing).await
}

fn state_name(state: StreamState) -> &'static str {
    match state {
        StreamState::Active => "active",
        StreamState::SoftDeleted => "soft-deleted",
        StreamState::HardDeleted => "hard-deleted",
    }
}

fn stream_id(id: &str) -> Result<StreamId, Failure> {
    StreamId::new(id).map_err(|e| Failure::new(code::USAGE, e.to_string()))
}

/// `disco streams`: one page of streams.
pub async fn streams(
    url: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
    format: Format,
) -> Result<(), Failure> {
    let opened = open(url).await?;
    let after = after.map(stream_id).transpose()?;
    let page = opened
        .store()
        .list_streams(prefix, after.as_ref(), limit.max(1))
        .await?;
    // The ids' column is as wide as the page's longest id, so the columns
    // after it line up whatever the ids.
    let width = page
        .iter()
        .map(|info| show::escape(info.stream_id.as_str()).chars().count())
        .max()
        .unwrap_or(0);
    for info in &page {
        match format {
            Format::Human => println!(
                "{:<width$} version {:<8} {}",
                show::escape(info.stream_id.as_str()),
                info.version,
                state_name(info.state)
            ),
            Format::Json => println!(
                "{}",
                json!({"stream": info.stream_id.as_str(), "version": info.version, "state": state_name(info.state)})
            ),
        }
    }
    if format == Format::Human {
        match page.last() {
            Some(last) if page.len() == limit.max(1) => {
                println!("-- more: --after {}", show::escape(last.stream_id.as_str()))
            }
            _ => println!("-- {} streams", page.len()),
        }
    }
    opened.close().await;
    Ok(())
}

/// `disco read STREAM`.
pub async fn read(
    url: &str,
    stream: &str,
    from: Option<u64>,
    backward: bool,
    limit: usize,
    format: Format,
) -> Result<(), Failure> {
    let opened = open(url).await?;
    let store = opened.store();
    let id = stream_id(stream)?;
    let known = store.list_streams(stream, None, 1).await?;
    if known.first().is_none_or(|i| i.stream_id != id) {
        return Err(Failure::new(
            code::MISSING_STREAM,
            format!("there is no stream {}", show::escape(stream)),
        ));
    }
    let (direction, from) = if backward {
        (ReadDirection::Backward, from.unwrap_or(u64::MAX))
    } else {
        (ReadDirection::Forward, from.unwrap_or(1))
    };
    for event in store.read_stream(&id, from, direction, limit).await? {
        show::event(format, &event);
    }
    opened.close().await;
    Ok(())
}

fn filter(types: &[String], prefix: Option<&str>) -> EventFilter {
    let mut filter = EventFilter::default().with_event_types(types.iter().cloned());
    if let Some(prefix) = prefix {
        filter = filter.with_stream_prefix(prefix);
    }
    filter
}

/// `disco events`.
pub async fn events(
    url: &str,
    after: u64,
    types: &[String],
    prefix: Option<&str>,
    limit: usize,
    format: Format,
) -> Result<(), Failure> {
    let opened = open(url).await?;
    let page = opened
        .store()
        .read_all_filtered(after, limit, &filter(types, prefix))
        .await?;
    for event in &page {
        show::event(format, event);
    }
    if format == Format::Human && page.len() == limit {
        if let Some(last) = page.last() {
            println!("-- more: --after {}", last.position);
        }
    }
    opened.close().await;
    Ok(())
}

/// `disco tail`: follows the log until Ctrl-C.
pub async fn tail(
    url: &str,
    after: Option<u64>,
    types: &[String],
    prefix: Option<&str>,
    format: Format,
) -> Result<(), Failure> {
    let opened = open(url).await?;
    let store = opened.store();
    let after = match after {
        Some(after) => after,
        None => store.head_position().await?,
    };
    let options = SubscriptionOptions::default()
        .after(after)
        .filter(filter(types, prefix));
    let mut feed = Subscription::start(store, options);
    if format == Format::Human {
        eprintln!("following {url} after position {after}; Ctrl-C stops");
    }
    loop {
        tokio::select! {
            item = feed.next() => match item {
                Some(Ok(event)) => show::event(format, &event),
                Some(Err(error)) => return Err(error.into()),
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    opened.close().await;
    Ok(())
}

/// `disco checkpoints`: every checkpoint with its lag behind the head.
pub async fn checkpoints(url: &str, format: Format) -> Result<(), Failure> {
    let opened = open(url).await?;
    let store = opened.store();
    let head = store.head_position().await?;
    let mut all = store.list_checkpoints().await?;
    all.sort_by(|a, b| a.name.cmp(&b.name));
    // The copy tool's own progress is not a consumer: shown apart, after them.
    let (copies, consumers): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|c| c.name == disco::copy::PROGRESS_CHECKPOINT);
    // A partitioned consumer's partitions and members sit under its name.
    let mut group: Option<String> = None;
    for checkpoint in &consumers {
        let lag = head.saturating_sub(checkpoint.position);
        let (consumer, part) = disco::consumer::split_checkpoint_name(&checkpoint.name);
        let kind = match part {
            Some(p) if p.starts_with("member-") => "member",
            Some(_) => "partition",
            None => "consumer",
        };
        match format {
            Format::Human => {
                if part.is_some() && group.as_deref() != Some(consumer) {
                    println!("{} (partitioned)", show::escape(consumer));
                }
                group = part.map(|_| consumer.to_owned());
                match (kind, part) {
                    ("member", Some(p)) => println!(
                        "  {:<30} heartbeat {}{}",
                        show::escape(p),
                        checkpoint.position,
                        if checkpoint.position == 0 {
                            " (left)"
                        } else {
                            ""
                        }
                    ),
                    (_, Some(p)) => println!(
                        "  {:<30} position {:<10} lag {lag}",
                        show::escape(p),
                        checkpoint.position
                    ),
                    _ => println!(
                        "{:<32} position {:<10} lag {lag}",
                        show::escape(&checkpoint.name),
                        checkpoint.position
                    ),
                }
            }
            Format::Json => println!(
                "{}",
                json!({"name": checkpoint.name, "consumer": consumer, "kind": kind, "position": checkpoint.position, "head": head, "lag": lag})
            ),
        }
    }
    if format == Format::Human && consumers.is_empty() {
        println!("-- no consumer checkpoints (head {head})");
    }
    for copy in &copies {
        match format {
            Format::Human => println!(
                "-- copy progress (`disco copy` into this store): source position {}",
                copy.position
            ),
            Format::Json => println!(
                "{}",
                json!({"name": copy.name, "kind": "copy-progress", "position": copy.position})
            ),
        }
    }
    opened.close().await;
    Ok(())
}

/// `disco checkpoints reset NAME --to P [--create] [--force]`.
pub async fn reset(
    url: &str,
    name: &str,
    to: u64,
    create: bool,
    force: bool,
    format: Format,
) -> Result<(), Failure> {
    let opened = open(url).await?;
    let store = opened.store();
    let before = store.load_checkpoint(name).await?;
    if before.is_none() && !create {
        return Err(Failure::new(
            code::USAGE,
            format!(
                "there is no checkpoint {}; pass --create to make one",
                show::escape(name)
            ),
        ));
    }
    let head = store.head_position().await?;
    if to > head && !force {
        return Err(Failure::new(
            code::USAGE,
            format!("position {to} is past the head ({head}): the consumer would skip the events written up to it; pass --force to set it anyway"),
        ));
    }
    store.save_checkpoint(name, to).await?;
    match format {
        Format::Human => println!(
            "{}: {} -> {to} (a running consumer follows at its next checkpoint)",
            show::escape(name),
            before.map_or("none".to_owned(), |p| p.to_string())
        ),
        Format::Json => println!(
            "{}",
            json!({"name": name, "before": before, "position": to})
        ),
    }
    opened.close().await;
    Ok(())
}
