//! Secondary resources side by side: the urban mine (the modelled stock in use and end-of-life
//! outflow of a year, as the flows answer gives them, with its disclosure control) and the
//! residue deposits (open data, added up by `domain::deposits`), per country and element, for
//! the rare earths and the magnet materials.

use std::collections::{BTreeMap, BTreeSet};

use reetrace_core::domain::{Country, TrackedElement};
use serde::Serialize;
use utoipa::ToSchema;

use super::bodies::{Disclosure, FigureView, ScopeView};
use super::cache::this_year;
use super::{BasisChoice, FlowRequest, Scope, StockError, StockService};
use crate::domain::deposits::{DepositSum, ElementInDeposits, add_up};
use crate::domain::flow::Flow;
use crate::domain::table::{Dim, Grain, Key, Materials};

/// `GET /secondary-resources`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondaryRequest {
    pub year: Option<i32>,
    pub country: Option<Country>,
    pub element: Option<TrackedElement>,
}

/// Deposits' content added up: kg, its standard uncertainty (1σ, deposits combined as
/// uncorrelated), how many deposits and how many of them are illustrations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InDeposits {
    /// kg.
    pub value: f64,
    /// Standard uncertainty (1σ), kg.
    pub uncertainty: f64,
    pub deposits: u32,
    /// How many of `deposits` are illustrations (the demo's), not surveys.
    pub illustrative: u32,
}

impl From<&DepositSum> for InDeposits {
    fn from(s: &DepositSum) -> Self {
        InDeposits {
            value: s.kg,
            uncertainty: s.uncertainty_kg,
            deposits: s.deposits,
            illustrative: s.illustrative,
        }
    }
}

/// The deposits of one type and status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepositKindRow {
    #[schema(example = "bauxite_residue")]
    pub deposit_type: String,
    #[schema(example = "closed")]
    pub status: String,
    #[serde(flatten)]
    pub sum: InDeposits,
}

/// Both secondary resources of one country (absent in the totals) and element.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecondaryRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    pub element: TrackedElement,
    /// The urban mine: modelled stock in use at the end of `year`, kg.
    pub stock_in_use: FigureView,
    /// The urban mine: modelled end-of-life outflow in `year`, kg.
    pub end_of_life: FigureView,
    /// Residue deposits (not withdrawn): their content, whatever their year.
    pub in_deposits: InDeposits,
    /// The same by deposit type and status.
    pub by_deposit: Vec<DepositKindRow>,
}

/// `GET /api/v1/stock/secondary-resources`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecondaryAnswer {
    pub scope: ScopeView,
    pub unit: &'static str,
    pub year: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<TrackedElement>,
    /// The parameter version of the modelled urban-mine figures, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters_version: Option<i64>,
    /// How the urban-mine figures were protected (published statistics only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<Disclosure>,
    /// One per country and element with either resource.
    pub rows: Vec<SecondaryRow>,
    /// One per element over every country in `rows`.
    pub totals: Vec<SecondaryRow>,
    pub rule: &'static str,
}

pub const SECONDARY_RULE: &str = "Urban mine: the dynamic stock model's stock in use and \
     end-of-life outflow of the year, as /api/v1/stock/flows answers them (with the same \
     disclosure control; null where the model has no figure). Deposits: open data, not \
     protected; each deposit's content per element is its tonnage times the sample-weighted \
     mean concentration of its assays, and a sum over deposits adds those and combines their \
     standard uncertainties as uncorrelated (root sum of squares); withdrawn deposits are left \
     out; deposits have no year, the figures are as last recorded.";

/// The urban-mine figures of one flow, by country (or `None`: all) and element.
type MineFigures = BTreeMap<(Option<Country>, TrackedElement), FigureView>;

impl StockService {
    /// Both secondary resources by country and element, and per element over every country.
    pub async fn secondary_resources(
        &self,
        scope: Scope,
        req: &SecondaryRequest,
    ) -> Result<SecondaryAnswer, StockError> {
        let year = req.year.unwrap_or_else(this_year);
        let groups: &[Materials] = match req.element {
            Some(_) => &[Materials::RareEarths],
            None => &[Materials::RareEarths, Materials::Magnet],
        };
        let (mut stock, mut eol) = (MineFigures::new(), MineFigures::new());
        let (mut suppressed, mut parameters_version) = (0, None);
        for &materials in groups {
            for by_country in [true, false] {
                let dims: &[Dim] = if by_country {
                    &[Dim::Country, Dim::Element]
                } else {
                    &[Dim::Element]
                };
                let flows = self
                    .flows(
                        scope,
                        &FlowRequest {
                            filter: Key::filter(req.country, None, req.element, materials),
                            flow: None,
                            year_from: Some(year),
                            year_to: Some(year),
                            group: Grain::of(dims),
                            by_year: false,
                            basis: BasisChoice::Modelled,
                        },
                    )
                    .await?;
                parameters_version = parameters_version.or(flows.parameters_version);
                for row in flows.rows {
                    let Some(element) = row.element else { continue };
                    let country = if by_country { row.country } else { None };
                    let into = match row.flow {
                        Flow::StockInUse => &mut stock,
                        Flow::EolGenerated => &mut eol,
                        _ => continue,
                    };
                    suppressed += usize::from(row.figure.is_suppressed());
                    into.insert((country, element), row.figure);
                }
            }
        }
        let lines: Vec<_> = self
            .inner
            .store
            .deposit_lines()
            .await?
            .into_iter()
            .filter(|l| req.country.is_none_or(|c| c == l.country))
            .filter(|l| req.element.is_none_or(|e| e == l.element))
            .collect();
        let deposits = add_up(&lines);
        let keys: BTreeSet<(Option<Country>, TrackedElement)> = stock
            .keys()
            .chain(eol.keys())
            .chain(deposits.keys())
            .copied()
            .collect();
        let (mut rows, mut totals) = (Vec::new(), Vec::new());
        let empty = ElementInDeposits::default();
        for key in keys {
            let figure = |of: &MineFigures| of.get(&key).copied().unwrap_or(FigureView::Undefined);
            let held = deposits.get(&key).unwrap_or(&empty);
            let row = SecondaryRow {
                country: key.0,
                element: key.1,
                stock_in_use: figure(&stock),
                end_of_life: figure(&eol),
                in_deposits: (&held.total).into(),
                by_deposit: held
                    .by_kind
                    .iter()
                    .map(|((deposit_type, status), sum)| DepositKindRow {
                        deposit_type: deposit_type.clone(),
                        status: status.clone(),
                        sum: sum.into(),
                    })
                    .collect(),
            };
            match key.0 {
                Some(_) => rows.push(row),
                None => totals.push(row),
            }
        }
        Ok(SecondaryAnswer {
            scope: scope.into(),
            unit: "kg",
            year,
            country: req.country,
            element: req.element,
            parameters_version,
            disclosure: Disclosure::of(scope, self.disclosure_k(), suppressed),
            rows,
            totals,
            rule: SECONDARY_RULE,
        })
    }
}
