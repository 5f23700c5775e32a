//! Embeds every numbered file of `migrations/` (`NNNN_name.sql`), in order,
//! as the list the store applies: a migration is added by adding its file.

use std::fmt::Write;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
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
        let path = dir.join(name);
        let _ = writeln!(
            list,
            "    ({version}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    list.push(']');
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}")))
        .join("migrations.rs");
    std::fs::write(&out, list).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
