//! `reetrace export` / `reetrace restore`: a self-contained archive of everything that cannot be
//! recomputed — organisations and keys, passports (the signed bytes unchanged), status lists,
//! custody events, chains, the Merkle log and its checkpoints — as NDJSON (gzip when the file
//! name ends in `.gz`), restorable into an empty database of either backend. Stock's projections
//! are not in it: a restored instance rebuilds them from the feeds.
//!
//! The archive is a header line, one line per row (`{"t": table, "r": [values in column
//! order]}`), and a trailer with the row count of every table, so a truncated file is refused.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use reetrace_core::db::Db;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, QueryBuilder, Row};
use uuid::Uuid;

use crate::app;
use crate::cli::print_out;
use crate::config::Config;

/// The logical type of a column, the same on both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Uuid,
    Text,
    Bytes,
    Int,
    Time,
    Date,
    Bool,
}

/// A table of the archive and its columns.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

include!("backup_tables.rs");

/// The tables the archive holds, in the order they are restored (references first).
pub fn tables() -> &'static [Table] {
    TABLES
}

const FORMAT: &str = "reetrace-export";
const VERSION: u64 = 1;
/// Rows per INSERT on restore.
const CHUNK: usize = 200;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

macro_rules! encode_row {
    ($row:expr, $columns:expr) => {{
        let row = $row;
        let mut out = Vec::with_capacity($columns.len());
        for (i, (name, kind)) in $columns.iter().enumerate() {
            let value = match kind {
                Kind::Uuid => row.try_get::<Option<Uuid>, _>(i)?.map(|v| json!(v)),
                Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::String),
                Kind::Bytes => row
                    .try_get::<Option<Vec<u8>>, _>(i)?
                    .map(|v| json!(b64().encode(v))),
                Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(|v| json!(v)),
                Kind::Time => row
                    .try_get::<Option<DateTime<Utc>>, _>(i)?
                    .map(|v| json!(v.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))),
                Kind::Date => row
                    .try_get::<Option<NaiveDate>, _>(i)?
                    .map(|v| json!(v.to_string())),
                Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(|v| json!(v)),
            };
            let _ = name;
            out.push(value.unwrap_or(Value::Null));
        }
        out
    }};
}

/// Writes every table of `db` to `out`; returns the row counts.
async fn export_to(db: &Db, out: &mut dyn Write) -> anyhow::Result<serde_json::Map<String, Value>> {
    writeln!(
        out,
        "{}",
        json!({"format": FORMAT, "version": VERSION, "exported_at": Utc::now()})
    )?;
    let mut counts = serde_json::Map::new();
    for table in TABLES {
        // Integers are read as 64-bit on both backends (a few PostgreSQL columns are `integer`).
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|(c, k)| {
                if *k == Kind::Int {
                    format!("CAST({c} AS BIGINT)")
                } else {
                    (*c).to_owned()
                }
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            table.name,
            table.columns[0].0
        );
        let mut count = 0u64;
        match db {
            Db::Sqlite(db) => {
                let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&db.read);
                while let Some(row) = rows.try_next().await? {
                    let values = encode_row!(&row, table.columns);
                    writeln!(out, "{}", json!({"t": table.name, "r": values}))?;
                    count += 1;
                }
            }
            Db::Postgres(pool) => {
                let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(pool);
                while let Some(row) = rows.try_next().await? {
                    let values = encode_row!(&row, table.columns);
                    writeln!(out, "{}", json!({"t": table.name, "r": values}))?;
                    count += 1;
                }
            }
        }
        counts.insert(table.name.to_owned(), json!(count));
    }
    writeln!(out, "{}", json!({"end": counts}))?;
    Ok(counts)
}

/// `reetrace export --output FILE`.
pub async fn export(config: &Config, output: &Path) -> anyhow::Result<ExitCode> {
    let db = app::open_database(config).await?;
    let file =
        std::fs::File::create(output).with_context(|| format!("create {}", output.display()))?;
    let counts = if output.extension().is_some_and(|e| e == "gz") {
        let mut gz =
            flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
        let counts = export_to(&db, &mut gz).await?;
        gz.finish()?.flush()?;
        counts
    } else {
        let mut out = BufWriter::new(file);
        let counts = export_to(&db, &mut out).await?;
        out.flush()?;
        counts
    };
    db.close().await;
    print_out(&serde_json::to_string_pretty(
        &json!({"output": output, "rows": counts}),
    )?)?;
    Ok(ExitCode::SUCCESS)
}

