//! Small helpers the cases share; adapters' own tests may use them too.

use disco_core::{
    AppendResult, Error, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId,
};

/// A stream id that is known to be valid.
pub fn sid(id: &str) -> StreamId {
    match StreamId::new(id) {
        Ok(id) => id,
        Err(e) => panic!("test stream id {id:?} is invalid: {e}"),
    }
}

/// An event of type `event_type` whose data is the type's bytes.
pub fn ev(event_type: &str) -> NewEvent {
    NewEvent::new(event_type, event_type.as_bytes().to_vec())
}

/// `n` events of types `E1`, `E2`, ...
pub fn evs(n: usize) -> Vec<NewEvent> {
    (1..=n).map(|i| ev(&format!("E{i}"))).collect()
}

/// Appends and panics with the error if the append fails.
pub async fn append_ok(
    store: &dyn EventStore,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
) -> AppendResult {
    match store.append(stream, expected, events).await {
        Ok(result) => result,
        Err(e) => panic!("append to {stream} with {expected:?} failed: {e}"),
    }
}

/// Every event of the store in position order, read in pages of `page`.
pub async fn read_everything(store: &dyn EventStore, page: usize) -> Vec<RecordedEvent> {
    let mut all: Vec<RecordedEvent> = Vec::new();
    loop {
        let after = all.last().map_or(0, |e| e.position);
        let batch = match store.read_all(after, page).await {
            Ok(batch) => batch,
            Err(e) => panic!("read_all after {after} failed: {e}"),
        };
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

/// Every event of `stream`, forward.
pub async fn read_stream_all(store: &dyn EventStore, stream: &StreamId) -> Vec<RecordedEvent> {
    match store
        .read_stream(stream, 1, disco_core::ReadDirection::Forward, usize::MAX)
        .await
    {
        Ok(events) => events,
        Err(e) => panic!("read_stream {stream} failed: {e}"),
    }
}

/// Panics unless `result` is a `WrongExpectedVersion` with these fields.
pub fn assert_wrong_version<T: std::fmt::Debug>(
    result: Result<T, Error>,
    stream: &StreamId,
    expected: ExpectedVersion,
    actual: u64,
) {
    match result {
        Err(Error::WrongExpectedVersion {
            stream: s,
            expected: e,
            actual: a,
        }) => {
            assert_eq!(&s, stream, "WrongExpectedVersion names the wrong stream");
            assert_eq!(e, expected, "WrongExpectedVersion reports the wrong expected version");
            assert_eq!(a, actual, "WrongExpectedVersion reports the wrong actual version");
        }
        other => panic!(
            "expected WrongExpectedVersion({expected:?}, actual {actual}) on {stream}, got {other:?}"
        ),
    }
}

/// Panics unless `result` is a `StreamDeleted` error.
pub fn assert_deleted<T: std::fmt::Debug>(result: Result<T, Error>) {
    assert!(
        matches!(result, Err(Error::StreamDeleted { .. })),
        "expected StreamDeleted, got {result:?}"
    );
}

/// Panics unless `result` is an `InvalidInput` error.
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Error>) {
    assert!(
        matches!(result, Err(Error::InvalidInput(_))),
        "expected InvalidInput, got {result:?}"
    );
}

/// Panics unless `result` is a `DuplicateEventId` error.
pub fn assert_duplicate<T: std::fmt::Debug>(result: Result<T, Error>) {
    assert!(
        matches!(result, Err(Error::DuplicateEventId { .. })),
        "expected DuplicateEventId, got {result:?}"
    );
}

/// Unwraps a store call's result, naming the call when it failed.
pub fn ok<T>(result: Result<T, Error>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{what} failed: {e}"),
    }
}

/// A fresh directory under the system temp dir for a store's files, removed
/// (with everything in it) when dropped.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates `disco-test-{tag}-{random}` under the temp dir; panics with
    /// the reason if it cannot.
    pub fn new(tag: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("disco-test-{tag}-{}", disco_core::Uuid::new_v4()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create the test directory {}: {e}", dir.display());
        }
        TempDir(dir)
    }

    /// A path named `name` inside the directory.
    pub fn file(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
