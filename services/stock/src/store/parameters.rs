//! The versions of the model parameters: each change is a new version, none is ever replaced.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Sql, StoreError};
use uuid::Uuid;

use super::{SqlStock, corrupt};
use crate::domain::parameters::{ParameterVersion, Parameters};

/// Storage of the parameter versions.
#[async_trait]
pub trait ParameterStore: Send + Sync {
    /// The newest parameter version.
    async fn latest_parameters(&self) -> Result<Option<ParameterVersion>, StoreError>;
    /// Stores `parameters` as the next version; returns it.
    async fn insert_parameters(
        &self,
        parameters: &Parameters,
        created_by: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Stores `parameters` as version 1 unless a version exists.
    async fn seed_parameters(
        &self,
        parameters: &Parameters,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

const LATEST: &str = "SELECT version, parameters, created_by, created_at FROM stock_parameters \
     ORDER BY version DESC LIMIT 1";
const INSERT: &str = "INSERT INTO stock_parameters (version, parameters, created_by, created_at) \
     SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3 FROM stock_parameters \
     RETURNING version";
const SEED: &str = "INSERT INTO stock_parameters (version, parameters, created_by, created_at) \
     VALUES (1, $1, NULL, $2) ON CONFLICT (version) DO NOTHING";

/// The parameters as stored: JSON.
fn to_text(parameters: &Parameters) -> Result<String, StoreError> {
    serde_json::to_string(parameters).map_err(|e| corrupt(format!("parameters: {e}")))
}

#[async_trait]
impl ParameterStore for SqlStock {
    async fn latest_parameters(&self) -> Result<Option<ParameterVersion>, StoreError> {
        let row: Option<(i64, String, Option<Uuid>, DateTime<Utc>)> =
            Sql::new(LATEST).fetch_optional(self.db.reader()).await?;
        row.map(|(version, text, created_by, created_at)| {
            let parameters = serde_json::from_str(&text)
                .map_err(|e| corrupt(format!("parameters version {version}: {e}")))?;
            Ok(ParameterVersion {
                version,
                parameters,
                created_by,
                created_at,
            })
        })
        .transpose()
    }

    async fn insert_parameters(
        &self,
        parameters: &Parameters,
        created_by: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Sql::new(INSERT)
            .bind(to_text(parameters)?)
            .bind(created_by)
            .bind(at)
            .scalar(self.db.writer())
            .await
    }

    async fn seed_parameters(
        &self,
        parameters: &Parameters,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Sql::new(SEED)
            .bind(to_text(parameters)?)
            .bind(at)
            .execute(self.db.writer())
            .await?;
        Ok(())
    }
}
