//! The decisions over a projection's bookkeeping rows that every adapter
//! makes the same way, as pure functions: the adapters read the rows in a
//! transaction, ask, and write what the answer says.

use disco_core::Timestamp;

use crate::error::ProjectionError;
use crate::read_model::{
    GenerationRow, GenerationState, Inherited, PartitionRow, PartitionSlot, Plan,
};

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

/// Whether the runner holding `claim` may write a row whose claim is
/// `holder`, of a generation in `state`.
pub fn check_writer(
    name: &str,
    generation: u32,
    holder: Option<&str>,
    claim: &str,
    state: &str,
) -> Result<(), ProjectionError> {
    // Invariant: only the runner that claimed the row last writes it.
    if holder != Some(claim) {
        return Err(ProjectionError::Fenced {
            name: name.to_owned(),
            generation,
        });
    }
    if GenerationState::parse(state)? == GenerationState::Retired {
        return Err(ProjectionError::GenerationRetired {
            name: name.to_owned(),
            generation,
        });
    }
    Ok(())
}

/// Whether `logical` may be (re)created as a view: only if an earlier
/// generation of this projection made it (else it belongs to someone else).
pub fn view_is_ours(rows: &[GenerationRow], logical: &str) -> bool {
    rows.iter()
        .any(|r| r.ready && r.tables.iter().any(|t| t == logical))
}

/// Whether every partition of the building generation has reached its
/// counterpart in the live one (`live` and `building` are their current
/// rows). Compared partition by partition, not by their lowest: a query of
/// the new generation then finds every event any partition of the old one
/// had applied, whatever its progress announced.
pub fn partitions_caught_up(live: &[PartitionRow], building: &[PartitionRow]) -> bool {
    live.iter().all(|old| {
        building
            .iter()
            .any(|new| new.slot == old.slot && new.position >= old.position)
    })
}

/// What a partition's claim does to its generation's partition rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The count is current: claim the partition's row.
    Claim,
    /// Make the rows of the count, at `start`, replacing the current count
    /// `previous` (0: there is none) and deleting rows of every other.
    Make {
        /// Where every new partition starts.
        start: u64,
        /// The count replaced.
        previous: u32,
    },
}

/// How a runner of `slot`, started at `started`, finds the partition rows of
/// its generation (whose own position is `generation_position`): the count
/// in place is claimed; none is made; another is replaced only by a runner
/// started after it was made (else `Err(that count)`: the newer layout
/// wins).
pub fn layout(
    rows: &[PartitionRow],
    generation_position: u64,
    slot: PartitionSlot,
    started: Timestamp,
) -> Result<Layout, u32> {
    let current: Vec<&PartitionRow> = rows.iter().filter(|r| r.current).collect();
    let Some(first) = current.first() else {
        return Ok(Layout::Make {
            start: generation_position,
            previous: 0,
        });
    };
    if first.slot.count == slot.count {
        return Ok(Layout::Claim);
    }
    if started <= first.created_at {
        return Err(first.slot.count);
    }
    Ok(Layout::Make {
        start: current.iter().map(|r| r.position).min().unwrap_or(0),
        previous: first.slot.count,
    })
}

/// The positions `own`'s rows inherit: those of the count they replaced,
/// frozen since (every old partition's row must be there).
pub fn inherited(rows: &[PartitionRow], own: &PartitionRow) -> Option<Inherited> {
    if own.previous == 0 {
        return None;
    }
    let mut positions = vec![None; own.previous as usize];
    for row in rows.iter().filter(|r| r.slot.count == own.previous) {
        if let Some(slot) = positions.get_mut(row.slot.index as usize) {
            *slot = Some(row.position);
        }
    }
    // A missing old row inherits nothing for its keys: position 0 covers
    // no event, so they are applied (the rows are made together, so this
    // does not happen unless someone deleted one).
    Some(Inherited {
        count: own.previous,
        positions: positions.into_iter().map(|p| p.unwrap_or(0)).collect(),
    })
}

fn next_generation(rows: &[GenerationRow]) -> u32 {
    // At u32::MAX (a damaged row) the insert of the same number is refused
    // by the table's key: an error, not an overflow.
    rows.iter()
        .map(|r| r.generation)
        .max()
        .unwrap_or(0)
        .saturating_add(1)
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

    fn part(count: u32, index: u32, position: u64, current: bool, made: i64) -> PartitionRow {
        PartitionRow {
            name: "p".into(),
            generation: 1,
            slot: PartitionSlot { index, count },
            position,
            current,
            previous: 0,
            created_at: Timestamp::from_micros(made),
            updated_at: Timestamp::from_micros(made),
        }
    }

    #[test]
    fn the_first_partition_makes_the_rows_at_the_generation_position() {
        let slot = PartitionSlot { index: 0, count: 4 };
        let started = Timestamp::from_micros(5);
        assert_eq!(
            layout(&[], 17, slot, started),
            Ok(Layout::Make {
                start: 17,
                previous: 0
            })
        );
        let rows = [part(4, 0, 9, true, 1), part(4, 1, 3, true, 1)];
        assert_eq!(layout(&rows, 3, slot, started), Ok(Layout::Claim));
    }

    #[test]
    fn a_newer_runner_replaces_another_count_and_an_older_one_is_refused() {
        let rows = [part(2, 0, 9, true, 10), part(2, 1, 4, true, 10)];
        let slot = PartitionSlot { index: 1, count: 3 };
        assert_eq!(
            layout(&rows, 4, slot, Timestamp::from_micros(11)),
            Ok(Layout::Make {
                start: 4,
                previous: 2
            })
        );
        assert_eq!(layout(&rows, 4, slot, Timestamp::from_micros(10)), Err(2));
        let mut own = part(3, 1, 4, true, 11);
        own.previous = 2;
        let mut old = rows.to_vec();
        for row in &mut old {
            row.current = false;
        }
        old.push(own.clone());
        let inherited = inherited(&old, &own).expect("inherits");
        assert_eq!(inherited.positions, vec![9, 4]);
        assert!(inherited.covers(0, 9) && !inherited.covers(0, 10) && !inherited.covers(1, 5));
    }

    #[test]
    fn a_partitioned_switch_compares_partition_by_partition() {
        let live = [part(2, 0, 50, true, 1), part(2, 1, 10, true, 1)];
        let behind = [part(2, 0, 40, true, 1), part(2, 1, 60, true, 1)];
        assert!(
            !partitions_caught_up(&live, &behind),
            "the lowest is ahead, partition 0 is not"
        );
        let ahead = [part(2, 0, 50, true, 1), part(2, 1, 10, true, 1)];
        assert!(partitions_caught_up(&live, &ahead));
        assert!(
            !partitions_caught_up(&live, &ahead[..1]),
            "a missing partition has not caught up"
        );
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
