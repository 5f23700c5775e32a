//! Opening a connection and creating, upgrading or checking the schema.
//!
//! What an open does with what it finds (the same table is in the crate's
//! README):
//!
//! | found at the path | default open | `create_if_missing(false)` | `migrate(false)` |
//! |---|---|---|---|
//! | nothing, or an empty (0-byte) file | creates the store | `NoStore` | creates |
//! | a file that is not a SQLite database | `Foreign` | `Foreign` | `Foreign` |
//! | another application's database (its `application_id`/`user_version`) | `Foreign` | `Foreign` | `Foreign` |
//! | a SQLite database with no objects | adopts it (creates the store) | `NoStore` | adopts |
//! | a SQLite database with other tables | `Foreign`, unless `share_database(true)` | `Foreign` | as the default |
//! | a disco store of an older version | upgrades it | upgrades | `IncompatibleSchema` |
//! | a disco store of this version (other tables beside it or not) | opens | opens | opens |
//! | a disco store of a newer version | `IncompatibleSchema` | same | same |
//!
//! Every refusal happens before anything is written: the file is left byte
//! for byte as it was.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use disco_core::{Error, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::errors::db_error;
use crate::options::SqliteOptions;

/// The schema version this library writes and reads.
// Evaluated at compile time: an empty list fails the build, never a caller.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;
/// `PRAGMA application_id` of a disco file: "DSCO".
pub const APPLICATION_ID: i64 = 0x4453_434f;

/// The migrations, in order: (the version a file has after it, SQL). An
/// open applies every one above the version the file records.
/// (`build.rs` lists `migrations/`; adding a file adds the migration.)
pub(crate) const MIGRATIONS: &[(i64, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
const FOREIGN_OBJECTS: &str = include_str!("sql/foreign_objects.sql");
const DROP_STORE: &str = include_str!("sql/drop_store.sql");
/// The first 16 bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Every shipped migration's version and checksum (FNV-1a over its text),
/// for the test that shipped migrations never change.
pub fn migration_checksums() -> Vec<(i64, String)> {
    MIGRATIONS
        .iter()
        .map(|(version, sql)| (*version, disco_backend::checksum::hex(sql.as_bytes())))
        .collect()
}

/// Where the database lives.
#[derive(Clone, Debug)]
pub(crate) enum Location {
    File(std::path::PathBuf),
    Memory,
}

fn open_flags(create: bool) -> OpenFlags {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    flags
}

pub(crate) use disco_backend::registry::with_path;

fn location(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

/// What the file at `path` is, read without SQLite (which treats a short
/// file of any content as an empty database): missing, empty, a SQLite
/// database, or something else.
#[derive(Debug, PartialEq, Eq)]
enum FileKind {
    Missing,
    Empty,
    Sqlite,
    Other,
}

fn file_kind(path: &Path) -> Result<FileKind> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::Missing),
        Err(e) => return Err(Error::Backend(format!("{}: {e}", path.display()))),
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::Backend(format!("{}: {e}", path.display())))?;
    if meta.is_dir() {
        return Err(Error::InvalidInput(format!(
            "{} is a directory; a SQLite store is a file",
            path.display()
        )));
    }
    if meta.len() == 0 {
        return Ok(FileKind::Empty);
    }
    let mut header = [0u8; 16];
    let kind = match file.read_exact(&mut header) {
        Ok(()) if &header == SQLITE_HEADER => FileKind::Sqlite,
        _ => FileKind::Other,
    };
    Ok(kind)
}

/// Opens the writer's connection: checks what is there, sets WAL and the sync
/// level, and creates or upgrades the schema as the options allow.
///
/// Concurrent first opens of one new file (several tasks or processes) all
/// succeed: a lock conflict during the open (the WAL switch, the schema
/// creation) is retried until the busy timeout has passed.
pub(crate) fn open_writer(location: &Location, options: &SqliteOptions) -> Result<Connection> {
    match location {
        Location::Memory => {
            let mut conn = Connection::open_in_memory().map_err(db_error)?;
            configure(&conn, options)?;
            // A private in-memory database is always new: create it.
            create_schema(&mut conn, Path::new(":memory:"), &SqliteOptions::default())?;
            Ok(conn)
        }
        Location::File(path) => {
            let deadline = disco_core::clock::deadline_after(options.busy_timeout);
            let mut pause = Duration::from_millis(2);
            loop {
                match open_file_writer(path, options) {
                    Err(Error::Unavailable(_)) if Instant::now() < deadline => {
                        std::thread::sleep(pause);
                        pause = pause.saturating_mul(2).min(Duration::from_millis(50));
                    }
                    other => return other.map_err(|e| with_path(path, e)),
                }
            }
        }
    }
}

