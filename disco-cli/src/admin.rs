//! `init`, `migrate`, `drop` and `status`.

use std::io::{BufRead, Write};

use disco::{EventStore, StreamState};
use serde_json::json;

use crate::failure::{code, Failure};
use crate::show::Format;
use crate::stores::{Location, Opened};

/// Streams per page when counting.
const PAGE: usize = 1000;

/// `disco init`: creates the store if it is missing.
pub async fn init(url: &str, format: Format) -> Result<(), Failure> {
    let location = Location::parse(url)?;
    let existed = location.may_exist() && location != Location::Memory;
    let opened = Opened::open(&location, true, true).await?;
    let version = opened.schema_version().await?;
    match format {
        Format::Human => println!("{url}: ready, schema version {version}"),
        Format::Json => println!(
            "{}",
            json!({"store": url, "schema_version": version, "existed": existed})
        ),
    }
    opened.close().await;
    Ok(())
}

/// `disco migrate`: applies pending schema changes.
pub async fn migrate(url: &str, format: Format) -> Result<(), Failure> {
    let location = Location::parse(url)?;
    let opened = Opened::open(&location, false, true).await?;
    if let Opened::Postgres(store) = &opened {
        store.migrate().await?;
    }
    let version = opened.schema_version().await?;
    match format {
        Format::Human => println!("{url}: schema version {version}, up to date"),
        Format::Json => println!("{}", json!({"store": url, "schema_version": version})),
    }
    opened.close().await;
    Ok(())
}

fn confirm(url: &str) -> Result<(), Failure> {
    eprint!("Drop {url} and every event in it? This cannot be undone. Type yes: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Failure::new(
            code::NOT_CONFIRMED,
            "not dropped: not confirmed (use --yes in scripts)",
        ))
    }
}

fn remove_files(base: &std::path::Path, suffixes: &[&str]) -> Result<(), Failure> {
    for suffix in suffixes {
        let path = std::path::PathBuf::from(format!("{}{suffix}", base.display()));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Failure::new(
                    code::OTHER,
                    format!("cannot remove {}: {e}", path.display()),
                ))
            }
        }
    }
    Ok(())
}

/// `disco drop`: deletes the store, after confirmation.
pub async fn drop(url: &str, yes: bool, format: Format) -> Result<(), Failure> {
    let location = Location::parse(url)?;
    if !yes {
        confirm(url)?;
    }
    match &location {
        Location::Memory => {}
        Location::Sqlite(path) => {
            // Opening first refuses a file that is not a disco store.
            Opened::open(&location, false, false).await?.close().await;
            remove_files(path, &["", "-wal", "-shm"])?;
        }
        Location::Redb(path) => {
            Opened::open(&location, false, false).await?.close().await;
            remove_files(path, &[""])?;
        }
        Location::Postgres { .. } => {
            let opened = Opened::open(&location, true, true).await?;
            if let Opened::Postgres(store) = &opened {
                store.drop_schema().await?;
            }
            opened.close().await;
        }
    }
    match format {
        Format::Human => println!("{url}: dropped"),
        Format::Json => println!("{}", json!({"store": url, "dropped": true})),
    }
    Ok(())
}

/// Stream and event counts, by paging through every stream.
pub struct Counts {
    pub active: u64,
    pub soft_deleted: u64,
    pub hard_deleted: u64,
    pub events: u64,
}

pub async fn counts(store: &dyn EventStore) -> Result<Counts, Failure> {
    let mut counts = Counts {
        active: 0,
        soft_deleted: 0,
        hard_deleted: 0,
        events: 0,
    };
    let mut after = None;
    loop {
        let page = store.list_streams("", after.as_ref(), PAGE).await?;
        for info in &page {
            match info.state {
                StreamState::Active => counts.active += 1,
                StreamState::SoftDeleted => counts.soft_deleted += 1,
                StreamState::HardDeleted => counts.hard_deleted += 1,
            }
            if info.state != StreamState::HardDeleted {
                counts.events += info.version;
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.stream_id.clone()),
            _ => return Ok(counts),
        }
    }
}

/// `disco status`.
pub async fn status(url: &str, format: Format) -> Result<(), Failure> {
    let location = Location::parse(url)?;
    let opened = Opened::open(&location, false, false).await?;
    let store = opened.store();
    let version = opened.schema_version().await?;
    let head = store.head_position().await?;
    let counts = counts(&*store).await?;
    let checkpoints = store.list_checkpoints().await?.len();
    match format {
        Format::Human => {
            println!("store           {url}");
            println!("schema version  {version}");
            println!("head position   {head}");
            println!(
                "streams         {} ({} active, {} soft-deleted, {} hard-deleted)",
                counts.active + counts.soft_deleted + counts.hard_deleted,
                counts.active,
                counts.soft_deleted,
                counts.hard_deleted
            );
            println!("events          {}", counts.events);
            println!("checkpoints     {checkpoints}");
        }
        Format::Json => println!(
            "{}",
            json!({
                "store": url,
                "schema_version": version,
                "head": head,
                "streams": counts.active + counts.soft_deleted + counts.hard_deleted,
                "active_streams": counts.active,
                "soft_deleted_streams": counts.soft_deleted,
                "hard_deleted_streams": counts.hard_deleted,
                "events": counts.events,
                "checkpoints": checkpoints,
            })
        ),
    }
    opened.close().await;
    Ok(())
}
