//! `spawn_app`: the application on a random port with a fresh database and a bootstrap admin.

use reetrace::app;
use reetrace::config::{Config, SecretText};
use reetrace_core::api::auth::RateLimit;
use reetrace_core::db::Backend;
use reetrace_core::domain::Role;
use reetrace_core::domain::account::NewOrg;
use reetrace_core::testing::TestDatabase;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// An admin organisation's key.
    pub admin_key: String,
    /// The database's URL (for running the `reetrace` binary on it).
    pub database_url: String,
    /// The configuration the application was built from.
    pub config: Config,
    shutdown: CancellationToken,
    _db: TestDatabase,
    /// How many manufacturers and recyclers [`TestApp::create_org`] gave a GS1 prefix.
    prefixed: [AtomicU32; 2],
}

/// The GS1 Company Prefix [`TestApp::create_org`] gives the `n`th manufacturer of an app
/// (from 0): `4012345`, `4012346`... so the first one owns the GTINs the tests register
/// (`04012345000016`...).
pub fn manufacturer_prefix(n: u32) -> String {
    (4_012_345 + n).to_string()
}

/// The GS1 Company Prefix [`TestApp::create_org`] gives the `n`th recycler (from 0):
/// `4098765`, `4098766`...
pub fn recycler_prefix(n: u32) -> String {
    (4_098_765 + n).to_string()
}

