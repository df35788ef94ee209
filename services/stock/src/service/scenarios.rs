//! Policy scenarios: stored versions owned by an organisation (authorities and admins), read by
//! their owner, by the other authorities when shared, and by admins; results computed on request
//! against the current observed data ([`crate::domain::whatif`]).

use std::collections::BTreeMap;

use chrono::Utc;
use reetrace_core::domain::{Category, Denied, Element, Principal, Role};
use uuid::Uuid;

use super::cache::this_year;
use super::scenario_bodies::{
    BaselineRate, Benchmark, CRMA_RECYCLING_SHARE, MAGNET_REES, RateSource, ScenarioAnswer,
    ScenarioBasis, ScenarioComparison, ScenarioList, ScenarioResults, ScenarioRow, ScenarioView,
};
use super::{Scope, StockError, StockService};
use crate::domain::flow::Flow;
use crate::domain::levers::{Change, ScenarioDefinition, ScenarioVersion};
use crate::domain::modelled::UG_PER_KG;
use crate::domain::table::{Dim, Grain, Key};
use crate::domain::whatif::{Baseline, EolRates, Outcome, WhatIfError, by_element, project};

/// The most scenarios one comparison holds (besides the baseline).
pub const MAX_COMPARED: usize = 4;

/// Where custody observed no collection: a collection rate of 0; where it observed no recycling:
/// a recovery yield of 90 % (our assumption for what a recycler recovers of the rare earth it is
/// given, not an observation; a `recovery_yield` lever sets another).
pub const DEFAULT_RATES: EolRates = EolRates {
    collection_rate: 0.0,
    recovery_yield: 0.9,
};
const DEFAULTS_TEXT: &str = "Where custody observed no collection of a category and element, its \
     baseline collection rate is 0; where it observed no recycling, its recovery yield is 0.9 \
     (an assumption of reetrace, not an observation; a recovery_yield lever sets another). An \
     observed rate is the sum over the observed years of what was collected (recycled) divided \
     by the modelled end of life (the collected) of the same years, at most 1, held constant.";

/// The baseline and what it was made from.
struct Prepared {
    baseline: Baseline<Category, Element>,
    basis: ScenarioBasis,
}

const ROLES: [Role; 2] = [Role::Regulator, Role::Admin];

impl StockService {
    /// Stores a new scenario (version 1), owned by the caller's organisation.
    pub async fn create_scenario(
        &self,
        caller: &Principal,
        definition: ScenarioDefinition,
    ) -> Result<ScenarioView, StockError> {
        caller.require(&ROLES)?;
        let span = self.prepare().await?.span();
        definition.resolve(span).map_err(StockError::Invalid)?;
        let id = Uuid::now_v7();
        let store = &self.inner.store;
        store
            .insert_scenario(id, caller.org_id, &definition, Utc::now())
            .await?;
        self.read_scenario(id, None).await
    }

    /// Stores a new version of a scenario; only its owner (or an admin) may.
    pub async fn update_scenario(
        &self,
        caller: &Principal,
        id: Uuid,
        definition: ScenarioDefinition,
    ) -> Result<ScenarioView, StockError> {
        let current = self.visible(caller, id, None).await?;
        if caller.role != Role::Admin && current.org_id != caller.org_id {
            return Err(Denied::Rule(
                "Only the organisation that made a scenario may change it; shared scenarios are read-only.".into(),
            )
            .into());
        }
        let span = self.prepare().await?.span();
        definition.resolve(span).map_err(StockError::Invalid)?;
        self.inner
            .store
            .insert_scenario(id, current.org_id, &definition, Utc::now())
            .await?;
        self.read_scenario(id, None).await
    }

    /// The newest version of every scenario the caller may read.
    pub async fn list_scenarios(&self, caller: &Principal) -> Result<ScenarioList, StockError> {
        caller.require(&ROLES)?;
        let all = caller.role == Role::Admin;
        let scenarios = self
            .inner
            .store
            .latest_scenarios(caller.org_id, all)
            .await?;
        Ok(ScenarioList {
            scenarios: scenarios.into_iter().map(ScenarioView::from).collect(),
        })
    }

    /// One version of a scenario (the newest by default).
    pub async fn get_scenario(
        &self,
        caller: &Principal,
        id: Uuid,
        version: Option<i64>,
    ) -> Result<ScenarioView, StockError> {
        Ok(self.visible(caller, id, version).await?.into())
    }

    /// A scenario's results against the current observed data.
    pub async fn scenario_results(
        &self,
        caller: &Principal,
        id: Uuid,
        version: Option<i64>,
    ) -> Result<ScenarioAnswer, StockError> {
        let scenario = self.visible(caller, id, version).await?;
        let prepared = self.prepare().await?;
        let results = blocking_results(prepared.baseline, vec![scenario], false).await?;
        let scenario = results
            .into_iter()
            .next()
            .expect("one result per scenario given");
        Ok(ScenarioAnswer {
            basis: prepared.basis,
            scenario,
        })
    }

