//! What the feed consumers write: the steps of one projection transaction (the use case that
//! runs them is `service::projection`).
//!
//! Every projection transaction first updates the single `stock_writer` row: on PostgreSQL that
//! serialises the passport and custody consumers (a custody step parked by one can never be
//! missed by the other, and cell rows are never locked in two orders); SQLite has one writer
//! anyway. Multi-row statements take [`CHUNK`] rows at a time.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::Utc;
use reetrace_core::db::{Sql, StoreError, Tx};
use reetrace_core::domain::{Country, UseType};
use uuid::Uuid;

use super::{CHUNK, SqlStock, corrupt, masses_from_text, masses_to_text, wide};
use crate::domain::custody::ProductStep;
use crate::domain::flow::Deltas;
use crate::domain::passport::{Granularity, PassportFacts, PassportRecord, PassportStatus};

/// The feed consumers' writes, and what they keep besides the cells.
#[async_trait]
pub trait ProjectionStore: Send + Sync {
    /// The consumer's cursor for `stream` (0 before the first event).
    async fn cursor(&self, stream: &str) -> Result<i64, StoreError>;
    /// Starts a projection transaction, serialised with every other one.
    async fn begin_projection(&self) -> Result<Tx, StoreError>;
    /// Puts the event ids in the inbox; returns those that were not there yet.
    async fn claim_events(&self, tx: &mut Tx, ids: &[&str]) -> Result<HashSet<String>, StoreError>;
    /// The stored passports among `ids`.
    async fn passports_of(
        &self,
        tx: &mut Tx,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, PassportRecord>, StoreError>;
    /// Stores these passports (new ones, or the latest state of known ones).
    async fn save_passports(
        &self,
        tx: &mut Tx,
        records: &[&PassportRecord],
    ) -> Result<(), StoreError>;
    /// Adds the deltas to the cells and moves the revisions of the tables they touch.
    async fn add_deltas(&self, tx: &mut Tx, deltas: &Deltas) -> Result<(), StoreError>;
    /// Takes (reads and deletes) the custody steps that waited for these passports.
    async fn take_parked(&self, tx: &mut Tx, ids: &[Uuid]) -> Result<Vec<ProductStep>, StoreError>;
    /// Keeps product steps (with their event id) until their passport is known.
    async fn park(&self, tx: &mut Tx, steps: &[(&str, &ProductStep)]) -> Result<(), StoreError>;
    /// Moves the cursor of `stream` forward to `position` (never back).
    async fn move_cursor(&self, tx: &mut Tx, stream: &str, position: i64)
    -> Result<(), StoreError>;

    /// One stored passport.
    async fn passport(&self, passport_id: Uuid) -> Result<Option<PassportRecord>, StoreError>;
    /// How many custody steps wait for their passport.
    async fn parked(&self) -> Result<i64, StoreError>;
}

const PASSPORT_COLUMNS: &str = "passport_id, org_id, version, granularity, category, country, market_year, units, \
     status, use_type, content, recycled, net_mass_ug, updated_at";

const SERIALISE: &str = "UPDATE stock_writer SET applied = applied + 1 WHERE id = 1";
const CURSOR: &str = "SELECT position FROM stock_cursors WHERE stream = $1";
const MOVE_CURSOR: &str = "INSERT INTO stock_cursors (stream, position) VALUES ($1, $2) \
     ON CONFLICT (stream) DO UPDATE SET position = excluded.position \
     WHERE stock_cursors.position < excluded.position";
const UPSERT_PASSPORTS: &str = " ON CONFLICT (passport_id) DO UPDATE SET org_id = excluded.org_id, \
     version = excluded.version, granularity = excluded.granularity, \
     category = excluded.category, country = excluded.country, \
     market_year = excluded.market_year, units = excluded.units, \
     status = excluded.status, use_type = excluded.use_type, \
     content = excluded.content, recycled = excluded.recycled, \
     net_mass_ug = excluded.net_mass_ug, updated_at = excluded.updated_at";
/// Adds the halves with the carry (`value_lo` of both sides is in [0, 10^18), so their sum fits
/// 64 bits and `/` and `%` floor).
const ADD_TO_CELLS: &str = " ON CONFLICT (flow, year, country, category, element, org_id) DO UPDATE SET \
     value_hi = stock_cells.value_hi + excluded.value_hi \
         + (stock_cells.value_lo + excluded.value_lo) / 1000000000000000000, \
     value_lo = (stock_cells.value_lo + excluded.value_lo) % 1000000000000000000, \
     records = stock_cells.records + excluded.records";
const MOVE_REVISIONS: &str =
    " ON CONFLICT (flow, year) DO UPDATE SET revision = stock_revisions.revision + 1";
const CELL_COLUMNS: &str =
    "flow, year, country, category, element, org_id, value_hi, value_lo, records";
const PARKED_COLUMNS: &str = "passport_id, flow, year, recorder, elements";

struct PassportRow {
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
    net_mass_ug: Option<i64>,
}

reetrace_core::record!(PassportRow {
    passport_id,
    org_id,
    version,
    granularity,
    category,
    country,
    market_year,
    units,
    status,
    use_type,
    content,
    recycled,
    net_mass_ug,
});

fn use_type_text(use_type: Option<UseType>) -> Option<&'static str> {
    use_type.map(|u| match u {
        UseType::Concentrated => "concentrated",
        UseType::Dispersed => "dispersed",
    })
}

