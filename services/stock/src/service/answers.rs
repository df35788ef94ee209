//! The answers: flows, indicators, the Sankey diagram and the tidy export.

use std::collections::BTreeMap;

use reetrace_core::domain::Category;

use super::views::{
    BalanceView, DISCLOSURE_RULE, Definition, Disclosure, ExportAnswer, ExportRow, FigureView,
    Filters, FlowRow, FlowsAnswer, IndicatorRow, IndicatorsAnswer, ModelNote, SankeyAnswer,
    SankeyLinkView, SankeyNode, ScopeView, UseSplit,
};
use super::{Scope, Source, StockError, StockService, this_year};
use crate::domain::answer::{self, Cell, Figure, Selection};
use crate::domain::flow::{Basis, Flow};
use crate::domain::report::{self, IndicatorInputs, SankeyInputs};
use crate::domain::table::{Dim, Grain, Key};

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

/// `GET /indicators`, parsed (rows are always by year).
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorRequest {
    pub filter: Key,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub group: Grain,
}

/// `GET /sankey`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct SankeyRequest {
    pub year: i32,
    pub filter: Key,
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

fn dims(group: Grain, by_year: bool) -> Vec<&'static str> {
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

fn filters(filter: &Key, flow: Option<Flow>) -> Filters {
    Filters {
        country: filter.country,
        category: filter.category,
        element: filter.element,
        flow,
    }
}

fn flow_row(cell: &Cell) -> FlowRow {
    FlowRow {
        year: cell.year,
        country: cell.key.country,
        category: cell.key.category,
        element: cell.key.element,
        flow: cell.flow,
        basis: cell.basis,
        figure: cell.figure.into(),
    }
}

/// The years the tables cover.
fn observed_years(source: &Source) -> Option<(i32, i32)> {
    let years = source.tables.keys().map(|(_, y)| *y);
    Some((years.clone().min()?, years.max()?))
}

fn disclosure(scope: Scope, k: u32, suppressed: usize) -> Option<Disclosure> {
    (scope == Scope::All).then_some(Disclosure {
        k,
        suppressed,
        rule: DISCLOSURE_RULE,
    })
}

