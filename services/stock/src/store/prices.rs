//! The versions of the element price series: each change is a new version, none is ever
//! replaced.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Sql, StoreError};
use uuid::Uuid;

use super::{SqlStock, corrupt};
use crate::domain::prices::Prices;

/// A stored price series.
#[derive(Debug, Clone)]
pub struct PriceVersion {
    pub version: i64,
    pub prices: Prices,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Storage of the price series versions.
#[async_trait]
pub trait PriceStore: Send + Sync {
    /// The newest version.
    async fn latest_prices(&self) -> Result<Option<PriceVersion>, StoreError>;
    /// Stores `prices` as the next version; returns it.
    async fn insert_prices(
        &self,
        prices: &Prices,
        created_by: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Stores `prices` as version 1 unless a version exists.
    async fn seed_prices(&self, prices: &Prices, at: DateTime<Utc>) -> Result<(), StoreError>;
}

const LATEST: &str = "SELECT version, prices, created_by, created_at FROM stock_prices \
     ORDER BY version DESC LIMIT 1";
const INSERT: &str = "INSERT INTO stock_prices (version, prices, created_by, created_at) \
     SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3 FROM stock_prices \
     RETURNING version";
const SEED: &str = "INSERT INTO stock_prices (version, prices, created_by, created_at) \
     VALUES (1, $1, NULL, $2) ON CONFLICT (version) DO NOTHING";

fn to_text(prices: &Prices) -> Result<String, StoreError> {
    serde_json::to_string(prices).map_err(|e| corrupt(format!("prices: {e}")))
}

#[async_trait]
impl PriceStore for SqlStock {
    async fn latest_prices(&self) -> Result<Option<PriceVersion>, StoreError> {
        let row: Option<(i64, String, Option<Uuid>, DateTime<Utc>)> =
            Sql::new(LATEST).fetch_optional(self.db.reader()).await?;
        row.map(|(version, text, created_by, created_at)| {
            let prices = serde_json::from_str(&text)
                .map_err(|e| corrupt(format!("prices version {version}: {e}")))?;
            Ok(PriceVersion {
                version,
                prices,
                created_by,
                created_at,
            })
        })
        .transpose()
    }

    async fn insert_prices(
        &self,
        prices: &Prices,
        created_by: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Sql::new(INSERT)
            .bind(to_text(prices)?)
            .bind(created_by)
            .bind(at)
            .scalar(self.db.writer())
            .await
    }

    async fn seed_prices(&self, prices: &Prices, at: DateTime<Utc>) -> Result<(), StoreError> {
        Sql::new(SEED)
            .bind(to_text(prices)?)
            .bind(at)
            .execute(self.db.writer())
            .await?;
        Ok(())
    }
}
