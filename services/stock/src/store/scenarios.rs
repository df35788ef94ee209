//! The versions of the policy scenarios: each change is a new version, none is ever replaced.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Sql, StoreError};
use uuid::Uuid;

use super::{SqlStock, corrupt};
use crate::domain::levers::{ScenarioDefinition, ScenarioVersion};

/// Storage of the scenario versions.
#[async_trait]
pub trait ScenarioStore: Send + Sync {
    /// Stores `definition` as the next version of scenario `id` (1 for a new one); returns it.
    async fn insert_scenario(
        &self,
        id: Uuid,
        org_id: Uuid,
        definition: &ScenarioDefinition,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// One version of a scenario (the newest when `version` is `None`).
    async fn scenario(
        &self,
        id: Uuid,
        version: Option<i64>,
    ) -> Result<Option<ScenarioVersion>, StoreError>;
    /// The newest version of every scenario `org_id` may read (its own and the shared ones;
    /// every one with `all`), oldest scenario first.
    async fn latest_scenarios(
        &self,
        org_id: Uuid,
        all: bool,
    ) -> Result<Vec<ScenarioVersion>, StoreError>;
}

const INSERT: &str = "INSERT INTO stock_scenarios \
     (scenario_id, version, org_id, name, shared, definition, created_at) \
     SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6 FROM stock_scenarios \
     WHERE scenario_id = $1 RETURNING version";
const COLUMNS: &str = "s.scenario_id, s.version, s.org_id, s.definition, s.created_at";
const ONE: &str = "FROM stock_scenarios s WHERE s.scenario_id = $1 AND s.version = $2";
const NEWEST: &str = "FROM stock_scenarios s WHERE s.scenario_id = $1 \
     ORDER BY s.version DESC LIMIT 1";
const LATEST: &str = "FROM stock_scenarios s JOIN (SELECT scenario_id, MAX(version) AS newest \
     FROM stock_scenarios GROUP BY scenario_id) m \
     ON s.scenario_id = m.scenario_id AND s.version = m.newest \
     WHERE $1 OR s.org_id = $2 OR s.shared \
     ORDER BY (SELECT MIN(f.created_at) FROM stock_scenarios f \
     WHERE f.scenario_id = s.scenario_id), s.scenario_id";

type Row = (Uuid, i64, Uuid, String, DateTime<Utc>);

fn decode((id, version, org_id, text, created_at): Row) -> Result<ScenarioVersion, StoreError> {
    let definition = serde_json::from_str(&text)
        .map_err(|e| corrupt(format!("scenario {id} version {version}: {e}")))?;
    Ok(ScenarioVersion {
        id,
        version,
        org_id,
        definition,
        created_at,
    })
}

#[async_trait]
impl ScenarioStore for SqlStock {
    async fn insert_scenario(
        &self,
        id: Uuid,
        org_id: Uuid,
        definition: &ScenarioDefinition,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let text =
            serde_json::to_string(definition).map_err(|e| corrupt(format!("scenario: {e}")))?;
        Sql::new(INSERT)
            .bind(id)
            .bind(org_id)
            .bind(definition.name.clone())
            .bind(definition.shared)
            .bind(text)
            .bind(at)
            .scalar(self.db.writer())
            .await
    }

    async fn scenario(
        &self,
        id: Uuid,
        version: Option<i64>,
    ) -> Result<Option<ScenarioVersion>, StoreError> {
        let row: Option<Row> = match version {
            Some(v) => {
                Sql::new(format!("SELECT {COLUMNS} {ONE}"))
                    .bind(id)
                    .bind(v)
                    .fetch_optional(self.db.reader())
                    .await?
            }
            None => {
                Sql::new(format!("SELECT {COLUMNS} {NEWEST}"))
                    .bind(id)
                    .fetch_optional(self.db.reader())
                    .await?
            }
        };
        row.map(decode).transpose()
    }

    async fn latest_scenarios(
        &self,
        org_id: Uuid,
        all: bool,
    ) -> Result<Vec<ScenarioVersion>, StoreError> {
        let rows: Vec<Row> = Sql::new(format!("SELECT {COLUMNS} {LATEST}"))
            .bind(all)
            .bind(org_id)
            .fetch_all(self.db.reader())
            .await?;
        rows.into_iter().map(decode).collect()
    }
}
