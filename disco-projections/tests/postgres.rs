//! The projection cases on the PostgreSQL adapter, with each event store as the
//! source.

mod support;

/// The cases run through each adapter's own projection trait.
pub const PORTABLE: bool = false;

use support::{Source, Target};

mod from_memory {
    use super::*;
    projection_cases!(Target::Postgres, Source::Memory);
}

mod from_sqlite {
    use super::*;
    projection_cases!(Target::Postgres, Source::Sqlite);
}

mod from_redb {
    use super::*;
    projection_cases!(Target::Postgres, Source::Redb);
}

mod from_postgres {
    use super::*;
    projection_cases!(Target::Postgres, Source::Postgres);
}
