//! The decisions over a projection's bookkeeping rows that every adapter
//! makes the same way, as pure functions: the adapters read the rows in a
//! transaction, ask, and write what the answer says.

use crate::read_model::{GenerationRow, GenerationState, Plan};

/// A row to insert: (generation, state).
pub type NewRow = (u32, GenerationState);

/// Which generations a runner of `version` runs, and the row to create for
/// it first, if any.
///
/// - no live generation: a new live one of `version`;
/// - the live one is `version`'s: it, and a building one of `version`;
/// - the live one is older: a building one of `version` (new if missing);
/// - the live one is newer: nothing (this version is retired).
pub fn plan(rows: &[GenerationRow], version: u32) -> (Plan, Option<NewRow>) {
    let next = next_generation(rows);
    let building = rows
        .iter()
        .find(|r| r.state == GenerationState::Building && r.version == version)
        .map(|r| r.generation);
    match rows.iter().find(|r| r.state == GenerationState::Live) {
        None => (
            Plan {
                live: Some(next),
                ..Plan::default()
            },
            Some((next, GenerationState::Live)),
        ),
        Some(live) if live.version == version => (
            Plan {
                live: Some(live.generation),
                building,
                retired_by: None,
            },
            None,
        ),
        Some(live) if live.version < version => match building {
            Some(generation) => (
                Plan {
                    building: Some(generation),
                    ..Plan::default()
                },
                None,
            ),
            None => (
                Plan {
                    building: Some(next),
                    ..Plan::default()
                },
                Some((next, GenerationState::Building)),
            ),
        },
        Some(live) => (
            Plan {
                retired_by: Some(live.version),
                ..Plan::default()
            },
            None,
        ),
    }
}

/// The generation a rebuild builds: the one building already, or a new one
/// (`true`: insert it) of the live generation's version (or `version`).
pub fn rebuild(rows: &[GenerationRow], version: Option<u32>) -> Option<(u32, u32, bool)> {
    let version = version.or_else(|| {
        rows.iter()
            .find(|r| r.state == GenerationState::Live)
            .map(|r| r.version)
    })?;
    if let Some(row) = rows
        .iter()
        .find(|r| r.state == GenerationState::Building && r.version == version)
    {
        return Some((row.generation, version, false));
    }
    Some((next_generation(rows), version, true))
}

/// Whether generation `to` may become live now: it is building and has
/// seen at least what the live one has. Gives the live generation, if any.
pub fn switch(rows: &[GenerationRow], to: u32) -> Result<Option<u32>, String> {
    let target = rows
        .iter()
        .find(|r| r.generation == to)
        .ok_or_else(|| format!("generation {to} does not exist"))?;
    if target.state != GenerationState::Building {
        return Err(format!(
            "generation {to} is {}, not building",
            target.state.as_str()
        ));
    }
    let live = rows.iter().find(|r| r.state == GenerationState::Live);
    match live {
        Some(live) if live.position > target.position => Err(String::new()),
        Some(live) => Ok(Some(live.generation)),
        None => Ok(None),
    }
}

/// Whether `logical` may be (re)created as a view: only if an earlier
/// generation of this projection made it (else it belongs to someone else).
pub fn view_is_ours(rows: &[GenerationRow], logical: &str) -> bool {
    rows.iter()
        .any(|r| r.ready && r.tables.iter().any(|t| t == logical))
}

fn next_generation(rows: &[GenerationRow]) -> u32 {
    rows.iter().map(|r| r.generation).max().unwrap_or(0) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use disco_core::Timestamp;

    fn row(generation: u32, version: u32, state: GenerationState, position: u64) -> GenerationRow {
        GenerationRow {
            name: "p".into(),
            generation,
            version,
            state,
            position,
            tables: vec!["t".into()],
            ready: true,
            token: 0,
            updated_at: Timestamp::from_micros(0),
        }
    }

    #[test]
    fn a_first_runner_makes_generation_1_live() {
        let (plan, insert) = plan(&[], 1);
        assert_eq!(plan.live, Some(1));
        assert_eq!(insert, Some((1, GenerationState::Live)));
    }

    #[test]
    fn a_new_version_builds_beside_the_live_one_and_an_old_one_retires() {
        let rows = [row(1, 1, GenerationState::Live, 9)];
        let (new, insert) = plan(&rows, 2);
        assert_eq!((new.live, new.building), (None, Some(2)));
        assert_eq!(insert, Some((2, GenerationState::Building)));
        let rows = [
            row(1, 1, GenerationState::Retired, 9),
            row(2, 2, GenerationState::Live, 9),
        ];
        assert_eq!(plan(&rows, 1).0.retired_by, Some(2));
    }

    #[test]
    fn a_switch_waits_until_the_new_generation_has_seen_as_much() {
        let rows = [
            row(1, 1, GenerationState::Live, 9),
            row(2, 1, GenerationState::Building, 8),
        ];
        assert_eq!(switch(&rows, 2), Err(String::new()));
        let rows = [
            row(1, 1, GenerationState::Live, 9),
            row(2, 1, GenerationState::Building, 9),
        ];
        assert_eq!(switch(&rows, 2), Ok(Some(1)));
        assert!(switch(&rows, 1).is_err());
    }

    #[test]
    fn a_rebuild_reuses_the_generation_already_building() {
        let rows = [row(1, 1, GenerationState::Live, 9)];
        assert_eq!(rebuild(&rows, None), Some((2, 1, true)));
        let rows = [
            row(1, 1, GenerationState::Live, 9),
            row(2, 1, GenerationState::Building, 0),
        ];
        assert_eq!(rebuild(&rows, None), Some((2, 1, false)));
        assert_eq!(rebuild(&[], None), None);
    }
}
