//! The flows answer (observed and modelled flows, grouped and filtered) and the tidy export,
//! which is the flows answer at the finest grain, by year.

use super::bodies::{
    self, Disclosure, ExportAnswer, ExportRow, FigureView, Filters, FlowRow, FlowsAnswer, ModelNote,
};
use super::cache::this_year;
use super::{Scope, StockError, StockService};
use crate::domain::figures::{self, FigureRow, FigureSelection};
use crate::domain::flow::{Basis, Flow};
use crate::domain::table::{Grain, Key};

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

/// `GET /export.csv`, parsed (rows are always at the finest grain, by year).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRequest {
    pub filter: Key,
    pub flow: Option<Flow>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub basis: BasisChoice,
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

    /// The tidy long table: year, country, category, element, flow, basis, value.
    pub async fn export(
        &self,
        scope: Scope,
        req: &ExportRequest,
    ) -> Result<ExportAnswer, StockError> {
        let answer = self
            .flows(
                scope,
                &FlowRequest {
                    filter: req.filter,
                    flow: req.flow,
                    year_from: req.year_from,
                    year_to: req.year_to,
                    group: Grain::FINEST,
                    by_year: true,
                    basis: req.basis,
                },
            )
            .await?;
        let rows: Vec<ExportRow> = answer
            .rows
            .into_iter()
            .filter_map(|r| {
                let value = match r.figure {
                    FigureView::Value(v) => Some(v),
                    _ => None,
                };
                Some(ExportRow {
                    year: r.year?,
                    country: r.country?,
                    category: r.category?,
                    element: r.element?,
                    flow: r.flow,
                    basis: r.basis,
                    value,
                    suppressed: r.figure.is_suppressed(),
                    unit: "kg",
                    parameters_version: (r.basis == Basis::Modelled)
                        .then_some(answer.parameters_version)
                        .flatten(),
                })
            })
            .collect();
        let suppressed = rows.iter().filter(|r| r.suppressed).count();
        Ok(ExportAnswer {
            scope: answer.scope,
            disclosure: Disclosure::of(scope, self.disclosure_k(), suppressed),
            rows,
        })
    }
}