fn use_type_of(text: Option<&str>) -> Result<Option<UseType>, StoreError> {
    match text {
        None => Ok(None),
        Some("concentrated") => Ok(Some(UseType::Concentrated)),
        Some("dispersed") => Ok(Some(UseType::Dispersed)),
        Some(other) => Err(corrupt(format!("use type {other:?}"))),
    }
}

impl TryFrom<PassportRow> for PassportRecord {
    type Error = StoreError;

    fn try_from(r: PassportRow) -> Result<Self, StoreError> {
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
                use_type: use_type_of(r.use_type.as_deref())?,
                content: masses_from_text(&r.content)?,
                recycled: masses_from_text(&r.recycled)?,
                net_mass_ug: r.net_mass_ug,
            },
            status: PassportStatus::parse(&r.status).ok_or_else(|| corrupt("status"))?,
        })
    }
}

struct ParkedRow {
    passport_id: Uuid,
    flow: String,
    year: i32,
    recorder: Uuid,
    elements: String,
}

reetrace_core::record!(ParkedRow {
    passport_id,
    flow,
    year,
    recorder,
    elements,
});

impl TryFrom<ParkedRow> for ProductStep {
    type Error = StoreError;

    fn try_from(r: ParkedRow) -> Result<Self, StoreError> {
        Ok(ProductStep {
            passport_id: r.passport_id,
            flow: r.flow.parse().map_err(corrupt)?,
            year: r.year,
            recorder: r.recorder,
            elements: masses_from_text(&r.elements)?,
        })
    }
}

#[async_trait]
impl ProjectionStore for SqlStock {
    async fn cursor(&self, stream: &str) -> Result<i64, StoreError> {
        let position: Option<i64> = Sql::new(CURSOR)
            .bind(stream)
            .scalar_optional(self.db.reader())
            .await?;
        Ok(position.unwrap_or(0))
    }

    async fn begin_projection(&self) -> Result<Tx, StoreError> {
        let mut tx = self.db.begin().await?;
        Sql::new(SERIALISE).execute(&mut tx).await?;
        Ok(tx)
    }

