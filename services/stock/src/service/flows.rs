//! The flows answer (observed and modelled flows, grouped and filtered) and the tidy export,
//! which is the flows answer at the grain asked for (the finest, by year, by default) with, for
//! each withheld row, the next coarser grain that publishes the row holding it.

use std::collections::{BTreeMap, HashSet};

use super::bodies::{
    self, CoarserGrain, Disclosure, ExportAnswer, ExportRow, FigureView, Filters, FlowRow,
    FlowsAnswer, ModelNote,
};
use super::cache::this_year;
use super::values::PriceChoice;
use super::{Scope, StockError, StockService};
use crate::domain::figures::{self, FigureRow, FigureSelection};
use crate::domain::flow::{Basis, Flow};
use crate::domain::table::{Dim, Grain, Key, Materials};

/// Observed figures, modelled figures, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasisChoice {
    Observed,
    Modelled,
    Both,
}

impl BasisChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            BasisChoice::Observed => "observed",
            BasisChoice::Modelled => "modelled",
            BasisChoice::Both => "both",
        }
    }

    fn observed(self) -> bool {
        self != BasisChoice::Modelled
    }

    fn modelled(self) -> bool {
        self != BasisChoice::Observed
    }
}

/// `GET /flows`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRequest {
    pub filter: Key,
    pub flow: Option<Flow>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub group: Grain,
    pub by_year: bool,
    pub basis: BasisChoice,
}

/// `GET /export.csv`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRequest {
    pub filter: Key,
    pub flow: Option<Flow>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    /// The dimensions kept (the others summed); the finest by default.
    pub group: Grain,
    /// Whether rows are by year (the default).
    pub by_year: bool,
    pub basis: BasisChoice,
    /// Adds values at the element prices (`element` is in `group`, and `year` or a date).
    pub price: Option<PriceChoice>,
}

impl ExportRequest {
    /// The export's query string at `group` (the same filters, years, basis and pricing).
    fn query(&self, group: Grain, json: bool) -> String {
        let mut parts = vec![format!(
            "group_by={}",
            bodies::group_by(group, self.by_year).join(",")
        )];
        let mut add = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                parts.push(format!("{name}={v}"));
            }
        };
        add("country", self.filter.country.map(|c| c.to_string()));
        add("category", self.filter.category.map(|c| c.to_string()));
        add("element", self.filter.element.map(|e| e.to_string()));
        add(
            "materials",
            (self.filter.element.is_none() && self.filter.materials == Materials::Magnet)
                .then(|| Materials::Magnet.as_str().to_owned()),
        );
        add("flow", self.flow.map(|f| f.to_string()));
        add("year_from", self.year_from.map(|y| y.to_string()));
        add("year_to", self.year_to.map(|y| y.to_string()));
        add("basis", Some(self.basis.as_str().to_owned()));
        // Values stay asked for where the coarser grain still has the element.
        let price = self.price.as_ref().filter(|_| group.has(Dim::Element));
        add("currency", price.map(|p| p.currency.clone()));
        add(
            "price_date",
            price.and_then(|p| p.date).map(|d| d.to_string()),
        );
        add("format", json.then(|| "json".to_owned()));
        parts.join("&")
    }
}

/// The grains coarser than `group` (some of its dimensions summed), finest first; among grains
/// of as many dimensions, those keeping the element, then the category, first (a flow model is
/// by element and category before country).
fn coarser_grains(group: Grain) -> Vec<Grain> {
    let mut out: Vec<Grain> = Grain::all()
        .filter(|g| *g != group && g.dims().all(|d| group.has(d)))
        .collect();
    out.sort_by_key(|g| {
        (
            std::cmp::Reverse(g.dims().count()),
            !g.has(Dim::Element),
            !g.has(Dim::Category),
        )
    });
    out
}

/// Where a published row sits: year, key, flow, basis.
type Slot = (Option<i32>, Key, Flow, Basis);

