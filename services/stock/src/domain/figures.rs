//! Reading figures out of the tables and the model: a [`FigureSelection`] (flows, filters,
//! `group_by`, years) becomes [`FigureRow`]s, the rows every answer is made of.
//!
//! Every figure of an answer is a published cell of a table, or a sum of them: a sum over
//! years (when `year` is not in `group_by`) is withheld when any of its years is withheld, so
//! it tells nothing a set of single-year answers would not.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::flow::{Basis, Flow};
use super::modelled::{Modelled, UG_PER_KG};
use super::table::{Grain, Key, Table};

/// A figure of an answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    /// An observed mass, exact, in micrograms.
    Exact(i128),
    /// A modelled mass in kg.
    Model(f64),
    /// Withheld by disclosure control.
    Suppressed,
}

impl Figure {
    /// The figure in kg, unless withheld.
    pub fn kg(self) -> Option<f64> {
        match self {
            Figure::Exact(ug) => Some(ug as f64 / UG_PER_KG),
            Figure::Model(kg) => Some(kg),
            Figure::Suppressed => None,
        }
    }

    /// The sum of two figures: withheld if either is.
    pub fn plus(self, other: Figure) -> Figure {
        match (self, other) {
            (Figure::Exact(a), Figure::Exact(b)) => Figure::Exact(a + b),
            (Figure::Model(a), Figure::Model(b)) => Figure::Model(a + b),
            (Figure::Exact(a), Figure::Model(b)) | (Figure::Model(b), Figure::Exact(a)) => {
                Figure::Model(a as f64 / UG_PER_KG + b)
            }
            _ => Figure::Suppressed,
        }
    }

    /// The difference of two figures: withheld if either is.
    pub fn minus(self, other: Figure) -> Figure {
        match other {
            Figure::Exact(b) => self.plus(Figure::Exact(-b)),
            Figure::Model(b) => self.plus(Figure::Model(-b)),
            Figure::Suppressed => Figure::Suppressed,
        }
    }

    pub fn is_suppressed(self) -> bool {
        self == Figure::Suppressed
    }
}

/// Which figures to read: the flows, the filters, the grain of the rows and the years.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureSelection {
    pub flows: Vec<Flow>,
    /// Single values the answer is restricted to (`None` = all).
    pub filter: Key,
    /// The dimensions rows are broken down by.
    pub group: Grain,
    /// Whether rows are broken down by year.
    pub by_year: bool,
    /// Years, both included.
    pub from: i32,
    pub to: i32,
    /// Whether withheld cells are read exactly (an authority's answer) rather than withheld.
    pub exact: bool,
}

/// One figure with its coordinates: a row of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureRow {
    /// Set when rows are broken down by year.
    pub year: Option<i32>,
    /// The row's dimensions (those of `group` only).
    pub key: Key,
    pub flow: Flow,
    pub basis: Basis,
    pub figure: Figure,
}

/// The observed flows: `tables` by (flow, year).
pub fn observed(
    tables: &BTreeMap<(Flow, i32), Arc<Table>>,
    sel: &FigureSelection,
) -> Vec<FigureRow> {
    let mut by_key: BTreeMap<(Option<i32>, Key, Flow), Figure> = BTreeMap::new();
    // Years chosen before the first with figures (a default `year_from`) select nothing.
    let flows = sel.flows.iter().filter(|_| sel.from <= sel.to);
    for flow in flows.filter(|f| f.is_observed()) {
        for ((_, year), table) in tables.range((*flow, sel.from)..=(*flow, sel.to)) {
            for (key, stat) in table.select(sel.group, &sel.filter) {
                let figure = if stat.suppressed && !sel.exact {
                    Figure::Suppressed
                } else {
                    Figure::Exact(stat.value_ug)
                };
                let slot = (sel.by_year.then_some(*year), key.at(sel.group), *flow);
                by_key
                    .entry(slot)
                    .and_modify(|f| *f = f.plus(figure))
                    .or_insert(figure);
            }
        }
    }
    by_key
        .into_iter()
        .map(|((year, key, flow), figure)| FigureRow {
            year,
            key,
            flow,
            basis: Basis::Observed,
            figure,
        })
        .collect()
}

