//! Embeds the numbered files of `migrations/` as the list the store applies.

fn main() {
    disco_backend::migrations::embed("migrations", "migrations.rs");
}
