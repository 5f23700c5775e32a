//! Mapping redb's errors onto the contract's [`Error`].

use std::io::ErrorKind;

use disco_core::Error;

/// Maps any redb error. A file held by another process is `Unavailable`
/// (retryable), and so is an I/O failure that may pass (a full disk, an
/// interrupted call); a file that is not redb's or is damaged (including an
/// I/O call at an offset the operating system refuses, or a write past the
/// largest file it allows), a missing or forbidden path, and everything else
/// are `Backend`.
pub(crate) fn db_error(error: impl Into<redb::Error>) -> Error {
    let error: redb::Error = error.into();
    match &error {
        redb::Error::DatabaseAlreadyOpen => Error::Unavailable(
            "the redb file is open in another process (redb allows one process per file)".into(),
        ),
        redb::Error::Corrupted(_) => Error::Backend(format!("the redb file is corrupted: {error}")),
        // EFBIG (27 on Linux, macOS and the BSDs; `ErrorKind::FileTooLarge`
        // is newer than the workspace's MSRV): a write past what the file
        // may hold, from a damaged page reference or the file system's
        // limit; a retry meets it again.
        redb::Error::Io(io) if cfg!(unix) && io.raw_os_error() == Some(27) => {
            Error::Backend(format!(
            "the redb file cannot grow there (damaged, or at the file system's size limit): {io}"
        ))
        }
        redb::Error::Io(io) => match io.kind() {
            // disco hands redb no offsets of its own: a read or write the
            // operating system calls invalid (an offset beyond what a file
            // can hold) comes from a damaged page reference, which a retry
            // meets again.
            ErrorKind::InvalidData | ErrorKind::UnexpectedEof | ErrorKind::InvalidInput => {
                Error::Backend(format!(
                    "the file is not a redb database or is damaged: {io}"
                ))
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn io(kind: ErrorKind) -> Error {
        db_error(redb::Error::Io(std::io::Error::from(kind)))
    }

    #[test]
    fn damage_is_not_retryable() {
        for kind in [
            ErrorKind::InvalidData,
            ErrorKind::UnexpectedEof,
            ErrorKind::InvalidInput,
        ] {
            let error = io(kind);
            assert!(
                matches!(&error, Error::Backend(m) if m.contains("damaged")),
                "{kind:?} answered {error:?}"
            );
        }
    }

    /// EFBIG's number is the Unix one: elsewhere the test is not built,
    /// rather than passing without a check.
    #[cfg(unix)]
    #[test]
    fn a_write_past_the_largest_file_is_not_retryable() {
        let error = db_error(redb::Error::Io(std::io::Error::from_raw_os_error(27)));
        assert!(
            matches!(&error, Error::Backend(m) if m.contains("cannot grow")),
            "EFBIG answered {error:?}"
        );
    }

    #[test]
    fn a_passing_failure_is_retryable() {
        for kind in [ErrorKind::Interrupted, ErrorKind::TimedOut] {
            let error = io(kind);
            assert!(error.is_retryable(), "{kind:?} answered {error:?}");
        }
    }
}