/// The modelled flows. Without years in the rows, inflow and outflow are summed over the years
/// and the stock is the one at the end of the last year.
pub fn modelled(model: &Modelled, sel: &FigureSelection) -> Vec<FigureRow> {
    let mut out = Vec::new();
    if model.is_empty() {
        return out;
    }
    let (from, to) = (sel.from.max(model.start), sel.to.min(model.end()));
    let (Some(first), Some(last)) = (model.index(from), model.index(to)) else {
        return out;
    };
    for (key, series) in model.select(sel.group, &sel.filter) {
        for flow in sel.flows.iter().filter(|f| f.is_modelled()) {
            let values = match flow {
                Flow::PlacedOnMarket => &series.inflow,
                Flow::StockInUse => &series.stock,
                _ => &series.outflow,
            };
            // A figure of the years `range` (a sum over years is withheld when any of its years
            // is).
            let figure = |range: std::ops::RangeInclusive<usize>, v: f64| {
                if !sel.exact && range.into_iter().any(|i| series.withheld(*flow, i)) {
                    Figure::Suppressed
                } else {
                    Figure::Model(v)
                }
            };
            let row = |year: Option<i32>, figure: Figure| FigureRow {
                year,
                key: key.at(sel.group),
                flow: *flow,
                basis: Basis::Modelled,
                figure,
            };
            if sel.by_year {
                for (offset, value) in values[first..=last].iter().enumerate() {
                    let year = from + i32::try_from(offset).unwrap_or(0);
                    out.push(row(
                        Some(year),
                        figure(first + offset..=first + offset, *value),
                    ));
                }
            } else if *flow == Flow::StockInUse {
                out.push(row(None, figure(last..=last, values[last])));
            } else {
                out.push(row(
                    None,
                    figure(first..=last, values[first..=last].iter().sum()),
                ));
            }
        }
    }
    out
}

/// Sorts rows by year, dimensions, flow and basis.
pub fn sort(rows: &mut [FigureRow]) {
    rows.sort_by_key(|c| (c.year, c.key, c.flow, c.basis));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::disclosure::protect;
    use crate::domain::table::{Contribution, Dim};
    use reetrace_core::domain::{Category, Country, Element};
    use uuid::Uuid;

    fn rows(year_offset: i128) -> Vec<Contribution> {
        let mut rows = Vec::new();
        for org in 1..=4u128 {
            for country in ["FR", "DE"] {
                rows.push(Contribution {
                    country: Country::parse(country).unwrap(),
                    category: Category::Smartphone,
                    element: Element::Nd.into(),
                    org: Uuid::from_u128(org),
                    value_ug: 1_000_000_000 * (org as i128 + year_offset),
                });
            }
        }
        rows
    }

    fn tables(lone_in: Option<i32>) -> BTreeMap<(Flow, i32), Arc<Table>> {
        [2020, 2021]
            .into_iter()
            .map(|year| {
                let mut r = rows(i128::from(year - 2020));
                if lone_in == Some(year) {
                    r.push(Contribution {
                        country: Country::parse("IT").unwrap(),
                        category: Category::Smartphone,
                        element: Element::Nd.into(),
                        org: Uuid::from_u128(9),
                        value_ug: 7_000_000_000,
                    });
                }
                let mut table = Table::build(r);
                protect(&mut table, 3);
                ((Flow::Collected, year), Arc::new(table))
            })
            .collect()
    }

    fn selection(by_year: bool, group: Grain) -> FigureSelection {
        FigureSelection {
            flows: vec![Flow::Collected],
            filter: Key::default(),
            group,
            by_year,
            from: 2020,
            to: 2021,
            exact: false,
        }
    }

    #[test]
    fn rows_by_year_and_country_and_their_sums_over_years() {
        let t = tables(None);
        let by_year = observed(&t, &selection(true, Grain::of(&[Dim::Country])));
        assert_eq!(by_year.len(), 4);
        assert_eq!(by_year[0].year, Some(2020));
        assert_eq!(by_year[0].figure.kg(), Some(10.0));
        let summed = observed(&t, &selection(false, Grain::of(&[Dim::Country])));
        assert_eq!(summed.len(), 2);
        assert_eq!(summed[0].figure.kg(), Some(24.0));
        assert_eq!(summed[0].year, None);
    }

    #[test]
    fn a_sum_over_years_is_withheld_when_one_year_is() {
        let t = tables(Some(2021));
        let summed = observed(&t, &selection(false, Grain::of(&[Dim::Country])));
        let it = summed
            .iter()
            .find(|c| c.key.country == Some(Country::parse("IT").unwrap()))
            .unwrap();
        assert!(it.figure.is_suppressed());
        // The secondary partner is withheld over the years too.
        assert!(summed.iter().filter(|c| c.figure.is_suppressed()).count() >= 2);
        // An authority's selection reads them exactly.
        let exact = FigureSelection {
            exact: true,
            ..selection(false, Grain::of(&[Dim::Country]))
        };
        let summed = observed(&t, &exact);
        assert!(summed.iter().all(|c| c.figure.kg().is_some()), "{summed:?}");
    }
}
