//! The indicators answer: per year (and the `group_by` dimensions), stock in use and
//! end-of-life generated (modelled), the observed flows, the UNEP 2011 rates, and the split
//! between concentrated and dispersed uses.

use std::collections::BTreeMap;

use reetrace_core::domain::{Category, UseType};

use super::bodies::{
    self, Definition, Disclosure, Filters, IndicatorRow, IndicatorsAnswer, UseSplit,
};
use super::cache::this_year;
use super::{Scope, StockError, StockService};
use crate::domain::figures::{self, Figure, FigureSelection};
use crate::domain::flow::Flow;
use crate::domain::report::{self, IndicatorInputs};
use crate::domain::table::{Dim, Grain, Key};

/// `GET /indicators`, parsed (rows are always by year).
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorRequest {
    pub filter: Key,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub group: Grain,
}

const INDICATOR_DEFINITIONS: [Definition; 7] = [
    Definition {
        name: "stock_in_use",
        definition: "REE in products in use at the end of the year, kg (modelled)",
    },
    Definition {
        name: "eol_generated",
        definition: "REE in products reaching end of life in the year, kg (modelled outflow)",
    },
    Definition {
        name: "collection_rate",
        definition: "collected / eol_generated",
    },
    Definition {
        name: "recovery_yield",
        definition: "recycled / collected: the share of what was collected that came back as secondary material",
    },
    Definition {
        name: "eol_recycling_rate",
        definition: "recycled / eol_generated = collection_rate x recovery_yield (UNEP 2011 EOL-RR)",
    },
    Definition {
        name: "recycled_content_rate",
        definition: "recycled content declared by the year's new passports / placed on market (UNEP 2011 RC, declared)",
    },
    Definition {
        name: "uses",
        definition: "placed on market and stock in use by use type: concentrated (separable parts such as magnets, NiMH electrodes) or dispersed (phosphors, catalysts, dopants, powders), by the category's typical use; `other` is unclassified",
    },
];