/// The slot of a row of an answer about `materials`.
fn slot(row: &FlowRow, materials: Materials) -> Slot {
    (
        row.year,
        Key::filter(row.country, row.category, row.element, materials),
        row.flow,
        row.basis,
    )
}

impl StockService {
    /// Observed and modelled flows, grouped and filtered.
    pub async fn flows(&self, scope: Scope, req: &FlowRequest) -> Result<FlowsAnswer, StockError> {
        if let Some(flow) = req.flow {
            let available = (req.basis.observed() && flow.is_observed())
                || (req.basis.modelled() && flow.is_modelled());
            if !available {
                return Err(StockError::NoFiguresOnBasis {
                    flow,
                    basis: req.basis,
                });
            }
        }
        let wanted = |f: &Flow| req.flow.is_none_or(|only| only == *f);
        let observed: Vec<Flow> = Flow::OBSERVED
            .into_iter()
            .filter(|f| req.basis.observed() && wanted(f))
            .collect();
        let modelled: Vec<Flow> = Flow::MODELLED
            .into_iter()
            .filter(|f| req.basis.modelled() && wanted(f))
            .collect();
        let range = req.year_from.zip(req.year_to);
        let source = self
            .source(scope, &observed, range, !modelled.is_empty())
            .await?;
        let model_years = source
            .model
            .as_ref()
            .filter(|(m, _)| !m.is_empty())
            .map(|(m, _)| (m.start, m.end()));
        let default = match (source.observed_years(), model_years) {
            (Some(o), Some(m)) => (o.0.min(m.0), o.1.max(m.1)),
            (Some(y), None) | (None, Some(y)) => y,
            (None, None) => (this_year(), this_year()),
        };
        let from = req.year_from.unwrap_or(default.0);
        let to = req.year_to.unwrap_or(default.1.max(from));
        let selection = |group: Grain, by_year: bool, flows: &[Flow]| FigureSelection {
            flows: flows.to_vec(),
            filter: req.filter,
            group,
            by_year,
            from,
            to,
            exact: scope == Scope::All,
        };
        let read = |group: Grain, by_year: bool| -> Vec<FigureRow> {
            let mut rows = figures::observed(&source.tables, &selection(group, by_year, &observed));
            if let Some((model, _)) = &source.model {
                rows.extend(figures::modelled(
                    model,
                    &selection(group, by_year, &modelled),
                ));
            }
            figures::sort(&mut rows);
            rows
        };
        let rows: Vec<FlowRow> = read(req.group, req.by_year)
            .iter()
            .map(FlowRow::from)
            .collect();
        let totals: Vec<FlowRow> = read(Grain::TOTAL, false)
            .iter()
            .map(FlowRow::from)
            .collect();
        let suppressed = rows
            .iter()
            .chain(&totals)
            .filter(|r| r.figure.is_suppressed())
            .count();
        let has_modelled = rows
            .iter()
            .chain(&totals)
            .any(|r| r.basis == Basis::Modelled);
        let (parameters_version, model) = match (&source.model, has_modelled) {
            (Some((m, params)), true) => (
                Some(params.version),
                Some(ModelNote {
                    start: m.start,
                    last_observed: m.last_observed,
                    horizon: m.end(),
                    inflow_at: params.parameters.inflow_at,
                    extrapolation: format!(
                        "after {}, each series' inflow is the mean of its last {} observed years, held constant",
                        m.last_observed, params.parameters.extrapolation_years
                    ),
                }),
            ),
            _ => (None, None),
        };
        Ok(FlowsAnswer {
            scope: scope.into(),
            unit: "kg",
            basis: req.basis.as_str().to_owned(),
            group_by: bodies::group_by(req.group, req.by_year),
            filters: Filters::of(&req.filter, req.flow),
            year_from: from,
            year_to: to,
            parameters_version,
            disclosure: Disclosure::of(scope, self.disclosure_k(), suppressed),
            rows,
            totals,
            model,
        })
    }

