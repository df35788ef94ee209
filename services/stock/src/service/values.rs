//! Element prices (versions, the built-in series seeded as version 1) and the flows valued at
//! them: each row of the flows answer, by element, times its element's price of the row's year
//! (or of a chosen date), with the least and greatest value over the price series.
//!
//! A value is published exactly where its mass is: it is the mass times a published price, so
//! it reveals nothing the mass does not. Rows are always by element (a sum over elements at
//! different prices would be a new combination of the masses) and by year unless a date is
//! chosen; a total is withheld when any row under it is.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use reetrace_core::domain::{Category, Country, Principal, Role, TrackedElement};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::bodies::{Disclosure, ExportRow, FigureView, Filters, ScopeView};
use super::flows::FlowRequest;
use super::{Scope, StockError, StockService};
use crate::domain::flow::{Basis, Flow};
use crate::domain::prices::{ExchangeRate, PricePoint, Prices};
use crate::domain::table::Dim;

/// The current price series and its version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PricesView {
    pub version: i64,
    pub created_at: DateTime<Utc>,
    /// The organisation that set them (absent for the built-in series).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Uuid>,
    /// The series (as `PUT` takes it).
    pub points: Vec<PricePoint>,
    pub exchange_rates: Vec<ExchangeRate>,
}

impl PricesView {
    /// The series itself.
    pub fn series(&self) -> Prices {
        Prices {
            points: self.points.clone(),
            exchange_rates: self.exchange_rates.clone(),
        }
    }
}

/// `GET /values`, parsed: the flows request (by element always) and how to price.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuesRequest {
    pub flows: FlowRequest,
    /// ISO 4217.
    pub currency: String,
    /// Price every row at this date instead of at its year.
    pub price_date: Option<NaiveDate>,
}

/// How an export prices its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceChoice {
    /// ISO 4217.
    pub currency: String,
    /// Price every row at this date instead of at its year.
    pub date: Option<NaiveDate>,
}

/// The date a row is priced at: the chosen one, or the middle of the row's year.
fn price_day(chosen: Option<NaiveDate>, year: Option<i32>) -> Option<NaiveDate> {
    chosen.or_else(|| year.and_then(|y| NaiveDate::from_ymd_opt(y, 7, 1)))
}

/// The price a row was valued at.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PriceUsed {
    /// Per kg of element, in the answer's currency.
    pub per_kg: f64,
    /// The date of the price point used.
    pub date: NaiveDate,
    /// The point is not of the year asked for: the nearest one was used.
    pub nearest: bool,
    pub source: String,
}

/// One valued row: the flows row's dimensions, its mass and its value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValueRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    pub element: TrackedElement,
    pub flow: Flow,
    pub basis: Basis,
    /// The mass, as the flows answer gives it.
    pub mass_kg: FigureView,
    /// The value at the price used; null when the element has no price.
    pub worth: FigureView,
    /// The value at the least and the greatest price of the series (its volatility).
    pub worth_min: FigureView,
    pub worth_max: FigureView,
    /// Absent when the series has no price for the element.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<PriceUsed>,
}

/// A total over the rows of one flow and basis (elements without a price left out).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValueTotal {
    pub flow: Flow,
    pub basis: Basis,
    pub worth: FigureView,
    pub worth_min: FigureView,
    pub worth_max: FigureView,
}

/// `GET /api/v1/stock/values`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValuesAnswer {
    pub scope: ScopeView,
    /// `observed`, `modelled` or `both`.
    pub basis: String,
    /// Always with `element`, and with `year` unless a price date is chosen.
    pub group_by: Vec<&'static str>,
    pub filters: Filters,
    pub year_from: i32,
    pub year_to: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters_version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<Disclosure>,
    pub currency: String,
    pub prices_version: i64,
    /// `year` (each row at its year's price) or `date` (every row at `price_date`).
    pub priced_at: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_date: Option<NaiveDate>,
    /// Elements in the answer the series has no price for (their rows have no value): B, Co
    /// and Ni always (the series prices rare earths only).
    pub unpriced_elements: Vec<TrackedElement>,
    pub rows: Vec<ValueRow>,
    pub totals: Vec<ValueTotal>,
}

impl StockService {
    /// The current price series (the built-in one is stored as version 1 at start).
    pub async fn prices(&self) -> Result<Arc<PricesView>, StockError> {
        let stored = match self.inner.store.latest_prices().await? {
            Some(stored) => stored,
            None => {
                self.seed().await?;
                self.inner
                    .store
                    .latest_prices()
                    .await?
                    .ok_or(StockError::NoPrices)?
            }
        };
        Ok(Arc::new(PricesView {
            version: stored.version,
            created_at: stored.created_at,
            created_by: stored.created_by,
            points: stored.prices.points,
            exchange_rates: stored.prices.exchange_rates,
        }))
    }

