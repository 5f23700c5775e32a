//! A fresh directory for one test's files, removed with them when dropped.

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates `disco-test-{tag}-{random}`; panics with the reason if it
    /// cannot.
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("disco-test-{tag}-{}", disco::Uuid::new_v4()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create the test directory {}: {e}", dir.display());
        }
        TempDir(dir)
    }

    /// A path named `name` inside the directory.
    #[allow(dead_code)]
    pub fn file(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }

    /// The directory.
    #[allow(dead_code)]
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