fn open_file_writer(path: &Path, options: &SqliteOptions) -> Result<Connection> {
    let kind = file_kind(path)?;
    match kind {
        FileKind::Missing | FileKind::Empty if !options.create_if_missing => {
            return Err(Error::NoStore {
                location: location(path),
            })
        }
        FileKind::Other => {
            return Err(Error::Foreign {
                location: location(path),
                objects: vec!["a file that is not a SQLite database".into()],
            })
        }
        _ => {}
    }
    let mut conn = Connection::open_with_flags(path, open_flags(kind == FileKind::Missing))
        .map_err(db_error)?;
    conn.busy_timeout(options.sqlite_busy_timeout())
        .map_err(db_error)?;
    let found = check_existing(&conn, path, options)?;
    if found == SCHEMA_VERSION {
        // Ours and current: nothing to create. WAL is already set.
        configure(&conn, options)?;
        return Ok(conn);
    }
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .map_err(db_error)?;
    configure(&conn, options)?;
    create_schema(&mut conn, path, options)?;
    Ok(conn)
}

/// Opens a read connection to an existing file.
pub(crate) fn open_reader(path: &Path, options: &SqliteOptions) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, open_flags(false))
        .map_err(|e| with_path(path, db_error(e)))?;
    conn.busy_timeout(options.sqlite_busy_timeout())
        .map_err(db_error)?;
    conn.execute_batch(&format!(
        "PRAGMA query_only = ON; PRAGMA mmap_size = {};",
        options.mmap_size.min(i64::MAX.unsigned_abs())
    ))
    .map_err(db_error)?;
    crate::partition_fn::register(&conn).map_err(db_error)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

fn configure(conn: &Connection, options: &SqliteOptions) -> Result<()> {
    conn.busy_timeout(options.sqlite_busy_timeout())
        .map_err(db_error)?;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {}; PRAGMA foreign_keys = OFF; PRAGMA mmap_size = {};",
        options.synchronous.pragma_value(),
        options.mmap_size.min(i64::MAX.unsigned_abs())
    ))
    .map_err(db_error)?;
    crate::partition_fn::register(conn).map_err(db_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Reads the file's application id, schema version and objects without
/// writing, and refuses what is not ours to open (or create, or upgrade)
/// under `options`. Returns the schema version found (0 for a database
/// disco may adopt).
fn check_existing(conn: &Connection, path: &Path, options: &SqliteOptions) -> Result<i64> {
    // One read transaction: the three reads see one state of the file, so a
    // concurrent first open's commit cannot fall between them.
    let tx = conn.unchecked_transaction().map_err(db_error)?;
    let application_id: i64 = tx
        .query_row("PRAGMA application_id", [], |row| row.get(0))
        .map_err(db_error)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(db_error)?;
    let others = foreign_objects(&tx)?;
    tx.commit().map_err(db_error)?;
    decide(path, application_id, version, &others, options)
}

fn foreign_objects(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare(FOREIGN_OBJECTS).map_err(db_error)?;
    let rows = st
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(db_error)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_error)
}

/// The open table of the module docs, as one decision over what was found.
fn decide(
    path: &Path,
    application_id: i64,
    version: i64,
    others: &[String],
    options: &SqliteOptions,
) -> Result<i64> {
    let foreign = |objects: Vec<String>| Error::Foreign {
        location: location(path),
        objects,
    };
    if application_id != APPLICATION_ID {
        if application_id != 0 {
            return Err(foreign(vec![format!(
                "a database of another application (application_id {application_id:#x})"
            )]));
        }
        if version != 0 {
            return Err(foreign(vec![format!(
                "a database of another application (user_version {version})"
            )]));
        }
        if !options.create_if_missing {
            return Err(if others.is_empty() {
                Error::NoStore {
                    location: location(path),
                }
            } else {
                foreign(others.to_vec())
            });
        }
        // Invariant: disco installs its tables beside other objects only when told to.
        if !others.is_empty() && !options.share_database {
            let mut objects = others.to_vec();
            objects.push("(open with SqliteOptions::share_database(true) to keep disco's tables beside them)".into());
            return Err(foreign(objects));
        }
        return Ok(0);
    }
    if version > SCHEMA_VERSION || (version < SCHEMA_VERSION && !options.migrate) {
        return Err(Error::IncompatibleSchema {
            location: location(path),
            found: version.max(0) as u64,
            supported: SCHEMA_VERSION as u64,
        });
    }
    Ok(version)
}