    async fn claim_events(&self, tx: &mut Tx, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        let mut fresh = HashSet::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut sql = Sql::new("INSERT INTO stock_inbox (event_id) ");
            sql.push_values(chunk, |row, id| {
                row.bind(*id);
            });
            sql.push(" ON CONFLICT (event_id) DO NOTHING RETURNING event_id");
            let claimed: Vec<String> = sql.scalars(&mut *tx).await?;
            fresh.extend(claimed);
        }
        Ok(fresh)
    }

    async fn passports_of(
        &self,
        tx: &mut Tx,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, PassportRecord>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let mut sql = Sql::new(format!(
                "SELECT {PASSPORT_COLUMNS} FROM stock_passports WHERE passport_id IN "
            ));
            sql.push_list(chunk.iter().copied());
            let rows: Vec<PassportRow> = sql.fetch_all(&mut *tx).await?;
            for row in rows {
                let record = PassportRecord::try_from(row)?;
                out.insert(record.facts.passport_id, record);
            }
        }
        Ok(out)
    }

    async fn save_passports(
        &self,
        tx: &mut Tx,
        records: &[&PassportRecord],
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        for chunk in records.chunks(CHUNK) {
            let rows = chunk
                .iter()
                .map(|r| {
                    let content = masses_to_text(&r.facts.content)?;
                    Ok((*r, content, masses_to_text(&r.facts.recycled)?))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut sql = Sql::new(format!("INSERT INTO stock_passports ({PASSPORT_COLUMNS}) "));
            sql.push_values(&rows, |row, (r, content, recycled)| {
                let f = &r.facts;
                row.bind(f.passport_id)
                    .bind(f.org_id)
                    .bind(i64::from(f.version))
                    .bind(f.granularity.as_str())
                    .bind(f.category.as_str())
                    .bind(f.country.code())
                    .bind(f.market_year)
                    .bind(i64::try_from(f.units).unwrap_or(i64::MAX))
                    .bind(r.status.as_str())
                    .bind(use_type_text(f.use_type))
                    .bind(content.as_str())
                    .bind(recycled.as_str())
                    .bind(f.net_mass_ug)
                    .bind(now);
            });
            sql.push(UPSERT_PASSPORTS);
            sql.execute(&mut *tx).await?;
        }
        Ok(())
    }

    async fn add_deltas(&self, tx: &mut Tx, deltas: &Deltas) -> Result<(), StoreError> {
        let entries = deltas
            .entries()
            .map(|(key, org, value, records)| {
                let (hi, lo) = wide::split(value).ok_or_else(|| corrupt("cell value overflows"))?;
                Ok((*key, org, hi, lo, records))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        for chunk in entries.chunks(CHUNK) {
            let mut sql = Sql::new(format!("INSERT INTO stock_cells ({CELL_COLUMNS}) "));
            sql.push_values(chunk, |row, (key, org, hi, lo, records)| {
                row.bind(key.flow.as_str())
                    .bind(key.year)
                    .bind(key.country.code())
                    .bind(key.category.as_str())
                    .bind(key.element.symbol())
                    .bind(*org)
                    .bind(*hi)
                    .bind(*lo)
                    .bind(*records);
            });
            sql.push(ADD_TO_CELLS);
            sql.execute(&mut *tx).await?;
        }
        let tables = deltas.tables();
        for chunk in tables.chunks(CHUNK) {
            let mut sql = Sql::new("INSERT INTO stock_revisions (flow, year, revision) ");
            sql.push_values(chunk, |row, (flow, year)| {
                row.bind(flow.as_str()).bind(*year).bind(1i64);
            });
            sql.push(MOVE_REVISIONS);
            sql.execute(&mut *tx).await?;
        }
        Ok(())
    }

    async fn take_parked(&self, tx: &mut Tx, ids: &[Uuid]) -> Result<Vec<ProductStep>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let mut sql = Sql::new("DELETE FROM stock_parked WHERE passport_id IN ");
            sql.push_list(chunk.iter().copied());
            sql.push(" RETURNING ").push(PARKED_COLUMNS);
            let rows: Vec<ParkedRow> = sql.fetch_all(&mut *tx).await?;
            for row in rows {
                out.push(ProductStep::try_from(row)?);
            }
        }
        Ok(out)
    }

    async fn park(&self, tx: &mut Tx, steps: &[(&str, &ProductStep)]) -> Result<(), StoreError> {
        for chunk in steps.chunks(CHUNK) {
            let rows = chunk
                .iter()
                .map(|(id, s)| Ok((*id, *s, masses_to_text(&s.elements)?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut sql = Sql::new(
                "INSERT INTO stock_parked (passport_id, event_id, flow, year, recorder, elements) ",
            );
            sql.push_values(&rows, |row, (event_id, s, elements)| {
                row.bind(s.passport_id)
                    .bind(*event_id)
                    .bind(s.flow.as_str())
                    .bind(s.year)
                    .bind(s.recorder)
                    .bind(elements.as_str());
            });
            sql.push(" ON CONFLICT (passport_id, event_id) DO NOTHING");
            sql.execute(&mut *tx).await?;
        }
        Ok(())
    }

    async fn move_cursor(
        &self,
        tx: &mut Tx,
        stream: &str,
        position: i64,
    ) -> Result<(), StoreError> {
        Sql::new(MOVE_CURSOR)
            .bind(stream)
            .bind(position)
            .execute(tx)
            .await?;
        Ok(())
    }

    async fn passport(&self, passport_id: Uuid) -> Result<Option<PassportRecord>, StoreError> {
        let row: Option<PassportRow> = Sql::new(format!(
            "SELECT {PASSPORT_COLUMNS} FROM stock_passports WHERE passport_id = $1"
        ))
        .bind(passport_id)
        .fetch_optional(self.db.reader())
        .await?;
        row.map(PassportRecord::try_from).transpose()
    }

    async fn parked(&self) -> Result<i64, StoreError> {
        Sql::new("SELECT COUNT(*) FROM stock_parked")
            .scalar(self.db.reader())
            .await
    }
}
