//! Lots recovered by transformations (written by [`WriteStore::write`](super::WriteStore::write)).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Sql, StoreError};
use reetrace_core::domain::{Gtin, LotNumber};
use uuid::Uuid;

use super::SqlCustody;
use super::codec::{CHUNK, bag, custody, parsed_opt, word};
use crate::domain::log_replay::StoredCustody;
use crate::domain::lot::{LotRow, Origin, OutputKind};

pub(super) const LOT_COLUMNS: &str = "lot_id, epc, gtin, lot_number, kind, material, mass_ug, remaining_ug, elements, remaining, \
     claimed, origin, state, holder, pending_to, transformation_id, created_at, updated_at";

/// Reads lots.
#[async_trait]
pub trait LotStore: Send + Sync {
    async fn lot(&self, lot_id: Uuid) -> Result<Option<LotRow>, StoreError>;
    /// The lots among those named by EPC or by lot id.
    async fn lots_named(&self, epcs: &[String], ids: &[Uuid]) -> Result<Vec<LotRow>, StoreError>;
    /// The custody of up to `limit` lots with an id after `after` (from the first when
    /// `None`), in id order, as stored (log verification compares it with the events).
    async fn lot_custody_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredCustody>, StoreError>;
}

/// The origins of a lot as their column holds them (JSON `[{category, country, share_ppm}]`).
pub(super) fn origin_text(origin: &[Origin]) -> String {
    serde_json::to_string(origin).unwrap_or_else(|_| "[]".to_owned())
}

struct LotDb {
    lot_id: Uuid,
    epc: String,
    gtin: Option<String>,
    lot_number: Option<String>,
    kind: String,
    material: String,
    mass_ug: i64,
    remaining_ug: i64,
    elements: String,
    remaining: String,
    claimed: String,
    origin: String,
    state: String,
    holder: Uuid,
    pending_to: Option<Uuid>,
    transformation_id: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

reetrace_core::record!(LotDb {
    lot_id,
    epc,
    gtin,
    lot_number,
    kind,
    material,
    mass_ug,
    remaining_ug,
    elements,
    remaining,
    claimed,
    origin,
    state,
    holder,
    pending_to,
    transformation_id,
    created_at,
    updated_at,
});

impl TryFrom<LotDb> for LotRow {
    type Error = StoreError;

    fn try_from(r: LotDb) -> Result<Self, StoreError> {
        Ok(LotRow {
            lot_id: r.lot_id,
            epc: r.epc,
            gtin: parsed_opt("gtin", r.gtin.as_deref(), Gtin::parse)?,
            lot_number: parsed_opt("lot_number", r.lot_number.as_deref(), LotNumber::parse)?,
            kind: word("kind", &r.kind, OutputKind::parse)?,
            material: r.material,
            mass_ug: r.mass_ug,
            remaining_ug: r.remaining_ug,
            elements: bag(&r.elements)?,
            remaining: bag(&r.remaining)?,
            claimed: bag(&r.claimed)?,
            origin: serde_json::from_str(&r.origin)
                .map_err(|e| StoreError::Corrupt(format!("lot origin: {e}")))?,
            custody: custody(&r.state, Some(r.holder), r.pending_to)?,
            transformation_id: r.transformation_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[async_trait]
impl LotStore for SqlCustody {
    async fn lot(&self, lot_id: Uuid) -> Result<Option<LotRow>, StoreError> {
        let row: Option<LotDb> = Sql::new(format!(
            "SELECT {LOT_COLUMNS} FROM custody_lots WHERE lot_id = $1"
        ))
        .bind(lot_id)
        .fetch_optional(self.db.reader())
        .await?;
        row.map(LotRow::try_from).transpose()
    }

    async fn lots_named(&self, epcs: &[String], ids: &[Uuid]) -> Result<Vec<LotRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in epcs.chunks(CHUNK) {
            let mut sql = Sql::new(format!(
                "SELECT {LOT_COLUMNS} FROM custody_lots WHERE epc IN "
            ));
            sql.push_list(chunk.iter().map(String::as_str));
            let rows: Vec<LotDb> = sql.fetch_all(self.db.reader()).await?;
            for row in rows {
                out.push(LotRow::try_from(row)?);
            }
        }
        for chunk in ids.chunks(CHUNK) {
            let mut sql = Sql::new(format!(
                "SELECT {LOT_COLUMNS} FROM custody_lots WHERE lot_id IN "
            ));
            sql.push_list(chunk.iter().copied());
            let rows: Vec<LotDb> = sql.fetch_all(self.db.reader()).await?;
            for row in rows {
                out.push(LotRow::try_from(row)?);
            }
        }
        out.sort_by_key(|l| l.lot_id);
        out.dedup_by_key(|l| l.lot_id);
        Ok(out)
    }

    async fn lot_custody_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredCustody>, StoreError> {
        self.custody_after(
            "SELECT lot_id, state, holder, pending_to, mass_ug, remaining_ug FROM custody_lots",
            "lot_id",
            after,
            limit,
        )
        .await
    }
}

/// id, state, holder, pending_to, mass_ug, remaining_ug.
type CustodyColumns = (Uuid, String, Option<Uuid>, Option<Uuid>, i64, i64);

impl SqlCustody {
    /// The custody columns of a table's rows after `after`, in id order (`select` reads id,
    /// state, holder, pending_to, mass_ug and remaining_ug, in that order, from the table).
    pub(super) async fn custody_after(
        &self,
        select: &str,
        id: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredCustody>, StoreError> {
        let mut sql = Sql::new(select.to_owned());
        if let Some(after) = after {
            sql.push(&format!(" WHERE {id} > ")).push_bind(after);
        }
        sql.push(&format!(" ORDER BY {id} LIMIT "))
            .push_bind(i64::from(limit));
        let rows: Vec<CustodyColumns> = sql.fetch_all(self.db.reader()).await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, state, holder, pending_to, mass_ug, remaining_ug)| StoredCustody {
                    id,
                    state,
                    holder,
                    pending_to,
                    mass_ug,
                    remaining_ug,
                },
            )
            .collect())
    }
}