/// Creates or upgrades the schema in one transaction, re-checking what is
/// there inside it: another process may have created it meanwhile.
fn create_schema(conn: &mut Connection, path: &Path, options: &SqliteOptions) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let application_id: i64 = tx
        .query_row("PRAGMA application_id", [], |row| row.get(0))
        .map_err(db_error)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(db_error)?;
    let others = foreign_objects(&tx)?;
    let found = decide(path, application_id, version, &others, options)?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    for (_, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        tx.execute_batch(sql).map_err(db_error)?;
    }
    tx.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
    ))
    .map_err(db_error)?;
    tx.commit().map_err(db_error)
}

/// What [`drop_store`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// disco's tables were dropped and the file, then holding nothing else,
    /// was deleted (with its `-wal` and `-shm` files).
    File,
    /// disco's tables were dropped; the file stays with these other objects.
    Tables {
        /// The objects left in the file (`table customers`, ...).
        kept: Vec<String>,
    },
}

/// Drops the disco store in the SQLite file at `path`: exactly disco's own
/// tables, in one transaction, and nothing else. If the file then holds no
/// other object it is deleted. A missing file is [`Error::NoStore`]; a file
/// with no disco store in it is refused with [`Error::Foreign`] listing what
/// is there (or [`Error::NoStore`] if it is an empty database), untouched.
/// No store handle may have the file open.
pub fn drop_store(path: &Path) -> Result<Dropped> {
    let kind = file_kind(path)?;
    let none = || Error::NoStore {
        location: location(path),
    };
    match kind {
        FileKind::Missing | FileKind::Empty => return Err(none()),
        FileKind::Other => {
            return Err(Error::Foreign {
                location: location(path),
                objects: vec!["a file that is not a SQLite database".into()],
            })
        }
        FileKind::Sqlite => {}
    }
    let mut conn = Connection::open_with_flags(path, open_flags(false))
        .map_err(|e| with_path(path, db_error(e)))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(db_error)?;
    let application_id: i64 = conn
        .query_row("PRAGMA application_id", [], |row| row.get(0))
        .map_err(db_error)?;
    let others = foreign_objects(&conn)?;
    if application_id != APPLICATION_ID {
        return Err(if others.is_empty() && application_id == 0 {
            none()
        } else {
            Error::Foreign {
                location: location(path),
                objects: others,
            }
        });
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    tx.execute_batch(DROP_STORE).map_err(db_error)?;
    tx.commit().map_err(db_error)?;
    if !others.is_empty() {
        return Ok(Dropped::Tables { kept: others });
    }
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::Backend(format!(
                    "cannot remove {}: {e}",
                    file.display()
                )))
            }
        }
    }
    Ok(Dropped::File)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(app: i64, version: i64, others: &[&str], options: &SqliteOptions) -> Result<i64> {
        let others: Vec<String> = others.iter().map(|s| s.to_string()).collect();
        decide(Path::new("x.db"), app, version, &others, options)
    }

    #[test]
    fn refuses_foreign_and_future_files() {
        let default = SqliteOptions::default();
        assert_eq!(check(0, 0, &[], &default), Ok(0));
        assert_eq!(
            check(APPLICATION_ID, SCHEMA_VERSION, &[], &default),
            Ok(SCHEMA_VERSION)
        );
        assert!(matches!(
            check(APPLICATION_ID, SCHEMA_VERSION + 1, &[], &default),
            Err(Error::IncompatibleSchema {
                found: 5,
                supported: 4,
                ..
            })
        ));
        assert!(matches!(
            check(0, 3, &[], &default),
            Err(Error::Foreign { .. })
        ));
        assert!(matches!(
            check(42, 0, &[], &default),
            Err(Error::Foreign { .. })
        ));
    }

    #[test]
    fn adopts_a_database_with_other_tables_only_when_told() {
        let default = SqliteOptions::default();
        let tables = ["table customers"];
        assert!(matches!(
            check(0, 0, &tables, &default),
            Err(Error::Foreign { .. })
        ));
        let shared = SqliteOptions::default().share_database(true);
        assert_eq!(check(0, 0, &tables, &shared), Ok(0));
        // A disco store that shares its file opens without the option.
        assert_eq!(
            check(APPLICATION_ID, SCHEMA_VERSION, &tables, &default),
            Ok(SCHEMA_VERSION)
        );
    }

    #[test]
    fn existing_only_opens_neither_create_nor_migrate() {
        let existing = SqliteOptions::default()
            .create_if_missing(false)
            .migrate(false);
        assert!(matches!(
            check(0, 0, &[], &existing),
            Err(Error::NoStore { .. })
        ));
        assert!(matches!(
            check(0, 0, &["table t"], &existing),
            Err(Error::Foreign { .. })
        ));
        assert!(matches!(
            check(APPLICATION_ID, 2, &[], &existing),
            Err(Error::IncompatibleSchema {
                found: 2,
                supported: 4,
                ..
            })
        ));
    }
}
