//! Backward compatibility: the content a store file (or schema) written by a
//! release holds, and the check that a later release still reads it all.
//!
//! Each durable backend commits a small fixture written by [`write()`] with
//! its release, and a test that opens a copy (upgrading it) and runs
//! [`check`]. Setting `DISCO_WRITE_FIXTURES=1` makes those tests write the
//! fixture anew instead, which is only done when a release changes what a
//! store writes (and then the old fixture is kept beside it).

use disco_core::{
    DeleteMode, EventStore, ExpectedVersion, NewEvent, ReadDirection, StreamId, StreamState,
    Timestamp, Uuid,
};

/// Whether the tests were asked to write their fixtures anew.
pub fn writing_fixtures() -> bool {
    std::env::var_os("DISCO_WRITE_FIXTURES").is_some()
}

fn sid(id: &str) -> StreamId {
    StreamId::new(id).unwrap_or_else(|e| panic!("{e}"))
}

/// Fixed ids and times, so every release writes the same content.
fn event(n: u128, event_type: &str, data: &[u8]) -> NewEvent {
    NewEvent::new(event_type, data.to_vec())
        .with_id(Uuid::from_u128(
            0x0190_f5a0_0000_7000_8000_0000_0000_0000 + n,
        ))
        .with_metadata(format!("{{\"n\":{n}}}").into_bytes())
        .with_recorded_at(Timestamp::from_micros(1_700_000_000_000_000 + n as i64))
}

/// Writes the fixture's content into an empty store: two streams (one
/// soft-deleted), binary and JSON data, a snapshot, a checkpoint.
pub async fn write(store: &dyn EventStore) {
    let ok = |r: disco_core::Result<disco_core::AppendResult>| r.unwrap_or_else(|e| panic!("{e}"));
    ok(store
        .append(
            &sid("wallet-1"),
            ExpectedVersion::NoStream,
            vec![
                event(1, "Opened", br#"{"owner":"ada"}"#),
                event(2, "Deposited", br#"{"amount":5}"#),
            ],
        )
        .await);
    ok(store
        .append(
            &sid("blob-1"),
            ExpectedVersion::NoStream,
            vec![event(3, "Raw", &[0, 159, 255])],
        )
        .await);
    ok(store
        .append(
            &sid("wallet-1"),
            ExpectedVersion::Exact(2),
            vec![event(4, "Deposited", br#"{"amount":7}"#)],
        )
        .await);
    store
        .delete_stream(&sid("blob-1"), ExpectedVersion::Any, DeleteMode::Soft)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .save_snapshot(&sid("wallet-1"), 2, br#"{"balance":5}"#.to_vec())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .save_checkpoint("projector", 3)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Checks that `store` holds exactly what [`write()`] wrote, byte for byte.
pub async fn check(store: &dyn EventStore) {
    let all = store
        .read_all(0, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(String, u64, String, Vec<u8>)> = all
        .iter()
        .map(|e| {
            (
                e.stream_id.to_string(),
                e.version,
                e.event_type.clone(),
                e.data.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "wallet-1".into(),
                1,
                "Opened".into(),
                br#"{"owner":"ada"}"#.to_vec()
            ),
            (
                "wallet-1".into(),
                2,
                "Deposited".into(),
                br#"{"amount":5}"#.to_vec()
            ),
            ("blob-1".into(), 1, "Raw".into(), vec![0, 159, 255]),
            (
                "wallet-1".into(),
                3,
                "Deposited".into(),
                br#"{"amount":7}"#.to_vec()
            ),
        ]
    );
    for (i, e) in all.iter().enumerate() {
        let n = [1u128, 2, 3, 4][i];
        assert_eq!(
            e.id,
            Uuid::from_u128(0x0190_f5a0_0000_7000_8000_0000_0000_0000 + n)
        );
        assert_eq!(e.metadata, format!("{{\"n\":{n}}}").into_bytes());
        assert_eq!(
            e.recorded_at,
            Timestamp::from_micros(1_700_000_000_000_000 + n as i64)
        );
    }
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    let wallet = store
        .read_stream(&sid("wallet-1"), u64::MAX, ReadDirection::Backward, 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wallet[0].version, 3);
    let streams = store
        .list_streams("", None, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let states: Vec<(String, u64, StreamState)> = streams
        .iter()
        .map(|s| (s.stream_id.to_string(), s.version, s.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("blob-1".into(), 1, StreamState::SoftDeleted),
            ("wallet-1".into(), 3, StreamState::Active),
        ]
    );
    let snapshot = store
        .load_snapshot(&sid("wallet-1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the snapshot is gone"));
    assert_eq!(
        (snapshot.version, snapshot.data),
        (2, br#"{"balance":5}"#.to_vec())
    );
    assert_eq!(
        store
            .load_checkpoint("projector")
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        Some(3)
    );
    // And it still takes writes after the events it had.
    let more = store
        .append(
            &sid("wallet-1"),
            ExpectedVersion::Exact(3),
            vec![NewEvent::new("Deposited", b"{}".to_vec())],
        )
        .await
        .unwrap_or_else(|e| panic!("appending to the upgraded store: {e}"));
    assert_eq!(more.last_version, 4);
    assert!(more.first_position > all[3].position);
    // Events stored before tags read with none, and the type index holds them.
    assert!(all.iter().all(|e| e.tags.is_empty()));
    let deposits = disco_core::Query::new().or(disco_core::QueryItem::new().types(["Deposited"]));
    let found = store
        .read_query(&deposits, 0, 10)
        .await
        .unwrap_or_else(|e| panic!("a query read of the upgraded store: {e}"));
    let positions: Vec<u64> = found.events.iter().map(|e| e.position).collect();
    assert_eq!(
        positions,
        vec![all[1].position, all[3].position, more.first_position]
    );
    // Tagged appends and conditions work on it.
    let tag = disco_core::Query::new().or(disco_core::QueryItem::new().tags(["wallet:1"]));
    store
        .append_if(
            vec![(
                sid("wallet-1"),
                ExpectedVersion::Exact(4),
                vec![NewEvent::new("Tagged", b"{}".to_vec()).with_tags(["wallet:1"])],
            )],
            &disco_core::AppendCondition::new(tag.clone()),
        )
        .await
        .unwrap_or_else(|e| panic!("a conditional append to the upgraded store: {e}"));
    let tagged = store
        .read_query(&tag, 0, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tagged.events.len(), 1);
    assert_eq!(tagged.events[0].tags, ["wallet:1"]);
}
