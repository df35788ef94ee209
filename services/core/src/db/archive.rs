//! Backups: every store that keeps something that cannot be recomputed names its tables and
//! their typed columns ([`ArchiveTable`]) through [`Archived`]; this module reads and writes
//! their rows on either backend, as JSON values that are the same whichever backend wrote
//! them (UUIDs as strings, bytes in base64, times in RFC 3339, dates as `YYYY-MM-DD`).
//!
//! The archive format itself (a header, a line per row, a trailer) belongs to the binary's
//! `export`/`restore` commands.

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use serde_json::{Value as Json, json};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::{Db, Kind, Sql, StoreError, Tx};

/// A table of the archive and its columns, in the order of the live schema.
#[derive(Debug)]
pub struct ArchiveTable {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

impl ArchiveTable {
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|(name, _)| *name)
    }
}

/// A store whose tables a backup holds.
#[async_trait]
pub trait Archived: Send + Sync {
    /// The archived tables, in restore order (referenced tables first).
    fn archive_tables(&self) -> &'static [ArchiveTable];

    /// Before a restore, inside its transaction: refuse a target that already holds data, and
    /// remove the rows the migrations seed that the archive brings instead.
    async fn prepare_restore(&self, tx: &mut Tx) -> Result<(), ArchiveError>;
}

/// Why an archive could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error(
        "the target database is not empty ({rows} rows in {table}); restore into a fresh database"
    )]
    NotEmpty { table: &'static str, rows: i64 },
    #[error("{at}: not a valid {kind:?}: {value}")]
    BadValue {
        at: String,
        kind: Kind,
        value: String,
    },
}

/// One value of an archived row.
#[derive(Debug, Clone, PartialEq)]
pub enum ArchiveValue {
    Null(Kind),
    Uuid(Uuid),
    Text(String),
    Bytes(Vec<u8>),
    Int(i64),
    Time(DateTime<Utc>),
    Date(NaiveDate),
    Bool(bool),
}

/// One archived row, in column order.
pub type ArchiveRow = Vec<ArchiveValue>;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl ArchiveValue {
    /// The value as the archive writes it.
    pub fn to_json(&self) -> Json {
        match self {
            ArchiveValue::Null(_) => Json::Null,
            ArchiveValue::Uuid(v) => json!(v),
            ArchiveValue::Text(v) => Json::String(v.clone()),
            ArchiveValue::Bytes(v) => json!(b64().encode(v)),
            ArchiveValue::Int(v) => json!(v),
            ArchiveValue::Time(v) => {
                json!(v.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }
            ArchiveValue::Date(v) => json!(v.to_string()),
            ArchiveValue::Bool(v) => json!(v),
        }
    }

    /// Reads a value of `kind` from the archive; `at` names it in errors.
    pub fn from_json(kind: Kind, value: &Json, at: &str) -> Result<Self, ArchiveError> {
        let bad = || ArchiveError::BadValue {
            at: at.to_owned(),
            kind,
            value: value.to_string(),
        };
        if value.is_null() {
            return Ok(ArchiveValue::Null(kind));
        }
        let text = value.as_str();
        Ok(match kind {
            Kind::Uuid => ArchiveValue::Uuid(text.and_then(|s| s.parse().ok()).ok_or_else(bad)?),
            Kind::Text => ArchiveValue::Text(text.ok_or_else(bad)?.to_owned()),
            Kind::Bytes => {
                ArchiveValue::Bytes(text.and_then(|s| b64().decode(s).ok()).ok_or_else(bad)?)
            }
            Kind::I32 | Kind::I64 => ArchiveValue::Int(value.as_i64().ok_or_else(bad)?),
            Kind::Time => ArchiveValue::Time(
                text.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|t| t.with_timezone(&Utc))
                    .ok_or_else(bad)?,
            ),
            Kind::Date => ArchiveValue::Date(text.and_then(|s| s.parse().ok()).ok_or_else(bad)?),
            Kind::Bool => ArchiveValue::Bool(value.as_bool().ok_or_else(bad)?),
            Kind::F64 => return Err(bad()),
        })
    }

    fn bind_to<'q>(self, row: &mut super::Row<'_, 'q>) {
        match self {
            ArchiveValue::Null(kind) => row.bind(super::Arg::Null(kind)),
            ArchiveValue::Uuid(v) => row.bind(v),
            ArchiveValue::Text(v) => row.bind(v),
            ArchiveValue::Bytes(v) => row.bind(v),
            ArchiveValue::Int(v) => row.bind(v),
            ArchiveValue::Time(v) => row.bind(v),
            ArchiveValue::Date(v) => row.bind(v),
            ArchiveValue::Bool(v) => row.bind(v),
        };
    }
}

