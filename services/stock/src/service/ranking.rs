//! The ranking of product categories by the value of their rare earths (`GET
//! /values/ranking`): per category, in one year, the value of the rare earths reaching end of
//! life per tonne of product reaching end of life, and the value recovered (the recycled flow
//! valued), with the range over the price series. The rules are in `domain::ranking`; the
//! valued masses are the values answer's rows, so who sees what is as for the values.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use reetrace_core::domain::{Category, Country, TrackedElement};
use serde::Serialize;
use utoipa::ToSchema;

use super::bodies::{Disclosure, FigureView, ScopeView};
use super::cache::this_year;
use super::flows::{BasisChoice, FlowRequest};
use super::values::{ValuesAnswer, ValuesRequest};
use super::{Scope, StockError, StockService};
use crate::domain::flow::Flow;
use crate::domain::modelled::Modelled;
use crate::domain::ranking::{self, CategoryValues, Worth};
use crate::domain::report::Metric;
use crate::domain::table::{Dim, Grain, Key, Materials};

/// `GET /values/ranking`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct RankingRequest {
    /// Default: the last observed year.
    pub year: Option<i32>,
    pub country: Option<Country>,
    /// ISO 4217.
    pub currency: String,
    /// Price at this date instead of at the year's price.
    pub price_date: Option<NaiveDate>,
}

/// The publication rule of the ranking, as answers state it.
pub const RANKING_RULE: &str = "A category's value per tonne is published only where both of \
     its masses are: its modelled end-of-life rare-earth cells (every priced element) and its \
     modelled end-of-life product mass, whose placed-on-market tables (net mass times units, \
     over country x category, the manufacturers as contributors) have the same disclosure \
     control as the rare-earth tables. The value recovered is published where every recycled \
     cell of the category is. Ranks are among published figures only.";

/// One category of the ranking.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RankingRow {
    pub category: Category,
    /// 1 for the highest value per tonne; absent where that value is not published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_per_tonne: Option<u32>,
    /// 1 for the highest value recovered; absent where that value is not published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_recovered: Option<u32>,
    /// The value of the rare earths reaching end of life (modelled), at the price used.
    pub eol_worth: FigureView,
    pub eol_worth_min: FigureView,
    pub eol_worth_max: FigureView,
    /// The mass of the products reaching end of life (modelled), in tonnes.
    pub eol_product_t: FigureView,
    /// `eol_worth` per tonne of `eol_product_t`, with the range over the price series.
    pub eol_worth_per_t: FigureView,
    pub eol_worth_per_t_min: FigureView,
    pub eol_worth_per_t_max: FigureView,
    /// The value of the rare earths recovered (the recycled flow, observed).
    pub recovered_worth: FigureView,
    pub recovered_worth_min: FigureView,
    pub recovered_worth_max: FigureView,
    /// Whether every unit of the category placed on the market up to the year has a known net
    /// mass (passports stored before the stock service kept it have none).
    pub mass_complete: bool,
    /// How many units placed on the market up to the year lack a net mass (authorities and the
    /// organisation's own figures; absent from the published statistics).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_without_mass: Option<u64>,
}

/// `GET /api/v1/stock/values/ranking`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RankingAnswer {
    pub scope: ScopeView,
    pub year: i32,
    /// The market country the figures are restricted to; all when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    pub currency: String,
    pub prices_version: i64,
    /// `year` (at the year's prices) or `date` (at `price_date`).
    pub priced_at: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters_version: Option<i64>,
    /// Elements the series has no price for (they add no value).
    pub unpriced_elements: Vec<TrackedElement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<Disclosure>,
    /// When a figure of a row is published.
    pub rule: &'static str,
    /// Ranked by value per tonne (ranked rows first), each with its rank by value recovered.
    pub rows: Vec<RankingRow>,
}

fn metric(figure: FigureView) -> Metric {
    match figure {
        FigureView::Value(v) => Metric::Value(v),
        FigureView::Undefined => Metric::Undefined,
        FigureView::Suppressed => Metric::Suppressed,
    }
}

fn view(metric: Metric) -> FigureView {
    metric.into()
}

/// The values' rows summed per category over the elements: `[worth, min, max]`.
fn by_category(answer: &ValuesAnswer) -> BTreeMap<Category, Worth> {
    let mut out: BTreeMap<Category, Worth> = BTreeMap::new();
    for row in &answer.rows {
        let Some(category) = row.category else {
            continue;
        };
        let sum = out.entry(category).or_insert([Metric::Undefined; 3]);
        for (s, figure) in sum
            .iter_mut()
            .zip([row.worth, row.worth_min, row.worth_max])
        {
            *s = ranking::add(*s, metric(figure));
        }
    }
    out
}