    /// Stores a new price series (regulators and admins) as the next version.
    pub async fn set_prices(
        &self,
        caller: &Principal,
        prices: Prices,
    ) -> Result<Arc<PricesView>, StockError> {
        caller.require(&[Role::Regulator, Role::Admin])?;
        prices.validate().map_err(StockError::Invalid)?;
        self.prices().await?;
        self.inner
            .store
            .insert_prices(&prices, Some(caller.org_id), Utc::now())
            .await?;
        self.prices().await
    }

    /// Adds values to export rows (by element; by year or at the chosen date); returns the
    /// price series version used. Withheld rows stay without a value.
    pub(super) async fn value_rows(
        &self,
        rows: &mut [ExportRow],
        choice: &PriceChoice,
    ) -> Result<i64, StockError> {
        let series = self.prices().await?;
        let prices = series.series();
        for row in rows.iter_mut() {
            let (Some(element), Some(kg)) = (row.element, row.value) else {
                continue;
            };
            let Some(day) = price_day(choice.date, row.year) else {
                continue;
            };
            if let Some(price) = element
                .rare_earth()
                .and_then(|e| prices.price(e, day, &choice.currency))
            {
                row.worth = Some(kg * price.per_kg);
                row.worth_min = Some(kg * price.low);
                row.worth_max = Some(kg * price.high);
                row.price_per_kg = Some(price.per_kg);
                row.price_date = Some(price.date);
            }
        }
        Ok(series.version)
    }

    /// The flows of `req`, by element, valued.
    pub async fn values(
        &self,
        scope: Scope,
        req: &ValuesRequest,
    ) -> Result<ValuesAnswer, StockError> {
        let mut flows_req = req.flows.clone();
        flows_req.group = flows_req.group.with(Dim::Element);
        flows_req.by_year = flows_req.by_year || req.price_date.is_none();
        let flows = self.flows(scope, &flows_req).await?;
        let series = self.prices().await?;
        let prices = series.series();
        let mut unpriced = Vec::new();
        let mut totals: BTreeMap<(Flow, Basis), [Option<f64>; 3]> = BTreeMap::new();
        let rows: Vec<ValueRow> = flows
            .rows
            .iter()
            .filter_map(|row| {
                let element = row.element?;
                let date = price_day(req.price_date, row.year);
                // The series prices rare earths: B, Co and Ni have no value, as an unpriced rare earth.
                let price = date
                    .zip(element.rare_earth())
                    .and_then(|(d, e)| prices.price(e, d, &req.currency));
                if price.is_none() && !unpriced.contains(&element) {
                    unpriced.push(element);
                }
                let times = |per_kg: Option<f64>| match (row.figure, per_kg) {
                    (FigureView::Suppressed, _) => FigureView::Suppressed,
                    (FigureView::Value(kg), Some(p)) => FigureView::Value(kg * p),
                    _ => FigureView::Undefined,
                };
                let worth = [
                    times(price.as_ref().map(|p| p.per_kg)),
                    times(price.as_ref().map(|p| p.low)),
                    times(price.as_ref().map(|p| p.high)),
                ];
                let total = totals
                    .entry((row.flow, row.basis))
                    .or_insert([Some(0.0); 3]);
                for (sum, figure) in total.iter_mut().zip(worth) {
                    *sum = match (*sum, figure) {
                        (Some(s), FigureView::Value(v)) => Some(s + v),
                        (Some(s), FigureView::Undefined) => Some(s),
                        _ => None,
                    };
                }
                Some(ValueRow {
                    year: row.year,
                    country: row.country,
                    category: row.category,
                    element,
                    flow: row.flow,
                    basis: row.basis,
                    mass_kg: row.figure,
                    worth: worth[0],
                    worth_min: worth[1],
                    worth_max: worth[2],
                    price: price.map(|p| PriceUsed {
                        per_kg: p.per_kg,
                        date: p.date,
                        nearest: p.nearest,
                        source: p.source,
                    }),
                })
            })
            .collect();
        let figure = |sum: Option<f64>| sum.map_or(FigureView::Suppressed, FigureView::Value);
        let totals = totals
            .into_iter()
            .map(|((flow, basis), [w, lo, hi])| ValueTotal {
                flow,
                basis,
                worth: figure(w),
                worth_min: figure(lo),
                worth_max: figure(hi),
            })
            .collect();
        unpriced.sort();
        Ok(ValuesAnswer {
            scope: flows.scope,
            basis: flows.basis,
            group_by: flows.group_by,
            filters: flows.filters,
            year_from: flows.year_from,
            year_to: flows.year_to,
            parameters_version: flows.parameters_version,
            disclosure: flows.disclosure,
            currency: req.currency.clone(),
            prices_version: series.version,
            priced_at: if req.price_date.is_some() {
                "date"
            } else {
                "year"
            },
            price_date: req.price_date,
            unpriced_elements: unpriced,
            rows,
            totals,
        })
    }
}
