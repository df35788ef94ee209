//! `serve --tls-cert/--tls-key`: the same application over HTTPS with a certificate made at test
//! time (by the `openssl` command the README shows), and the starts it refuses: one flag alone,
//! a file that cannot be read or holds no PEM item, a key that is not the certificate's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reetrace::config::{Config, SecretText};
use reetrace_core::db::Backend;
use reetrace_core::testing::TestDatabase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::helpers::spawn_app_with;

/// A self-signed certificate for 127.0.0.1 and localhost and its key, as `NAME-cert.pem` and
/// `NAME-key.pem` in `dir`. Fails the test when `openssl` cannot make one: never skipped.
fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}-cert.pem"));
    let key = dir.join(format!("{name}-key.pem"));
    let output = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=reetrace test"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl command makes the test certificate: install it to run this test");
    assert!(
        output.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (cert, key)
}

async fn over_https_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "server");
    let Some(app) = spawn_app_with(backend, |c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    })
    .await
    else {
        return;
    };
    assert!(
        app.address.starts_with("https://127.0.0.1:"),
        "{}",
        app.address
    );

    let health = app.get("/healthz").send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    assert!(
        !health.headers().contains_key("strict-transport-security"),
        "no HSTS unless a proxy in front adds it"
    );

    // The API as over plain HTTP: an admin creates an organisation, whose key then reads itself.
    let (org_id, org_key) = app.create_org("Acme Recycling", "recycler").await;
    let me = app.get_json("/api/v1/whoami", Some(&org_key)).await;
    assert_eq!(me["org_id"], org_id.as_str());
    assert_eq!(me["role"], "recycler");
    // Bad input keeps its problem+json answer.
    let refused = app
        .post("/api/v1/orgs")
        .bearer_auth(&app.admin_key)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );

    // A first start without a configured base URL adopts the HTTPS one.
    let mut config = app.config.clone();
    config.public_base_url = None;
    assert_eq!(
        config.derived_base_url(),
        format!("https://{}", config.listen)
    );

    // The port speaks TLS only: a plain HTTP request gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/healthz", config.listen))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
    // A client that does not trust the certificate is refused by its own check.
    let untrusting = reqwest::Client::new().get(app.url("/healthz")).send().await;
    assert!(untrusting.is_err(), "{untrusting:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_is_served_over_https_sqlite() {
    over_https_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_is_served_over_https_postgres() {
    over_https_on(Backend::Postgres).await;
}

/// A client that opens a connection and never finishes the TLS handshake is closed after the
/// header read timeout, as an unfinished request head is over plain HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_tls_handshake_is_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "server");
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
        c.connections.header_read_timeout_ms = 300;
    })
    .await
    .unwrap();
    let mut stream = TcpStream::connect(app.address.trim_start_matches("https://"))
        .await
        .unwrap();
    // The first bytes of a TLS record header, and then nothing.
    stream.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 512];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection stayed open");
    assert!(started.elapsed() < Duration::from_secs(3));
    // The server still answers others.
    assert_eq!(app.get("/healthz").send().await.unwrap().status(), 200);
}

/// Shutting down stops an HTTPS server as it stops a plain one: kept-alive connections are
/// closed and `run` returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_server_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "server");
    let db = TestDatabase::new(Backend::Sqlite).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config {
        listen: listener.local_addr().unwrap(),
        tls_cert: Some(cert.clone()),
        tls_key: Some(key),
        database_url: SecretText::new(db.url.clone()),
        master_key: Some(SecretText::new(
            reetrace_core::crypto::MasterKey::generate()
                .unwrap()
                .to_base64()
                .expose()
                .clone(),
        )),
        ..Config::default()
    };
    let app = reetrace::app::build(&config).await.unwrap();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run(listener, shutdown.clone()));
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap()])
        .build()
        .unwrap();
    let health = format!("https://{}/healthz", config.listen);
    // The client keeps this connection open for the next request.
    assert_eq!(client.get(&health).send().await.unwrap().status(), 200);

    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the server stops with a kept-alive HTTPS connection open");
    stopped.unwrap().unwrap();
    let after = client
        .get(&health)
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    assert!(after.is_err(), "answered after the shutdown: {after:?}");
}

/// Runs `reetrace serve` with `args` on a fresh SQLite path, expecting a refused start; returns
/// standard error. The database is not created: the certificate is checked first.
fn refused_start(dir: &Path, args: &[&Path]) -> String {
    let database = dir.join("refused.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .arg("--database-url")
        .arg(format!("sqlite://{}", database.display()))
        .args(args)
        .env_remove("REETRACE_TLS_CERT")
        .env_remove("REETRACE_TLS_KEY")
        .env_remove("REETRACE_CONFIG")
        .env("REETRACE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("reetrace serve {args:?} started instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!database.exists(), "the database was opened: {stderr}");
    stderr
}

#[test]
fn a_start_with_one_tls_flag_is_refused_naming_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "server");
    let stderr = refused_start(dir.path(), &[Path::new("--tls-cert"), &cert]);
    assert!(
        stderr.contains("--tls-key (REETRACE_TLS_KEY) is not"),
        "{stderr}"
    );
    let stderr = refused_start(dir.path(), &[Path::new("--tls-key"), &key]);
    assert!(
        stderr.contains("--tls-cert (REETRACE_TLS_CERT) is not"),
        "{stderr}"
    );
}

#[test]
fn a_certificate_or_key_that_does_not_load_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "server");
    let (_, other_key) = self_signed(dir.path(), "other");
    let missing = dir.path().join("missing-cert.pem");
    let cert_flag = Path::new("--tls-cert");
    let key_flag = Path::new("--tls-key");

    let stderr = refused_start(dir.path(), &[cert_flag, &missing, key_flag, &key]);
    assert!(
        stderr.contains(&format!(
            "TLS certificate {}: cannot read it",
            missing.display()
        )),
        "{stderr}"
    );
    let unreadable_key = dir.path().join("no-such-key.pem");
    let stderr = refused_start(dir.path(), &[cert_flag, &cert, key_flag, &unreadable_key]);
    assert!(
        stderr.contains(&format!(
            "TLS key {}: cannot read it",
            unreadable_key.display()
        )),
        "{stderr}"
    );
    // The files swapped: the key file holds no certificate.
    let stderr = refused_start(dir.path(), &[cert_flag, &key, key_flag, &cert]);
    assert!(
        stderr.contains(&format!(
            "TLS certificate {}: holds no PEM certificate",
            key.display()
        )),
        "{stderr}"
    );
    let stderr = refused_start(dir.path(), &[cert_flag, &cert, key_flag, &other_key]);
    assert!(
        stderr.contains(&format!(
            "TLS key {} does not match the certificate {}",
            other_key.display(),
            cert.display()
        )),
        "{stderr}"
    );
}
