//! For a store crate's `build.rs`: embeds the numbered files of its
//! `migrations/` directory (`NNNN_name.sql`), in order, as the list the store
//! applies, so a migration is added by adding its file.
//!
//! ```no_run
//! // build.rs of a store crate
//! disco_backend::migrations::embed("migrations", "migrations.rs");
//! // and in the crate:
//! // const MIGRATIONS: &[(i64, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
//! ```

use std::fmt::Write;
use std::path::Path;

/// Writes `OUT_DIR/out` as a Rust expression `&[(version, include_str!(file)), ...]`
/// over the `.sql` files of `dir` (relative to the crate), and tells cargo
/// to build again when `dir` changes. Panics (failing the build) on a file
/// whose name does not start with four digits or a gap in the numbering.
// A build script's helper: a panic is how it fails the build, with the
// reason, and it never runs inside a store.
#[allow(clippy::panic, clippy::arithmetic_side_effects)]
pub fn embed(dir: &str, out: &str) {
    println!("cargo:rerun-if-changed={dir}");
    let manifest =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|e| panic!("CARGO_MANIFEST_DIR: {e}"));
    let dir = Path::new(&manifest).join(dir);
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut files: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    files.sort();
    let mut list = String::from("&[\n");
    for (index, name) in files.iter().enumerate() {
        let version: u32 = name
            .get(..4)
            .and_then(|digits| digits.parse().ok())
            .unwrap_or_else(|| panic!("migration {name} does not start with four digits"));
        // Invariant: migrations are numbered 1, 2, 3, ... without a gap.
        assert_eq!(
            version as usize,
            index + 1,
            "migration {name} is out of sequence"
        );
        let path = dir.join(name).display().to_string();
        let _ = writeln!(list, "    ({version}, include_str!({path:?})),");
    }
    list.push(']');
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}"));
    let out = Path::new(&out_dir).join(out);
    std::fs::write(&out, list).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
