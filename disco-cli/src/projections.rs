//! `disco projections`: the projections kept in a read-model database, with
//! their lag behind the store (a partitioned one's partitions under each
//! generation); `rebuild` and `drop-retired`.

use serde_json::json;

use disco::ReadModelDb;

use crate::failure::{code, Failure};
use crate::show::{self, Format};
use crate::stores::{Mode, Store};

/// The read-model database: `--read-models`, or the store's own database
/// (its SQLite file, its PostgreSQL database and schema).
async fn read_models(store_url: &str, read_models: Option<&str>) -> Result<ReadModelDb, Failure> {
    let url = read_models.unwrap_or(store_url);
    if read_models.is_none() && (url.starts_with("memory:") || url.starts_with("redb:")) {
        return Err(Failure::new(
            code::USAGE,
            "a memory or redb store keeps no read models: pass --read-models sqlite:PATH or postgres://...",
        ));
    }
    Ok(disco::open_read_models(url, true).await?)
}

/// `disco projections`: one line per generation of each projection.
pub async fn list(url: &str, read_models_url: Option<&str>, format: Format) -> Result<(), Failure> {
    let models = read_models(url, read_models_url).await?;
    let store = Store::open(url, Mode::Existing).await?;
    let head = store.store().head_position().await?;
    let rows = models.list().await?;
    let partitions = models.partitions().await?;
    for row in &rows {
        let lag = head.saturating_sub(row.position);
        // A partitioned generation's position is its lowest partition's.
        let parts: Vec<_> = partitions
            .iter()
            .filter(|p| p.name == row.name && p.generation == row.generation)
            .collect();
        match format {
            Format::Human => {
                println!(
                "{:<24} generation {:<3} v{:<3} {:<9} position {:<10} lag {:<8} tables {} (updated {})",
                show::escape(&row.name),
                row.generation,
                row.version,
                row.state.as_str(),
                row.position,
                lag,
                row.tables.join(","),
                row.updated_at.to_rfc3339()
                );
                for part in &parts {
                    println!(
                        "  partition {}-of-{:<6} position {:<10} lag {:<8} (updated {})",
                        part.slot.index,
                        part.slot.count,
                        part.position,
                        head.saturating_sub(part.position),
                        part.updated_at.to_rfc3339()
                    );
                }
            }
            Format::Json => println!(
                "{}",
                json!({
                    "name": row.name,
                    "generation": row.generation,
                    "version": row.version,
                    "state": row.state.as_str(),
                    "position": row.position,
                    "head": head,
                    "lag": lag,
                    "tables": row.tables,
                    "token": row.token,
                    "updated_at": row.updated_at.to_rfc3339(),
                    "partitions": parts.iter().map(|p| json!({
                        "partition": p.slot.index,
                        "of": p.slot.count,
                        "position": p.position,
                        "lag": head.saturating_sub(p.position),
                        "updated_at": p.updated_at.to_rfc3339(),
                    })).collect::<Vec<_>>(),
                })
            ),
        }
    }
    if format == Format::Human && rows.is_empty() {
        println!("-- no projections here (head {head})");
    }
    store.close().await;
    Ok(())
}

/// `disco projections rebuild NAME`: a new generation, built by the
/// projection's running runner while the live one keeps serving.
pub async fn rebuild(
    url: &str,
    read_models_url: Option<&str>,
    name: &str,
    format: Format,
) -> Result<(), Failure> {
    let models = read_models(url, read_models_url).await?;
    let generation = models.rebuild(name).await?;
    match format {
        Format::Human => println!(
            "{}: generation {generation} will be built from position 0 by the projection's runner; queries read the live generation until it has caught up, then switch",
            show::escape(name)
        ),
        Format::Json => println!(
            "{}",
            json!({"name": name, "generation": generation, "state": "building"})
        ),
    }
    Ok(())
}

/// `disco projections drop-retired NAME`: drops replaced generations' tables.
pub async fn drop_retired(
    url: &str,
    read_models_url: Option<&str>,
    name: &str,
    format: Format,
) -> Result<(), Failure> {
    let models = read_models(url, read_models_url).await?;
    let dropped = models.drop_retired(name).await?;
    match format {
        Format::Human => println!(
            "{}: dropped the tables of generations {dropped:?}",
            show::escape(name)
        ),
        Format::Json => println!("{}", json!({"name": name, "dropped": dropped})),
    }
    Ok(())
}
