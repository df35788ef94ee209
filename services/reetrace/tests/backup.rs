//! `reetrace export` / `reetrace restore`: a restored instance serves the same signed bytes and
//! its log verifies, across backends; the archive covers every table that cannot be recomputed.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use reetrace::config::{Config, SecretText};
use reetrace_core::db::{Backend, Db, PoolOptions};
use reetrace_core::domain::audit::{AuditEntry, AuditFilter};
use reetrace_core::testing::TestDatabase;
use serde_json::Value;

fn reetrace(args: &[&str], url: &str, master: &str, dir: &std::path::Path) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .current_dir(dir)
        .args(args)
        .args(["--database-url", url])
        .env("REETRACE_MASTER_KEY", master)
        .env("REETRACE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
}

/// Tables that hold nothing a restore needs: runtime state, and stock's projections (rebuilt
/// from the feeds).
fn not_archived(table: &str) -> bool {
    table.starts_with("_reetrace_migrations_")
        || reetrace_core::store::archive::NOT_ARCHIVED.contains(&table)
        || table.starts_with("stock_")
}

async fn columns(db: &Db) -> Vec<(String, Vec<String>)> {
    let rows: Vec<(String, String)> = match db {
        Db::Sqlite(db) => sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid",
        )
        .fetch_all(&db.read)
        .await
        .unwrap(),
        Db::Postgres(pool) => sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (table, column) in rows {
        match out.last_mut() {
            Some((t, cols)) if *t == table => cols.push(column),
            _ => out.push((table, vec![column])),
        }
    }
    out
}

async fn archive_covers_the_schema(backend: Backend) {
    let Some(test) = TestDatabase::new(backend).await else {
        return;
    };
    let config = Config {
        database_url: SecretText::new(test.url.clone()),
        ..Config::default()
    };
    let db = reetrace::app::open_database(&config).await.unwrap();
    for (table, cols) in columns(&db).await {
        if not_archived(&table) {
            continue;
        }
        let archived = reetrace::backup::tables(&db)
            .into_iter()
            .find(|t| t.name == table)
            .unwrap_or_else(|| {
                panic!("table {table} is neither archived nor listed as recomputable")
            });
        let names: Vec<&str> = archived.columns.iter().map(|(c, _)| *c).collect();
        assert_eq!(names, cols, "columns of {table}");
    }
    db.close().await;
}

