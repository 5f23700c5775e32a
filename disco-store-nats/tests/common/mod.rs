//! The test cluster and fresh stores on it, each removed after its test.

#![allow(dead_code)]

use std::sync::Arc;

use disco_conformance::Fixture;
use disco_core::EventStore;
use disco_store_nats::{NatsOptions, NatsStore};

/// The test cluster's servers: `DISCO_TEST_NATS_URL` (comma-separated
/// `nats://` addresses), else the three nodes `scripts/nats-cluster.sh`
/// starts on 127.0.0.1:4301-4303.
pub fn servers() -> Vec<String> {
    servers_of(
        "DISCO_TEST_NATS_URL",
        "127.0.0.1:4301,127.0.0.1:4302,127.0.0.1:4303",
    )
}

/// The servers the variable `name` lists (`nats://a:1,b:2` or
/// `nats://a:1,nats://b:2`), else `default` (`a:1,b:2`).
pub fn servers_of(name: &str, default: &str) -> Vec<String> {
    let url = std::env::var(name).unwrap_or_else(|_| default.into());
    url.trim_start_matches("nats://")
        .split(',')
        .map(|h| format!("nats://{}", h.trim_start_matches("nats://")))
        .collect()
}

/// A fresh, empty store of `replicas`.
pub async fn fresh(replicas: usize) -> NatsStore {
    let name = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..20]);
    let options = NatsOptions::new(&name).expect("name").replicas(replicas);
    NatsStore::connect(&servers(), options)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot open a store on the test NATS cluster {:?}: {e}\nStart it with `scripts/nats-cluster.sh start` \
                 (`bash .ci/run` does), or point DISCO_TEST_NATS_URL at another cluster.",
                servers()
            )
        })
}

/// A fixture of a fresh store, dropped after the case.
pub async fn fixture(replicas: usize) -> Fixture {
    let store = fresh(replicas).await;
    let name = store.store_name().to_owned();
    let reopen_name = name.clone();
    Fixture::new(store)
        .with_cleanup(move || async move {
            let options = NatsOptions::new(&name).expect("name");
            let _ = NatsStore::drop_at(&servers(), options).await;
        })
        .with_reopen(move || {
            let options = NatsOptions::new(&reopen_name)
                .expect("name")
                .create_if_missing(false);
            async move {
                Arc::new(
                    NatsStore::connect(&servers(), options)
                        .await
                        .expect("reopen"),
                ) as Arc<dyn EventStore>
            }
        })
}

/// The nats-server binary of the test cluster: `DISCO_TEST_NATS_SERVER`,
/// else the one `scripts/nats-cluster.sh` installs into `.venv`.
pub fn server_binary() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("DISCO_TEST_NATS_SERVER") {
        return path.into();
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/nats-server");
    assert!(
        path.exists(),
        "no nats-server at {}: `scripts/nats-cluster.sh start` installs it (or set DISCO_TEST_NATS_SERVER)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A one-node JetStream server of the test's own, with `extra` added to
/// its configuration; stopped and its data removed on drop.
pub struct OneServer {
    child: std::process::Child,
    dir: disco_conformance::helpers::TempDir,
    /// Its client port.
    pub port: u16,
    /// Its HTTP monitoring port.
    pub http: u16,
}

impl OneServer {
    /// Starts it and waits until it answers on its monitoring port.
    pub fn start(jetstream: &str, extra: &str) -> OneServer {
        Self::start_in(
            disco_conformance::helpers::TempDir::new("nats-one"),
            jetstream,
            extra,
        )
    }

    /// Starts it in `dir` (which may hold files `extra` names).
    pub fn start_in(
        dir: disco_conformance::helpers::TempDir,
        jetstream: &str,
        extra: &str,
    ) -> OneServer {
        let (port, http) = (free_port(), free_port());
        let config = format!(
            "listen: 127.0.0.1:{port}\nhttp: 127.0.0.1:{http}\njetstream {{\n  store_dir: \"{}\"\n  {jetstream}\n}}\n{extra}\n",
            dir.path().join("js").display()
        );
        let file = dir.path().join("server.conf");
        std::fs::write(&file, config).expect("write the config");
        let child = std::process::Command::new(server_binary())
            .arg("-c")
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nats-server");
        let server = OneServer {
            child,
            dir,
            port,
            http,
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", http)).is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the test's nats-server did not start on port {port}");
    }

    /// Its directory (for files the configuration names).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for OneServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
pub mod faults;
