//! Rule 5: data and metadata come back byte for byte; recorded fields match.

use std::sync::Arc;

use disco_core::{EventStore, ExpectedVersion::*, NewEvent, Timestamp};

use crate::helpers::*;

async fn round_trip(store: &dyn EventStore, stream: &str, data: Vec<u8>, metadata: Vec<u8>) {
    let s = sid(stream);
    let event = NewEvent::new("Payload", data.clone()).with_metadata(metadata.clone());
    append_ok(store, &s, Any, vec![event]).await;
    let back = read_stream_all(store, &s).await;
    let last = back.last().expect("the event just appended");
    assert!(
        last.data == data,
        "data changed ({} bytes in, {} out)",
        data.len(),
        last.data.len()
    );
    assert!(last.metadata == metadata, "metadata changed");
    let global = read_everything(store, 1000).await;
    let same = global
        .iter()
        .find(|e| e.id == last.id)
        .expect("event in read_all");
    assert!(
        same.data == data && same.metadata == metadata,
        "read_all changed the payload"
    );
}

/// Empty data and metadata stay empty.
pub async fn empty_data_and_metadata_round_trip(store: Arc<dyn EventStore>) {
    round_trip(&*store, "empty", vec![], vec![]).await;
}

/// Every byte value, invalid UTF-8 and NULs come back unchanged.
pub async fn binary_data_and_metadata_round_trip(store: Arc<dyn EventStore>) {
    let every_byte: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    round_trip(
        &*store,
        "binary",
        every_byte.clone(),
        vec![0, 0xff, 0xfe, 0, 0xc3, 0x28],
    )
    .await;
    round_trip(&*store, "binary", b"\0\0\0".to_vec(), every_byte).await;
    round_trip(
        &*store,
        "binary",
        br#"{"quote":"'\"; DROP TABLE events; --"}"#.to_vec(),
        vec![],
    )
    .await;
}

/// A 1 MiB payload comes back unchanged.
pub async fn one_mib_payload_round_trips(store: Arc<dyn EventStore>) {
    let data: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    round_trip(&*store, "big", data, vec![9; 1024 * 1024]).await;
}

/// Id, stream, type and recorded time come back as appended.
pub async fn recorded_fields_match_the_append(store: Arc<dyn EventStore>) {
    let s = sid("fields");
    let before = Timestamp::now().as_micros();
    let event = NewEvent::new("Things.Happened/v2", b"{}".to_vec()).with_metadata(b"m".to_vec());
    let r = append_ok(&*store, &s, NoStream, vec![event.clone()]).await;
    let after = Timestamp::now().as_micros();
    let back = read_stream_all(&*store, &s).await;
    assert_eq!(back.len(), 1);
    let e = &back[0];
    assert_eq!(e.id, event.id);
    assert_eq!(e.stream_id, s);
    assert_eq!(e.event_type, event.event_type);
    assert_eq!((e.version, e.position), (1, r.first_position));
    // Allow a second of clock skew between this process and a database server.
    let at = e.recorded_at.as_micros();
    assert!(
        at >= before - 1_000_000 && at <= after + 1_000_000,
        "recorded_at {at} is not between {before} and {after}"
    );
}