/// The product mass reaching end of life in `year` (kg), as `scope` sees it.
fn product_eol(model: &Modelled, key: &Key, year: i32, exact: bool) -> Metric {
    let (Some(series), Some(i)) = (model.get(key), model.index(year)) else {
        return Metric::Value(0.0);
    };
    if !exact && series.withheld_at(i) {
        return Metric::Suppressed;
    }
    Metric::Value(series.outflow[i])
}

impl StockService {
    /// The ranking of `req`'s year (see the module documentation).
    pub async fn ranking(
        &self,
        scope: Scope,
        req: &RankingRequest,
    ) -> Result<RankingAnswer, StockError> {
        let source = self.source(scope, &[], None, true).await?;
        let (model, params) = source.model.ok_or(StockError::NoFiguresOnBasis {
            flow: Flow::EolGenerated,
            basis: BasisChoice::Modelled,
        })?;
        let year = req.year.unwrap_or(if model.is_empty() {
            this_year()
        } else {
            model.last_observed
        });
        let valued = |flow: Flow, basis: BasisChoice| ValuesRequest {
            flows: FlowRequest {
                filter: Key {
                    country: req.country,
                    ..Key::default()
                },
                flow: Some(flow),
                year_from: Some(year),
                year_to: Some(year),
                group: Grain::of(&[Dim::Category, Dim::Element]),
                by_year: true,
                basis,
            },
            currency: req.currency.clone(),
            price_date: req.price_date,
        };
        let eol = self
            .values(scope, &valued(Flow::EolGenerated, BasisChoice::Modelled))
            .await?;
        let recycled = self
            .values(scope, &valued(Flow::Recycled, BasisChoice::Observed))
            .await?;
        let products = self.product_model(scope, &model, &params).await?;
        let exact = scope != Scope::Published;
        let eol_worth = by_category(&eol);
        let recovered = by_category(&recycled);
        let categories: BTreeSet<Category> =
            eol_worth.keys().chain(recovered.keys()).copied().collect();
        let zero = [Metric::Value(0.0); 3];
        let ranked = ranking::rank(
            categories
                .into_iter()
                .map(|category| {
                    let key = Key {
                        country: req.country,
                        category: Some(category),
                        element: None,
                        materials: Materials::RareEarths,
                    };
                    CategoryValues {
                        category,
                        eol_worth: eol_worth.get(&category).copied().unwrap_or(zero),
                        eol_product_kg: product_eol(&products.model, &key, year, exact),
                        recovered: recovered.get(&category).copied().unwrap_or(zero),
                    }
                })
                .collect(),
        );
        let rows: Vec<RankingRow> = ranked
            .into_iter()
            .map(|r| {
                let v = &r.values;
                let missing = products
                    .tables
                    .units_without_mass(year, req.country, v.category);
                RankingRow {
                    category: v.category,
                    rank_per_tonne: r.rank_per_tonne,
                    rank_recovered: r.rank_recovered,
                    eol_worth: view(v.eol_worth[0]),
                    eol_worth_min: view(v.eol_worth[1]),
                    eol_worth_max: view(v.eol_worth[2]),
                    eol_product_t: view(match v.eol_product_kg {
                        Metric::Value(kg) => Metric::Value(kg / 1_000.0),
                        other => other,
                    }),
                    eol_worth_per_t: view(r.per_tonne[0]),
                    eol_worth_per_t_min: view(r.per_tonne[1]),
                    eol_worth_per_t_max: view(r.per_tonne[2]),
                    recovered_worth: view(v.recovered[0]),
                    recovered_worth_min: view(v.recovered[1]),
                    recovered_worth_max: view(v.recovered[2]),
                    mass_complete: missing == 0,
                    units_without_mass: exact.then_some(missing),
                }
            })
            .collect();
        let suppressed = rows
            .iter()
            .flat_map(|r| [r.eol_worth, r.eol_product_t, r.recovered_worth])
            .filter(FigureView::is_suppressed)
            .count();
        let mut unpriced = eol.unpriced_elements.clone();
        unpriced.extend(recycled.unpriced_elements.iter().copied());
        unpriced.sort();
        unpriced.dedup();
        Ok(RankingAnswer {
            scope: scope.into(),
            year,
            country: req.country,
            currency: req.currency.clone(),
            prices_version: eol.prices_version,
            priced_at: eol.priced_at,
            price_date: req.price_date,
            parameters_version: Some(params.version),
            unpriced_elements: unpriced,
            disclosure: Disclosure::of(scope, self.disclosure_k(), suppressed),
            rule: RANKING_RULE,
            rows,
        })
    }
}