    /// The baseline and up to four scenarios side by side.
    pub async fn compare_scenarios(
        &self,
        caller: &Principal,
        ids: &[Uuid],
    ) -> Result<ScenarioComparison, StockError> {
        caller.require(&ROLES)?;
        let mut scenarios = Vec::with_capacity(ids.len());
        for id in ids {
            scenarios.push(self.visible(caller, *id, None).await?);
        }
        let prepared = self.prepare().await?;
        let results = blocking_results(prepared.baseline, scenarios, true).await?;
        Ok(ScenarioComparison {
            basis: prepared.basis,
            scenarios: results,
        })
    }

    async fn read_scenario(
        &self,
        id: Uuid,
        version: Option<i64>,
    ) -> Result<ScenarioView, StockError> {
        let stored = self.inner.store.scenario(id, version).await?;
        stored
            .map(ScenarioView::from)
            .ok_or(StockError::ScenarioNotFound(id))
    }

    /// The scenario if the caller may read it: 403 for other roles, 404 when it does not exist
    /// or belongs to another organisation and is not shared (as for records one may not see).
    async fn visible(
        &self,
        caller: &Principal,
        id: Uuid,
        version: Option<i64>,
    ) -> Result<ScenarioVersion, StockError> {
        caller.require(&ROLES)?;
        let found = self.inner.store.scenario(id, version).await?;
        let newest_shared = match &found {
            Some(s) if version.is_some() && s.org_id != caller.org_id => self
                .inner
                .store
                .scenario(id, None)
                .await?
                .is_some_and(|n| n.definition.shared),
            Some(s) => s.definition.shared,
            None => false,
        };
        match found {
            Some(s) if caller.role == Role::Admin || s.org_id == caller.org_id || newest_shared => {
                Ok(s)
            }
            _ => Err(StockError::ScenarioNotFound(id)),
        }
    }

    /// The baseline from the current observed data (authorities' exact figures).
    async fn prepare(&self) -> Result<Prepared, StockError> {
        let source = self
            .source(Scope::All, &[Flow::Collected, Flow::Recycled], None, true)
            .await?;
        let (model, params) = source.model.clone().ok_or(StockError::NoParameters)?;
        let p = &params.parameters;
        let empty = model.is_empty();
        let start = if empty { this_year() } else { model.start };
        let end = if empty {
            p.horizon.max(start)
        } else {
            model.end()
        };
        let years = usize::try_from(end - start + 1).unwrap_or(0);
        let last_observed = (!empty).then_some(model.last_observed);
        let observed = last_observed.map_or(0, |l| usize::try_from(l - start + 1).unwrap_or(0));

        let grain = Grain::TOTAL.with(Dim::Category).with(Dim::Element);
        let mut inflows = BTreeMap::new();
        let mut eol = BTreeMap::new();
        for (key, series) in model.select(grain, &Key::default()) {
            // The levers act on the rare earths only.
            let (Some(c), Some(e)) = (key.category, key.element.and_then(|e| e.rare_earth()))
            else {
                continue;
            };
            inflows.insert((c, e), series.inflow.clone());
            eol.insert((c, e), series.outflow[..observed].iter().sum::<f64>());
        }
        let mut sums: BTreeMap<(Flow, Category, Element), f64> = BTreeMap::new();
        for ((flow, year), table) in &source.tables {
            if *year < start || last_observed.is_none_or(|l| *year > l) {
                continue;
            }
            for (key, stat) in table.at(grain) {
                if let (Some(c), Some(e)) = (key.category, key.element.and_then(|e| e.rare_earth()))
                {
                    *sums.entry((*flow, c, e)).or_default() += stat.value_ug as f64 / UG_PER_KG;
                }
            }
        }
        let mut rates = BTreeMap::new();
        let mut baseline_rates = Vec::new();
        for (&(c, e), &ended) in &eol {
            let collected = sums.get(&(Flow::Collected, c, e)).copied().unwrap_or(0.0);
            let recycled = sums.get(&(Flow::Recycled, c, e)).copied().unwrap_or(0.0);
            let observed_rate = |num: f64, den: f64| {
                if den > 0.0 { (num / den).min(1.0) } else { 1.0 }
            };
            // Each rate is observed once its numerator was (recycling lags collection, so a
            // collection without recycling yet does not make the yield zero).
            let (collection_rate, collection_rate_source) = if collected > 0.0 {
                (observed_rate(collected, ended), RateSource::Observed)
            } else {
                (DEFAULT_RATES.collection_rate, RateSource::Default)
            };
            let (recovery_yield, recovery_yield_source) = if recycled > 0.0 {
                (observed_rate(recycled, collected), RateSource::Observed)
            } else {
                (DEFAULT_RATES.recovery_yield, RateSource::Default)
            };
            rates.insert(
                (c, e),
                EolRates {
                    collection_rate,
                    recovery_yield,
                },
            );
            baseline_rates.push(BaselineRate {
                category: c,
                element: e,
                collection_rate,
                collection_rate_source,
                recovery_yield,
                recovery_yield_source,
            });
        }
        let baseline = Baseline {
            start,
            years,
            observed,
            inflow_at: p.inflow_at,
            lifetimes: p.lifetimes.clone(),
            inflows,
            rates,
            default_rates: DEFAULT_RATES,
        };
        let basis = ScenarioBasis {
            data_revision: source.data_revision,
            parameters_version: params.version,
            year_from: start,
            last_observed,
            year_to: end,
            unit: "kg",
            baseline_rates,
            defaults: DEFAULTS_TEXT,
            benchmark: Benchmark::crma(),
        };
        Ok(Prepared { baseline, basis })
    }
}

