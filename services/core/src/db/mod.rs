//! Storage plumbing shared by every store: connecting to SQLite or PostgreSQL, running each
//! service's embedded migrations, one way to write a statement for both backends ([`Sql`]),
//! transactions ([`Tx`]), the dialect differences ([`Dialect`]) and the store error.
//!
//! Each service owns its tables and has one store type that runs on either backend; this module
//! hands it a [`Db`]. SQLite runs in WAL mode with a single writer connection (so concurrent
//! writers queue instead of failing with `SQLITE_BUSY`) beside a pool of readers.
//!
//! How a store is written (see also `docs/ARCHITECTURE.md`):
//!
//! - reads: `Sql::new("SELECT ... WHERE id = $1").bind(id).fetch_optional(self.db.reader())`;
//! - a write of one statement: `....execute(self.db.writer())`;
//! - a transaction: `let mut tx = self.db.begin().await?;` then `....execute(&mut tx)`, and
//!   `tx.commit()`;
//! - text that differs by backend: `self.db.dialect().for_update()` and the other methods of
//!   [`Dialect`], nowhere else.

mod archive;
mod dialect;
mod error;
pub mod migrations;
mod record;
mod sql;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use archive::{ArchiveError, ArchiveRow, ArchiveTable, ArchiveValue, Archived};
pub use dialect::Dialect;
pub use error::StoreError;
pub use migrations::MigrationSet;
pub use sql::{Arg, Bind, Kind, On, Record, Row, Sql, Value};

/// sqlx for [`record!`](crate::record), which names it from the crates that use it.
#[doc(hidden)]
pub use sqlx as __sqlx;

/// The two storage backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// An SQLite database: one writer connection and a pool of readers on the same WAL file.
#[derive(Debug, Clone)]
pub struct SqliteDb {
    pub write: SqlitePool,
    pub read: SqlitePool,
}

/// A connected database.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqliteDb),
    Postgres(PgPool),
}

