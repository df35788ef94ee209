//! What the stock service answers, as JSON bodies: the flows, indicators, Sankey, export and
//! parameters answers and the parts they are made of (their OpenAPI schemas too). The use
//! cases beside build them from the figures of `domain::figures`; `api/` sends them.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use reetrace_core::domain::{Category, Country, TrackedElement};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use super::Scope;
use crate::domain::dsm::InflowAt;
use crate::domain::figures::{Figure, FigureRow};
use crate::domain::flow::{Basis, Flow};
use crate::domain::lifetime::Lifetime;
use crate::domain::parameters::DefaultLifetime;
use crate::domain::report::Metric;
use crate::domain::table::{Dim, Grain, Key, Materials};

/// A figure as answered: `{"value": 1.5}`, `{"value": null}` when undefined (a ratio over
/// zero), or `{"suppressed": true}` (no value) when disclosure control withholds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FigureView {
    Value(f64),
    Undefined,
    Suppressed,
}

impl From<Figure> for FigureView {
    fn from(figure: Figure) -> Self {
        match figure.kg() {
            Some(kg) => FigureView::Value(kg),
            None => FigureView::Suppressed,
        }
    }
}

impl From<Metric> for FigureView {
    fn from(metric: Metric) -> Self {
        match metric {
            Metric::Value(v) => FigureView::Value(v),
            Metric::Undefined => FigureView::Undefined,
            Metric::Suppressed => FigureView::Suppressed,
        }
    }
}

impl From<Option<Figure>> for FigureView {
    fn from(figure: Option<Figure>) -> Self {
        figure.map_or(FigureView::Undefined, FigureView::from)
    }
}

impl FigureView {
    pub fn is_suppressed(&self) -> bool {
        *self == FigureView::Suppressed
    }
}

impl Serialize for FigureView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            FigureView::Value(v) => map.serialize_entry("value", v)?,
            FigureView::Undefined => map.serialize_entry("value", &None::<f64>)?,
            FigureView::Suppressed => map.serialize_entry("suppressed", &true)?,
        }
        map.end()
    }
}

/// A figure: a value in kg (or a ratio, for rates), `null` when undefined (a ratio over zero),
/// or `"suppressed": true` without a value when disclosure control withholds it.
#[derive(ToSchema)]
#[allow(dead_code)]
struct FigureDoc {
    /// kg (or a ratio for rates); null when undefined; absent when suppressed.
    value: Option<f64>,
    /// Present (true) when disclosure control withholds the figure.
    suppressed: Option<bool>,
}

impl PartialSchema for FigureView {
    fn schema() -> RefOr<Schema> {
        FigureDoc::schema()
    }
}

impl ToSchema for FigureView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Figure")
    }
}

/// How the answer was protected (published statistics only).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Disclosure {
    /// Cells built from fewer than `k` distinct organisations are withheld.
    pub k: u32,
    /// Withheld figures in this answer.
    pub suppressed: usize,
    pub rule: &'static str,
}

impl Disclosure {
    /// How an answer of `scope` was protected: only answers of everything are.
    pub fn of(scope: Scope, k: u32, suppressed: usize) -> Option<Disclosure> {
        (scope == Scope::Published).then_some(Disclosure {
            k,
            suppressed,
            rule: DISCLOSURE_RULE,
        })
    }
}

pub const DISCLOSURE_RULE: &str = "A cell built from fewer than k distinct organisations \
     (manufacturers for placed-on-market and recycled-content figures, recording organisations \
     for custody flows), or where one organisation dominates (p%-rule, p = 10: the rest beyond the \
     two largest contributions is under p % of the largest), is withheld, and so are enough other \
     cells that no combination of published cells (sums and differences across every grain) \
     bounds a withheld one within p % of its largest contribution; a sum over \
     years is withheld when any of its years is.";

/// Whose figures an answer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeView {
    /// The published statistics (no key), with disclosure control.
    Published,
    /// Everything, exactly (regulators, admins).
    All,
    /// The caller's organisation only: a manufacturer's products, a recycler's throughput.
    Own,
}

impl From<Scope> for ScopeView {
    fn from(scope: Scope) -> Self {
        match scope {
            Scope::Published => ScopeView::Published,
            Scope::All => ScopeView::All,
            Scope::Own(_) => ScopeView::Own,
        }
    }
}

/// One row of a flows answer; the dimensions not in `group_by` are absent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<TrackedElement>,
    pub flow: Flow,
    pub basis: Basis,
    #[serde(flatten)]
    pub figure: FigureView,
}

impl From<&FigureRow> for FlowRow {
    fn from(row: &FigureRow) -> Self {
        FlowRow {
            year: row.year,
            country: row.key.country,
            category: row.key.category,
            element: row.key.element,
            flow: row.flow,
            basis: row.basis,
            figure: row.figure.into(),
        }
    }
}

/// The filters an answer was made with.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Filters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<TrackedElement>,
    /// `magnet` when the answer is about the magnet materials besides the rare earths (B, Co,
    /// Ni): its element totals are over those three. Absent for the rare earths: element totals
    /// ("all REE") never include B, Co or Ni.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^magnet$")]
    pub materials: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<Flow>,
}

impl Filters {
    /// The single-value filters of `filter`, and the flow if one was asked for.
    pub fn of(filter: &Key, flow: Option<Flow>) -> Filters {
        Filters {
            country: filter.country,
            category: filter.category,
            element: filter.element,
            materials: (filter.materials == Materials::Magnet)
                .then_some(Materials::Magnet.as_str()),
            flow,
        }
    }
}