impl Prepared {
    fn span(&self) -> (i32, i32) {
        (self.basis.year_from, self.basis.year_to)
    }
}

/// The baseline's results and each scenario's, off the async threads.
async fn blocking_results(
    baseline: Baseline<Category, Element>,
    scenarios: Vec<ScenarioVersion>,
    with_baseline: bool,
) -> Result<Vec<ScenarioResults>, StockError> {
    let job = move || compute(&baseline, &scenarios, with_baseline);
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|source| StockError::Panicked {
            what: "a scenario computation",
            source,
        })?
}

/// Each scenario's results, after the baseline's when `with_baseline`.
fn compute(
    baseline: &Baseline<Category, Element>,
    scenarios: &[ScenarioVersion],
    with_baseline: bool,
) -> Result<Vec<ScenarioResults>, StockError> {
    let end = baseline.start + i32::try_from(baseline.years).unwrap_or(0) - 1;
    let mut out = Vec::with_capacity(scenarios.len() + 1);
    if with_baseline {
        out.push(results(None, "baseline", baseline, &[])?);
    }
    for s in scenarios {
        let changes = resolve_stored(&s.definition, (baseline.start, end));
        out.push(results(Some(s), &s.definition.name, baseline, &changes)?);
    }
    Ok(out)
}

/// A stored scenario's changes against today's span: its levers were checked when it was
/// stored; a lever from before the first model year acts from it, one after the last acts on
/// no year (the data or the horizon moved since), and one that no longer resolves is left out.
fn resolve_stored(
    definition: &ScenarioDefinition,
    (first, last): (i32, i32),
) -> Vec<Change<Category, Element>> {
    let mut kept = definition.clone();
    kept.levers.retain(|lever| lever.from <= last);
    for lever in &mut kept.levers {
        lever.from = lever.from.max(first);
        lever.by = lever.by.map(|b| b.clamp(lever.from, last));
    }
    kept.resolve((first, last)).unwrap_or_default()
}

fn results(
    scenario: Option<&ScenarioVersion>,
    name: &str,
    baseline: &Baseline<Category, Element>,
    changes: &[Change<Category, Element>],
) -> Result<ScenarioResults, StockError> {
    let outcomes = project(baseline, changes).map_err(|e| {
        let detail = e.to_string();
        let pointer = match e {
            WhatIfError::Lifetime { .. } | WhatIfError::Overflow { .. } => "/levers",
        };
        StockError::Invalid(vec![reetrace_core::domain::FieldError::new(
            pointer, detail,
        )])
    })?;
    let sums: BTreeMap<Element, Outcome> = by_element(&outcomes);
    let mut rows = Vec::with_capacity(sums.len() * baseline.years);
    for t in 0..baseline.years {
        let year = baseline.start + i32::try_from(t).unwrap_or(0);
        for (element, o) in &sums {
            let pom = o.inflow[t];
            let ratio = (pom > 0.0).then(|| o.recovered[t] / pom);
            rows.push(ScenarioRow {
                year,
                element: *element,
                placed_on_market: pom,
                stock_in_use: o.stock[t],
                eol_generated: o.outflow[t],
                collected: o.collected[t],
                recovered: o.recovered[t],
                secondary_supply_ratio: ratio,
                reaches_benchmark: ratio
                    .filter(|_| MAGNET_REES.contains(element))
                    .map(|r| r >= CRMA_RECYCLING_SHARE),
            });
        }
    }
    Ok(ScenarioResults {
        id: scenario.map(|s| s.id),
        version: scenario.map(|s| s.version),
        name: name.to_owned(),
        rows,
    })
}
