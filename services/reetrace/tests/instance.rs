//! The instance's identity and master key: a database remembers the public base URL it was
//! first served under and the master key its keys are sealed under, and a start that would
//! silently change either (another URL, a missing or wrong key, a second custody log key) is
//! refused with exit code 2. `reetrace admin instance move` changes the URL deliberately, and
//! what was issued under the old one keeps verifying. Each test runs on both backends.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use reetrace::config::{Config, SecretText};
use reetrace_core::db::{Backend, Db, PoolOptions, Sql};
use reetrace_core::domain::Role;
use reetrace_core::domain::account::NewOrg;
use reetrace_core::domain::gs1_prefix::NewGs1Prefix;
use reetrace_core::testing::TestDatabase;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Runs the test body on SQLite, then on PostgreSQL (when it is reachable).
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(reetrace_core::db::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(reetrace_core::db::Backend::Postgres).await;
            }
        }
    };
}

fn master_text() -> String {
    reetrace_core::crypto::MasterKey::generate()
        .unwrap()
        .to_base64()
        .expose()
        .clone()
}

fn config(db: &TestDatabase, base: Option<&str>, master: &str) -> Config {
    Config {
        database_url: SecretText::new(db.url.clone()),
        public_base_url: base.map(str::to_owned),
        master_key: Some(SecretText::new(master.to_owned())),
        ..Config::default()
    }
}

/// A free loopback address, as a base URL and its listener.
async fn listener() -> (String, tokio::net::TcpListener) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (
        format!("http://{}", listener.local_addr().unwrap()),
        listener,
    )
}

/// The application of `config` served on `listener` until the token is cancelled; the handle
/// ends when it has stopped (its database connections closed).
async fn serve(
    mut config: Config,
    listener: tokio::net::TcpListener,
) -> (
    reetrace::app::Services,
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    config.listen = listener.local_addr().unwrap();
    config.rate_limit.per_second = 0;
    config.address_rate_limit.per_second = 0;
    let app = reetrace::app::build(&config).await.unwrap();
    let services = app.services().clone();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run(listener, shutdown.clone()));
    (services, shutdown, running)
}

fn motor(serial: &str) -> Value {
    json!({"granularity": "item",
     "product": {"gtin": "04012345000016", "serial": serial, "name": "Traction motor PMSM 150 kW",
       "model": "PM150", "category": "ev_traction_motor", "net_mass_g": 48000, "manufactured_on": "2026-03-02",
       "placed_on_market": {"date": "2026-04-15", "country": "FR"}, "expected_lifetime_years": 15},
     "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
       "elements": [{"element": "Nd", "mass_g": 337.5}, {"element": "Pr", "mass_g": 105}]}]},
     "end_of_life": {"dismantling": "remove rotor", "use_type": "concentrated"}})
}

