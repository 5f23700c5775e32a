//! Which backend a store URL names, how to make a fresh store of it and a
//! fresh raw baseline for each case, and the goals this project holds it to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use disco_backend::registry::{file_path, find};
use disco_core::EventStore;
use disco_store_memory::MemoryStore;
use disco_store_postgres::{PgOptions, PostgresStore};
use disco_store_redb::{RedbOptions, RedbStore};
use disco_store_sqlite::{SqliteOptions, SqliteStore};

use crate::baseline::memory::RawMemory;
use crate::baseline::nats::RawNats;
use crate::baseline::postgres::{prefill_five_million, RawPostgres};
use crate::baseline::redb::RawRedb;
use crate::baseline::sqlite::RawSqlite;
use crate::target::{StoreTarget, Target};
use crate::workloads::Case;

/// A backend named by a store URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `memory:`
    Memory,
    /// `sqlite:PATH`: each case uses fresh files named after PATH.
    Sqlite(PathBuf),
    /// `redb:PATH`: each case uses fresh files named after PATH.
    Redb(PathBuf),
    /// `postgres://...`: each case uses fresh schemas, dropped afterwards.
    Postgres(String),
    /// `nats://...?store=NAME&replicas=N`: each case uses fresh stores
    /// (named after NAME and the case) and a raw stream of the same
    /// replicas, removed afterwards.
    Nats {
        /// The cluster's servers.
        servers: Vec<String>,
        /// The store name the case stores are named after.
        prefix: String,
        /// Replicas of every stream the bench makes.
        replicas: usize,
    },
}

/// A goal a case must meet on a backend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// The store's rate must be at least this multiple of the raw rate.
    MinRatio(f64),
    /// The store's peak resident memory must stay under this many MiB.
    MaxPeakMib(f64),
    /// The store's 99th-percentile latency must stay under this many ms.
    MaxP99Ms(f64),
    /// The store must move at least this many events per second.
    MinRate(f64),
    /// The store's cost per command on the longest stream must stay under
    /// this multiple of its cost on a 10-event stream.
    Flat(f64),
}

/// What to clean up after one side of a case.
enum Cleanup {
    Nothing,
    Files(Vec<PathBuf>),
    Store(PostgresStore),
    Raw(Arc<RawPostgres>),
    NatsStore(Vec<String>, String),
    NatsRaw(Arc<RawNats>),
}

/// One side of a case (the store or the baseline) and what it leaves behind.
pub struct Side {
    /// What the workload runs on.
    pub target: Arc<dyn Target>,
    store: Option<Arc<dyn EventStore>>,
    cleanup: Cleanup,
}

impl Side {
    /// The event store of a store side (a fresh memory store for a raw one).
    pub fn store(&self) -> Arc<dyn EventStore> {
        self.store
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryStore::new()))
    }

    /// Removes what the side made (files, schemas).
    pub async fn finish(self) {
        let Side {
            target,
            store,
            cleanup,
        } = self;
        drop(target);
        drop(store);
        match cleanup {
            Cleanup::Nothing => {}
            Cleanup::Files(files) => remove_database(&files),
            Cleanup::Store(store) => {
                let _ = store.drop_schema().await;
                store.close().await;
            }
            Cleanup::Raw(raw) => raw.destroy().await,
            Cleanup::NatsStore(servers, name) => {
                if let Ok(options) = disco_store_nats::NatsOptions::new(&name) {
                    let _ = disco_store_nats::NatsStore::drop_at(&servers, options).await;
                }
            }
            Cleanup::NatsRaw(raw) => raw.destroy().await,
        }
    }
}

