//! `reetrace export` / `reetrace restore`: a self-contained archive of everything that cannot be
//! recomputed — organisations and keys, passports (the signed bytes unchanged), status lists,
//! custody events, chains, the Merkle log and its checkpoints — as NDJSON (gzip when the file
//! name ends in `.gz`), restorable into an empty database of either backend. Stock's projections
//! are not in it: a restored instance rebuilds them from the feeds.
//!
//! Which tables and columns: each store says so itself ([`Archived`]: the kernel, issuing,
//! passport, custody, deposits), and the rows are read and written by core's `db` plumbing, so this file knows no
//! table. The archive is a header line, one line per row (`{"t": table, "r": [values in column
//! order]}`), and a trailer with the row count of every table, so a truncated file is refused.
//! Version 2 headers name each table's columns (an archive restores into a later schema that
//! adds columns); version 1 archives (no column list) are read with the columns of their day,
//! which are the stores' declared columns for every table they held.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::Utc;
use reetrace_core::db::{ArchiveRow, ArchiveTable, ArchiveValue, Archived, Db, Sql};
use serde_json::{Value, json};

use crate::app;
use crate::cli::print_out;
use crate::config::Config;

const FORMAT: &str = "reetrace-export";
/// The version written; versions 1 and 2 are read.
const VERSION: u64 = 2;
/// Rows per INSERT on restore.
const CHUNK: usize = 200;

/// The stores a backup holds, in restore order (references first).
pub fn archives(db: &Db) -> Vec<Arc<dyn Archived>> {
    vec![
        reetrace_core::store::archive::archive(db),
        reetrace_core::store::issuing::archive(db),
        reetrace_passport::store::archive(db),
        reetrace_custody::store::archive(db),
        reetrace_deposits::store::archive(db),
    ]
}

/// Every archived table, in restore order.
pub fn tables(db: &Db) -> Vec<&'static ArchiveTable> {
    archives(db)
        .iter()
        .flat_map(|a| a.archive_tables().iter())
        .collect()
}

