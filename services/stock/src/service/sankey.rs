//! The Sankey diagram of one year: from placing on the market through use, end of life,
//! collection, sorting, dismantling and recycling to secondary material, with the mass balance
//! of each node.

use std::collections::BTreeMap;

use super::bodies::{BalanceView, Disclosure, Filters, SankeyAnswer, SankeyLinkView, SankeyNode};
use super::{Scope, StockError, StockService};
use crate::domain::figures::{self, Figure, FigureSelection};
use crate::domain::flow::Flow;
use crate::domain::report::{self, SankeyInputs};
use crate::domain::table::{Grain, Key};

/// `GET /sankey`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct SankeyRequest {
    pub year: i32,
    pub filter: Key,
}

impl StockService {
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
        let selection = |flows: &[Flow]| FigureSelection {
            flows: flows.to_vec(),
            filter: req.filter,
            group: Grain::TOTAL,
            by_year: true,
            from: req.year,
            to: req.year,
            exact: scope == Scope::All,
        };
        let obs: BTreeMap<Flow, Figure> = figures::observed(&source.tables, &selection(&observed))
            .into_iter()
            .map(|c| (c.flow, c.figure))
            .collect();
        let o = |flow| obs.get(&flow).copied().unwrap_or(Figure::Exact(0));
        let eol = source.model.as_ref().and_then(|(m, _)| {
            m.index(req.year)?;
            let cells = figures::modelled(m, &selection(&[Flow::EolGenerated]));
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
            scope: scope.into(),
            year: req.year,
            filters: Filters::of(&req.filter, None),
            unit: "kg",
            parameters_version: eol.and(source.model.as_ref().map(|(_, p)| p.version)),
            disclosure: Disclosure::of(scope, self.disclosure_k(), suppressed),
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
}
