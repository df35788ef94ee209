//! The stock stores on SQLite and PostgreSQL.
//!
//! The SQL is the same text on both backends, so one macro writes both native implementations.
//! Every projection transaction first updates the single `stock_writer` row: on PostgreSQL that
//! serialises the passport and custody consumers (a custody step parked by one can never be
//! missed by the other, and cell rows are never locked in two orders); SQLite has one writer
//! anyway.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{SqliteDb, StoreError};
use reetrace_core::domain::{Category, Country, Element, UseType};
use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, QueryBuilder, Row as _};
use uuid::Uuid;

use super::{StockStore, StoredCell, StoredParameters};
use crate::domain::custody::{CustodyChange, ProductStep};
use crate::domain::flow::{CellKey, Deltas, ElementMasses, Flow};
use crate::domain::passport::{
    self, Granularity, PassportChange, PassportFacts, PassportRecord, PassportStatus,
};
use crate::domain::table::Row;

/// The stock store on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStock {
    db: SqliteDb,
}

impl SqliteStock {
    pub fn new(db: SqliteDb) -> Self {
        Self { db }
    }
    fn write_pool(&self) -> &sqlx::SqlitePool {
        &self.db.write
    }
    fn read(&self) -> &sqlx::SqlitePool {
        &self.db.read
    }
}

/// The stock store on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStock {
    pool: PgPool,
}

impl PgStock {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
    fn write_pool(&self) -> &PgPool {
        &self.pool
    }
    fn read(&self) -> &PgPool {
        &self.pool
    }
}

/// Rows per multi-row statement: well under both backends' bind-parameter limits.
const CHUNK: usize = 500;

const PASSPORT_COLUMNS: &str = "passport_id, org_id, version, granularity, category, country, market_year, units, \
     status, use_type, content, recycled, updated_at";

