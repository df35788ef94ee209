//! The cells read back: the rows of a table (one flow, one year), an organisation's own rows,
//! the revisions that say when a table changed, and a snapshot of every cell; and the counted
//! units of the stored passports with their net mass (the products' mass placed on the market).

use async_trait::async_trait;
use reetrace_core::db::{Sql, StoreError};
use reetrace_core::domain::{Category, Country, TrackedElement};
use uuid::Uuid;

use super::{SqlStock, corrupt, wide};
use crate::domain::flow::{CellKey, Flow, StoredCell};
use crate::domain::passport::Granularity;
use crate::domain::products::ProductCount;
use crate::domain::table::Contribution;

/// Reads of the flow cells.
#[async_trait]
pub trait TableStore: Send + Sync {
    /// The revision of every (flow, year) table.
    async fn revisions(&self) -> Result<Vec<(Flow, i32, i64)>, StoreError>;
    /// The live rows of one table (every contributing organisation).
    async fn table_rows(&self, flow: Flow, year: i32) -> Result<Vec<Contribution>, StoreError>;
    /// The live rows of one organisation, every table.
    async fn org_rows(&self, org_id: Uuid) -> Result<Vec<(Flow, i32, Contribution)>, StoreError>;
    /// Every stored cell row, in key order (snapshots for tests and checks).
    async fn cells(&self) -> Result<Vec<StoredCell>, StoreError>;
    /// The counted units of the passports on the market (of one manufacturer, or all), by
    /// market year, country, category, manufacturer and net mass per unit.
    async fn product_counts(&self, org_id: Option<Uuid>) -> Result<Vec<ProductCount>, StoreError>;
}

const REVISIONS: &str = "SELECT flow, year, revision FROM stock_revisions";
const TABLE_ROWS: &str = "SELECT country, category, element, org_id, value_hi, value_lo \
     FROM stock_cells WHERE flow = $1 AND year = $2 AND records > 0";
const ORG_ROWS: &str = "SELECT flow, year, country, category, element, org_id, value_hi, value_lo \
     FROM stock_cells WHERE org_id = $1 AND records > 0";
const CELLS: &str = "SELECT flow, year, country, category, element, org_id, value_hi, value_lo, \
     records FROM stock_cells WHERE records <> 0 OR value_hi <> 0 OR value_lo <> 0";

/// Passports that count (not revoked, not a model's), grouped by what their product mass
/// depends on; `{org}` is empty or restricts them to one manufacturer.
const PRODUCT_COUNTS: &str = "SELECT market_year, country, category, org_id, granularity, units, \
     net_mass_ug, COUNT(*) FROM stock_passports \
     WHERE status <> 'revoked' AND granularity <> 'model' {org} \
     GROUP BY market_year, country, category, org_id, granularity, units, net_mass_ug";

type ProductCountRow = (i32, String, String, Uuid, String, i64, Option<i64>, i64);

fn product_count(row: ProductCountRow) -> Result<Option<ProductCount>, StoreError> {
    let (year, country, category, org, granularity, units, net_mass_ug, passports) = row;
    let per_passport = match Granularity::parse(&granularity) {
        Some(Granularity::Item) => 1,
        Some(Granularity::Batch) => u64::try_from(units).map_err(|_| corrupt("units"))?,
        Some(Granularity::Model) => return Ok(None),
        None => return Err(corrupt(format!("granularity {granularity:?}"))),
    };
    let passports = u64::try_from(passports).map_err(|_| corrupt("count"))?;
    Ok(Some(ProductCount {
        year,
        country: Country::parse(&country).map_err(corrupt)?,
        category: category.parse::<Category>().map_err(corrupt)?,
        org,
        units: per_passport.saturating_mul(passports),
        net_mass_ug,
    }))
}

/// A row of a table: `country, category, element, org_id, value_hi, value_lo`, decoded without copying
/// the text (answers read tens of thousands of rows per table). A stored value that does not
/// parse is kept as what is wrong, for [`StoreError::Corrupt`].
struct ContributionRow(Result<Contribution, String>);

/// An organisation's row: `flow, year`, then a [`ContributionRow`].
struct OrgContributionRow(Result<(Flow, i32, Contribution), String>);

impl<'r, R> sqlx::FromRow<'r, R> for ContributionRow
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Uuid: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        decode_row(row, 0).map(ContributionRow)
    }
}

