//! Custody's copy of the passports, kept from the passport feed: the copies, the feed cursor
//! and the inbox of applied event ids, in one transaction per page of the feed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Sql, StoreError, Tx};
use uuid::Uuid;

use super::SqlCustody;
use super::codec::bag_text;
use super::products::PRODUCT_COLUMNS;
use crate::domain::product::{PassportChange, PassportCopy, PassportStatus};

/// The passport feed's side of the store.
#[async_trait]
pub trait PassportCopies: Send + Sync {
    /// The passport feed cursor.
    async fn cursor(&self, stream: &str) -> Result<i64, StoreError>;
    /// Applies passport feed events (event id, sequence, change), with the inbox and the
    /// cursor, in one transaction.
    async fn apply_passports(
        &self,
        stream: &str,
        events: &[(String, i64, PassportChange)],
    ) -> Result<(), StoreError>;
    /// Moves the cursor forward to `position` (past quarantined events); never back.
    async fn advance_cursor(&self, stream: &str, position: i64) -> Result<(), StoreError>;
}

/// Moves a cursor forward only (a replay of quarantined events never moves it back).
const MOVE_CURSOR: &str = "INSERT INTO custody_cursors (stream, position) VALUES ($1, $2) \
     ON CONFLICT (stream) DO UPDATE SET position = excluded.position \
     WHERE custody_cursors.position < excluded.position";

#[async_trait]
impl PassportCopies for SqlCustody {
    async fn cursor(&self, stream: &str) -> Result<i64, StoreError> {
        let position: Option<i64> =
            Sql::new("SELECT position FROM custody_cursors WHERE stream = $1")
                .bind(stream)
                .scalar_optional(self.db.reader())
                .await?;
        Ok(position.unwrap_or(0))
    }

    async fn advance_cursor(&self, stream: &str, position: i64) -> Result<(), StoreError> {
        Sql::new(MOVE_CURSOR)
            .bind(stream)
            .bind(position)
            .execute(self.db.writer())
            .await?;
        Ok(())
    }

    async fn apply_passports(
        &self,
        stream: &str,
        events: &[(String, i64, PassportChange)],
    ) -> Result<(), StoreError> {
        let Some(last) = events.last().map(|(_, seq, _)| *seq) else {
            return Ok(());
        };
        let now = reetrace_core::domain::account::now();
        let mut tx = self.db.begin().await?;
        for (event_id, _, change) in events {
            let fresh = Sql::new(
                "INSERT INTO custody_inbox (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING",
            )
            .bind(event_id)
            .execute(&mut tx)
            .await?;
            if fresh == 0 {
                continue;
            }
            match change {
                PassportChange::Upsert(copy) => upsert_copy(&mut tx, copy, now).await?,
                PassportChange::Status {
                    passport_id,
                    status,
                } => set_status(&mut tx, *passport_id, *status, now).await?,
                PassportChange::Ignore => {}
            }
        }
        Sql::new(MOVE_CURSOR)
            .bind(stream)
            .bind(last)
            .execute(&mut tx)
            .await?;
        tx.commit().await
    }
}

/// Keeps a passport's newest copy (custody state is kept across versions); the claims its owner
/// reserved for it are then confirmed, and replace the claims of its earlier versions.
async fn upsert_copy(tx: &mut Tx, p: &PassportCopy, now: DateTime<Utc>) -> Result<(), StoreError> {
    Sql::new(format!(
        "INSERT INTO custody_products ({PRODUCT_COLUMNS}) VALUES \
         ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'in_use', NULL, NULL, $16) \
         ON CONFLICT (passport_id) DO UPDATE SET version = excluded.version, units = excluded.units, \
         name = excluded.name, category = excluded.category, country = excluded.country, \
         placed_on_market = excluded.placed_on_market, net_mass_ug = excluded.net_mass_ug, \
         elements = excluded.elements, updated_at = excluded.updated_at \
         WHERE custody_products.version < excluded.version"
    ))
    .bind(p.passport_id)
    .bind(p.org_id)
    .bind(i64::from(p.version))
    .bind(p.granularity.as_str())
    .bind(p.gtin.as_ref().map(|g| g.as_str()))
    .bind(p.serial.as_ref().map(|s| s.as_str()))
    .bind(p.lot.as_ref().map(|l| l.as_str()))
    .bind(i64::try_from(p.units).unwrap_or(i64::MAX))
    .bind(p.name.as_str())
    .bind(p.category.as_str())
    .bind(p.country.code())
    .bind(p.placed_on_market)
    .bind(p.net_mass_ug)
    .bind(p.epc.as_str())
    .bind(bag_text(&p.elements))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // A reservation is bound to the manufacturer it was made for: one made for another
    // organisation never becomes this passport's claim (it lapses).
    let reserved: i64 = Sql::new(
        "SELECT COUNT(*) FROM custody_claims WHERE passport_id = $1 AND org_id = $2 \
         AND status = 'reserved'",
    )
    .bind(p.passport_id)
    .bind(p.org_id)
    .scalar(&mut *tx)
    .await?;
    if reserved > 0 {
        Sql::new(
            "UPDATE custody_claims SET status = 'superseded' WHERE passport_id = $1 AND status = 'confirmed'",
        )
        .bind(p.passport_id)
        .execute(&mut *tx)
        .await?;
        Sql::new(
            "UPDATE custody_claims SET status = 'confirmed' WHERE passport_id = $1 AND org_id = $2 \
             AND status = 'reserved'",
        )
        .bind(p.passport_id)
        .bind(p.org_id)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn set_status(
    tx: &mut Tx,
    passport_id: Uuid,
    status: PassportStatus,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    Sql::new(
        "UPDATE custody_products SET passport_status = $2, updated_at = $3 WHERE passport_id = $1",
    )
    .bind(passport_id)
    .bind(status.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
