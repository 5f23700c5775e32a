//! `init`, `migrate`, `drop` and `status`.

use std::io::{BufRead, Write};

use serde_json::json;

use crate::failure::{code, Failure};
use crate::show::Format;
use crate::stores::{Mode, Store};

/// `disco init`: creates the store if it is missing.
pub async fn init(url: &str, format: Format) -> Result<(), Failure> {
    // Whether a store was there already: an open that may not create says.
    let existed = match Store::open(url, Mode::Existing).await {
        Ok(store) => {
            store.close().await;
            !url.starts_with("memory:")
        }
        Err(failure) if failure.code == code::NO_STORE => false,
        Err(failure) if failure.code == code::OLDER_SCHEMA => true,
        Err(failure) => return Err(failure),
    };
    let opened = Store::open(url, Mode::Create).await?;
    let version = opened.schema_version();
    let text = opened.schema_version_text();
    match format {
        Format::Human => println!("{url}: ready, schema version {text}"),
        Format::Json => println!(
            "{}",
            json!({"store": url, "schema_version": version, "schema": opened.schema(), "existed": existed})
        ),
    }
    opened.close().await;
    Ok(())
}

/// `disco migrate`: applies pending schema changes.
pub async fn migrate(url: &str, format: Format) -> Result<(), Failure> {
    let opened = Store::open(url, Mode::Migrate).await?;
    let version = opened.schema_version();
    let text = opened.schema_version_text();
    match format {
        Format::Human => println!("{url}: schema version {text}, up to date"),
        Format::Json => println!(
            "{}",
            json!({"store": url, "schema_version": version, "schema": opened.schema()})
        ),
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

/// `disco drop`: removes exactly disco's own objects, after confirmation.
/// A file or schema that holds no disco store is refused (its own exit
/// code, listing what is there) and left as it was; the application's
/// objects beside a store stay, and so does a schema disco did not create.
pub async fn drop(url: &str, yes: bool, format: Format) -> Result<(), Failure> {
    if !yes {
        confirm(url)?;
    }
    let disco::backend::registry::Dropped { removed, kept } = disco::drop_url(url).await?;
    match format {
        Format::Human if kept.is_empty() => println!("{url}: dropped {removed}"),
        Format::Human => println!(
            "{url}: dropped {removed}; kept what is not disco's: {}",
            kept.join(", ")
        ),
        Format::Json => println!(
            "{}",
            json!({"store": url, "dropped": true, "removed": removed, "kept": kept})
        ),
    }
    Ok(())
}

/// `disco status`.
pub async fn status(url: &str, format: Format) -> Result<(), Failure> {
    let opened = Store::open(url, Mode::Existing).await?;
    let store = opened.store();
    let version_number = opened.schema_version();
    let version = opened.schema_version_text();
    let head = store.head_position().await?;
    let counts = disco::counts::count(&*store).await?;
    let checkpoints = store.list_checkpoints().await?.len();
    match format {
        Format::Human => {
            println!("store           {url}");
            println!("schema version  {version}");
            println!("head position   {head}");
            println!(
                "streams         {} ({} active, {} soft-deleted, {} hard-deleted)",
                counts.streams(),
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
                "schema_version": version_number,
                "schema": opened.schema(),
                "head": head,
                "streams": counts.streams(),
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