impl<'r, R> sqlx::FromRow<'r, R> for OrgContributionRow
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Uuid: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let flow: &str = row.try_get(0)?;
        let year: i32 = row.try_get(1)?;
        let rest = decode_row(row, 2)?;
        Ok(OrgContributionRow(
            flow.parse::<Flow>()
                .map_err(|e| e.to_string())
                .and_then(|flow| rest.map(|row| (flow, year, row))),
        ))
    }
}

/// Reads `country, category, element, org_id, value_hi, value_lo` from column `at` on.
fn decode_row<'r, R>(row: &'r R, at: usize) -> Result<Result<Contribution, String>, sqlx::Error>
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
    let org: Uuid = row.try_get(at + 3)?;
    let hi: i64 = row.try_get(at + 4)?;
    let lo: i64 = row.try_get(at + 5)?;
    let parsed = || -> Result<Contribution, String> {
        Ok(Contribution {
            country: Country::parse(country).map_err(|e| e.to_string())?,
            category: category.parse::<Category>().map_err(|e| e.to_string())?,
            element: element
                .parse::<TrackedElement>()
                .map_err(|e| e.to_string())?,
            org,
            value_ug: wide::join(hi, lo),
        })
    };
    Ok(parsed())
}

struct CellRow {
    flow: String,
    year: i32,
    country: String,
    category: String,
    element: String,
    org_id: Uuid,
    value_hi: i64,
    value_lo: i64,
    records: i64,
}

reetrace_core::record!(CellRow {
    flow,
    year,
    country,
    category,
    element,
    org_id,
    value_hi,
    value_lo,
    records,
});

impl TryFrom<CellRow> for StoredCell {
    type Error = StoreError;

    fn try_from(r: CellRow) -> Result<Self, StoreError> {
        Ok(StoredCell {
            key: CellKey {
                flow: r.flow.parse().map_err(corrupt)?,
                year: r.year,
                country: Country::parse(&r.country).map_err(corrupt)?,
                category: r.category.parse::<Category>().map_err(corrupt)?,
                element: r.element.parse::<TrackedElement>().map_err(corrupt)?,
            },
            org_id: r.org_id,
            value_ug: wide::join(r.value_hi, r.value_lo),
            records: r.records,
        })
    }
}

#[async_trait]
impl TableStore for SqlStock {
    async fn revisions(&self) -> Result<Vec<(Flow, i32, i64)>, StoreError> {
        let rows: Vec<(String, i32, i64)> = Sql::new(REVISIONS).fetch_all(self.db.reader()).await?;
        rows.into_iter()
            .map(|(flow, year, revision)| Ok((flow.parse().map_err(corrupt)?, year, revision)))
            .collect()
    }

    async fn table_rows(&self, flow: Flow, year: i32) -> Result<Vec<Contribution>, StoreError> {
        let rows: Vec<ContributionRow> = Sql::new(TABLE_ROWS)
            .bind(flow.as_str())
            .bind(year)
            .fetch_all(self.db.reader())
            .await?;
        rows.into_iter()
            .map(|ContributionRow(row)| row.map_err(StoreError::Corrupt))
            .collect()
    }

    async fn org_rows(&self, org_id: Uuid) -> Result<Vec<(Flow, i32, Contribution)>, StoreError> {
        let rows: Vec<OrgContributionRow> = Sql::new(ORG_ROWS)
            .bind(org_id)
            .fetch_all(self.db.reader())
            .await?;
        rows.into_iter()
            .map(|OrgContributionRow(row)| row.map_err(StoreError::Corrupt))
            .collect()
    }

    async fn cells(&self) -> Result<Vec<StoredCell>, StoreError> {
        let rows: Vec<CellRow> = Sql::new(CELLS).fetch_all(self.db.reader()).await?;
        let mut cells = rows
            .into_iter()
            .map(StoredCell::try_from)
            .collect::<Result<Vec<_>, StoreError>>()?;
        cells.sort();
        Ok(cells)
    }

    async fn product_counts(&self, org_id: Option<Uuid>) -> Result<Vec<ProductCount>, StoreError> {
        let rows: Vec<ProductCountRow> = match org_id {
            Some(org) => {
                Sql::new(PRODUCT_COUNTS.replace("{org}", "AND org_id = $1"))
                    .bind(org)
                    .fetch_all(self.db.reader())
                    .await?
            }
            None => {
                Sql::new(PRODUCT_COUNTS.replace("{org}", ""))
                    .fetch_all(self.db.reader())
                    .await?
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.extend(product_count(row)?);
        }
        Ok(out)
    }
}
