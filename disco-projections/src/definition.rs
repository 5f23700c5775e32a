//! [`Projection`]: what every projection declares, whatever database it
//! writes to, and [`Tables`], the names of its tables in one generation.

use disco_cqrs::DomainEvent;

use crate::error::ProjectionError;
use crate::interest::Interest;

/// A read model's definition: its name, version, the events it wants and
/// the tables it keeps. The database-specific traits
/// (`sqlite::SqliteProjection`, `postgres::PgProjection`) add how it creates
/// its tables and applies an event.
///
/// Queries read each table through a view named as the table; the
/// projection writes `{table}_g{generation}` (see [`Tables`]), so a rebuild
/// fills new tables while the view still shows the old ones, and the switch
/// re-points the views in one transaction.
pub trait Projection: Send + Sync + 'static {
    /// The events it decodes (events of other types must not pass its
    /// [`Projection::interest`]).
    type Event: DomainEvent;
    /// Its name: the bookkeeping row's and the lease's.
    const NAME: &'static str;
    /// Its version: raising it rebuilds it blue-green (the new version is
    /// built into new tables from position 0, then switched to).
    const VERSION: u32 = 1;
    /// The tables it keeps (letters, digits and `_`, not starting with a
    /// digit or `disco_`; at most 48 bytes): the names queries use.
    const TABLES: &'static [&'static str];

    /// The events it wants.
    fn interest() -> Interest;
}

/// The physical names of a projection's tables in one generation.
///
/// ```
/// use disco::projections::Tables;
/// let tables = Tables::new(3, &["wallets"]).unwrap();
/// assert_eq!(tables.name("wallets"), "wallets_g3");
/// assert_eq!(tables.generation(), 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    generation: u32,
    logical: Vec<String>,
}

/// The longest table name a projection may declare.
pub const MAX_TABLE_NAME_LEN: usize = 48;

impl Tables {
    /// The tables `logical` in `generation`; refuses a name that is not a
    /// plain SQL identifier.
    pub fn new(generation: u32, logical: &[&str]) -> Result<Self, ProjectionError> {
        for name in logical {
            check_table_name(name)?;
        }
        Ok(Tables {
            generation,
            logical: logical.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// The generation.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The physical name of the logical table `logical` in this generation.
    pub fn name(&self, logical: &str) -> String {
        physical(logical, self.generation)
    }

    /// The logical names.
    pub fn logical(&self) -> &[String] {
        &self.logical
    }
}

pub(crate) fn physical(logical: &str, generation: u32) -> String {
    format!("{logical}_g{generation}")
}

/// Invariant: a table (or schema) name is a plain identifier, so it is
/// safe to put in SQL text unquoted.
pub(crate) fn check_identifier(what: &str, name: &str) -> Result<(), ProjectionError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok || !rest_ok || name.len() > MAX_TABLE_NAME_LEN {
        return Err(ProjectionError::Invalid(format!(
            "{what} name {name:?}: use letters, digits and _, not starting with a digit, at most {MAX_TABLE_NAME_LEN} bytes"
        )));
    }
    Ok(())
}

pub(crate) fn check_table_name(name: &str) -> Result<(), ProjectionError> {
    check_identifier("table", name)?;
    if name.starts_with("disco_") {
        return Err(ProjectionError::Invalid(format!(
            "table name {name:?}: names starting with disco_ are disco's"
        )));
    }
    Ok(())
}
