//! [`Unknown`]: a command or query name nobody registered, with the
//! nearest registered one (a typo) or the names there are.

/// How many registered names an [`Unknown`] lists when none is near.
const LISTED: usize = 12;

/// A name that is not registered, and what the caller may have meant.
///
/// ```
/// use disco::cqrs::Unknown;
/// let unknown = Unknown::among("tranfer", ["open_account", "transfer"]);
/// assert_eq!(unknown.nearest.as_deref(), Some("transfer"));
/// assert_eq!(unknown.to_string(), r#""tranfer"; did you mean "transfer"?"#);
/// let far = Unknown::among("zzz", ["open_account", "transfer"]);
/// assert_eq!(far.to_string(), r#""zzz"; the names are: open_account, transfer"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown {
    /// The name asked for.
    pub name: String,
    /// The registered name nearest to it, when one is a likely typo.
    pub nearest: Option<String>,
    /// The registered names (sorted; at most 12, when none is near).
    pub known: Vec<String>,
}

impl Unknown {
    /// `name`, which is none of `registered`.
    pub fn among<'a>(name: &str, registered: impl IntoIterator<Item = &'a str>) -> Self {
        let mut known: Vec<String> = registered.into_iter().map(str::to_owned).collect();
        known.sort();
        // A typo: at most a third of the name's characters (and at least
        // one) changed, added or removed.
        let allowed = (name.chars().count() / 3).max(1);
        let nearest = known
            .iter()
            .map(|k| (distance(name, k), k))
            .filter(|(d, _)| *d <= allowed)
            .min()
            .map(|(_, k)| k.clone());
        if nearest.is_some() {
            known.clear();
        } else {
            known.truncate(LISTED);
        }
        Unknown {
            name: name.to_owned(),
            nearest,
            known,
        }
    }
}

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.name)?;
        match &self.nearest {
            Some(nearest) => write!(f, "; did you mean {nearest:?}?"),
            None if self.known.is_empty() => write!(f, "; none is registered"),
            None => write!(f, "; the names are: {}", self.known.join(", ")),
        }
    }
}

impl PartialEq<&str> for Unknown {
    fn eq(&self, other: &&str) -> bool {
        self.name == *other
    }
}

/// The edit distance between `a` and `b` (characters changed, added or
/// removed), capped so a long name costs no more than a short one.
fn distance(a: &str, b: &str) -> usize {
    const CAP: usize = 64;
    let a: Vec<char> = a.chars().take(CAP).collect();
    let b: Vec<char> = b.chars().take(CAP).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = i;
        let mut next = vec![i.saturating_add(1)];
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j.saturating_add(1)).copied().unwrap_or(usize::MAX);
            let left = next.last().copied().unwrap_or(usize::MAX);
            let change = diagonal.saturating_add(usize::from(ca != cb));
            next.push(
                change
                    .min(above.saturating_add(1))
                    .min(left.saturating_add(1)),
            );
            diagonal = above;
        }
        row = next;
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::distance;

    #[test]
    fn distances() {
        assert_eq!(distance("transfer", "transfer"), 0);
        assert_eq!(distance("tranfer", "transfer"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
