//! Test support: a fresh database per test on each backend.
//!
//! SQLite tests get a file in a temporary directory. PostgreSQL tests get a database of their
//! own on the server named by `REETRACE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test ends. When that server
//! is unreachable, the PostgreSQL leg fails loudly if `CI` is set; elsewhere it says so on the
//! terminal and lets the SQLite leg stand alone.

use std::io::Write;
use std::sync::OnceLock;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::db::Backend;
use crate::domain::issuing::SigningKeyRow;

/// The default server for the PostgreSQL leg of the test suite.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database made for one test; dropped with it.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// The admin URL of the test PostgreSQL server.
pub fn postgres_admin_url() -> String {
    std::env::var("REETRACE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_owned())
}

/// Whether the test PostgreSQL server answers; checked once per test binary.
async fn postgres_available(admin_url: &str) -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    if let Some(known) = AVAILABLE.get() {
        return *known;
    }
    let reachable = PgConnection::connect(admin_url).await.is_ok();
    if !reachable {
        if std::env::var_os("CI").is_some() {
            panic!(
                "PostgreSQL is unreachable at {admin_url} and CI is set: the PostgreSQL leg of the \
                 test suite must run in CI (set REETRACE_TEST_POSTGRES_URL or start the server)"
            );
        }
        // Written straight to the terminal: libtest would swallow eprintln! of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "\nNOTE: PostgreSQL is unreachable at {admin_url}; only the SQLite leg of the \
             storage tests runs here (set CI=1 to make this an error).\n"
        );
    }
    *AVAILABLE.get_or_init(|| reachable)
}

impl TestDatabase {
    /// A fresh SQLite database file.
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("a temporary directory for the test database");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDatabase {
            url,
            backend: Backend::Sqlite,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` when the server is unreachable outside CI.
    pub async fn postgres() -> Option<TestDatabase> {
        let admin_url = postgres_admin_url();
        if !postgres_available(&admin_url).await {
            return None;
        }
        let name = format!("reetrace_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("connect to the test PostgreSQL server");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("REETRACE_TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Some(TestDatabase {
            url: url.to_string(),
            backend: Backend::Postgres,
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// A fresh database on `backend` (see [`TestDatabase::postgres`] for `None`).
    pub async fn new(backend: Backend) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres().await,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else {
            return;
        };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop runs inside the test's runtime; a thread with its own runtime can block on it.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            let _ = writeln!(
                std::io::stderr(),
                "could not drop test database {}",
                self.url
            );
        }
    }
}

/// A signing key as stored, for store tests: made-up key bytes (`n` repeated) that never sign,
/// a fresh id.
pub fn signing_key_row(
    org_id: uuid::Uuid,
    n: u8,
    created_at: chrono::DateTime<chrono::Utc>,
) -> SigningKeyRow {
    SigningKeyRow {
        id: format!("z6Mk{}", uuid::Uuid::new_v4().simple()),
        org_id,
        public_key: vec![n; 32],
        sealed_secret: vec![n ^ 0xff; 72],
        created_at,
        retired_at: None,
        revoked_at: None,
    }
}

/// Writes a test for each backend: `backend_test!(name, |db: TestDatabase| async move { ... })`
/// makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! backend_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::testing::TestDatabase::sqlite();
                ($body)(db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::testing::TestDatabase::postgres().await else {
                    return;
                };
                ($body)(db).await;
            }
        }
    };
}
