//! Whether the servers acknowledge a write only after it is on disk.
//!
//! JetStream acknowledges before fsync unless the server runs with
//! `sync_interval: always` (by default it flushes every two minutes), so a
//! power loss can take acknowledged writes. A client cannot see that
//! setting over NATS; a server's HTTP monitoring endpoint (`/varz`) shows
//! it. Given the endpoints (`monitor=` in the URL), the store refuses a
//! server that acknowledges before fsync unless the user accepts the risk
//! (`ack_before_fsync=accept`, then it warns); without them it warns that
//! it could not check.

use std::time::Duration;

use disco_core::{Error, Result};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The most bytes read of one `/varz` answer.
const MAX_ANSWER: u64 = 4 << 20;

/// What one server's monitoring endpoint says of its sync policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyncPolicy {
    pub version: String,
    pub sync_always: bool,
    pub sync_interval: Duration,
}

/// Checks every endpoint of `monitors` (`HOST:PORT` of a server's HTTP
/// monitoring port); `accept` lets a server that acknowledges before fsync
/// through with a warning.
pub(crate) async fn check(
    monitors: &[String],
    accept: bool,
    timeout: Duration,
    location: &str,
) -> Result<()> {
    if monitors.is_empty() {
        tracing::warn!(
            "disco cannot see whether the NATS servers at {location} sync each write to disk before acknowledging it \
             (an acknowledged append survives a power loss only with `sync_interval: always`); \
             add monitor=HOST:PORT,... (the servers' HTTP monitoring ports) to the URL to have it checked"
        );
        return Ok(());
    }
    for monitor in monitors {
        let policy = read(monitor, timeout).await?;
        if policy.sync_always {
            continue;
        }
        let found = format!(
            "server version {} acknowledging writes before they are on disk (sync_interval {:?}, not always)",
            policy.version, policy.sync_interval
        );
        if accept {
            tracing::warn!(
                "NATS at {monitor} runs {found}: a power loss or OS crash can lose acknowledged appends \
                 (accepted by ack_before_fsync=accept)"
            );
        } else {
            return Err(Error::UnsupportedServer {
                location: format!("NATS at {monitor}"),
                found,
                needed: "`sync_interval: always` in the server's jetstream block (or ack_before_fsync=accept in the URL to take the risk)".into(),
            });
        }
    }
    Ok(())
}

/// Reads the sync policy from `monitor`'s `/varz`.
pub(crate) async fn read(monitor: &str, timeout: Duration) -> Result<SyncPolicy> {
    let answer = tokio::time::timeout(timeout, get(monitor, "/varz"))
        .await
        .map_err(|_| {
            Error::Unavailable(format!(
                "NATS monitoring endpoint {monitor} did not answer within {timeout:?}"
            ))
        })??;
    policy_of(monitor, &answer)
}

/// An HTTP/1.0 GET of `path` from `address`: the body of a 200 answer.
async fn get(address: &str, path: &str) -> Result<Vec<u8>> {
    let unreachable = |e: std::io::Error| {
        Error::Unavailable(format!(
            "NATS monitoring endpoint {address} (monitor=) cannot be reached: {e}"
        ))
    };
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .map_err(unreachable)?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    socket
        .write_all(request.as_bytes())
        .await
        .map_err(unreachable)?;
    let mut answer = Vec::new();
    socket
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .await
        .map_err(unreachable)?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            Error::Unavailable(format!(
                "{address} (monitor=) did not answer HTTP: is it a NATS server's monitoring port?"
            ))
        })?;
    let (head, body) = answer.split_at(split);
    let status = String::from_utf8_lossy(head.split(|b| *b == b'\n').next().unwrap_or_default())
        .trim()
        .to_owned();
    if !status.contains(" 200") {
        return Err(Error::Unavailable(format!(
            "{address} (monitor=) answered {status:?} for {path}"
        )));
    }
    Ok(body.get(4..).unwrap_or_default().to_vec())
}

/// The sync policy a `/varz` body states.
fn policy_of(monitor: &str, body: &[u8]) -> Result<SyncPolicy> {
    let varz: Value = serde_json::from_slice(body).map_err(|e| {
        Error::Unavailable(format!(
            "{monitor} (monitor=) did not answer /varz with JSON: {e}"
        ))
    })?;
    let config = varz.pointer("/jetstream/config").ok_or_else(|| {
        Error::InvalidInput(format!(
            "the NATS server at {monitor} (monitor=) runs without JetStream"
        ))
    })?;
    Ok(SyncPolicy {
        version: varz
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("(unknown)")
            .to_owned(),
        sync_always: config
            .get("sync_always")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        sync_interval: Duration::from_nanos(
            config
                .get("sync_interval")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_varz_body_states_the_policy() {
        let always = br#"{"version":"2.15.1","jetstream":{"config":{"sync_interval":120000000000,"sync_always":true}}}"#;
        let policy = policy_of("m", always).unwrap();
        assert!(policy.sync_always);
        assert_eq!(policy.version, "2.15.1");
        let default =
            br#"{"version":"2.15.1","jetstream":{"config":{"sync_interval":120000000000}}}"#;
        let policy = policy_of("m", default).unwrap();
        assert!(!policy.sync_always);
        assert_eq!(policy.sync_interval, Duration::from_secs(120));
        assert!(matches!(
            policy_of("m", br#"{"version":"2.15.1"}"#),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            policy_of("m", b"<html>"),
            Err(Error::Unavailable(_))
        ));
    }
}
