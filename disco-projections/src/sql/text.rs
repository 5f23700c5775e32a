//! The SQL text of a portable statement: `{table}` made the generation's
//! table, and `$N` parameters read.

use crate::definition::Tables;
use crate::error::ProjectionError;

/// `sql` with each `{name}` of one of `tables` replaced by its physical
/// name in the generation. A `{name}` that is a plain identifier but none
/// of the tables is refused (a typo would write elsewhere); other braces
/// (JSON in a literal) are left as they are.
///
pub(crate) fn render(sql: &str, tables: &Tables) -> Result<String, ProjectionError> {
    let mut out = String::with_capacity(sql.len().saturating_add(16));
    let mut rest = sql;
    while let Some(open) = rest.find('{') {
        let (before, from_brace) = rest.split_at(open);
        out.push_str(before);
        let inside = from_brace.get(1..).unwrap_or("");
        let name_len = inside
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inside.len());
        let (name, after) = inside.split_at(name_len);
        match after.strip_prefix('}') {
            Some(after_close) if !name.is_empty() => {
                if !tables.logical().iter().any(|t| t == name) {
                    return Err(ProjectionError::Invalid(format!(
                        "{{{name}}} in a statement is not one of the projection's tables ({})",
                        tables.logical().join(", ")
                    )));
                }
                out.push_str(&tables.name(name));
                rest = after_close;
            }
            _ => {
                out.push('{');
                rest = inside;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The highest `N` of the `$N` parameters in `sql`, outside quoted text
/// and quoted names (0: none).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn highest_parameter(sql: &str) -> usize {
    let mut highest = 0usize;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '$') => {
                let digits: String =
                    std::iter::from_fn(|| chars.next_if(char::is_ascii_digit)).collect();
                if let Ok(n) = digits.parse::<usize>() {
                    highest = highest.max(n);
                }
            }
            (None, _) => {}
        }
    }
    highest
}

/// Whether `args` are exactly the values of `sql`'s `$1..$N`.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn check_arity(sql: &str, given: usize) -> Result<(), String> {
    let highest = highest_parameter(sql);
    if highest > given {
        return Err(format!("${highest} has no value ({given} given)"));
    }
    if given > highest {
        return Err(format!(
            "{given} values given to a statement that uses {highest}"
        ));
    }
    Ok(())
}

/// The number `N` of a parameter named `$N` (1 or more).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn parameter_number(name: &str) -> Option<usize> {
    let digits = name.strip_prefix('$')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n: &usize| *n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_renamed_and_other_braces_kept() {
        let tables = Tables::new(3, &["totals", "names"]).unwrap();
        assert_eq!(
            render(
                "INSERT INTO {totals} SELECT * FROM {names} WHERE x = '{}' AND y = '{\"a\":1}'",
                &tables
            )
            .unwrap(),
            "INSERT INTO totals_g3 SELECT * FROM names_g3 WHERE x = '{}' AND y = '{\"a\":1}'"
        );
        assert!(render("UPDATE {total} SET x = 1", &tables).is_err());
        assert_eq!(render("{", &tables).unwrap(), "{");
        assert_eq!(render("a {totals", &tables).unwrap(), "a {totals");
    }

    #[test]
    fn the_highest_parameter_is_found_outside_quotes() {
        assert_eq!(highest_parameter("VALUES ($1, $3, $2)"), 3);
        assert_eq!(
            highest_parameter("SELECT '$9', \"$8\" FROM t WHERE a = $2"),
            2
        );
        assert_eq!(highest_parameter("SELECT 1"), 0);
        assert!(check_arity("VALUES ($1, $2)", 1).is_err());
        assert!(check_arity("VALUES ($1)", 2).is_err());
        assert!(check_arity("VALUES ($1, $1)", 1).is_ok());
    }

    #[test]
    fn parameters_are_dollar_numbers() {
        assert_eq!(parameter_number("$1"), Some(1));
        assert_eq!(parameter_number("$12"), Some(12));
        assert_eq!(parameter_number("$0"), None);
        assert_eq!(parameter_number("?1"), None);
        assert_eq!(parameter_number(":a"), None);
        assert_eq!(parameter_number("$"), None);
    }
}