/// The names of the dimensions rows are broken down by, in `group_by` order.
pub fn group_by(group: Grain, by_year: bool) -> Vec<&'static str> {
    let mut out = Vec::new();
    if by_year {
        out.push("year");
    }
    for (dim, name) in [
        (Dim::Country, "country"),
        (Dim::Category, "category"),
        (Dim::Element, "element"),
    ] {
        if group.has(dim) {
            out.push(name);
        }
    }
    out
}

/// `GET /api/v1/stock/flows`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowsAnswer {
    pub scope: ScopeView,
    pub unit: &'static str,
    /// `observed`, `modelled` or `both`.
    pub basis: String,
    pub group_by: Vec<&'static str>,
    pub filters: Filters,
    pub year_from: i32,
    pub year_to: i32,
    /// The parameter version of the modelled rows, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters_version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<Disclosure>,
    pub rows: Vec<FlowRow>,
    /// One per flow and basis, over the whole answer (stocks at `year_to`).
    pub totals: Vec<FlowRow>,
    /// How modelled rows were made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelNote>,
}

/// How the modelled figures were made.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelNote {
    pub start: i32,
    pub last_observed: i32,
    pub horizon: i32,
    pub inflow_at: InflowAt,
    pub extrapolation: String,
}

/// Products and stock by use type (concentrated, dispersed, or unclassified for `other`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UseSplit {
    pub use_type: &'static str,
    pub placed_on_market: FigureView,
    pub stock_in_use: FigureView,
    /// This use type's share of the stock in use.
    pub share_of_stock_in_use: FigureView,
}

/// One row of indicators (one year, and the `group_by` dimensions).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorRow {
    pub year: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<TrackedElement>,
    /// kg in use at the end of the year (modelled).
    pub stock_in_use: FigureView,
    /// kg reaching end of life in the year (modelled).
    pub eol_generated: FigureView,
    pub placed_on_market: FigureView,
    pub collected: FigureView,
    pub recycled: FigureView,
    /// kg of recycled REE declared by the year's new passports.
    pub recycled_content: FigureView,
    pub collection_rate: FigureView,
    pub recovery_yield: FigureView,
    pub eol_recycling_rate: FigureView,
    pub recycled_content_rate: FigureView,
    pub uses: Vec<UseSplit>,
}

/// `GET /api/v1/stock/indicators`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorsAnswer {
    pub scope: ScopeView,
    pub group_by: Vec<&'static str>,
    pub filters: Filters,
    pub year_from: i32,
    pub year_to: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters_version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<Disclosure>,
    /// The definitions used (UNEP 2011).
    pub definitions: Vec<Definition>,
    pub rows: Vec<IndicatorRow>,
}

/// What an indicator means.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Definition {
    pub name: &'static str,
    pub definition: &'static str,
}

/// A node of the Sankey diagram.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SankeyNode {
    pub id: &'static str,
    pub label: &'static str,
}

/// A link of the Sankey diagram.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SankeyLinkView {
    pub source: &'static str,
    pub target: &'static str,
    /// `observed`, `modelled` or `derived`.
    pub basis: &'static str,
    #[serde(flatten)]
    pub figure: FigureView,
}

/// The mass balance of a node.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BalanceView {
    pub node: &'static str,
    pub inflow: FigureView,
    pub outflow: FigureView,
    /// `inflow - outflow`.
    pub residual: FigureView,
    /// What the residual stands for.
    pub meaning: &'static str,
}

/// `GET /api/v1/stock/sankey`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SankeyAnswer {
    pub scope: ScopeView,
    pub year: i32,
    pub filters: Filters,
    pub unit: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters_version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<Disclosure>,
    pub nodes: Vec<SankeyNode>,
    pub links: Vec<SankeyLinkView>,
    pub balance: Vec<BalanceView>,
}

/// One row of the tidy export: the dimensions kept (`group_by`), then the figure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<TrackedElement>,
    pub flow: Flow,
    pub basis: Basis,
    /// kg; absent (and `suppressed: true`) when withheld.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
    pub unit: &'static str,
    /// Set on modelled rows.
    pub parameters_version: Option<i64>,
    /// On a withheld row: the next coarser `group_by` whose row holding this one is published
    /// (absent when none is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coarser_group_by: Option<String>,
    /// With `currency`: the row's value, and at the least and greatest price of the series
    /// (absent when withheld or when the element has no price).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worth: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worth_min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worth_max: Option<f64>,
    /// With `currency`: the price used per kg of element, and its point's date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_per_kg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_date: Option<chrono::NaiveDate>,
}

/// `GET /api/v1/stock/export.csv?format=json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportAnswer {
    pub scope: ScopeView,
    /// The dimensions kept in the rows (the others are summed).
    pub group_by: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<Disclosure>,
    /// Rows with a value (the others are withheld).
    pub published_rows: usize,
    /// When rows are withheld: the coarser grain that publishes the rows holding most of them
    /// (also in a `Link: <...>; rel="alternate"` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coarser: Option<CoarserGrain>,
    /// With `currency`: the values' currency and the price series version used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prices_version: Option<i64>,
    pub rows: Vec<ExportRow>,
}

/// A coarser export offered for withheld rows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoarserGrain {
    /// Its `group_by`, e.g. `year,category,element`.
    pub group_by: String,
    /// How many withheld rows of this export its rows hold (published there).
    pub withheld_rows: usize,
    /// The export at that grain, with the same filters, years and basis.
    pub href: String,
}

/// A parameter version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParametersView {
    pub version: i64,
    pub created_at: DateTime<Utc>,
    /// The organisation that set them (absent for the built-in defaults).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Uuid>,
    pub horizon: i32,
    pub inflow_at: InflowAt,
    pub extrapolation_years: u32,
    #[schema(value_type = Object)]
    pub lifetimes: std::collections::BTreeMap<Category, Lifetime>,
    /// Where the built-in default lifetimes come from (`defaults.csv`).
    pub defaults: Vec<DefaultLifetime>,
}