/// The GTIN-14 (indicator 0) of item reference `item` under GS1 Company Prefix `prefix`, with
/// its check digit: `gtin("4012345", "00001")` is `04012345000016`.
pub fn gtin(prefix: &str, item: &str) -> String {
    let body = format!("0{prefix}{item}");
    assert_eq!(body.len(), 13, "{prefix} and {item} make no GTIN-13");
    let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
    let check = reetrace_core::domain::gs1_check_digit(&digits);
    format!("{body}{check}")
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts the application on `backend`; `None` when PostgreSQL is unavailable outside CI.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// As [`spawn_app`], with the config adjusted first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    if std::env::var_os("TEST_LOG").is_some() {
        reetrace::telemetry::init(reetrace::config::LogFormat::Text);
    }
    let db = TestDatabase::new(backend).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let mut config = Config {
        listen: listener.local_addr().unwrap(),
        database_url: SecretText::new(db.url.clone()),
        public_base_url: Some(address.clone()),
        rate_limit: RateLimit {
            per_second: 10_000,
            burst: 10_000,
        },
        master_key: Some(SecretText::new(
            reetrace_core::crypto::MasterKey::generate()
                .unwrap()
                .to_base64()
                .expose()
                .clone(),
        )),
        ..Config::default()
    };
    adjust(&mut config);
    // Served over HTTPS (`tls_cert` set): the same address with the scheme that reaches it.
    let address = match &config.tls_cert {
        Some(_) => {
            let https = address.replacen("http://", "https://", 1);
            if config.public_base_url.as_deref() == Some(address.as_str()) {
                config.public_base_url = Some(https.clone());
            }
            https
        }
        None => address,
    };
    let app = app::build(&config).await.unwrap();
    let admin = app
        .accounts()
        .create_org(NewOrg {
            name: "Test Admin".into(),
            role: Role::Admin,
            operator_id: None,
        })
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(listener, shutdown.clone()));
    // Over HTTPS the client trusts the test's own certificate and nothing else.
    let client = match &config.tls_cert {
        Some(cert) => {
            let cert = reqwest::Certificate::from_pem(&std::fs::read(cert).unwrap()).unwrap();
            reqwest::Client::builder()
                .tls_certs_only([cert])
                .build()
                .unwrap()
        }
        None => reqwest::Client::new(),
    };
    Some(TestApp {
        address,
        client,
        admin_key: admin.api_key,
        database_url: db.url.clone(),
        config,
        shutdown,
        _db: db,
        prefixed: [AtomicU32::new(0), AtomicU32::new(0)],
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.put(self.url(path))
    }

    /// Runs one statement on the app's database behind its back, as an operator with database
    /// access (or an attacker) would: for tests of what tampered or older rows do.
    pub async fn execute(&self, statement: reetrace_core::db::Sql<'_>) {
        let db = reetrace_core::db::Db::connect(
            &self.database_url,
            &reetrace_core::db::PoolOptions::default(),
        )
        .await
        .unwrap();
        statement.execute(db.writer()).await.unwrap();
        db.close().await;
    }

    /// Reads one value from the app's database behind its back (for what no route shows).
    pub async fn scalar<T: reetrace_core::db::Value>(
        &self,
        statement: reetrace_core::db::Sql<'_>,
    ) -> T {
        let db = reetrace_core::db::Db::connect(
            &self.database_url,
            &reetrace_core::db::PoolOptions::default(),
        )
        .await
        .unwrap();
        let value = statement.scalar(db.writer()).await.unwrap();
        db.close().await;
        value
    }

    /// `GET path` as `key` (none: anonymous), asserting 200; returns the JSON body.
    pub async fn get_json(&self, path: &str, key: Option<&str>) -> Value {
        let mut request = self.get(path);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// Records a custody step on a product as `key` (asserting 201); returns the answer.
    pub async fn custody_step(&self, key: &str, passport: &str, action: &str, at: &str) -> Value {
        let response = self
            .post(&format!("/api/v1/custody/{passport}/events"))
            .bearer_auth(key)
            .json(&serde_json::json!({"action": action, "at": at}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{action}: {body}");
        body
    }

    /// Dismantles a product held by `key` into one magnet lot that recovered `elements`
    /// (`[{"element", "mass_g"}]`); returns the lot id.
    pub async fn dismantle(&self, key: &str, passport: &str, elements: Value) -> String {
        let response = self
            .post("/api/v1/custody/transformations")
            .bearer_auth(key)
            .json(&serde_json::json!({
                "process": "dismantling", "at": "2026-10-02T10:00:00Z",
                "inputs": [{"passport": passport}],
                "outputs": [{"kind": "lot", "material": "NdFeB-sintered", "mass_g": 1480,
                             "elements": elements}]}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body["lots"][0]["lot_id"].as_str().unwrap().to_owned()
    }

    /// Registers a passport as `key`; returns the answer (asserting 201).
    pub async fn register(&self, key: &str, registration: &Value) -> Value {
        let response = self
            .post("/api/v1/passports")
            .bearer_auth(key)
            .json(registration)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body
    }

    /// The OpenMetrics text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.get("/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Creates an organisation through the API; returns (org_id, api_key). As a GS1 member
    /// would be, a manufacturer or recycler is given a GS1 Company Prefix by the admin (through
    /// the API): the `n`th manufacturer [`manufacturer_prefix`]`(n)`, the `n`th recycler
    /// [`recycler_prefix`]`(n)`. [`TestApp::create_org_without_prefix`] gives none.
    pub async fn create_org(&self, name: &str, role: &str) -> (String, String) {
        let (org_id, key) = self.create_org_without_prefix(name, role).await;
        let prefix = match role {
            "manufacturer" => manufacturer_prefix(self.prefixed[0].fetch_add(1, Ordering::SeqCst)),
            "recycler" => recycler_prefix(self.prefixed[1].fetch_add(1, Ordering::SeqCst)),
            _ => return (org_id, key),
        };
        self.add_prefix(&org_id, &json!({"prefix": prefix})).await;
        (org_id, key)
    }

    /// Creates an organisation through the API, holding no GS1 prefix.
    pub async fn create_org_without_prefix(&self, name: &str, role: &str) -> (String, String) {
        let response = self
            .post("/api/v1/orgs")
            .bearer_auth(&self.admin_key)
            .json(&json!({"name": name, "role": role}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "create org {name}");
        let body: Value = response.json().await.unwrap();
        (
            body["org_id"].as_str().unwrap().to_owned(),
            body["api_key"].as_str().unwrap().to_owned(),
        )
    }

    /// The GTIN of item reference `item` (5 digits) under the first GS1 Company Prefix the
    /// organisation of `key` holds, as it reads its own list.
    pub async fn own_gtin(&self, key: &str, item: &str) -> String {
        let me = self.get_json("/api/v1/whoami", Some(key)).await;
        let org = me["org_id"].as_str().unwrap();
        let held = self
            .get_json(&format!("/api/v1/orgs/{org}/gs1-prefixes"), Some(key))
            .await;
        let entry = held
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "company_prefix")
            .unwrap_or_else(|| panic!("{org} holds no company prefix: {held}"));
        gtin(entry["prefix"].as_str().unwrap(), item)
    }

    /// Gives an organisation a GS1 prefix or GTIN as the admin (`entry` is the request body);
    /// returns the entry (asserting 201).
    pub async fn add_prefix(&self, org_id: &str, entry: &Value) -> Value {
        let response = self
            .post(&format!("/api/v1/orgs/{org_id}/gs1-prefixes"))
            .bearer_auth(&self.admin_key)
            .json(entry)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "add {entry} to {org_id}: {body}");
        body
    }
}

/// Asserts a response is problem+json with `status` and `code`; returns the body.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert_eq!(content_type, "application/problem+json", "content type");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["type"], format!("urn:reetrace:problem:{code}"));
    assert!(body["title"].is_string());
    body
}

/// Writes a test for each backend: `api_test!(name, |app: TestApp| async move { ... })`.
#[macro_export]
macro_rules! api_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::spawn_app(reetrace_core::db::Backend::Sqlite)
                    .await
                    .expect("SQLite is always available");
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) =
                    $crate::helpers::spawn_app(reetrace_core::db::Backend::Postgres).await
                else {
                    return;
                };
                ($body)(app).await;
            }
        }
    };
}