    /// The tidy long table: year, country, category, element (those kept), flow, basis, value.
    /// A withheld row names the next coarser grain whose row holding it is published; the
    /// grain most withheld rows name is offered as a whole (`coarser`). Coarser rows are
    /// read from the same protected tables as every answer: they add nothing to what the
    /// flows answer publishes.
    pub async fn export(
        &self,
        scope: Scope,
        req: &ExportRequest,
        json: bool,
    ) -> Result<ExportAnswer, StockError> {
        let at = |group: Grain| FlowRequest {
            filter: req.filter,
            flow: req.flow,
            year_from: req.year_from,
            year_to: req.year_to,
            group,
            by_year: req.by_year,
            basis: req.basis,
        };
        let answer = self.flows(scope, &at(req.group)).await?;
        let withheld = answer.rows.iter().any(|r| r.figure.is_suppressed());
        let mut published: Vec<(Grain, HashSet<Slot>)> = Vec::new();
        if withheld {
            for group in coarser_grains(req.group) {
                let rows = self.flows(scope, &at(group)).await?.rows;
                let open = rows
                    .iter()
                    .filter(|r| !r.figure.is_suppressed())
                    .map(|r| slot(r, req.filter.materials))
                    .collect();
                published.push((group, open));
            }
        }
        let mut named: BTreeMap<Grain, usize> = BTreeMap::new();
        let rows: Vec<ExportRow> = answer
            .rows
            .iter()
            .map(|r| {
                let value = match r.figure {
                    FigureView::Value(v) => Some(v),
                    _ => None,
                };
                let suppressed = r.figure.is_suppressed();
                let (year, key, flow, basis) = slot(r, req.filter.materials);
                let coarser = suppressed
                    .then(|| {
                        published
                            .iter()
                            .find(|(g, open)| open.contains(&(year, key.at(*g), flow, basis)))
                            .map(|(g, _)| *g)
                    })
                    .flatten();
                if let Some(g) = coarser {
                    *named.entry(g).or_default() += 1;
                }
                ExportRow {
                    year: r.year,
                    country: r.country,
                    category: r.category,
                    element: r.element,
                    flow: r.flow,
                    basis: r.basis,
                    value,
                    suppressed,
                    unit: "kg",
                    parameters_version: (r.basis == Basis::Modelled)
                        .then_some(answer.parameters_version)
                        .flatten(),
                    coarser_group_by: coarser.map(|g| bodies::group_by(g, req.by_year).join(",")),
                    worth: None,
                    worth_min: None,
                    worth_max: None,
                    price_per_kg: None,
                    price_date: None,
                }
            })
            .collect();
        let mut rows = rows;
        let prices_version = match &req.price {
            Some(choice) => Some(self.value_rows(&mut rows, choice).await?),
            None => None,
        };
        let suppressed = rows.iter().filter(|r| r.suppressed).count();
        let published_rows = rows.len() - suppressed;
        // The grain most withheld rows fall back to; the finer one on a tie.
        let order = coarser_grains(req.group);
        let coarser = named
            .iter()
            .max_by_key(|(g, n)| (**n, std::cmp::Reverse(order.iter().position(|o| o == *g))))
            .map(|(g, n)| CoarserGrain {
                group_by: bodies::group_by(*g, req.by_year).join(","),
                withheld_rows: *n,
                href: format!("/api/v1/stock/export.csv?{}", req.query(*g, json)),
            });
        Ok(ExportAnswer {
            scope: answer.scope,
            group_by: bodies::group_by(req.group, req.by_year),
            disclosure: Disclosure::of(scope, self.disclosure_k(), suppressed),
            published_rows,
            coarser,
            currency: req.price.as_ref().map(|p| p.currency.clone()),
            prices_version,
            rows,
        })
    }
}
