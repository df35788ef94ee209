//! The application on a fresh database, with what these tests need beside HTTP: the database
//! itself (to tamper with it and to query it), the services, and the built binary.

use std::process::Command;

use reetrace::app::{self, Services};
use reetrace::config::{Config, SecretText};
use reetrace_core::api::auth::RateLimit;
use reetrace_core::db::{Backend, Db};
use reetrace_core::domain::Role;
use reetrace_core::domain::account::NewOrg;
use reetrace_core::testing::TestDatabase;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub struct Running {
    pub address: String,
    pub client: reqwest::Client,
    pub db_url: String,
    pub db: Db,
    pub services: Services,
    pub admin_key: String,
    shutdown: CancellationToken,
    _db: TestDatabase,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Serves the application on `backend`; `None` when PostgreSQL is unavailable outside CI.
pub async fn spawn(backend: Backend) -> Option<Running> {
    let test_db = TestDatabase::new(backend).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let master = reetrace_core::crypto::MasterKey::generate().unwrap();
    let config = Config {
        listen: listener.local_addr().unwrap(),
        database_url: SecretText::new(test_db.url.clone()),
        public_base_url: Some(address.clone()),
        rate_limit: RateLimit {
            per_second: 100_000,
            burst: 100_000,
        },
        master_key: Some(SecretText::new(master.to_base64().expose().clone())),
        ..Config::default()
    };
    let app = app::build(&config).await.unwrap();
    let admin = app
        .accounts()
        .create_org(NewOrg {
            name: "Admin".into(),
            role: Role::Admin,
            operator_id: None,
        })
        .await
        .unwrap();
    let db = app.db().clone();
    let services = app.services().clone();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(listener, shutdown.clone()));
    Some(Running {
        address,
        client: reqwest::Client::new(),
        db_url: test_db.url.clone(),
        db,
        services,
        admin_key: admin.api_key,
        shutdown,
        _db: test_db,
    })
}

/// A motor with a GTIN and a serial number.
pub fn motor(serial: &str) -> Value {
    json!({"granularity": "item",
     "product": {"gtin": "04012345000016", "serial": serial, "name": "Traction motor PMSM 150 kW",
       "category": "ev_traction_motor", "net_mass_g": 48000,
       "placed_on_market": {"date": "2026-04-15", "country": "FR"}},
     "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
       "elements": [{"element": "Nd", "mass_g": 337.5}, {"element": "Pr", "mass_g": 105},
                    {"element": "Dy", "mass_g": 60}, {"element": "Tb", "mass_g": 7.5}]}]}})
}

impl Running {
    /// Creates an organisation; returns (org id, API key). A manufacturer is given the GS1
    /// Company Prefix of the motors' GTIN, 4012345 (so one manufacturer per test).
    pub async fn org(&self, name: &str, role: &str) -> (String, String) {
        let response = self
            .client
            .post(format!("{}/api/v1/orgs", self.address))
            .bearer_auth(&self.admin_key)
            .json(&json!({"name": name, "role": role}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "create org {name}");
        let body: Value = response.json().await.unwrap();
        let org_id = body["org_id"].as_str().unwrap().to_owned();
        if role == "manufacturer" {
            let response = self
                .client
                .post(format!(
                    "{}/api/v1/orgs/{org_id}/gs1-prefixes",
                    self.address
                ))
                .bearer_auth(&self.admin_key)
                .json(&json!({"prefix": "4012345"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201, "the GS1 prefix of {name}");
        }
        (org_id, body["api_key"].as_str().unwrap().to_owned())
    }

    /// Registers a motor passport; returns its id.
    pub async fn product(&self, maker_key: &str, serial: &str) -> String {
        let response = self
            .client
            .post(format!("{}/api/v1/passports", self.address))
            .bearer_auth(maker_key)
            .json(&motor(serial))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Records a step; returns the status and the body.
    pub async fn step(&self, key: &str, passport: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/custody/{passport}/events", self.address))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The custody of a product as `key`'s organisation scans it.
    pub async fn scan(&self, key: &str, passport: &str) -> Value {
        let response = self
            .client
            .get(format!("{}/api/v1/custody/{passport}", self.address))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// The latest checkpoint, published on demand as any reader would get it.
    pub async fn checkpoint(&self) -> Value {
        let response = self
            .client
            .get(format!("{}/api/v1/log/checkpoint", self.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}

/// Runs one statement on the test database, straight past the application.
#[macro_export]
macro_rules! sql {
    ($db:expr, $sql:expr $(, $bind:expr)*) => {
        match $db {
            reetrace_core::db::Db::Sqlite(db) => {
                sqlx::query($sql)$(.bind($bind))*.execute(&db.write).await.unwrap();
            }
            reetrace_core::db::Db::Postgres(pool) => {
                sqlx::query($sql)$(.bind($bind))*.execute(pool).await.unwrap();
            }
        }
    };
}

/// A query's rows as `$ty` on either backend.
#[macro_export]
macro_rules! rows {
    ($db:expr, $ty:ty, $sql:expr $(, $bind:expr)*) => {
        match $db {
            reetrace_core::db::Db::Sqlite(db) => {
                sqlx::query_as::<_, $ty>($sql)$(.bind($bind))*.fetch_all(&db.read).await.unwrap()
            }
            reetrace_core::db::Db::Postgres(pool) => {
                sqlx::query_as::<_, $ty>($sql)$(.bind($bind))*.fetch_all(pool).await.unwrap()
            }
        }
    };
}

/// Runs the built `reetrace verify-log ARGS` off the async runtime (the test server answers it
/// meanwhile); returns the exit code, the report and standard error.
pub async fn verify_log(args: Vec<String>) -> (i32, Value, String) {
    tokio::task::spawn_blocking(move || {
        let output = Command::new(env!("CARGO_BIN_EXE_reetrace"))
            .arg("verify-log")
            .args(&args)
            .env_remove("REETRACE_DATABASE_URL")
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        let stderr = String::from_utf8(output.stderr).unwrap();
        (output.status.code().unwrap(), report, stderr)
    })
    .await
    .unwrap()
}

/// Whether one of the report's problems mentions all of `words`.
pub fn names(report: &Value, words: &[&str]) -> bool {
    report["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|p| words.iter().all(|w| p.contains(w)))
}

/// Writes a test for each backend: `both!(name, |app: Running| async move { ... })`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::support::spawn(reetrace_core::db::Backend::Sqlite)
                    .await
                    .expect("SQLite is always available");
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = $crate::support::spawn(reetrace_core::db::Backend::Postgres).await
                else {
                    return;
                };
                ($body)(app).await;
            }
        }
    };
}
