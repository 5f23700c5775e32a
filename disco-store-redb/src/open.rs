//! Opening a file: refuse what is not ours before writing anything, create
//! the tables of a new file, and read the head.

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use disco_core::{Error, Result};
use redb::{Database, DatabaseError, ReadableDatabase, TableError};

use crate::errors::db_error;
use crate::options::RedbOptions;
use crate::tables::*;

use disco_backend::registry::with_path;

/// The redb database of a store handle. redb's own `Drop` may panic on a
/// damaged file (its close commits the allocator state); the store's last
/// handle can drop in a caller's thread, and no panic may cross the API, so
/// the drop is caught here.
pub(crate) struct Db(Option<Database>);

impl Db {
    pub(crate) fn new(db: Database) -> Self {
        Db(Some(db))
    }
}

impl std::ops::Deref for Db {
    type Target = Database;

    fn deref(&self) -> &Database {
        // Invariant: Some from `new` until `drop`, which nothing can observe.
        match &self.0 {
            Some(db) => db,
            None => unreachable!("a Db is only empty inside its drop"),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(db) = self.0.take() {
            if catch_unwind(AssertUnwindSafe(move || drop(db))).is_err() {
                tracing::error!("closing the redb file panicked: the file may be damaged");
            }
        }
    }
}

/// The first bytes of every redb file (redb's own magic number).
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// Refuses what is not a redb file before redb sees it: a directory is a
/// mistake in the URL (`InvalidInput`, as SQLite says), and a file that does
/// not start with redb's magic number is another program's (`Foreign`),
/// which redb would report as an I/O error. Returns whether a non-empty
/// file is there.
fn check_file(path: &Path) -> Result<bool> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::Backend(format!("{}: {e}", path.display()))),
    };
    if meta.is_dir() {
        return Err(Error::InvalidInput(format!(
            "{} is a directory; a redb store is a file",
            path.display()
        )));
    }
    if meta.len() == 0 {
        return Ok(false);
    }
    let mut header = [0u8; REDB_MAGIC.len()];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut header));
    match read {
        Ok(()) if header == REDB_MAGIC => Ok(true),
        Ok(()) => Err(foreign(path)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(foreign(path)),
        Err(e) => Err(Error::Backend(format!("{}: {e}", path.display()))),
    }
}

fn foreign(path: &Path) -> Error {
    Error::Foreign {
        location: format!("redb:{}", path.display()),
        objects: vec!["a file that is not a redb database".into()],
    }
}

/// Opens (or creates) the file and returns the database and its head.
pub(crate) fn open(path: &Path, options: &RedbOptions) -> Result<(Db, u64)> {
    let exists = check_file(path)?;
    let mut builder = Database::builder();
    builder.set_cache_size(options.cache_size);
    // Invariant: with the check on, a file altered since redb wrote it is
    // refused by the open (redb's `Corrupted`) instead of reaching a read or
    // a commit, where redb may panic or abort.
    builder.set_check_integrity_on_open(options.check_integrity_on_open);
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
        Ok(Ok(db)) => Db::new(db),
        Ok(Err(e)) => return Err(with_path(path, db_error(e))),
        Err(_) => return Err(with_path(path, damaged())),
    };
    let found = catch_unwind(AssertUnwindSafe(|| format_version(&*db, path)))
        .unwrap_or_else(|_| Err(damaged()))
        .map_err(|e| with_path(path, e))?;
    match found {
        None => create_tables(&db, options.quick_repair).map_err(|e| with_path(path, e))?,
        Some(version) if version < FORMAT_VERSION => {
            upgrade(&db, version, options.quick_repair).map_err(|e| with_path(path, e))?
        }
        Some(_) => {}
    }
    let head = read_head(&db)?;
    Ok((db, head))
}

/// A write transaction, with quick repair as the options say. Invariant
/// (with quick repair, the default): every commit records redb's allocator
/// state, so the open after a crash (a killed process, a power loss) loads
/// it instead of walking the whole file, and recovery takes milliseconds
/// instead of a time that grows with the file (disco-bench's
/// `reopen-after-kill`).
pub(crate) fn begin_write(db: &Database, quick_repair: bool) -> Result<redb::WriteTransaction> {
    let mut txn = db.begin_write().map_err(db_error)?;
    txn.set_quick_repair(quick_repair);
    Ok(txn)
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
        Ok(Ok(db)) => catch_unwind(AssertUnwindSafe(|| {
            if let Some(version) = format_version(&db, path)? {
                check_tables(&db, version)?;
            }
            Ok(())
        }))
        .unwrap_or_else(|_| Err(damaged()))
        .map_err(|e| with_path(path, e)),
        Ok(Err(DatabaseError::RepairAborted)) => Ok(()),
        Ok(Err(e)) => Err(with_path(path, db_error(e))),
        Err(_) => Err(with_path(path, damaged())),
    }
}

/// Opens every table of a disco file with its definition and reads the
/// head, read-only: a damaged table definition (found by the fuzz target
/// of stored files) is refused here, before the read-write open writes to
/// the file, instead of after it.
fn check_tables(db: &redb::ReadOnlyDatabase, version: u64) -> Result<()> {
    let txn = db.begin_read().map_err(db_error)?;
    txn.open_table(STREAM_EVENTS).map_err(db_error)?;
    txn.open_table(EVENT_IDS).map_err(db_error)?;
    txn.open_table(STREAMS).map_err(db_error)?;
    txn.open_table(SNAPSHOTS).map_err(db_error)?;
    txn.open_table(CHECKPOINTS).map_err(db_error)?;
    // A file of an older format is checked by its upgrade.
    if version == FORMAT_VERSION {
        txn.open_table(TAGS).map_err(db_error)?;
        txn.open_table(TYPES).map_err(db_error)?;
        crate::reads::head(&txn)?;
    }
    Ok(())
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

fn upgrade(db: &Database, found: u64, quick_repair: bool) -> Result<()> {
    let txn = begin_write(db, quick_repair)?;
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

fn create_tables(db: &Database, quick_repair: bool) -> Result<()> {
    let txn = begin_write(db, quick_repair)?;
    {
        txn.open_table(EVENTS).map_err(db_error)?;
        txn.open_table(STREAM_EVENTS).map_err(db_error)?;
        txn.open_table(EVENT_IDS).map_err(db_error)?;
        txn.open_table(STREAMS).map_err(db_error)?;
        txn.open_table(SNAPSHOTS).map_err(db_error)?;
        txn.open_table(CHECKPOINTS).map_err(db_error)?;
        txn.open_table(TAGS).map_err(db_error)?;
        txn.open_table(TYPES).map_err(db_error)?;
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