#[derive(sqlx::FromRow)]
struct PassportDb {
    passport_id: Uuid,
    org_id: Uuid,
    version: i64,
    granularity: String,
    category: String,
    country: String,
    market_year: i32,
    units: i64,
    status: String,
    use_type: Option<String>,
    content: String,
    recycled: String,
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn masses_from_text(text: &str) -> Result<ElementMasses, StoreError> {
    let map: BTreeMap<Element, i64> =
        serde_json::from_str(text).map_err(|e| corrupt(format!("element masses: {e}")))?;
    Ok(map.into_iter().map(|(e, m)| (e, i128::from(m))).collect())
}

fn masses_to_text(masses: &ElementMasses) -> Result<String, StoreError> {
    let map: BTreeMap<Element, i64> = masses
        .iter()
        .map(|(e, m)| {
            Ok((
                *e,
                i64::try_from(*m).map_err(|_| corrupt("mass overflows"))?,
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    serde_json::to_string(&map).map_err(corrupt)
}

fn use_type_text(use_type: Option<UseType>) -> Option<&'static str> {
    use_type.map(|u| match u {
        UseType::Concentrated => "concentrated",
        UseType::Dispersed => "dispersed",
    })
}

impl TryFrom<PassportDb> for PassportRecord {
    type Error = StoreError;
    fn try_from(r: PassportDb) -> Result<Self, StoreError> {
        Ok(PassportRecord {
            facts: PassportFacts {
                passport_id: r.passport_id,
                org_id: r.org_id,
                version: u32::try_from(r.version).map_err(|_| corrupt("version"))?,
                granularity: Granularity::parse(&r.granularity)
                    .ok_or_else(|| corrupt("granularity"))?,
                category: r.category.parse().map_err(corrupt)?,
                country: Country::parse(&r.country).map_err(corrupt)?,
                market_year: r.market_year,
                units: u64::try_from(r.units).map_err(|_| corrupt("units"))?,
                use_type: match r.use_type.as_deref() {
                    Some("concentrated") => Some(UseType::Concentrated),
                    Some("dispersed") => Some(UseType::Dispersed),
                    _ => None,
                },
                content: masses_from_text(&r.content)?,
                recycled: masses_from_text(&r.recycled)?,
            },
            status: PassportStatus::parse(&r.status).ok_or_else(|| corrupt("status"))?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CellDb {
    flow: String,
    year: i32,
    country: String,
    category: String,
    element: String,
    org_id: Uuid,
    value_ug: i64,
    records: i64,
}

impl CellDb {
    fn key(&self) -> Result<CellKey, StoreError> {
        Ok(CellKey {
            flow: self.flow.parse().map_err(corrupt)?,
            year: self.year,
            country: Country::parse(&self.country).map_err(corrupt)?,
            category: self.category.parse::<Category>().map_err(corrupt)?,
            element: self.element.parse::<Element>().map_err(corrupt)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ParkedDb {
    passport_id: Uuid,
    flow: String,
    year: i32,
    recorder: Uuid,
    elements: String,
}

impl TryFrom<ParkedDb> for ProductStep {
    type Error = StoreError;
    fn try_from(r: ParkedDb) -> Result<Self, StoreError> {
        Ok(ProductStep {
            passport_id: r.passport_id,
            flow: r.flow.parse().map_err(corrupt)?,
            year: r.year,
            recorder: r.recorder,
            elements: masses_from_text(&r.elements)?,
        })
    }
}

/// Reads `country, category, element, org_id, value_ug` from column `at` on, without copying
/// the text (answers read tens of thousands of rows per table).
fn decode_row<'r, R>(row: &'r R, at: usize) -> Result<Row, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Uuid: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let country: &str = row.try_get(at)?;
    let category: &str = row.try_get(at + 1)?;
    let element: &str = row.try_get(at + 2)?;
    let value: i64 = row.try_get(at + 4)?;
    Ok(Row {
        country: Country::parse(country).map_err(corrupt)?,
        category: category.parse::<Category>().map_err(corrupt)?,
        element: element.parse::<Element>().map_err(corrupt)?,
        org: row.try_get(at + 3)?,
        value_ug: i128::from(value),
    })
}

const CELL_COLUMNS: &str = "flow, year, country, category, element, org_id, value_ug, records";

macro_rules! stock_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Starts a projection transaction, serialised with every other one.
            async fn begin_apply(&self) -> Result<sqlx::Transaction<'static, $db>, StoreError> {
                let mut tx = self.write_pool().begin().await?;
                sqlx::query("UPDATE stock_writer SET applied = applied + 1 WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }

            /// Puts the ids in the inbox; returns those that were not there yet.
            async fn fresh_ids(
                tx: &mut sqlx::Transaction<'static, $db>,
                ids: &[&str],
            ) -> Result<HashSet<String>, StoreError> {
                let mut fresh = HashSet::with_capacity(ids.len());
                for chunk in ids.chunks(CHUNK) {
                    let mut q = QueryBuilder::new("INSERT INTO stock_inbox (event_id) ");
                    q.push_values(chunk, |mut b, id| {
                        b.push_bind(id.to_string());
                    });
                    q.push(" ON CONFLICT (event_id) DO NOTHING RETURNING event_id");
                    let rows: Vec<(String,)> = q.build_query_as().fetch_all(&mut **tx).await?;
                    fresh.extend(rows.into_iter().map(|(id,)| id));
                }
                Ok(fresh)
            }

            async fn load_passports(
                tx: &mut sqlx::Transaction<'static, $db>,
                ids: &[Uuid],
            ) -> Result<HashMap<Uuid, PassportRecord>, StoreError> {
                let mut out = HashMap::with_capacity(ids.len());
                for chunk in ids.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(format!(
                        "SELECT {PASSPORT_COLUMNS} FROM stock_passports WHERE passport_id IN ("
                    ));
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    let rows: Vec<PassportDb> = q.build_query_as().fetch_all(&mut **tx).await?;
                    for row in rows {
                        let record = PassportRecord::try_from(row)?;
                        out.insert(record.facts.passport_id, record);
                    }
                }
                Ok(out)
            }

            async fn save_passports(
                tx: &mut sqlx::Transaction<'static, $db>,
                records: &[&PassportRecord],
            ) -> Result<(), StoreError> {
                let now = Utc::now();
                for chunk in records.chunks(CHUNK) {
                    let rows = chunk
                        .iter()
                        .map(|r| {
                            Ok((r, masses_to_text(&r.facts.content)?, masses_to_text(&r.facts.recycled)?))
                        })
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    let mut q = QueryBuilder::new(format!("INSERT INTO stock_passports ({PASSPORT_COLUMNS}) "));
                    q.push_values(rows, |mut b, (r, content, recycled)| {
                        let f = &r.facts;
                        b.push_bind(f.passport_id)
                            .push_bind(f.org_id)
                            .push_bind(i64::from(f.version))
                            .push_bind(f.granularity.as_str())
                            .push_bind(f.category.as_str())
                            .push_bind(f.country.code().to_owned())
                            .push_bind(f.market_year)
                            .push_bind(i64::try_from(f.units).unwrap_or(i64::MAX))
                            .push_bind(r.status.as_str())
                            .push_bind(use_type_text(f.use_type))
                            .push_bind(content)
                            .push_bind(recycled)
                            .push_bind(now);
                    });
                    q.push(
                        " ON CONFLICT (passport_id) DO UPDATE SET org_id = excluded.org_id, \
                         version = excluded.version, granularity = excluded.granularity, \
                         category = excluded.category, country = excluded.country, \
                         market_year = excluded.market_year, units = excluded.units, \
                         status = excluded.status, use_type = excluded.use_type, \
                         content = excluded.content, recycled = excluded.recycled, \
                         updated_at = excluded.updated_at",
                    );
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Adds the deltas to the cells and moves the revisions of the tables they touch.
            async fn write_deltas(
                tx: &mut sqlx::Transaction<'static, $db>,
                deltas: &Deltas,
            ) -> Result<(), StoreError> {
                let entries = deltas
                    .entries()
                    .map(|(key, org, value, records)| {
                        let value = i64::try_from(value).map_err(|_| corrupt("cell value overflows"))?;
                        Ok((*key, org, value, records))
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                for chunk in entries.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(format!("INSERT INTO stock_cells ({CELL_COLUMNS}) "));
                    q.push_values(chunk, |mut b, (key, org, value, records)| {
                        b.push_bind(key.flow.as_str())
                            .push_bind(key.year)
                            .push_bind(key.country.code().to_owned())
                            .push_bind(key.category.as_str())
                            .push_bind(key.element.symbol())
                            .push_bind(*org)
                            .push_bind(*value)
                            .push_bind(*records);
                    });
                    q.push(
                        " ON CONFLICT (flow, year, country, category, element, org_id) DO UPDATE SET \
                         value_ug = stock_cells.value_ug + excluded.value_ug, \
                         records = stock_cells.records + excluded.records",
                    );
                    q.build().execute(&mut **tx).await?;
                }
                let tables = deltas.tables();
                for chunk in tables.chunks(CHUNK) {
                    let mut q = QueryBuilder::new("INSERT INTO stock_revisions (flow, year, revision) ");
                    q.push_values(chunk, |mut b, (flow, year)| {
                        b.push_bind(flow.as_str()).push_bind(*year).push_bind(1i64);
                    });
                    q.push(
                        " ON CONFLICT (flow, year) DO UPDATE SET revision = stock_revisions.revision + 1",
                    );
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Takes (reads and deletes) the custody steps that waited for these passports.
            async fn take_parked(
                tx: &mut sqlx::Transaction<'static, $db>,
                ids: &[Uuid],
            ) -> Result<Vec<ProductStep>, StoreError> {
                let mut out = Vec::new();
                for chunk in ids.chunks(CHUNK) {
                    let mut q = QueryBuilder::new(
                        "DELETE FROM stock_parked WHERE passport_id IN (",
                    );
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(") RETURNING passport_id, flow, year, recorder, elements");
                    let rows: Vec<ParkedDb> = q.build_query_as().fetch_all(&mut **tx).await?;
                    for row in rows {
                        out.push(ProductStep::try_from(row)?);
                    }
                }
                Ok(out)
            }

            async fn park(
                tx: &mut sqlx::Transaction<'static, $db>,
                steps: &[(&str, &ProductStep)],
            ) -> Result<(), StoreError> {
                for chunk in steps.chunks(CHUNK) {
                    let rows = chunk
                        .iter()
                        .map(|(id, s)| Ok((*id, *s, masses_to_text(&s.elements)?)))
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    let mut q = QueryBuilder::new(
                        "INSERT INTO stock_parked (passport_id, event_id, flow, year, recorder, elements) ",
                    );
                    q.push_values(rows, |mut b, (event_id, s, elements)| {
                        b.push_bind(s.passport_id)
                            .push_bind(event_id.to_owned())
                            .push_bind(s.flow.as_str())
                            .push_bind(s.year)
                            .push_bind(s.recorder)
                            .push_bind(elements);
                    });
                    q.push(" ON CONFLICT (passport_id, event_id) DO NOTHING");
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn move_cursor(
                tx: &mut sqlx::Transaction<'static, $db>,
                stream: &str,
                position: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO stock_cursors (stream, position) VALUES ($1, $2) \
                     ON CONFLICT (stream) DO UPDATE SET position = excluded.position \
                     WHERE stock_cursors.position < excluded.position",
                )
                .bind(stream)
                .bind(position)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl StockStore for $store {
            async fn cursor(&self, stream: &str) -> Result<i64, StoreError> {
                let position: Option<i64> =
                    sqlx::query_scalar("SELECT position FROM stock_cursors WHERE stream = $1")
                        .bind(stream)
                        .fetch_optional(self.read())
                        .await?;
                Ok(position.unwrap_or(0))
            }

            async fn apply_passports(
                &self,
                stream: &str,
                events: &[(String, i64, PassportChange)],
            ) -> Result<(), StoreError> {
                let Some(last) = events.last().map(|(_, seq, _)| *seq) else {
                    return Ok(());
                };
                let mut tx = self.begin_apply().await?;
                let ids: Vec<&str> = events.iter().map(|(id, ..)| id.as_str()).collect();
                let mut fresh = Self::fresh_ids(&mut tx, &ids).await?;
                // An id repeated within the batch counts once.
                let changes: Vec<&PassportChange> = events
                    .iter()
                    .filter(|(id, ..)| fresh.remove(id))
                    .map(|(_, _, change)| change)
                    .collect();
                let passport_ids: Vec<Uuid> = changes
                    .iter()
                    .filter_map(|c| c.passport_id())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let mut records = Self::load_passports(&mut tx, &passport_ids).await?;
                let known: HashSet<Uuid> = records.keys().copied().collect();
                let mut changed = BTreeSet::new();
                let mut deltas = Deltas::new();
                for change in changes {
                    let Some(id) = change.passport_id() else {
                        continue;
                    };
                    if let Some(record) = passport::apply(records.get(&id), change, &mut deltas) {
                        records.insert(id, record);
                        changed.insert(id);
                    }
                }
                let first_seen: Vec<Uuid> =
                    changed.iter().filter(|id| !known.contains(id)).copied().collect();
                for step in Self::take_parked(&mut tx, &first_seen).await? {
                    if let Some(record) = records.get(&step.passport_id) {
                        step.attribute(record.facts.category, record.facts.country, &mut deltas);
                    }
                }
                let to_save: Vec<&PassportRecord> =
                    changed.iter().filter_map(|id| records.get(id)).collect();
                Self::save_passports(&mut tx, &to_save).await?;
                Self::write_deltas(&mut tx, &deltas).await?;
                Self::move_cursor(&mut tx, stream, last).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn apply_custody(
                &self,
                stream: &str,
                events: &[(String, i64, CustodyChange)],
            ) -> Result<(), StoreError> {
                let Some(last) = events.last().map(|(_, seq, _)| *seq) else {
                    return Ok(());
                };
                let mut tx = self.begin_apply().await?;
                let ids: Vec<&str> = events.iter().map(|(id, ..)| id.as_str()).collect();
                let mut fresh = Self::fresh_ids(&mut tx, &ids).await?;
                let changes: Vec<(&str, &CustodyChange)> = events
                    .iter()
                    .filter(|(id, ..)| fresh.remove(id))
                    .map(|(id, _, change)| (id.as_str(), change))
                    .collect();
                let changes: Vec<(&str, &CustodyChange)> = changes
                    .into_iter()
                    .flat_map(|(id, change)| change.parts().map(move |part| (id, part)))
                    .collect();
                let passport_ids: Vec<Uuid> = changes
                    .iter()
                    .filter_map(|(_, c)| match c {
                        CustodyChange::Product(step) => Some(step.passport_id),
                        _ => None,
                    })
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let records = Self::load_passports(&mut tx, &passport_ids).await?;
                let mut deltas = Deltas::new();
                let mut waiting = Vec::new();
                for (event_id, change) in changes {
                    match change {
                        CustodyChange::Product(step) => match records.get(&step.passport_id) {
                            Some(r) => step.attribute(r.facts.category, r.facts.country, &mut deltas),
                            None => waiting.push((event_id, step)),
                        },
                        CustodyChange::Cells(cells) => deltas.extend(cells),
                        CustodyChange::Several(_) | CustodyChange::Ignore => {}
                    }
                }
                Self::park(&mut tx, &waiting).await?;
                Self::write_deltas(&mut tx, &deltas).await?;
                Self::move_cursor(&mut tx, stream, last).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn revisions(&self) -> Result<Vec<(Flow, i32, i64)>, StoreError> {
                let rows: Vec<(String, i32, i64)> =
                    sqlx::query_as("SELECT flow, year, revision FROM stock_revisions")
                        .fetch_all(self.read())
                        .await?;
                rows.into_iter()
                    .map(|(flow, year, revision)| Ok((flow.parse().map_err(corrupt)?, year, revision)))
                    .collect()
            }

            async fn table_rows(&self, flow: Flow, year: i32) -> Result<Vec<Row>, StoreError> {
                let rows = sqlx::query(
                    "SELECT country, category, element, org_id, value_ug \
                     FROM stock_cells WHERE flow = $1 AND year = $2 AND records > 0",
                )
                .bind(flow.as_str())
                .bind(year)
                .fetch_all(self.read())
                .await?;
                rows.iter().map(|r| decode_row(r, 0)).collect()
            }

            async fn org_rows(&self, org_id: Uuid) -> Result<Vec<(Flow, i32, Row)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT flow, year, country, category, element, org_id, value_ug \
                     FROM stock_cells WHERE org_id = $1 AND records > 0",
                )
                .bind(org_id)
                .fetch_all(self.read())
                .await?;
                rows.iter()
                    .map(|r| {
                        let flow: &str = r.try_get(0)?;
                        let year: i32 = r.try_get(1)?;
                        Ok((flow.parse().map_err(corrupt)?, year, decode_row(r, 2)?))
                    })
                    .collect()
            }

            async fn cells(&self) -> Result<Vec<StoredCell>, StoreError> {
                let rows: Vec<CellDb> = sqlx::query_as(
                    "SELECT flow, year, country, category, element, org_id, value_ug, records \
                     FROM stock_cells WHERE records <> 0 OR value_ug <> 0",
                )
                .fetch_all(self.read())
                .await?;
                let mut cells = rows
                    .iter()
                    .map(|r| {
                        Ok(StoredCell {
                            key: r.key()?,
                            org_id: r.org_id,
                            value_ug: r.value_ug,
                            records: r.records,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                cells.sort();
                Ok(cells)
            }

            async fn passport(&self, passport_id: Uuid) -> Result<Option<PassportRecord>, StoreError> {
                let row: Option<PassportDb> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {PASSPORT_COLUMNS} FROM stock_passports WHERE passport_id = $1"
                )))
                .bind(passport_id)
                .fetch_optional(self.read())
                .await?;
                row.map(PassportRecord::try_from).transpose()
            }

            async fn parked(&self) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM stock_parked")
                    .fetch_one(self.read())
                    .await?)
            }

            async fn latest_parameters(&self) -> Result<Option<StoredParameters>, StoreError> {
                let row: Option<(i64, String, Option<Uuid>, DateTime<Utc>)> = sqlx::query_as(
                    "SELECT version, parameters, created_by, created_at FROM stock_parameters \
                     ORDER BY version DESC LIMIT 1",
                )
                .fetch_optional(self.read())
                .await?;
                Ok(row.map(|(version, parameters, created_by, created_at)| StoredParameters {
                    version,
                    parameters,
                    created_by,
                    created_at,
                }))
            }

            async fn insert_parameters(
                &self,
                parameters: &str,
                created_by: Option<Uuid>,
                at: DateTime<Utc>,
            ) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO stock_parameters (version, parameters, created_by, created_at) \
                     SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3 FROM stock_parameters \
                     RETURNING version",
                )
                .bind(parameters)
                .bind(created_by)
                .bind(at)
                .fetch_one(self.write_pool())
                .await?)
            }

            async fn seed_parameters(&self, parameters: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO stock_parameters (version, parameters, created_by, created_at) \
                     VALUES (1, $1, NULL, $2) ON CONFLICT (version) DO NOTHING",
                )
                .bind(parameters)
                .bind(at)
                .execute(self.write_pool())
                .await?;
                Ok(())
            }
        }
    };
}

stock_store!(SqliteStock, sqlx::Sqlite);
stock_store!(PgStock, sqlx::Postgres);
