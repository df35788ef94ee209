//! Storage plumbing shared by every service: connecting to SQLite or PostgreSQL, running each
//! service's embedded migrations, and turning database errors into something a handler can
//! answer with.
//!
//! Each service owns its tables and has one store implementation per backend; this module only
//! hands them a [`Db`]. SQLite runs in WAL mode with a single writer connection (so concurrent
//! writers queue instead of failing with `SQLITE_BUSY`) beside a pool of readers.

use std::str::FromStr;
use std::time::Duration;

use axum::http::StatusCode;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::problem::Problem;

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

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(db) => sqlx::query("SELECT 1").execute(&db.read).await.map(|_| ()),
            Db::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
        }
    }

    /// Applies one service's migrations (idempotent).
    pub async fn migrate(&self, set: &MigrationSet) -> Result<(), ConnectError> {
        match self {
            Db::Sqlite(db) => {
                let mut migrator = (set.sqlite)();
                migrator.dangerous_set_table_name(set.table_name());
                migrator.run(&db.write).await?;
            }
            Db::Postgres(pool) => {
                let mut migrator = (set.postgres)();
                migrator.dangerous_set_table_name(set.table_name());
                migrator.run(pool).await?;
            }
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

/// One service's embedded migrations, one folder per backend.
///
/// Every service records its applied migrations in a table of its own
/// (`_reetrace_migrations_<name>`), so services sharing a database never see each other's
/// history as "missing".
pub struct MigrationSet {
    pub name: &'static str,
    pub sqlite: fn() -> Migrator,
    pub postgres: fn() -> Migrator,
}

impl MigrationSet {
    pub fn table_name(&self) -> String {
        format!("_reetrace_migrations_{}", self.name)
    }
}

/// What a store operation can fail with, in terms a handler can answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write.
    #[error("conflicts with an existing record ({constraint})")]
    Conflict { constraint: String },
    /// A referenced record does not exist.
    #[error("refers to a record that does not exist")]
    MissingReference,
    /// Text the database cannot store (a NUL character).
    #[error("text contains a NUL character, which cannot be stored")]
    InvalidText,
    /// The database is unreachable or the pool is exhausted.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Two writers raced; the caller may retry.
    #[error("a concurrent write conflicted; retry")]
    Serialization(#[source] sqlx::Error),
    /// Stored data that does not decode into our types.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(err)
            }
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                match db.kind() {
                    ErrorKind::UniqueViolation => StoreError::Conflict {
                        constraint: db.constraint().unwrap_or("unique").to_owned(),
                    },
                    ErrorKind::ForeignKeyViolation => StoreError::MissingReference,
                    _ if code == "22021" || code == "22P05" => StoreError::InvalidText,
                    // PostgreSQL serialization failure / deadlock; SQLite busy or locked.
                    _ if matches!(code.as_str(), "40001" | "40P01" | "5" | "6" | "517") => {
                        StoreError::Serialization(err)
                    }
                    _ => StoreError::Database(err),
                }
            }
            _ => StoreError::Database(err),
        }
    }
}

impl From<StoreError> for Problem {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict { constraint } => Problem::conflict(
                "conflict",
                format!("The request conflicts with an existing record ({constraint})."),
            ),
            StoreError::MissingReference => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_reference",
                "The request refers to something that does not exist",
            )
            .with_detail("A referenced record does not exist."),
            StoreError::InvalidText => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_text",
                "The request is not valid",
            )
            .with_detail("Text fields must not contain the NUL character (U+0000)."),
            StoreError::Unavailable(source) => {
                tracing::error!(error = %source, "database unavailable");
                Problem::service_unavailable("The database is unavailable; retry later.")
            }
            StoreError::Serialization(source) => {
                tracing::warn!(error = %source, "write conflict");
                Problem::service_unavailable("A concurrent write conflicted; retry the request.")
                    .with("retry_after", 1)
            }
            StoreError::Corrupt(what) => {
                tracing::error!(%what, "corrupt stored data");
                Problem::internal()
            }
            StoreError::Database(source) => {
                tracing::error!(error = ?source, "database error");
                Problem::internal()
            }
        }
    }
}

/// Rewrites sealed secrets in `table` (a master key rotation) in one transaction on either
/// backend: each row, named by `id_column`, only if its `sealed_secret` still holds what the
/// plan read; otherwise nothing is written and the answer is a conflict naming the row.
pub async fn reseal_rows<DB>(
    pool: &sqlx::Pool<DB>,
    table: &str,
    id_column: &str,
    changes: &[crate::crypto::Reseal],
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    for<'q> Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
{
    let sql = format!(
        "UPDATE {table} SET sealed_secret = $1 WHERE {id_column} = $2 AND sealed_secret = $3 \
         RETURNING {id_column}"
    );
    let mut tx = pool.begin().await?;
    for change in changes {
        let done = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(change.to.clone())
            .bind(change.id.clone())
            .bind(change.from.clone())
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_none() {
            return Err(StoreError::Conflict {
                constraint: format!("{table} row {} changed meanwhile", change.id),
            });
        }
    }
    tx.commit().await?;
    Ok(())
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
