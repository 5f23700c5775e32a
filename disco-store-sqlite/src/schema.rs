//! Opening a connection and creating or checking the schema.
//!
//! A file is checked before anything is written to it: a file that is not a
//! SQLite database, one of another application, or one whose schema is newer
//! than this library is refused and left byte for byte as it was.

use std::path::Path;

use disco_core::{Error, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::errors::db_error;
use crate::options::SqliteOptions;

/// The schema version this library writes and reads.
pub const SCHEMA_VERSION: i64 = 2;
/// `PRAGMA application_id` of a disco file: "DSCO".
pub const APPLICATION_ID: i64 = 0x4453_434f;

const SCHEMA: &str = include_str!("sql/schema.sql");

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

fn with_path(path: &Path, error: Error) -> Error {
    match error {
        Error::Backend(m) => Error::Backend(format!("{}: {m}", path.display())),
        Error::Unavailable(m) => Error::Unavailable(format!("{}: {m}", path.display())),
        other => other,
    }
}

/// Opens the writer's connection: checks what is there, sets WAL and the sync
/// level, and creates the schema if the file is new.
pub(crate) fn open_writer(location: &Location, options: &SqliteOptions) -> Result<Connection> {
    match location {
        Location::Memory => {
            let mut conn = Connection::open_in_memory().map_err(db_error)?;
            configure(&conn, options)?;
            create_schema(&mut conn)?;
            Ok(conn)
        }
        Location::File(path) => {
            let mut conn = Connection::open_with_flags(path, open_flags(true))
                .map_err(|e| with_path(path, db_error(e)))?;
            conn.busy_timeout(options.busy_timeout).map_err(db_error)?;
            let found = check_existing(&conn).map_err(|e| with_path(path, e))?;
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
                .map_err(|e| with_path(path, db_error(e)))?;
            configure(&conn, options)?;
            if found < SCHEMA_VERSION {
                create_schema(&mut conn).map_err(|e| with_path(path, e))?;
            }
            Ok(conn)
        }
    }
}

/// Opens a read connection to an existing file.
pub(crate) fn open_reader(path: &Path, options: &SqliteOptions) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, open_flags(false))
        .map_err(|e| with_path(path, db_error(e)))?;
    conn.busy_timeout(options.busy_timeout).map_err(db_error)?;
    conn.execute_batch("PRAGMA query_only = ON")
        .map_err(db_error)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

fn configure(conn: &Connection, options: &SqliteOptions) -> Result<()> {
    conn.busy_timeout(options.busy_timeout).map_err(db_error)?;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {}; PRAGMA foreign_keys = OFF;",
        options.synchronous.pragma_value()
    ))
    .map_err(db_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Reads the file's application id and schema version without writing, and
/// refuses a file that is not ours to open. Returns the schema version found
/// (0 for a new file).
fn check_existing(conn: &Connection) -> Result<i64> {
    let application_id: i64 = conn
        .query_row("PRAGMA application_id", [], |row| row.get(0))
        .map_err(db_error)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(db_error)?;
    check_versions(application_id, version)?;
    Ok(version)
}

fn check_versions(application_id: i64, version: i64) -> Result<()> {
    if application_id != 0 && application_id != APPLICATION_ID {
        return Err(Error::Backend(format!(
            "the file belongs to another application (application_id {application_id:#x}); disco left it untouched"
        )));
    }
    if application_id == 0 && version != 0 {
        return Err(Error::Backend(format!(
            "the file is a SQLite database of another application (user_version {version}); disco left it untouched"
        )));
    }
    if version > SCHEMA_VERSION {
        return Err(Error::Backend(format!(
            "the file was written by a newer disco (schema version {version}; this disco reads up to {SCHEMA_VERSION}); upgrade disco to open it. The file was left untouched"
        )));
    }
    Ok(())
}

/// Creates the schema in one transaction, re-checking the version inside it:
/// another process may have created it meanwhile.
fn create_schema(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let application_id: i64 = tx
        .query_row("PRAGMA application_id", [], |row| row.get(0))
        .map_err(db_error)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(db_error)?;
    check_versions(application_id, version)?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    tx.execute_batch(SCHEMA).map_err(db_error)?;
    tx.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
    ))
    .map_err(db_error)?;
    tx.commit().map_err(db_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_foreign_and_future_files() {
        assert!(check_versions(0, 0).is_ok());
        assert!(check_versions(APPLICATION_ID, SCHEMA_VERSION).is_ok());
        assert!(check_versions(APPLICATION_ID, SCHEMA_VERSION + 1).is_err());
        assert!(check_versions(0, 3).is_err());
        assert!(check_versions(42, 0).is_err());
    }
}
