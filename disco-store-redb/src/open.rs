//! Opening a file: refuse what is not ours before writing anything, create
//! the tables of a new file, and read the head.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use disco_core::{Error, Result};
use redb::{Database, DatabaseError, ReadableDatabase, TableError};

use crate::errors::db_error;
use crate::options::RedbOptions;
use crate::tables::*;

use disco_backend::registry::with_path;

/// Opens (or creates) the file and returns the database and its head.
pub(crate) fn open(path: &Path, options: &RedbOptions) -> Result<(Database, u64)> {
    let exists = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    let mut builder = Database::builder();
    builder.set_cache_size(options.cache_size);
    builder.set_repair_callback(|session| {
        tracing::info!(
            progress = session.progress(),
            "repairing the redb file after an unclean shutdown"
        );
    });
    if exists {
        check_before_writing(&builder, path)?;
    }
    // redb may panic on some damaged files (debug builds check invariants
    // with assertions); no panic may cross our API.
    let opened = catch_unwind(AssertUnwindSafe(|| {
        if exists {
            builder.open(path)
        } else {
            builder.create(path)
        }
    }));
    let db = match opened {
        Ok(Ok(db)) => db,
        Ok(Err(e)) => return Err(with_path(path, db_error(e))),
        Err(_) => return Err(with_path(path, damaged())),
    };
    let found = catch_unwind(AssertUnwindSafe(|| format_version(&db, path)))
        .unwrap_or_else(|_| Err(damaged()))
        .map_err(|e| with_path(path, e))?;
    match found {
        None => create_tables(&db).map_err(|e| with_path(path, e))?,
        Some(version) if version < FORMAT_VERSION => {
            upgrade(&db, version).map_err(|e| with_path(path, e))?
        }
        Some(_) => {}
    }
    let head = read_head(&db)?;
    Ok((db, head))
}

fn damaged() -> Error {
    Error::Backend("the file is damaged: redb could not read it".into())
}

/// Opening read-write writes to the file even when we then refuse it, so an
/// existing file is first checked through a read-only open, which does not.
/// A file that needs repair after an unclean shutdown cannot be opened
/// read-only; it is checked after the repair.
fn check_before_writing(builder: &redb::Builder, path: &Path) -> Result<()> {
    match catch_unwind(AssertUnwindSafe(|| builder.open_read_only(path))) {
        Ok(Ok(db)) => catch_unwind(AssertUnwindSafe(|| format_version(&db, path)))
            .unwrap_or_else(|_| Err(damaged()))
            .map(|_| ())
            .map_err(|e| with_path(path, e)),
        Ok(Err(DatabaseError::RepairAborted)) => Ok(()),
        Ok(Err(e)) => Err(with_path(path, db_error(e))),
        Err(_) => Err(with_path(path, damaged())),
    }
}

/// The format version of the file, `None` for a file without tables; refuses
/// another application's file ([`Error::Foreign`]) and one from a newer
/// disco ([`Error::IncompatibleSchema`]).
fn format_version(db: &impl ReadableDatabase, path: &Path) -> Result<Option<u64>> {
    let location = || format!("redb:{}", path.display());
    let txn = db.begin_read().map_err(db_error)?;
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(TableError::TableDoesNotExist(_)) => {
            let tables: Vec<String> = txn
                .list_tables()
                .map_err(db_error)?
                .map(|t| format!("table {}", redb::TableHandle::name(&t)))
                .collect();
            return if tables.is_empty() {
                Ok(None)
            } else {
                Err(Error::Foreign {
                    location: location(),
                    objects: tables,
                })
            };
        }
        Err(e) => return Err(db_error(e)),
    };
    let version = meta
        .get("format_version")
        .map_err(db_error)?
        .map(|v| v.value())
        .ok_or_else(|| Error::Backend("the file has disco tables but no format version".into()))?;
    if version > FORMAT_VERSION {
        return Err(Error::IncompatibleSchema {
            location: location(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    Ok(Some(version))
}

fn upgrade(db: &Database, found: u64) -> Result<()> {
    let txn = db.begin_write().map_err(db_error)?;
    for (version, step) in UPGRADES.iter().filter(|(v, _)| *v > found) {
        step(&txn)?;
        tracing::info!(version, "upgraded the redb file's format");
    }
    txn.open_table(META)
        .map_err(db_error)?
        .insert("format_version", FORMAT_VERSION)
        .map_err(db_error)?;
    txn.commit().map_err(db_error)
}

fn create_tables(db: &Database) -> Result<()> {
    let txn = db.begin_write().map_err(db_error)?;
    {
        txn.open_table(EVENTS).map_err(db_error)?;
        txn.open_table(STREAM_EVENTS).map_err(db_error)?;
        txn.open_table(EVENT_IDS).map_err(db_error)?;
        txn.open_table(STREAMS).map_err(db_error)?;
        txn.open_table(SNAPSHOTS).map_err(db_error)?;
        txn.open_table(CHECKPOINTS).map_err(db_error)?;
        let mut meta = txn.open_table(META).map_err(db_error)?;
        meta.insert("format_version", FORMAT_VERSION)
            .map_err(db_error)?;
        meta.insert("head", 0).map_err(db_error)?;
    }
    txn.commit().map_err(db_error)
}

/// The head: the last position of the events table or the one recorded
/// before a hard delete, whichever is higher.
pub(crate) fn read_head(db: &Database) -> Result<u64> {
    let txn = db.begin_read().map_err(db_error)?;
    crate::reads::head(&txn)
}