/// Reads column `i` of a row as `kind`, on either backend.
fn decode<'r, R>(row: &'r R, i: usize, kind: Kind) -> Result<ArchiveValue, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    Option<Uuid>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<DateTime<Utc>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<NaiveDate>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let value = match kind {
        Kind::Uuid => row.try_get::<Option<Uuid>, _>(i)?.map(ArchiveValue::Uuid),
        Kind::Text => row.try_get::<Option<String>, _>(i)?.map(ArchiveValue::Text),
        Kind::Bytes => row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map(ArchiveValue::Bytes),
        Kind::I32 | Kind::I64 => row.try_get::<Option<i64>, _>(i)?.map(ArchiveValue::Int),
        Kind::Time => row
            .try_get::<Option<DateTime<Utc>>, _>(i)?
            .map(ArchiveValue::Time),
        Kind::Date => row
            .try_get::<Option<NaiveDate>, _>(i)?
            .map(ArchiveValue::Date),
        Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(ArchiveValue::Bool),
        Kind::F64 => {
            return Err(sqlx::Error::Decode(
                "floating-point columns are not archived".into(),
            ));
        }
    };
    Ok(value.unwrap_or(ArchiveValue::Null(kind)))
}

/// Rows per `INSERT` on restore.
const RESTORE_CHUNK: usize = 200;

impl Db {
    /// Streams every row of `table`, in the order of its first column, to `sink`; returns how
    /// many there were.
    pub async fn export_table(
        &self,
        table: &ArchiveTable,
        sink: &mut (dyn FnMut(ArchiveRow) -> std::io::Result<()> + Send),
    ) -> Result<u64, ArchiveError> {
        // Integers are read as 64-bit on both backends (a few PostgreSQL columns are `integer`).
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|(name, kind)| match kind {
                Kind::I32 | Kind::I64 => format!("CAST({name} AS BIGINT)"),
                _ => (*name).to_owned(),
            })
            .collect();
        let text = format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            table.name,
            table.columns[0].0
        );
        let io = |e: std::io::Error| ArchiveError::Store(StoreError::Corrupt(e.to_string()));
        let mut count = 0u64;
        match self {
            Db::Sqlite(db) => {
                let mut rows = sqlx::query(AssertSqlSafe(text)).fetch(&db.read);
                while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
                    sink(decode_row(&row, table).map_err(StoreError::from)?).map_err(io)?;
                    count += 1;
                }
            }
            Db::Postgres(pool) => {
                let mut rows = sqlx::query(AssertSqlSafe(text)).fetch(pool);
                while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
                    sink(decode_row(&row, table).map_err(StoreError::from)?).map_err(io)?;
                    count += 1;
                }
            }
        }
        Ok(count)
    }
}

fn decode_row<'r, R>(row: &'r R, table: &ArchiveTable) -> Result<ArchiveRow, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    Option<Uuid>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<DateTime<Utc>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<NaiveDate>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| decode(row, i, *kind))
        .collect()
}

impl Tx {
    /// Inserts archived rows of `table`, in chunks.
    pub async fn import_rows(
        &mut self,
        table: &ArchiveTable,
        rows: Vec<ArchiveRow>,
    ) -> Result<(), StoreError> {
        let columns: Vec<&str> = table.column_names().collect();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut sql = Sql::new(format!(
                "INSERT INTO {} ({}) ",
                table.name,
                columns.join(", ")
            ));
            sql.push_values(rows.by_ref().take(RESTORE_CHUNK), |row, values| {
                for value in values {
                    value.bind_to(row);
                }
            });
            sql.execute(&mut *self).await?;
        }
        Ok(())
    }

    /// How many rows `table` holds (restores refuse a target that holds data).
    pub async fn count_rows(&mut self, table: &str) -> Result<i64, StoreError> {
        Sql::new(format!("SELECT COUNT(*) FROM {table}"))
            .scalar(&mut *self)
            .await
    }

    /// Removes every row of `table` (seeded rows an archive brings instead).
    pub async fn clear_table(&mut self, table: &str) -> Result<(), StoreError> {
        Sql::new(format!("DELETE FROM {table}"))
            .execute(&mut *self)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_json() {
        let values = [
            (Kind::Uuid, ArchiveValue::Uuid(Uuid::from_u128(7))),
            (Kind::Text, ArchiveValue::Text("x".into())),
            (Kind::Bytes, ArchiveValue::Bytes(vec![0, 1, 255])),
            (Kind::I64, ArchiveValue::Int(-3)),
            (
                Kind::Time,
                ArchiveValue::Time(
                    DateTime::from_timestamp(1_700_000_000, 5_000).unwrap_or_default(),
                ),
            ),
            (
                Kind::Date,
                ArchiveValue::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap_or_default()),
            ),
            (Kind::Bool, ArchiveValue::Bool(true)),
            (Kind::Text, ArchiveValue::Null(Kind::Text)),
        ];
        for (kind, value) in values {
            let back = ArchiveValue::from_json(kind, &value.to_json(), "t.c");
            assert_eq!(back.ok(), Some(value));
        }
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_named() {
        let err = ArchiveValue::from_json(Kind::Uuid, &json!("nope"), "line 3 orgs.id");
        assert!(
            matches!(err, Err(ArchiveError::BadValue { ref at, .. }) if at == "line 3 orgs.id")
        );
    }
}