fn remove_database(files: &[PathBuf]) {
    for file in files {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
}

fn side_path(base: &Path, case: Case, side: &str) -> PathBuf {
    let name = base.file_name().map_or_else(
        || "disco-bench".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    base.with_file_name(format!("{name}-{}-{side}.db", case.name()))
}

fn side_file(base: &Path, case: Case, side: &str) -> PathBuf {
    let file = side_path(base, case, side);
    remove_database(std::slice::from_ref(&file));
    file
}

/// A NATS store (or raw stream) name for one side of `case`.
fn nats_name(prefix: &str, case: Case, side: &str) -> String {
    format!("{prefix}-{}-{side}", case.name()).replace('-', "_")
}

fn side_schema(case: Case, side: &str) -> String {
    format!("bench_{}_{side}", case.name().replace('-', "_"))
}

impl Backend {
    /// Parses a store URL through the stores' registry entries (the same
    /// ones `disco::connect` and the CLI use); a backend the bench has no raw
    /// baseline for is refused.
    pub fn parse(url: &str) -> Result<Backend, String> {
        let entries = [
            disco_store_memory::BACKEND,
            disco_store_sqlite::BACKEND,
            disco_store_redb::BACKEND,
            disco_store_postgres::BACKEND,
            disco_store_nats::BACKEND,
        ];
        let entry = find(&entries, url).map_err(|e| e.to_string())?;
        let path = || file_path(url).map_err(|e| e.to_string());
        Ok(match entry.name {
            "memory" => Backend::Memory,
            "sqlite" => Backend::Sqlite(path()?),
            "redb" => Backend::Redb(path()?),
            "postgres" => Backend::Postgres(url.to_owned()),
            "nats" => {
                let (servers, options) =
                    disco_store_nats::options_of_url(url).map_err(|e| e.to_string())?;
                Backend::Nats {
                    servers,
                    prefix: options.store,
                    replicas: options.replicas,
                }
            }
            other => return Err(format!("{other}: the bench has no raw baseline for it")),
        })
    }

    /// The backend's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Sqlite(_) => "sqlite",
            Backend::Redb(_) => "redb",
            Backend::Postgres(_) => "postgres",
            Backend::Nats { replicas: 1, .. } => "nats-r1",
            Backend::Nats { .. } => "nats",
        }
    }

    /// The cases run when none is named.
    pub fn default_cases(&self) -> Vec<Case> {
        let durable = |extra: &[Case]| -> Vec<Case> {
            Case::ALL
                .into_iter()
                .filter(|c| {
                    !matches!(
                        c,
                        Case::Hold1M
                            | Case::Append8x1At5M
                            | Case::ProjectionRebuild
                            | Case::ProjectionPortable
                            | Case::ReopenAfterKill
                    ) || extra.contains(c)
                })
                .collect()
        };
        match self {
            Backend::Memory => durable(&[Case::Hold1M]),
            Backend::Sqlite(_) => durable(&[]),
            Backend::Redb(_) => durable(&[Case::ReopenAfterKill]),
            Backend::Postgres(_) => durable(&[Case::Append8x1At5M, Case::ProjectionRebuild]),
            // The cases whose raw side is the baseline's own reads and
            // writes (not a second store process or a SQL read model).
            Backend::Nats { .. } => vec![
                Case::Append1x1,
                Case::Append8x1,
                Case::Group8,
                Case::Append1x100,
                Case::ReadAll1000,
                Case::ReadStream1000,
                Case::ConsumeNoop,
                Case::Latency,
                Case::DispatchNew8,
            ],
        }
    }

    async fn postgres(url: &str, schema: String) -> disco_core::Result<PostgresStore> {
        PostgresStore::connect(url, PgOptions::default().schema(schema).pool_size(16)).await
    }

    /// A fresh store for `case` (for `append-8x1-at-5m`, one holding
    /// 5,000,000 events).
    pub async fn fresh_store(&self, case: Case) -> disco_core::Result<Side> {
        let (store, cleanup): (Arc<dyn EventStore>, Cleanup) = match self {
            Backend::Memory => (Arc::new(MemoryStore::new()), Cleanup::Nothing),
            Backend::Sqlite(base) => {
                let file = side_file(base, case, "store");
                let store = SqliteStore::open(&file, SqliteOptions::default()).await?;
                (Arc::new(store), Cleanup::Files(vec![file]))
            }
            Backend::Redb(base) => {
                let file = side_file(base, case, "store");
                let store = RedbStore::open(&file, RedbOptions::default()).await?;
                (Arc::new(store), Cleanup::Files(vec![file]))
            }
            Backend::Nats {
                servers,
                prefix,
                replicas,
            } => {
                let name = nats_name(prefix, case, "s");
                if let Ok(options) = disco_store_nats::NatsOptions::new(&name) {
                    let _ = disco_store_nats::NatsStore::drop_at(servers, options).await;
                }
                let options = disco_store_nats::NatsOptions::new(&name)?.replicas(*replicas);
                let store = disco_store_nats::NatsStore::connect(servers, options).await?;
                (Arc::new(store), Cleanup::NatsStore(servers.clone(), name))
            }
            Backend::Postgres(url) => {
                let schema = side_schema(case, "store");
                let stale = Self::postgres(url, schema.clone()).await?;
                stale.drop_schema().await?;
                stale.close().await;
                let store = Self::postgres(url, schema.clone()).await?;
                if case == Case::Append8x1At5M {
                    eprintln!(
                        "disco-bench: filling {schema} with 5,000,000 events (a few minutes)..."
                    );
                    prefill_five_million(url, &schema).await?;
                    store.close().await;
                    let store = Self::postgres(url, schema).await?;
                    (Arc::new(store.clone()), Cleanup::Store(store))
                } else {
                    (Arc::new(store.clone()), Cleanup::Store(store))
                }
            }
        };
        Ok(Side {
            target: Arc::new(StoreTarget(store.clone())),
            store: Some(store),
            cleanup,
        })
    }

    /// A fresh raw baseline for `case` (for `append-8x1-at-5m`, the store on
    /// an empty schema: that case compares the store with itself).
    pub async fn fresh_raw(&self, case: Case) -> disco_core::Result<Side> {
        Ok(match self {
            Backend::Memory => Side {
                target: Arc::new(RawMemory::default()),
                store: None,
                cleanup: Cleanup::Nothing,
            },
            Backend::Sqlite(base) => {
                let file = side_file(base, case, "raw");
                Side {
                    target: Arc::new(RawSqlite::open(&file)?),
                    store: None,
                    cleanup: Cleanup::Files(vec![file]),
                }
            }
            Backend::Redb(base) => {
                let file = side_file(base, case, "raw");
                Side {
                    target: Arc::new(RawRedb::open(&file)?),
                    store: None,
                    cleanup: Cleanup::Files(vec![file]),
                }
            }
            Backend::Postgres(url) if case == Case::Append8x1At5M => {
                let schema = side_schema(case, "empty");
                let stale = Self::postgres(url, schema.clone()).await?;
                stale.drop_schema().await?;
                stale.close().await;
                let store = Self::postgres(url, schema).await?;
                Side {
                    target: Arc::new(StoreTarget(Arc::new(store.clone()))),
                    store: None,
                    cleanup: Cleanup::Store(store),
                }
            }
            Backend::Nats {
                servers,
                prefix,
                replicas,
            } => {
                let raw = Arc::new(
                    RawNats::create(servers, &nats_name(prefix, case, "r"), *replicas).await?,
                );
                Side {
                    target: raw.clone(),
                    store: None,
                    cleanup: Cleanup::NatsRaw(raw),
                }
            }
            Backend::Postgres(url) => {
                let raw = Arc::new(RawPostgres::create(url, &side_schema(case, "raw")).await?);
                Side {
                    target: raw.clone(),
                    store: None,
                    cleanup: Cleanup::Raw(raw),
                }
            }
        })
    }

    /// How another process opens the store side of `case` (made by
    /// [`Backend::fresh_store`]), for stores several processes share.
    pub fn shared_url(&self, case: Case) -> Option<String> {
        match self {
            Backend::Sqlite(base) => Some(format!(
                "sqlite:{}",
                side_path(base, case, "store").display()
            )),
            Backend::Postgres(url) => {
                let (base, _) = disco_store_postgres::split_schema(url);
                Some(format!("{base}?schema={}", side_schema(case, "store")))
            }
            Backend::Memory | Backend::Redb(_) | Backend::Nats { .. } => None,
        }
    }

    /// The goal of `case` on this backend, if the project set one.
    pub fn goal(&self, case: Case) -> Option<Goal> {
        use Backend::*;
        match (self, case) {
            (Memory, Case::Hold1M) => Some(Goal::MaxPeakMib(600.0)),
            // SQLite and redb: append-8x1 against perfect batching (the
            // raw side of group-8-streams) is judged across rows, in
            // `report::cross_goals`.
            (Postgres(_), Case::Append8x1) => Some(Goal::MinRatio(1.5)),
            (Postgres(_), Case::Append8x1At5M) => Some(Goal::MinRatio(0.8)),
            (_, Case::ConsumeNoop) => Some(Goal::MinRatio(0.5)),
            (Sqlite(_) | Postgres(_), Case::Latency) => Some(Goal::MaxP99Ms(10.0)),
            (_, Case::DispatchGrowth) => Some(Goal::Flat(2.0)),
            // Four partitions over two members against one consumer, with a
            // handler that waits 2 ms: at least 3.5x; with a no-op handler
            // partitioning costs at most 20%.
            (_, Case::PartitionedIo) => Some(Goal::MinRatio(3.5)),
            (_, Case::PartitionedNoop) => Some(Goal::MinRatio(0.8)),
            // A transfer (three commands through the process manager) costs
            // at most 4x one command.
            (Postgres(_), Case::TransferProcess) => Some(Goal::MinRatio(0.25)),
            (Postgres(_), Case::CopyFromSqlite) => Some(Goal::MinRate(20_000.0)),
            (Postgres(_), Case::ProjectionRebuild) => Some(Goal::MinRatio(0.5)),
            // Written once, a projection keeps most of its speed.
            (Sqlite(_) | Postgres(_), Case::ProjectionPortable) => Some(Goal::MinRatio(0.8)),
            (Sqlite(_) | Postgres(_), Case::ProjectionLatency) => Some(Goal::MaxP99Ms(10.0)),
            // A killed writer's 1 GiB file opens within a second.
            (Redb(_), Case::ReopenAfterKill) => Some(Goal::MaxP99Ms(1000.0)),
            // NATS (issue 26): the checks cost at most 20% of bare publishes,
            // an append of 100 (with its 100 claims) 40% of a raw batch of
            // 100, and reads keep up with a raw paging loop.
            (Nats { .. }, Case::Append8x1) => Some(Goal::MinRatio(0.8)),
            (Nats { .. }, Case::Append1x100) => Some(Goal::MinRatio(0.6)),
            (Nats { .. }, Case::ReadAll1000) => Some(Goal::MinRatio(1.0)),
            (Sqlite(_) | Redb(_) | Postgres(_), Case::Append1x100 | Case::ReadAll1000) => {
                Some(Goal::MinRatio(0.7))
            }
            _ => None,
        }
    }
}