impl StockService {
    /// Indicators per year (and the `group_by` dimensions).
    pub async fn indicators(
        &self,
        scope: Scope,
        req: &IndicatorRequest,
    ) -> Result<IndicatorsAnswer, StockError> {
        let observed = [
            Flow::PlacedOnMarket,
            Flow::RecycledContent,
            Flow::Collected,
            Flow::Recycled,
        ];
        let range = req.year_from.zip(req.year_to);
        let source = self.source(scope, &observed, range, true).await?;
        let default = source
            .observed_years()
            .unwrap_or((this_year(), this_year()));
        let from = req.year_from.unwrap_or(default.0);
        let to = req.year_to.unwrap_or(default.1.max(from));
        let select = |group: Grain, flows: &[Flow]| FigureSelection {
            flows: flows.to_vec(),
            filter: req.filter,
            group,
            by_year: true,
            from,
            to,
            exact: scope == Scope::All,
        };
        type Slot = (Option<i32>, Key);
        let mut obs: BTreeMap<(Slot, Flow), Figure> = BTreeMap::new();
        for cell in figures::observed(&source.tables, &select(req.group, &observed)) {
            obs.insert(((cell.year, cell.key), cell.flow), cell.figure);
        }
        let mut modelled: BTreeMap<(Slot, Flow), Figure> = BTreeMap::new();
        let mut split: BTreeMap<(Slot, &'static str), (Figure, Figure)> = BTreeMap::new();
        let fine = req.group.with(Dim::Category);
        let zero = Figure::Exact(0);
        for cell in figures::observed(&source.tables, &select(fine, &[Flow::PlacedOnMarket])) {
            let slot = (
                (cell.year, cell.key.at(req.group)),
                use_type(cell.key.category),
            );
            let entry = split.entry(slot).or_insert((zero, Figure::Model(0.0)));
            entry.0 = entry.0.plus(cell.figure);
        }
        let model = source.model.as_ref().map(|(m, _)| m.clone());
        if let Some(m) = &model {
            let flows = [Flow::StockInUse, Flow::EolGenerated];
            for cell in figures::modelled(m, &select(req.group, &flows)) {
                modelled.insert(((cell.year, cell.key), cell.flow), cell.figure);
            }
            for cell in figures::modelled(m, &select(fine, &[Flow::StockInUse])) {
                let slot = (
                    (cell.year, cell.key.at(req.group)),
                    use_type(cell.key.category),
                );
                let entry = split.entry(slot).or_insert((zero, Figure::Model(0.0)));
                entry.1 = entry.1.plus(cell.figure);
            }
        }
        let mut slots: Vec<Slot> = obs
            .keys()
            .chain(modelled.keys())
            .map(|(slot, _)| *slot)
            .collect();
        slots.sort();
        slots.dedup();
        let covered = |year: i32| {
            model
                .as_ref()
                .is_some_and(|m| !m.is_empty() && m.index(year).is_some())
        };
        // Observed figures are known up to the last observed year, not in the forecast.
        let last_observed = source.observed_years().map(|(_, last)| last);
        let mut rows = Vec::with_capacity(slots.len());
        for slot in slots {
            let year = slot.0.unwrap_or(from);
            let observed_year = last_observed.is_some_and(|last| year <= last);
            let o = |flow| observed_year.then(|| obs.get(&(slot, flow)).copied().unwrap_or(zero));
            let m = |flow| {
                covered(year).then(|| {
                    modelled
                        .get(&(slot, flow))
                        .copied()
                        .unwrap_or(Figure::Model(0.0))
                })
            };
            let inputs = IndicatorInputs {
                placed_on_market: o(Flow::PlacedOnMarket),
                recycled_content: o(Flow::RecycledContent),
                collected: o(Flow::Collected),
                recycled: o(Flow::Recycled),
                stock_in_use: m(Flow::StockInUse),
                eol_generated: m(Flow::EolGenerated),
            };
            let rates = inputs.rates();
            let uses = ["concentrated", "dispersed", "unclassified"]
                .into_iter()
                .filter_map(|use_type| {
                    let (pom, stock) = split.get(&(slot, use_type)).copied()?;
                    let pom = observed_year.then_some(pom);
                    let stock = covered(year).then_some(stock);
                    Some(UseSplit {
                        use_type,
                        placed_on_market: pom.into(),
                        stock_in_use: stock.into(),
                        share_of_stock_in_use: report::ratio(stock, inputs.stock_in_use).into(),
                    })
                })
                .collect();
            rows.push(IndicatorRow {
                year,
                country: slot.1.country,
                category: slot.1.category,
                element: slot.1.element,
                stock_in_use: inputs.stock_in_use.into(),
                eol_generated: inputs.eol_generated.into(),
                placed_on_market: inputs.placed_on_market.into(),
                collected: inputs.collected.into(),
                recycled: inputs.recycled.into(),
                recycled_content: inputs.recycled_content.into(),
                collection_rate: rates.collection_rate.into(),
                recovery_yield: rates.recovery_yield.into(),
                eol_recycling_rate: rates.eol_recycling_rate.into(),
                recycled_content_rate: rates.recycled_content_rate.into(),
                uses,
            });
        }
        let suppressed = rows.iter().map(count_suppressed).sum();
        Ok(IndicatorsAnswer {
            scope: scope.into(),
            group_by: bodies::group_by(req.group, true),
            filters: Filters::of(&req.filter, None),
            year_from: from,
            year_to: to,
            parameters_version: source.model.as_ref().map(|(_, p)| p.version),
            disclosure: Disclosure::of(scope, self.disclosure_k(), suppressed),
            definitions: INDICATOR_DEFINITIONS.to_vec(),
            rows,
        })
    }
}

fn use_type(category: Option<Category>) -> &'static str {
    match category.and_then(Category::typical_use_type) {
        Some(UseType::Concentrated) => "concentrated",
        Some(UseType::Dispersed) => "dispersed",
        None => "unclassified",
    }
}

fn count_suppressed(row: &IndicatorRow) -> usize {
    let figures = [
        row.stock_in_use,
        row.eol_generated,
        row.placed_on_market,
        row.collected,
        row.recycled,
        row.recycled_content,
        row.collection_rate,
        row.recovery_yield,
        row.eol_recycling_rate,
        row.recycled_content_rate,
    ];
    figures.iter().filter(|f| f.is_suppressed()).count()
        + row
            .uses
            .iter()
            .map(|u| {
                [u.placed_on_market, u.stock_in_use, u.share_of_stock_in_use]
                    .iter()
                    .filter(|f| f.is_suppressed())
                    .count()
            })
            .sum::<usize>()
}