/// Writes every archived table of `db` to `out`; returns the row counts.
async fn export_to(
    db: &Db,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<serde_json::Map<String, Value>> {
    let tables = tables(db);
    let columns: serde_json::Map<String, Value> = tables
        .iter()
        .map(|t| {
            (
                t.name.to_owned(),
                json!(t.column_names().collect::<Vec<_>>()),
            )
        })
        .collect();
    writeln!(
        out,
        "{}",
        json!({"format": FORMAT, "version": VERSION, "exported_at": Utc::now(), "tables": columns})
    )?;
    let mut counts = serde_json::Map::new();
    for table in tables {
        let mut sink = |row: ArchiveRow| -> std::io::Result<()> {
            let values: Vec<Value> = row.iter().map(ArchiveValue::to_json).collect();
            writeln!(out, "{}", json!({"t": table.name, "r": values}))
        };
        let count = db
            .export_table(table, &mut sink)
            .await
            .with_context(|| format!("export {}", table.name))?;
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

/// How the rows of one table are laid out in an archive: the position of each declared column.
struct Layout {
    table: &'static ArchiveTable,
    /// For each declared column, its index in the archive's rows (None: not in the archive, it
    /// takes the column's default).
    positions: Vec<Option<usize>>,
    width: usize,
    /// A version-1 archive names no columns: its rows hold the columns declared then, in order,
    /// so a row may stop before columns added since (they take their NULL).
    by_order: bool,
}

impl Layout {
    fn of(table: &'static ArchiveTable, header: &Value) -> anyhow::Result<Self> {
        let Some(names) = header["tables"].get(table.name).and_then(Value::as_array) else {
            // Version 1, or a table the archive predates: the declared columns, in order.
            return Ok(Layout {
                table,
                positions: (0..table.columns.len()).map(Some).collect(),
                width: table.columns.len(),
                by_order: true,
            });
        };
        let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
        for name in &names {
            if !table.column_names().any(|c| c == *name) {
                bail!(
                    "the archive's table {} has a column {name} this version does not know",
                    table.name
                );
            }
        }
        Ok(Layout {
            table,
            positions: table
                .column_names()
                .map(|c| names.iter().position(|n| *n == c))
                .collect(),
            width: names.len(),
            by_order: false,
        })
    }

    fn row(&self, values: &[Value], at: &str) -> anyhow::Result<ArchiveRow> {
        let short_by_order = self.by_order && values.len() < self.width;
        if values.len() != self.width && !short_by_order {
            bail!(
                "{at}: {} values for the {} columns of {}",
                values.len(),
                self.width,
                self.table.name
            );
        }
        self.table
            .columns
            .iter()
            .zip(&self.positions)
            .map(
                |((column, kind), position)| match position.filter(|i| *i < values.len()) {
                    Some(i) => ArchiveValue::from_json(
                        *kind,
                        &values[i],
                        &format!("{at} {}.{column}", self.table.name),
                    )
                    .map_err(anyhow::Error::from),
                    // A column added after the archive was made: its NULL (a column that may not be
                    // NULL makes the database refuse the row, naming it).
                    None => Ok(ArchiveValue::Null(*kind)),
                },
            )
            .collect()
    }
}

/// Restores `input` into `db`, which must be migrated and empty; returns the row counts.
async fn restore_from(
    db: &Db,
    input: &mut dyn BufRead,
) -> anyhow::Result<serde_json::Map<String, Value>> {
    let mut lines = input.lines();
    let header: Value = serde_json::from_str(&lines.next().context("the archive is empty")??)
        .context("the header")?;
    let version = header["version"].as_u64().unwrap_or(0);
    if header["format"] != FORMAT || !(1..=VERSION).contains(&version) {
        bail!("not a reetrace export of version 1 to {VERSION}: {header}");
    }
    let archives = archives(db);
    let layouts: HashMap<&str, Layout> = archives
        .iter()
        .flat_map(|a| a.archive_tables().iter())
        .map(|t| Ok((t.name, Layout::of(t, &header)?)))
        .collect::<anyhow::Result<_>>()?;
    let mut tx = db.begin().await?;
    for archive in &archives {
        archive.prepare_restore(&mut tx).await?;
    }
    let mut counts: serde_json::Map<String, Value> = layouts
        .keys()
        .map(|name| ((*name).to_owned(), json!(0)))
        .collect();
    let mut pending: Vec<ArchiveRow> = Vec::with_capacity(CHUNK);
    let mut current: Option<&Layout> = None;
    let mut end = None;
    for (n, line) in lines.enumerate() {
        let line = line?;
        let at = format!("line {}", n + 2);
        let record: Value = serde_json::from_str(&line).with_context(|| at.clone())?;
        if let Some(e) = record.get("end") {
            end = Some(e.clone());
            break;
        }
        let name = record["t"]
            .as_str()
            .with_context(|| format!("{at}: no table"))?;
        let layout = layouts
            .get(name)
            .with_context(|| format!("{at}: unknown table {name}"))?;
        if let Some(previous) = current
            && (previous.table.name != name || pending.len() == CHUNK)
        {
            tx.import_rows(previous.table, std::mem::take(&mut pending))
                .await
                .with_context(|| format!("restore rows of {}", previous.table.name))?;
        }
        current = Some(layout);
        let values = record["r"]
            .as_array()
            .with_context(|| format!("{at}: no row"))?;
        pending.push(layout.row(values, &at)?);
        let count = counts.entry(name.to_owned()).or_insert(json!(0));
        *count = json!(count.as_u64().unwrap_or(0) + 1);
    }
    if let Some(layout) = current
        && !pending.is_empty()
    {
        tx.import_rows(layout.table, pending)
            .await
            .with_context(|| format!("restore rows of {}", layout.table.name))?;
    }
    let end = end.context("the archive has no trailer: it is truncated")?;
    for (name, got) in &counts {
        let expected = end[name.as_str()].as_u64().unwrap_or(0);
        let got = got.as_u64().unwrap_or(0);
        if expected != got {
            bail!("{name}: the archive announces {expected} rows but holds {got}");
        }
    }
    if header["tables"].get("gs1_prefixes").is_none() {
        // Made before GS1 prefixes: its GTINs are grandfathered as an upgraded database's are.
        Sql::new("INSERT INTO gs1_grandfathering (id) VALUES (1) ON CONFLICT DO NOTHING")
            .execute(&mut tx)
            .await?;
    }
    tx.commit().await?;
    crate::grandfather::run(db).await?;
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