/// Registers a passport at `base` as `key`; returns the answer.
async fn register(client: &reqwest::Client, base: &str, key: &str, serial: &str) -> Value {
    let response = client
        .post(format!("{base}/api/v1/passports"))
        .bearer_auth(key)
        .json(&motor(serial))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// `did:web:127.0.0.1%3A<port>` of a loopback base URL.
fn did_host(base: &str) -> String {
    format!(
        "did:web:{}",
        base.trim_start_matches("http://").replace(':', "%3A")
    )
}

async fn log_key_names(db: &TestDatabase) -> Vec<String> {
    let db = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
    let names = Sql::new("SELECT name FROM custody_log_keys ORDER BY name")
        .scalars(db.reader())
        .await
        .unwrap();
    db.close().await;
    names
}

/// The `reetrace` binary with no master key or base URL from the test's environment.
fn reetrace(dir: &Path, database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reetrace"));
    command
        .current_dir(dir)
        .env_remove("REETRACE_MASTER_KEY")
        .env_remove("REETRACE_MASTER_KEY_FILE")
        .env_remove("REETRACE_PUBLIC_BASE_URL")
        .env("REETRACE_DATABASE_URL", database_url)
        .env("REETRACE_LOG", "warn");
    command
}

/// Runs a command that should stop by itself; a server that starts instead is stopped after
/// a while and the test fails (the old code served where it should refuse).
async fn finished(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(20) {
                child.kill().unwrap();
                let output = child.wait_with_output().unwrap();
                panic!(
                    "it kept running instead of refusing to start: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// (a) A database first served at A: configured with B it is refused, naming both URLs and the
/// way forward; unconfigured (whatever the listen address) it runs as A.
async fn another_base_url_is_refused_and_none_keeps_the_recorded_one(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    let master = master_text();
    let a = "https://a.example";
    let first = reetrace::app::build(&config(&db, Some(a), &master))
        .await
        .unwrap();
    assert_eq!(first.services().identity.public_base_url, a);
    assert_eq!(
        first.services().identity.log_origin,
        "a.example/custody-log"
    );
    drop(first);

    let b = "https://b.example";
    let refused = reetrace::app::build(&config(&db, Some(b), &master))
        .await
        .err()
        .expect("another base URL is refused");
    let text = format!("{refused:#}");
    assert!(text.contains(a) && text.contains(b), "{text}");
    assert!(
        text.contains("reetrace admin instance move --to https://b.example"),
        "{text}"
    );
    assert!(reetrace::instance::exit_code(&refused).is_some());

    let mut unconfigured = config(&db, None, &master);
    unconfigured.listen = "127.0.0.1:8081".parse().unwrap();
    let again = reetrace::app::build(&unconfigured).await.unwrap();
    let services = again.services();
    assert_eq!(services.identity.public_base_url, a);
    assert_eq!(services.passport.base_url(), a);
    assert_eq!(services.custody.log().origin(), "a.example/custody-log");
    drop(again);
    assert_eq!(log_key_names(&db).await, vec!["a.example/custody-log"]);

    // The binary: `serve` with B exits 2 naming both.
    let dir = tempfile::tempdir().unwrap();
    let mut serve = reetrace(dir.path(), &db.url);
    serve
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("REETRACE_MASTER_KEY", &master)
        .env("REETRACE_PUBLIC_BASE_URL", b);
    let output = finished(serve).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains(a) && stderr(&output).contains(b));

    // `admin instance show` prints the identity.
    let mut show = reetrace(dir.path(), &db.url);
    show.args(["admin", "instance", "show"]);
    let output = finished(show).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(shown["public_base_url"], a);
    assert_eq!(shown["aliases"], json!([]));
}
both_backends!(another_base_url_is_refused_and_none_keeps_the_recorded_one);

/// (b) After `admin instance move --to B`, a credential issued under A still verifies (VC-API
/// and the passport page), new ones are issued under B, and both hosts get their DID document.
async fn a_moved_instance_keeps_verifying_what_it_issued_before(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    let master = master_text();
    reetrace_passport::client::install_crypto_provider();
    let client = reqwest::Client::new();
    let (a, listener_a) = listener().await;
    let (services, shutdown, running) = serve(config(&db, Some(&a), &master), listener_a).await;
    let maker = services
        .accounts
        .create_org(NewOrg {
            name: "Acme Motors".into(),
            role: Role::Manufacturer,
            operator_id: None,
        })
        .await
        .unwrap();
    services
        .accounts
        .add_gs1_prefix(
            maker.org_id,
            &NewGs1Prefix {
                prefix: Some("4012345".into()),
                ..NewGs1Prefix::default()
            },
        )
        .await
        .unwrap();
    let old = register(&client, &a, &maker.api_key, "EVM-MOVE-1").await;
    let old_credential = old["credential"].clone();
    assert!(
        old_credential["issuer"]["id"]
            .as_str()
            .unwrap()
            .starts_with(&did_host(&a))
    );
    // Stopped, not just told to stop: the move below writes to the same database.
    shutdown.cancel();
    running.await.unwrap().unwrap();
    drop(services);

    let (b, listener_b) = listener().await;
    let dir = tempfile::tempdir().unwrap();
    let mut moving = reetrace(dir.path(), &db.url);
    moving.args(["admin", "instance", "move", "--to", &b]);
    let output = finished(moving).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let moved: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(moved["identity"]["public_base_url"], b.as_str());
    assert_eq!(moved["identity"]["aliases"], json!([a]));

    // Unconfigured: the moved identity is the one in use.
    let (services, shutdown, _running) = serve(config(&db, None, &master), listener_b).await;
    assert_eq!(services.passport.base_url(), b);
    let verify = |credential: Value| {
        let client = client.clone();
        let url = format!("{b}/credentials/verify");
        async move {
            let response = client
                .post(url)
                .json(&json!({"verifiableCredential": credential}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, result) = verify(old_credential.clone()).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["verified"], true, "{result}");
    assert_eq!(
        result["checks"],
        json!(["proof", "issuer", "validity", "status"])
    );

    // The passport page of the old one: its signature is valid under the old DID.
    let id = old["id"].as_str().unwrap();
    let page = client
        .get(format!("{b}/p/{id}"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Signature valid"), "{page}");
    assert!(!page.contains("another issuer"));

    // New credentials are issued under B and verify too.
    let new = register(&client, &b, &maker.api_key, "EVM-MOVE-2").await;
    let issuer = new["credential"]["issuer"]["id"].as_str().unwrap();
    assert!(issuer.starts_with(&did_host(&b)), "{issuer}");
    let (status, result) = verify(new["credential"].clone()).await;
    assert_eq!(status, 200, "{result}");

    // did.json answers at both hosts, each naming its own DID.
    let did_doc = |host: Option<String>| {
        let client = client.clone();
        let url = format!("{b}/orgs/{}/did.json", maker.org_id);
        async move {
            let mut request = client.get(url);
            if let Some(host) = host {
                request = request.header("host", host);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let at_b = did_doc(None).await;
    assert_eq!(
        at_b["id"],
        format!("{}:orgs:{}", did_host(&b), maker.org_id)
    );
    let at_a = did_doc(Some(a.trim_start_matches("http://").to_owned())).await;
    assert_eq!(at_a["id"], old_credential["issuer"]["id"]);

    // The old status list, asked for at the old host, names the old URL and issuer.
    let list_url = old_credential["credentialStatus"][0]["statusListCredential"]
        .as_str()
        .or_else(|| old_credential["credentialStatus"]["statusListCredential"].as_str())
        .unwrap()
        .to_owned();
    let path = list_url.strip_prefix(&a).unwrap();
    let list: Value = client
        .get(format!("{b}{path}"))
        .header("host", a.trim_start_matches("http://"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["id"], list_url);
    assert_eq!(list["issuer"], old_credential["issuer"]["id"]);

    // An EPCIS event naming the old product URI `<A>/p/{id}` still moves that product's custody.
    let collector = services
        .accounts
        .create_org(NewOrg {
            name: "Collecte Lyon".into(),
            role: Role::Recycler,
            operator_id: None,
        })
        .await
        .unwrap();
    let document = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-09-01T08:00:00Z",
        "epcisBody": {"eventList": [{"type": "ObjectEvent", "eventTime": "2026-09-01T08:00:00Z",
            "eventTimeZoneOffset": "+00:00", "epcList": [format!("{a}/p/{id}")],
            "action": "OBSERVE", "bizStep": "collecting"}]}
    });
    let response = client
        .post(format!("{b}/api/v1/epcis/capture"))
        .bearer_auth(&collector.api_key)
        .header("content-type", "application/ld+json")
        .body(serde_json::to_vec(&document).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let report: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{report}");
    assert_eq!(report["events"][0]["subjects"], json!([id]), "{report}");
    let scan: Value = client
        .get(format!("{b}/api/v1/custody/{id}"))
        .bearer_auth(&collector.api_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scan["custody"]["state"], "collected", "{scan}");
    assert_eq!(scan["custody"]["holder"], collector.org_id.to_string());
    shutdown.cancel();
}
both_backends!(a_moved_instance_keeps_verifying_what_it_issued_before);

/// (c) The custody log's key: one that does not open, or a log whose key carries another
/// name, refuses the start; no second key is ever written.
async fn an_unreadable_custody_log_key_refuses_the_start(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    let master = master_text();
    let a = "https://a.example";
    drop(
        reetrace::app::build(&config(&db, Some(a), &master))
            .await
            .unwrap(),
    );
    let raw = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();

    // A database of an earlier release (no identity recorded) served under another URL: the
    // log's key names the old one.
    for table in ["instance_aliases", "instance_identity"] {
        Sql::new(format!("DELETE FROM {table}"))
            .execute(raw.writer())
            .await
            .unwrap();
    }
    let refused = reetrace::app::build(&config(&db, Some("https://b.example"), &master))
        .await
        .err()
        .expect("a second log is refused");
    assert!(reetrace::instance::exit_code(&refused).is_some());
    assert!(format!("{refused:#}").contains("a.example/custody-log"));
    assert_eq!(log_key_names(&db).await, vec!["a.example/custody-log"]);

    // The log's key does not open (sealed under something else).
    let other = reetrace_core::crypto::MasterKey::generate().unwrap();
    let key = reetrace_core::crypto::generate_signing_key().unwrap();
    let sealed = other
        .seal_signing_key(&key, "a.example/custody-log")
        .unwrap();
    Sql::new("UPDATE custody_log_keys SET sealed_secret = $1")
        .bind(sealed.as_slice())
        .execute(raw.writer())
        .await
        .unwrap();
    raw.close().await;
    for base in [Some(a), None] {
        let refused = reetrace::app::build(&config(&db, base, &master))
            .await
            .err()
            .expect("a log key that does not open is refused");
        assert!(reetrace::instance::exit_code(&refused).is_some());
        assert!(
            format!("{refused:#}").contains("custody log key"),
            "{refused:#}"
        );
    }
    assert_eq!(log_key_names(&db).await, vec!["a.example/custody-log"]);
}
both_backends!(an_unreadable_custody_log_key_refuses_the_start);

/// (d) The master key file: made for a fresh database only; a populated database with the
/// file missing (a mistyped path) or another key refuses to serve, exit 2, naming it; `check`
/// never writes.
async fn a_master_key_is_made_for_a_fresh_database_only(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("reetrace.master.key");
    let mut create = reetrace(dir.path(), &db.url);
    create
        .args(["admin", "org", "create", "--name", "Acme", "--role"])
        .arg("manufacturer")
        .env("REETRACE_MASTER_KEY_FILE", &key_file);
    let output = finished(create).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(key_file.exists(), "a fresh database gets a master key");

    let missing = dir.path().join("reetrace.master.kye");
    let mut check = reetrace(dir.path(), &db.url);
    check
        .args(["admin", "master-key", "check"])
        .env("REETRACE_MASTER_KEY_FILE", &missing);
    let output = finished(check).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["ok"], false);
    assert!(!missing.exists(), "check creates nothing");

    let mut serve = reetrace(dir.path(), &db.url);
    serve
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("REETRACE_MASTER_KEY_FILE", &missing);
    let output = finished(serve).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&output)
    );
    assert!(
        !missing.exists(),
        "serve creates no key for a populated database"
    );

    let mut wrong = reetrace(dir.path(), &db.url);
    wrong
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("REETRACE_MASTER_KEY", master_text());
    let output = finished(wrong).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("REETRACE_MASTER_KEY"));

    let mut check = reetrace(dir.path(), &db.url);
    check
        .args(["admin", "master-key", "check"])
        .env("REETRACE_MASTER_KEY_FILE", &key_file);
    let output = finished(check).await;
    assert!(output.status.success(), "{}", stderr(&output));
}
both_backends!(a_master_key_is_made_for_a_fresh_database_only);
