//! Custody's copy of the passports, with each product's custody (written by the passport feed
//! and by [`WriteStore::write`](super::WriteStore::write)).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use reetrace_core::db::{Sql, StoreError};
use reetrace_core::domain::{Category, Country, Gtin, LotNumber, SerialNumber};
use uuid::Uuid;

use super::SqlCustody;
use super::codec::{CHUNK, bag, custody, fits, parsed, parsed_opt, word};
use crate::domain::log_replay::StoredCustody;
use crate::domain::product::{Granularity, PassportStatus, ProductRow};

pub(super) const PRODUCT_COLUMNS: &str = "passport_id, org_id, version, passport_status, granularity, gtin, serial, lot, units, \
     name, category, country, placed_on_market, net_mass_ug, epc, elements, state, holder, pending_to, updated_at";

/// Reads products.
#[async_trait]
pub trait ProductStore: Send + Sync {
    async fn product(&self, passport_id: Uuid) -> Result<Option<ProductRow>, StoreError>;
    /// The products among those named by EPC or by passport id (EPCIS capture resolves a
    /// whole document's identifiers in one round trip per chunk).
    async fn products_named(
        &self,
        epcs: &[String],
        ids: &[Uuid],
    ) -> Result<Vec<ProductRow>, StoreError>;
    /// The custody of up to `limit` products with an id after `after` (from the first when
    /// `None`), in id order, as stored (log verification compares it with the events).
    async fn product_custody_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredCustody>, StoreError>;
    /// The batch passport with GTIN `gtin` (14 digits) and lot number `lot`, if custody's copy
    /// of the passports has one.
    async fn batch_with_identity(&self, gtin: &str, lot: &str) -> Result<Option<Uuid>, StoreError>;
}

struct ProductDb {
    passport_id: Uuid,
    org_id: Uuid,
    version: i64,
    passport_status: String,
    granularity: String,
    gtin: Option<String>,
    serial: Option<String>,
    lot: Option<String>,
    units: i64,
    name: String,
    category: String,
    country: String,
    placed_on_market: NaiveDate,
    net_mass_ug: i64,
    epc: String,
    elements: String,
    state: String,
    holder: Option<Uuid>,
    pending_to: Option<Uuid>,
    updated_at: DateTime<Utc>,
}

reetrace_core::record!(ProductDb {
    passport_id,
    org_id,
    version,
    passport_status,
    granularity,
    gtin,
    serial,
    lot,
    units,
    name,
    category,
    country,
    placed_on_market,
    net_mass_ug,
    epc,
    elements,
    state,
    holder,
    pending_to,
    updated_at,
});

impl TryFrom<ProductDb> for ProductRow {
    type Error = StoreError;

    fn try_from(r: ProductDb) -> Result<Self, StoreError> {
        Ok(ProductRow {
            passport_id: r.passport_id,
            org_id: r.org_id,
            version: fits("version", r.version)?,
            passport_status: word("passport_status", &r.passport_status, PassportStatus::parse)?,
            granularity: word("granularity", &r.granularity, Granularity::parse)?,
            gtin: parsed_opt("gtin", r.gtin.as_deref(), Gtin::parse)?,
            serial: parsed_opt("serial", r.serial.as_deref(), SerialNumber::parse)?,
            lot: parsed_opt("lot", r.lot.as_deref(), LotNumber::parse)?,
            units: fits("units", r.units)?,
            name: r.name,
            category: parsed("category", &r.category, str::parse::<Category>)?,
            country: parsed("country", &r.country, Country::parse)?,
            placed_on_market: r.placed_on_market,
            net_mass_ug: r.net_mass_ug,
            epc: r.epc,
            elements: bag(&r.elements)?,
            custody: custody(&r.state, r.holder, r.pending_to)?,
            updated_at: r.updated_at,
        })
    }
}

#[async_trait]
impl ProductStore for SqlCustody {
    async fn batch_with_identity(&self, gtin: &str, lot: &str) -> Result<Option<Uuid>, StoreError> {
        Sql::new(
            "SELECT passport_id FROM custody_products \
             WHERE gtin = $1 AND lot = $2 AND granularity = 'batch' LIMIT 1",
        )
        .bind(gtin)
        .bind(lot)
        .scalar_optional(self.db.reader())
        .await
    }

    async fn product(&self, passport_id: Uuid) -> Result<Option<ProductRow>, StoreError> {
        let row: Option<ProductDb> = Sql::new(format!(
            "SELECT {PRODUCT_COLUMNS} FROM custody_products WHERE passport_id = $1"
        ))
        .bind(passport_id)
        .fetch_optional(self.db.reader())
        .await?;
        row.map(ProductRow::try_from).transpose()
    }

    async fn products_named(
        &self,
        epcs: &[String],
        ids: &[Uuid],
    ) -> Result<Vec<ProductRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in epcs.chunks(CHUNK) {
            let mut sql = Sql::new(format!(
                "SELECT {PRODUCT_COLUMNS} FROM custody_products WHERE epc IN "
            ));
            sql.push_list(chunk.iter().map(String::as_str));
            let rows: Vec<ProductDb> = sql.fetch_all(self.db.reader()).await?;
            for row in rows {
                out.push(ProductRow::try_from(row)?);
            }
        }
        for chunk in ids.chunks(CHUNK) {
            let mut sql = Sql::new(format!(
                "SELECT {PRODUCT_COLUMNS} FROM custody_products WHERE passport_id IN "
            ));
            sql.push_list(chunk.iter().copied());
            let rows: Vec<ProductDb> = sql.fetch_all(self.db.reader()).await?;
            for row in rows {
                out.push(ProductRow::try_from(row)?);
            }
        }
        out.sort_by_key(|p| p.passport_id);
        out.dedup_by_key(|p| p.passport_id);
        Ok(out)
    }

    async fn product_custody_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredCustody>, StoreError> {
        self.custody_after(
            "SELECT passport_id, state, holder, pending_to, CAST(0 AS BIGINT) AS mass_ug, \
             CAST(0 AS BIGINT) AS remaining_ug FROM custody_products",
            "passport_id",
            after,
            limit,
        )
        .await
    }
}
