//! Mapping redb's errors onto the contract's [`Error`].

use std::io::ErrorKind;

use disco_core::Error;

/// Maps any redb error. A file held by another process is `Unavailable`
/// (retryable), and so is an I/O failure that may pass (a full disk, an
/// interrupted call); a file that is not redb's or is damaged, a missing or
/// forbidden path, and everything else are `Backend`.
pub(crate) fn db_error(error: impl Into<redb::Error>) -> Error {
    let error: redb::Error = error.into();
    match &error {
        redb::Error::DatabaseAlreadyOpen => Error::Unavailable(
            "the redb file is open in another process (redb allows one process per file)".into(),
        ),
        redb::Error::Corrupted(_) => Error::Backend(format!("the redb file is corrupted: {error}")),
        redb::Error::Io(io) => match io.kind() {
            ErrorKind::InvalidData | ErrorKind::UnexpectedEof => Error::Backend(format!(
                "the file is not a redb database or is damaged: {io}"
            )),
            ErrorKind::NotFound | ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
                Error::Backend(format!(
                    "cannot open the file; does its directory exist and is it writable? ({io})"
                ))
            }
            _ => Error::Unavailable(format!("I/O error: {io}")),
        },
        _ => Error::Backend(error.to_string()),
    }
}
