//! What the custody and passport benchmarks need: the application on a fresh database, and latency
//! percentiles.

use std::time::Duration;

use reetrace::app::{self, App};
use reetrace::config::{Config, SecretText};
use reetrace_core::db::Backend;
use reetrace_core::testing::TestDatabase;

/// The application built (migrated) on a fresh database of `backend`, and the listener it will
/// serve on.
#[allow(
    dead_code,
    reason = "the custody bench uses it, the passports bench does not"
)]
pub async fn fresh_app(backend: Backend) -> (App, tokio::net::TcpListener, TestDatabase, String) {
    let (app, listener, db, address, _) = fresh_app_config(backend).await;
    (app, listener, db, address)
}

/// As [`fresh_app`], with the configuration it was built from (its master key, to run the
/// `reetrace` binary on the same database).
#[allow(
    dead_code,
    reason = "the passports bench uses it, the custody bench does not"
)]
pub async fn fresh_app_config(
    backend: Backend,
) -> (App, tokio::net::TcpListener, TestDatabase, String, Config) {
    let db = TestDatabase::new(backend)
        .await
        .expect("the PostgreSQL server of REETRACE_TEST_POSTGRES_URL answers");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let master = reetrace_core::crypto::MasterKey::generate().unwrap();
    let config = Config {
        listen: listener.local_addr().unwrap(),
        database_url: SecretText::new(db.url.clone()),
        public_base_url: Some(address.clone()),
        rate_limit: reetrace_core::api::auth::RateLimit {
            per_second: 1_000_000,
            burst: 1_000_000,
        },
        master_key: Some(SecretText::new(master.to_base64().expose().clone())),
        // The benchmarks' concurrent clients (up to 4) all run: the bound on bulk requests in
        // flight is measured on its own by tests/faults/bulk_memory.py.
        bulk_in_flight: 8,
        ..Config::default()
    };
    let app = app::build(&config).await.unwrap();
    (app, listener, db, address, config)
}

/// p50, p99 and max of `samples`, in milliseconds.
pub fn percentiles(samples: &mut [Duration]) -> (f64, f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1e3
    };
    (at(0.50), at(0.99), at(1.0))
}

/// xorshift64*: reproducible picks without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}