fn scope_view(scope: Scope) -> ScopeView {
    match scope {
        Scope::All => ScopeView::All,
        Scope::Own(_) => ScopeView::Own,
    }
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
        let default = match (observed_years(&source), model_years) {
            (Some(o), Some(m)) => (o.0.min(m.0), o.1.max(m.1)),
            (Some(y), None) | (None, Some(y)) => y,
            (None, None) => (this_year(), this_year()),
        };
        let from = req.year_from.unwrap_or(default.0);
        let to = req.year_to.unwrap_or(default.1.max(from));
        let selection = |group: Grain, by_year: bool, flows: &[Flow]| Selection {
            flows: flows.to_vec(),
            filter: req.filter,
            group,
            by_year,
            from,
            to,
        };
        let read = |group: Grain, by_year: bool| -> Vec<Cell> {
            let mut cells = answer::observed(&source.tables, &selection(group, by_year, &observed));
            if let Some((model, _)) = &source.model {
                cells.extend(answer::modelled(
                    model,
                    &selection(group, by_year, &modelled),
                ));
            }
            answer::sort(&mut cells);
            cells
        };
        let rows: Vec<FlowRow> = read(req.group, req.by_year).iter().map(flow_row).collect();
        let totals: Vec<FlowRow> = read(Grain::TOTAL, false).iter().map(flow_row).collect();
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
            scope: scope_view(scope),
            unit: "kg",
            basis: req.basis.as_str().to_owned(),
            group_by: dims(req.group, req.by_year),
            filters: filters(&req.filter, req.flow),
            year_from: from,
            year_to: to,
            parameters_version,
            disclosure: disclosure(scope, self.disclosure_k(), suppressed),
            rows,
            totals,
            model,
        })
    }

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
        let default = observed_years(&source).unwrap_or((this_year(), this_year()));
        let from = req.year_from.unwrap_or(default.0);
        let to = req.year_to.unwrap_or(default.1.max(from));
        let select = |group: Grain, flows: &[Flow]| Selection {
            flows: flows.to_vec(),
            filter: req.filter,
            group,
            by_year: true,
            from,
            to,
        };
        type Slot = (Option<i32>, Key);
        let mut obs: BTreeMap<(Slot, Flow), Figure> = BTreeMap::new();
        for cell in answer::observed(&source.tables, &select(req.group, &observed)) {
            obs.insert(((cell.year, cell.key), cell.flow), cell.figure);
        }
        let mut modelled: BTreeMap<(Slot, Flow), Figure> = BTreeMap::new();
        let mut split: BTreeMap<(Slot, &'static str), (Figure, Figure)> = BTreeMap::new();
        let fine = req.group.with(Dim::Category);
        let zero = Figure::Exact(0);
        for cell in answer::observed(&source.tables, &select(fine, &[Flow::PlacedOnMarket])) {
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
            for cell in answer::modelled(m, &select(req.group, &flows)) {
                modelled.insert(((cell.year, cell.key), cell.flow), cell.figure);
            }
            for cell in answer::modelled(m, &select(fine, &[Flow::StockInUse])) {
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
        let last_observed = observed_years(&source).map(|(_, last)| last);
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
            scope: scope_view(scope),
            group_by: dims(req.group, true),
            filters: filters(&req.filter, None),
            year_from: from,
            year_to: to,
            parameters_version: source.model.as_ref().map(|(_, p)| p.version),
            disclosure: disclosure(scope, self.disclosure_k(), suppressed),
            definitions: INDICATOR_DEFINITIONS.to_vec(),
            rows,
        })
    }

    /// The Sankey diagram of one year, with its mass balance.
    pub async fn sankey(
        &self,
        scope: Scope,
        req: &SankeyRequest,
    ) -> Result<SankeyAnswer, StockError> {
        let observed: Vec<Flow> = Flow::OBSERVED
            .into_iter()
            .filter(|f| *f != Flow::RecycledContent)
            .collect();
        let source = self
            .source(scope, &observed, Some((req.year, req.year)), true)
            .await?;
        let selection = |flows: &[Flow]| Selection {
            flows: flows.to_vec(),
            filter: req.filter,
            group: Grain::TOTAL,
            by_year: true,
            from: req.year,
            to: req.year,
        };
        let obs: BTreeMap<Flow, Figure> = answer::observed(&source.tables, &selection(&observed))
            .into_iter()
            .map(|c| (c.flow, c.figure))
            .collect();
        let o = |flow| obs.get(&flow).copied().unwrap_or(Figure::Exact(0));
        let eol = source.model.as_ref().and_then(|(m, _)| {
            m.index(req.year)?;
            let cells = answer::modelled(m, &selection(&[Flow::EolGenerated]));
            Some(cells.first().map_or(Figure::Model(0.0), |c| c.figure))
        });
        let inputs = SankeyInputs {
            placed_on_market: o(Flow::PlacedOnMarket),
            eol_generated: eol,
            collected: o(Flow::Collected),
            sorted: o(Flow::Sorted),
            dismantled: o(Flow::Dismantled),
            recycling_input: o(Flow::RecyclingInput),
            recycled: o(Flow::Recycled),
            losses: o(Flow::Losses),
            destroyed: o(Flow::Destroyed),
            exported: o(Flow::Exported),
        };
        let (links, balances) = report::sankey(&inputs);
        let links: Vec<SankeyLinkView> = links
            .into_iter()
            .map(|l| SankeyLinkView {
                source: l.source,
                target: l.target,
                basis: l.basis,
                figure: l.figure.into(),
            })
            .collect();
        let balance: Vec<BalanceView> = balances
            .into_iter()
            .map(|b| BalanceView {
                node: b.node,
                inflow: b.inflow.into(),
                outflow: b.outflow.into(),
                residual: b.residual.into(),
                meaning: b.meaning,
            })
            .collect();
        let suppressed = links.iter().filter(|l| l.figure.is_suppressed()).count();
        Ok(SankeyAnswer {
            scope: scope_view(scope),
            year: req.year,
            filters: filters(&req.filter, None),
            unit: "kg",
            parameters_version: eol.and(source.model.as_ref().map(|(_, p)| p.version)),
            disclosure: disclosure(scope, self.disclosure_k(), suppressed),
            nodes: report::NODES
                .iter()
                .map(|n| SankeyNode {
                    id: n.id,
                    label: n.label,
                })
                .collect(),
            links,
            balance,
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
            disclosure: disclosure(scope, self.disclosure_k(), suppressed),
            rows,
        })
    }
}

fn use_type(category: Option<Category>) -> &'static str {
    use reetrace_core::domain::UseType;
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