/// A value of the archive, typed for binding.
enum Bound {
    Uuid(Option<Uuid>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Int(Option<i64>),
    Time(Option<DateTime<Utc>>),
    Date(Option<NaiveDate>),
    Bool(Option<bool>),
}

fn decode(kind: Kind, value: &Value, at: &str) -> anyhow::Result<Bound> {
    let bad = || anyhow::anyhow!("{at}: not a valid {kind:?}: {value}");
    if value.is_null() {
        return Ok(match kind {
            Kind::Uuid => Bound::Uuid(None),
            Kind::Text => Bound::Text(None),
            Kind::Bytes => Bound::Bytes(None),
            Kind::Int => Bound::Int(None),
            Kind::Time => Bound::Time(None),
            Kind::Date => Bound::Date(None),
            Kind::Bool => Bound::Bool(None),
        });
    }
    Ok(match kind {
        Kind::Uuid => Bound::Uuid(Some(
            value
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(bad)?,
        )),
        Kind::Text => Bound::Text(Some(value.as_str().ok_or_else(bad)?.to_owned())),
        Kind::Bytes => Bound::Bytes(Some(
            value
                .as_str()
                .and_then(|s| b64().decode(s).ok())
                .ok_or_else(bad)?,
        )),
        Kind::Int => Bound::Int(Some(value.as_i64().ok_or_else(bad)?)),
        Kind::Time => Bound::Time(Some(
            value
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(bad)?,
        )),
        Kind::Date => Bound::Date(Some(
            value
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(bad)?,
        )),
        Kind::Bool => Bound::Bool(Some(value.as_bool().ok_or_else(bad)?)),
    })
}

macro_rules! insert_rows {
    ($tx:expr, $table:expr, $rows:expr) => {{
        let columns: Vec<&str> = $table.columns.iter().map(|(c, _)| *c).collect();
        let mut q = QueryBuilder::new(format!(
            "INSERT INTO {} ({}) ",
            $table.name,
            columns.join(", ")
        ));
        q.push_values($rows.drain(..), |mut b, row: Vec<Bound>| {
            for value in row {
                match value {
                    Bound::Uuid(v) => b.push_bind(v),
                    Bound::Text(v) => b.push_bind(v),
                    Bound::Bytes(v) => b.push_bind(v),
                    Bound::Int(v) => b.push_bind(v),
                    Bound::Time(v) => b.push_bind(v),
                    Bound::Date(v) => b.push_bind(v),
                    Bound::Bool(v) => b.push_bind(v),
                };
            }
        });
        q.build()
            .execute(&mut *$tx)
            .await
            .with_context(|| format!("restore rows of {}", $table.name))?;
    }};
}

/// Restores `input` into `db`, which must be migrated and empty; returns the row counts.
async fn restore_from(
    db: &Db,
    input: &mut dyn BufRead,
) -> anyhow::Result<serde_json::Map<String, Value>> {
    let mut lines = input.lines();
    let header: Value = serde_json::from_str(&lines.next().context("the archive is empty")??)
        .context("the header")?;
    if header["format"] != FORMAT || header["version"] != VERSION {
        bail!("not a reetrace export of version {VERSION}: {header}");
    }
    macro_rules! run {
        ($pool:expr) => {{
            let mut tx = $pool.begin().await?;
            for (table, check) in [("orgs", "SELECT COUNT(*) FROM orgs"), ("passports", "SELECT COUNT(*) FROM passports"), ("custody_events", "SELECT COUNT(*) FROM custody_events")] {
                let n: i64 = sqlx::query_scalar(check).fetch_one(&mut *tx).await?;
                if n > 0 {
                    bail!("the target database is not empty ({n} rows in {table}); restore into a fresh database");
                }
            }
            // The head rows the migrations seed come from the archive instead.
            sqlx::query("DELETE FROM passport_feed_head").execute(&mut *tx).await?;
            sqlx::query("DELETE FROM custody_log_head").execute(&mut *tx).await?;
            let mut counts: serde_json::Map<String, Value> = TABLES.iter().map(|t| (t.name.to_owned(), json!(0))).collect();
            let mut pending: Vec<Vec<Bound>> = Vec::with_capacity(CHUNK);
            let mut current: Option<&Table> = None;
            let mut end = None;
            for (n, line) in lines.enumerate() {
                let line = line?;
                let record: Value = serde_json::from_str(&line).with_context(|| format!("line {}", n + 2))?;
                if let Some(e) = record.get("end") {
                    end = Some(e.clone());
                    break;
                }
                let name = record["t"].as_str().with_context(|| format!("line {}: no table", n + 2))?;
                let table = TABLES.iter().find(|t| t.name == name).with_context(|| format!("line {}: unknown table {name}", n + 2))?;
                if current.is_some_and(|c| c.name != table.name) || pending.len() == CHUNK {
                    if let Some(c) = current {
                        insert_rows!(tx, c, pending);
                    }
                }
                current = Some(table);
                let values = record["r"].as_array().with_context(|| format!("line {}: no row", n + 2))?;
                if values.len() != table.columns.len() {
                    bail!("line {}: {} values for the {} columns of {name}", n + 2, values.len(), table.columns.len());
                }
                let row = table
                    .columns
                    .iter()
                    .zip(values)
                    .map(|((column, kind), v)| decode(*kind, v, &format!("line {} {name}.{column}", n + 2)))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                pending.push(row);
                let count = counts.entry(name.to_owned()).or_insert(json!(0));
                *count = json!(count.as_u64().unwrap_or(0) + 1);
            }
            if let Some(c) = current && !pending.is_empty() {
                insert_rows!(tx, c, pending);
            }
            let end = end.context("the archive has no trailer: it is truncated")?;
            for table in TABLES {
                let expected = end[table.name].as_u64().unwrap_or(0);
                let got = counts.get(table.name).and_then(Value::as_u64).unwrap_or(0);
                if expected != got {
                    bail!("{}: the archive announces {expected} rows but holds {got}", table.name);
                }
            }
            tx.commit().await?;
            counts
        }};
    }
    let counts = match db {
        Db::Sqlite(db) => run!(db.write),
        Db::Postgres(pool) => run!(pool),
    };
    Ok(counts)
}

/// `reetrace restore --input FILE`.
pub async fn restore(config: &Config, input: &Path) -> anyhow::Result<ExitCode> {
    let db = app::open_database(config).await?;
    let file = std::fs::File::open(input).with_context(|| format!("open {}", input.display()))?;
    let mut reader: Box<dyn BufRead> = if input.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::GzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let counts = restore_from(&db, &mut reader).await?;
    db.close().await;
    print_out(&serde_json::to_string_pretty(
        &json!({"input": input, "rows": counts}),
    )?)?;
    Ok(ExitCode::SUCCESS)
}