/// Pool sizes and timeouts.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("cannot open the database: {0}")]
    Open(#[from] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Db {
    /// Opens `url`: `sqlite://PATH` (created if missing), `sqlite::memory:` is refused because
    /// separate pool connections would see separate databases; `postgres://...` or
    /// `postgresql://...`.
    pub async fn connect(url: &str, options: &PoolOptions) -> Result<Db, ConnectError> {
        match backend_of(url) {
            Some(Backend::Sqlite) => Ok(Db::Sqlite(connect_sqlite(url, options).await?)),
            Some(Backend::Postgres) => {
                let connect = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Ok(Db::Postgres(pool))
            }
            None => Err(ConnectError::UnsupportedUrl(redact_url(url))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The SQL dialect of this database.
    pub fn dialect(&self) -> Dialect {
        Dialect(self.backend())
    }

    /// Where reads run (SQLite: the reader pool).
    pub fn reader(&self) -> On<'_> {
        match self {
            Db::Sqlite(db) => On::SqlitePool(&db.read),
            Db::Postgres(pool) => On::PgPool(pool),
        }
    }

    /// Where a write of one statement runs (SQLite: the single writer connection).
    pub fn writer(&self) -> On<'_> {
        match self {
            Db::Sqlite(db) => On::SqlitePool(&db.write),
            Db::Postgres(pool) => On::PgPool(pool),
        }
    }

    /// Starts a write transaction.
    ///
    /// Safe to cancel at any point. On PostgreSQL the `BEGIN` runs in a task of its own: sqlx
    /// counts a transaction only once the server has answered its `BEGIN`, so a caller dropped
    /// in between (a client hanging up, a timeout) would hand the connection back to the pool
    /// inside a transaction nobody knows of, and every later write on it would stay uncommitted
    /// and hold its locks. The task always finishes; a transaction nobody takes is rolled back
    /// when dropped. (SQLite's driver rolls such a transaction back itself.)
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite(db) => Tx::Sqlite(db.write.begin().await?),
            Db::Postgres(pool) => {
                let pool = pool.clone();
                match tokio::spawn(async move { pool.begin().await }).await {
                    Ok(started) => Tx::Postgres(started?),
                    Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                    // The runtime is shutting down.
                    Err(_) => return Err(StoreError::Unavailable(sqlx::Error::PoolClosed)),
                }
            }
        })
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        Sql::new("SELECT 1")
            .execute(self.reader())
            .await
            .map(|_| ())
    }

    /// Applies one service's migrations (idempotent).
    pub async fn migrate(&self, set: &MigrationSet) -> Result<(), ConnectError> {
        match self {
            Db::Sqlite(db) => set.migrator(Backend::Sqlite).run(&db.write).await?,
            Db::Postgres(pool) => set.migrator(Backend::Postgres).run(pool).await?,
        }
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(db) => {
                db.write.close().await;
                db.read.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// The backend a URL names, if any.
pub fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") && !url.contains(":memory:") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

/// A URL with its password replaced, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

async fn connect_sqlite(url: &str, options: &PoolOptions) -> Result<SqliteDb, sqlx::Error> {
    let connect = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: an acknowledged write survives an OS crash or power loss, not only a process crash.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(60))
        .connect_with(connect.clone())
        .await?;
    let read = SqlitePoolOptions::new()
        .max_connections(options.max_connections.max(2))
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await?;
    Ok(SqliteDb { write, read })
}

/// Rewrites sealed secrets in `table` (a master key rotation) in one transaction: each row,
/// named by `id_column`, only if its `sealed_secret` still holds what the plan read; otherwise
/// nothing is written and the answer is a conflict naming the row.
pub async fn reseal_rows(
    db: &Db,
    table: &str,
    id_column: &str,
    changes: &[crate::crypto::Reseal],
) -> Result<(), StoreError> {
    let text = format!(
        "UPDATE {table} SET sealed_secret = $1 WHERE {id_column} = $2 AND sealed_secret = $3"
    );
    let mut tx = db.begin().await?;
    for change in changes {
        let done = Sql::new(text.clone())
            .bind(&change.to)
            .bind(&change.id)
            .bind(&change.from)
            .execute(&mut tx)
            .await?;
        if done != 1 {
            return Err(StoreError::Conflict {
                constraint: format!("{table} row {} changed meanwhile", change.id),
            });
        }
    }
    tx.commit().await
}

/// A write transaction on either backend; statements run on it with `.execute(&mut tx)`.
/// Dropped without [`Tx::commit`], it rolls back.
#[derive(Debug)]
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub fn dialect(&self) -> Dialect {
        match self {
            Tx::Sqlite(_) => Dialect(Backend::Sqlite),
            Tx::Postgres(_) => Dialect(Backend::Postgres),
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

impl<'c> From<&'c mut Tx> for On<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        match tx {
            Tx::Sqlite(tx) => On::SqliteConn(&mut *tx),
            Tx::Postgres(tx) => On::PgConn(&mut *tx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_recognised_by_scheme() {
        assert_eq!(backend_of("sqlite://reetrace.db"), Some(Backend::Sqlite));
        assert_eq!(backend_of("sqlite:reetrace.db"), Some(Backend::Sqlite));
        assert_eq!(backend_of("postgres://u@h/db"), Some(Backend::Postgres));
        assert_eq!(backend_of("postgresql://u@h/db"), Some(Backend::Postgres));
        assert_eq!(backend_of("sqlite::memory:"), None);
        assert_eq!(backend_of("mysql://u@h/db"), None);
    }

    #[test]
    fn passwords_are_redacted() {
        let redacted = redact_url("postgres://me:secret@db.example/reetrace");
        assert!(!redacted.contains("secret"), "{redacted}");
        assert!(redacted.contains("me:***@db.example"));
    }
}