#[tokio::test]
async fn the_archive_covers_every_table_on_sqlite() {
    archive_covers_the_schema(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_archive_covers_every_table_on_postgres() {
    archive_covers_the_schema(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_world_restored_into_sqlite_serves_and_verifies_the_same() {
    let Some(source) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let target = TestDatabase::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let master = reetrace_core::crypto::MasterKey::generate()
        .unwrap()
        .to_base64()
        .expose()
        .clone();
    reetrace(
        &["demo", "--products", "150"],
        &source.url,
        &master,
        dir.path(),
    );
    let archive = dir.path().join("backup.ndjson.gz");
    let exported = reetrace(
        &["export", "--output", archive.to_str().unwrap()],
        &source.url,
        &master,
        dir.path(),
    );
    let restored = reetrace(
        &["restore", "--input", archive.to_str().unwrap()],
        &target.url,
        &master,
        dir.path(),
    );
    assert_eq!(exported["rows"], restored["rows"]);
    assert!(restored["rows"]["passport_versions"].as_u64().unwrap() >= 150);
    assert!(restored["rows"]["custody_events"].as_u64().unwrap() > 0);
    // The identity travels with the data it names.
    assert_eq!(restored["rows"]["instance_identity"], 1);

    // Restoring twice is refused: the target is no longer empty.
    let again = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .args([
            "restore",
            "--input",
            archive.to_str().unwrap(),
            "--database-url",
            &target.url,
        ])
        .env("REETRACE_MASTER_KEY", &master)
        .output()
        .unwrap();
    assert!(!again.status.success());

    // The same signed bytes on both sides.
    let pool_options = PoolOptions::default();
    let (a, b) = (
        Db::connect(&source.url, &pool_options).await.unwrap(),
        Db::connect(&target.url, &pool_options).await.unwrap(),
    );
    let Db::Postgres(pg) = &a else { panic!() };
    let Db::Sqlite(lite) = &b else { panic!() };
    let left: Vec<(String,)> =
        sqlx::query_as("SELECT credential FROM passport_versions ORDER BY credential")
            .fetch_all(pg)
            .await
            .unwrap();
    let right: Vec<(String,)> =
        sqlx::query_as("SELECT credential FROM passport_versions ORDER BY credential")
            .fetch_all(&lite.read)
            .await
            .unwrap();
    assert_eq!(left, right);

    // The restored instance: credentials verify and the log checks out against its checkpoint.
    let config = Config {
        database_url: SecretText::new(target.url.clone()),
        master_key: Some(SecretText::new(master.clone())),
        ..Config::default()
    };
    let app = reetrace::app::build(&config).await.unwrap();
    let services = app.services();
    assert_eq!(services.identity.public_base_url, "http://127.0.0.1:8080");
    // Served elsewhere by mistake, the restored instance refuses to start rather than issue
    // under a second name.
    let elsewhere = Config {
        public_base_url: Some("https://elsewhere.example".into()),
        ..config.clone()
    };
    let refused = reetrace::app::build(&elsewhere).await.err().unwrap();
    assert!(
        reetrace::instance::exit_code(&refused).is_some(),
        "{refused:#}"
    );
    let (credential,) = &right[0];
    let credential: Value = serde_json::from_str(credential).unwrap();
    let result = services.passport.verify_credential(&credential).await;
    assert!(result.verified, "{:?}", result.errors);
    let store = services.custody.store();
    let size = store.log_size().await.unwrap();
    let latest = store.latest_checkpoint().await.unwrap().unwrap();
    let (cp_size, note) = (latest.size, latest.note);
    let mut verifier = reetrace_custody::domain::log_verifier::LogVerifier::new(vec![cp_size]);
    let events = store.events_from(0, size as u32 + 1).await.unwrap();
    let links = store.links_between(0, size).await.unwrap();
    verifier.check_page(&events, &links);
    let report = verifier.finish(Some(&note), services.custody.log().verifier_key());
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.events, size);
}

/// An archive that `reetrace export` wrote before the stores were reshaped (commit b7d38b9, the
/// demo world of `reetrace demo --products 5` on SQLite; its master key beside it, a test key).
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/archive-v1")
        .join(name)
}

async fn an_archive_of_the_previous_release_restores(backend: Backend) {
    let Some(target) = TestDatabase::new(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let master = std::fs::read_to_string(fixture("master.key"))
        .unwrap()
        .trim()
        .to_owned();
    let restored = reetrace(
        &[
            "restore",
            "--input",
            fixture("archive-v1.ndjson.gz").to_str().unwrap(),
        ],
        &target.url,
        &master,
        dir.path(),
    );
    assert_eq!(restored["rows"]["passports"], 594);
    assert_eq!(restored["rows"]["custody_events"], 401);
    assert_eq!(restored["rows"]["orgs"], 14);
    assert_eq!(restored["rows"]["feed_quarantine"], 0);
    // The archive predates the audit trail: it restores with the trail empty.
    assert_eq!(restored["rows"]["audit_trail"], 0);

    let config = Config {
        database_url: SecretText::new(target.url.clone()),
        master_key: Some(SecretText::new(master.clone())),
        ..Config::default()
    };
    let app = reetrace::app::build(&config).await.unwrap();
    let services = app.services();
    let db = Db::connect(&target.url, &PoolOptions::default())
        .await
        .unwrap();
    let credentials: Vec<(String,)> = reetrace_core::db::Sql::new(
        "SELECT credential FROM passport_versions ORDER BY credential_id LIMIT 20",
    )
    .fetch_all(db.reader())
    .await
    .unwrap();
    assert_eq!(credentials.len(), 20);
    for (credential,) in &credentials {
        let credential: Value = serde_json::from_str(credential).unwrap();
        let result = services.passport.verify_credential(&credential).await;
        assert!(result.verified, "{:?}", result.errors);
    }
    let report = reetrace(&["verify-log"], &target.url, &master, dir.path());
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["events"], 401);
    // Its leaves were written before the log covered the events' columns: counted, not failed.
    assert_eq!(report["uncovered"], 401, "{report}");

    // Its custody rows are still checked against the replayed events: an edited holder fails.
    let (product, holder): (uuid::Uuid, uuid::Uuid) = reetrace_core::db::Sql::new(
        "SELECT passport_id, holder FROM custody_products WHERE holder IS NOT NULL \
         ORDER BY passport_id LIMIT 1",
    )
    .fetch_one(db.reader())
    .await
    .unwrap();
    let set_holder = async |holder: uuid::Uuid| {
        reetrace_core::db::Sql::new(
            "UPDATE custody_products SET holder = $1 WHERE passport_id = $2",
        )
        .bind(holder)
        .bind(product)
        .execute(db.writer())
        .await
        .unwrap();
    };
    set_holder(uuid::Uuid::now_v7()).await;
    let output = Command::new(env!("CARGO_BIN_EXE_reetrace"))
        .args(["verify-log", "--database-url", &target.url])
        .env("REETRACE_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let problems = report["problems"].to_string();
    assert!(
        problems.contains(&format!("product {product}: custody_products.holder is")),
        "{report}"
    );
    set_holder(holder).await;
    let report = reetrace(&["verify-log"], &target.url, &master, dir.path());
    assert_eq!(report["ok"], true, "undone: {report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_of_the_previous_release_restores_into_sqlite() {
    an_archive_of_the_previous_release_restores(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_of_the_previous_release_restores_into_postgres() {
    an_archive_of_the_previous_release_restores(Backend::Postgres).await;
}

/// Two authority reads as the audit trail keeps them.
fn audit_entries() -> Vec<AuditEntry> {
    let at = |text: &str| text.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let (org_id, key_id) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let entry = |route: &str, path: &str, query: Option<&str>, status, when| AuditEntry {
        id: uuid::Uuid::now_v7(),
        at: at(when),
        org_id,
        org_name: "Agency".into(),
        key_id,
        key_prefix: "abcdefghjk".into(),
        method: "GET".into(),
        route: route.into(),
        path: path.into(),
        query: query.map(str::to_owned),
        status,
    };
    vec![
        entry(
            "/api/v1/stock/flows",
            "/api/v1/stock/flows",
            Some("element=Nd&group_by=year"),
            200,
            "2025-03-01T10:00:00.123456Z",
        ),
        entry(
            "/api/v1/passports/{id}",
            "/api/v1/passports/0193b8c4-0000-7000-8000-000000000001",
            None,
            404,
            "2026-11-30T08:15:00Z",
        ),
    ]
}

async fn the_audit_trail_travels_with_the_backup(source: Backend, target: Backend) {
    let (Some(source), Some(target)) = (
        TestDatabase::new(source).await,
        TestDatabase::new(target).await,
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let master = reetrace_core::crypto::MasterKey::generate()
        .unwrap()
        .to_base64()
        .expose()
        .clone();
    let config = Config {
        database_url: SecretText::new(source.url.clone()),
        ..Config::default()
    };
    let db = reetrace::app::open_database(&config).await.unwrap();
    let store = reetrace_core::store::audit::open(&db);
    let entries = audit_entries();
    for entry in &entries {
        store.append(entry).await.unwrap();
    }
    db.close().await;

    let archive = dir.path().join("backup.ndjson");
    let exported = reetrace(
        &["export", "--output", archive.to_str().unwrap()],
        &source.url,
        &master,
        dir.path(),
    );
    assert_eq!(exported["rows"]["audit_trail"], 2);
    let restored = reetrace(
        &["restore", "--input", archive.to_str().unwrap()],
        &target.url,
        &master,
        dir.path(),
    );
    assert_eq!(restored["rows"]["audit_trail"], 2);

    let db = Db::connect(&target.url, &PoolOptions::default())
        .await
        .unwrap();
    let back = reetrace_core::store::audit::open(&db)
        .list(&AuditFilter::default(), None, 10)
        .await
        .unwrap();
    let mut expected = entries;
    expected.reverse();
    assert_eq!(back, expected);
    db.close().await;
}

#[tokio::test]
async fn the_audit_trail_travels_with_a_sqlite_backup() {
    the_audit_trail_travels_with_the_backup(Backend::Sqlite, Backend::Sqlite).await;
}

#[tokio::test]
async fn the_audit_trail_travels_from_postgres_to_sqlite() {
    the_audit_trail_travels_with_the_backup(Backend::Postgres, Backend::Sqlite).await;
}

#[tokio::test]
async fn the_audit_trail_travels_from_sqlite_to_postgres() {
    the_audit_trail_travels_with_the_backup(Backend::Sqlite, Backend::Postgres).await;
}
