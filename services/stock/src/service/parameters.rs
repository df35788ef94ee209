//! The model parameters: the built-in defaults seeded as version 1, the current version, a new
//! version set by a regulator; and scenario runs (the model on a caller's own figures).

use std::sync::Arc;

use chrono::Utc;
use reetrace_core::domain::{Principal, Role};

use super::bodies::ParametersView;
use super::{StockError, StockService};
use crate::domain::parameters::{self, Parameters, default_rows};
use crate::domain::scenario::{Scenario, ScenarioResult};

/// The current parameters and their version.
#[derive(Debug, Clone)]
pub struct ParameterSet {
    pub version: i64,
    pub parameters: Parameters,
    pub view: ParametersView,
}

impl StockService {
    /// Stores the built-in parameters and price series as version 1 unless a version exists.
    pub(super) async fn seed(&self) -> Result<(), StockError> {
        let now = Utc::now();
        self.inner
            .store
            .seed_parameters(&parameters::defaults(), now)
            .await?;
        self.inner
            .store
            .seed_prices(&crate::domain::prices::defaults(), now)
            .await?;
        Ok(())
    }

    /// The current parameters.
    pub async fn parameters(&self) -> Result<Arc<ParameterSet>, StockError> {
        let stored = match self.inner.store.latest_parameters().await? {
            Some(stored) => stored,
            None => {
                self.seed().await?;
                self.inner
                    .store
                    .latest_parameters()
                    .await?
                    .ok_or(StockError::NoParameters)?
            }
        };
        let parameters = stored.parameters;
        let view = ParametersView {
            version: stored.version,
            created_at: stored.created_at,
            created_by: stored.created_by,
            horizon: parameters.horizon,
            inflow_at: parameters.inflow_at,
            extrapolation_years: parameters.extrapolation_years,
            lifetimes: parameters.lifetimes.clone(),
            defaults: default_rows(),
        };
        Ok(Arc::new(ParameterSet {
            version: stored.version,
            parameters,
            view,
        }))
    }

    /// Stores new parameters (regulators and admins) as the next version.
    pub async fn set_parameters(
        &self,
        caller: &Principal,
        parameters: Parameters,
    ) -> Result<Arc<ParameterSet>, StockError> {
        caller.require(&[Role::Regulator, Role::Admin])?;
        parameters.validate().map_err(StockError::Invalid)?;
        self.parameters().await?;
        self.inner
            .store
            .insert_parameters(&parameters, Some(caller.org_id), Utc::now())
            .await?;
        self.parameters().await
    }

    /// Runs a scenario (regulators and admins), off the async threads.
    pub async fn run_scenario(
        &self,
        caller: &Principal,
        scenario: Scenario,
    ) -> Result<ScenarioResult, StockError> {
        caller.require(&[Role::Regulator, Role::Admin])?;
        let job = move || scenario.run();
        let result =
            tokio::task::spawn_blocking(job)
                .await
                .map_err(|source| StockError::Panicked {
                    what: "a scenario run",
                    source,
                })?;
        result.map_err(StockError::Invalid)
    }
}
