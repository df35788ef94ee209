//! What the scenario answers are made of, as JSON bodies.

use chrono::{DateTime, Utc};
use reetrace_core::domain::{Category, Element};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::levers::{Lever, ScenarioVersion};

/// The CRMA benchmark the ratio is set beside (Regulation (EU) 2024/1252, art. 5(1)(a)(iii)).
pub const CRMA_RECYCLING_SHARE: f64 = 0.25;

/// The magnet rare earths the benchmark comparison is shown for.
pub const MAGNET_REES: [Element; 4] = [Element::Nd, Element::Pr, Element::Dy, Element::Tb];

/// What the benchmark is, beside every comparison with it.
pub const CRMA_CAVEAT: &str = "Indicative only. The CRMA benchmark (Regulation (EU) 2024/1252, \
     art. 5(1)(a)(iii)) is that by 2030 EU recycling capacity can produce at least 25 % of the \
     Union's annual consumption of strategic raw materials. This ratio is something else: the \
     rare earth recovered from the end-of-life products reetrace models, divided by the rare \
     earth placed on the market in new products with passports, per element and year. It \
     leaves out capacity, imports, exports, manufacturing scrap and products without \
     passports.";

/// A stored scenario version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScenarioView {
    pub id: Uuid,
    pub version: i64,
    /// The organisation that owns it (the only one that may change it).
    pub org_id: Uuid,
    pub created_at: DateTime<Utc>,
    /// The scenario as written (the fields of [`crate::domain::levers::ScenarioDefinition`], listed here so that the
    /// answer's schema admits the fields above beside them).
    pub name: String,
    pub description: String,
    pub shared: bool,
    pub levers: Vec<Lever>,
}

impl From<ScenarioVersion> for ScenarioView {
    fn from(v: ScenarioVersion) -> Self {
        Self {
            id: v.id,
            version: v.version,
            org_id: v.org_id,
            created_at: v.created_at,
            name: v.definition.name,
            description: v.definition.description,
            shared: v.definition.shared,
            levers: v.definition.levers,
        }
    }
}

/// The scenarios the caller may read (the newest version of each).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScenarioList {
    pub scenarios: Vec<ScenarioView>,
}

/// Where a baseline rate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateSource {
    /// Custody events: collected (or recycled) over the observed years divided by the modelled
    /// end of life (or the collected) of the same years, at most 1.
    Observed,
    /// Nothing observed: the default (see `defaults`).
    Default,
}

/// The baseline collection rate and recovery yield of a category and element.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BaselineRate {
    pub category: Category,
    pub element: Element,
    pub collection_rate: f64,
    pub collection_rate_source: RateSource,
    pub recovery_yield: f64,
    pub recovery_yield_source: RateSource,
}

/// The benchmark the ratio is compared with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Benchmark {
    /// 0.25.
    pub share: f64,
    /// The elements compared: Nd, Pr, Dy, Tb.
    pub elements: Vec<Element>,
    /// Always true: the comparison is indicative.
    pub indicative: bool,
    pub caveat: &'static str,
}

impl Benchmark {
    pub fn crma() -> Self {
        Self {
            share: CRMA_RECYCLING_SHARE,
            elements: MAGNET_REES.to_vec(),
            indicative: true,
            caveat: CRMA_CAVEAT,
        }
    }
}

/// One element in one year of a scenario, kg.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScenarioRow {
    pub year: i32,
    pub element: Element,
    /// Placed on the market: observed, then the forecast, with the levers applied.
    pub placed_on_market: f64,
    pub stock_in_use: f64,
    /// End-of-life flow (products leaving use).
    pub eol_generated: f64,
    pub collected: f64,
    /// Recovered as secondary material: the secondary supply.
    pub recovered: f64,
    /// `recovered / placed_on_market`; null when nothing is placed on the market.
    pub secondary_supply_ratio: Option<f64>,
    /// For Nd, Pr, Dy and Tb: whether the ratio reaches the benchmark's 25 % (indicative, see
    /// `benchmark.caveat`); null for the other elements or without a ratio.
    pub reaches_benchmark: Option<bool>,
}

/// A scenario's (or the baseline's) results, computed on request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScenarioResults {
    /// The scenario's id; null for the baseline.
    pub id: Option<Uuid>,
    /// The scenario version computed; null for the baseline.
    pub version: Option<i64>,
    pub name: String,
    pub rows: Vec<ScenarioRow>,
}

/// What every result of one request was computed from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScenarioBasis {
    /// The sum of the revisions of the placed-on-market, collected and recycled tables read:
    /// it grows with every change to the observed data.
    pub data_revision: i64,
    /// The model parameters' version (lifetimes, inflow timing, horizon, forecast rule).
    pub parameters_version: i64,
    /// The first model year.
    pub year_from: i32,
    /// The last observed year; the inflow after it is the forecast. Null without data.
    pub last_observed: Option<i32>,
    /// The last model year (the horizon).
    pub year_to: i32,
    pub unit: &'static str,
    /// The baseline rates, per category and element with a modelled flow.
    pub baseline_rates: Vec<BaselineRate>,
    /// How rates are set where nothing was observed.
    pub defaults: &'static str,
    pub benchmark: Benchmark,
}

/// `GET /scenarios/{id}/results`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScenarioAnswer {
    #[serde(flatten)]
    pub basis: ScenarioBasis,
    pub scenario: ScenarioResults,
}

/// `GET /scenarios/compare`: the baseline first, then each scenario asked for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScenarioComparison {
    #[serde(flatten)]
    pub basis: ScenarioBasis,
    pub scenarios: Vec<ScenarioResults>,
}
