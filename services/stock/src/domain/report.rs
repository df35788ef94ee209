//! Indicators and the Sankey diagram, from the figures of one year and one scope.
//!
//! Indicators follow UNEP (2011), *Recycling Rates of Metals: A Status Report* (Graedel et
//! al.), read at the scale of a country, category and element:
//! - **stock in use**: REE in products in use at the end of the year (modelled);
//! - **EOL generated**: REE in products reaching end of life in the year (modelled outflow);
//! - **collection rate** = collected / EOL generated;
//! - **recovery yield** = recycled / collected (the share of what was collected that came back
//!   as secondary material: the efficiency of the whole chain after collection);
//! - **EOL recycling rate** (EOL-RR) = recycled / EOL generated = collection rate x recovery
//!   yield;
//! - **recycled content** (RC) = recycled content declared by new passports / placed on market.
//!
//! A ratio is withheld when its numerator or denominator is, and undefined (null) when the
//! denominator is zero.

use super::figures::Figure;

/// A derived figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    Value(f64),
    /// The denominator is zero or unknown.
    Undefined,
    Suppressed,
}

/// `num / den` under the rules above; `None` is a figure nobody knows (a year outside the
/// observations or the model).
pub fn ratio(num: Option<Figure>, den: Option<Figure>) -> Metric {
    let (Some(num), Some(den)) = (num, den) else {
        return Metric::Undefined;
    };
    match (num.kg(), den.kg()) {
        (None, _) | (_, None) => Metric::Suppressed,
        (Some(_), Some(0.0)) => Metric::Undefined,
        (Some(n), Some(d)) => Metric::Value(n / d),
    }
}

/// The figures one indicator row is made of: observed ones absent from the tables are zero,
/// and `None` after the last observed year; modelled ones `None` outside the model's years.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndicatorInputs {
    pub placed_on_market: Option<Figure>,
    pub recycled_content: Option<Figure>,
    pub collected: Option<Figure>,
    pub recycled: Option<Figure>,
    pub stock_in_use: Option<Figure>,
    pub eol_generated: Option<Figure>,
}

/// The rates of one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub collection_rate: Metric,
    pub recovery_yield: Metric,
    pub eol_recycling_rate: Metric,
    pub recycled_content_rate: Metric,
}

impl IndicatorInputs {
    pub fn rates(&self) -> Rates {
        Rates {
            collection_rate: ratio(self.collected, self.eol_generated),
            recovery_yield: ratio(self.recycled, self.collected),
            eol_recycling_rate: ratio(self.recycled, self.eol_generated),
            recycled_content_rate: ratio(self.recycled_content, self.placed_on_market),
        }
    }
}

/// The figures of one Sankey diagram (one year, one scope).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SankeyInputs {
    pub placed_on_market: Figure,
    /// Modelled; `None` when the model does not cover the year.
    pub eol_generated: Option<Figure>,
    pub collected: Figure,
    pub sorted: Figure,
    pub dismantled: Figure,
    pub recycling_input: Figure,
    pub recycled: Figure,
    pub losses: Figure,
    pub destroyed: Figure,
    pub exported: Figure,
}

/// A node of the diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub id: &'static str,
    pub label: &'static str,
}

/// A link of the diagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    pub source: &'static str,
    pub target: &'static str,
    pub figure: Figure,
    /// `observed`, `modelled` or `derived` (a difference of the two others).
    pub basis: &'static str,
}

/// What goes into and out of a node, and the difference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Balance {
    pub node: &'static str,
    pub inflow: Figure,
    pub outflow: Figure,
    /// `inflow - outflow`.
    pub residual: Figure,
    /// What the residual stands for.
    pub meaning: &'static str,
}

pub const NODES: [Node; 12] = [
    Node {
        id: "market",
        label: "Placed on the market",
    },
    Node {
        id: "use",
        label: "In use",
    },
    Node {
        id: "end_of_life",
        label: "End of life",
    },
    Node {
        id: "uncollected",
        label: "Not collected",
    },
    Node {
        id: "collection",
        label: "Collection",
    },
    Node {
        id: "sorting",
        label: "Sorting",
    },
    Node {
        id: "dismantling",
        label: "Dismantling",
    },
    Node {
        id: "recycling",
        label: "Recycling",
    },
    Node {
        id: "secondary_material",
        label: "Secondary material",
    },
    Node {
        id: "losses",
        label: "Losses",
    },
    Node {
        id: "destroyed",
        label: "Destroyed",
    },
    Node {
        id: "exported",
        label: "Exported",
    },
];

/// Links and mass balance of one year.
///
/// Collected products go to sorting, then dismantling, then recycling; custody records what
/// enters each stage, so a stage's residual (in minus out) is what it still holds at the end of
/// the year (or passed on in a later year). Destroyed and exported material leaves from the
/// collection chain, whatever stage it was at. The losses of dismantling are the recorded
/// losses minus those of recycling (recycling input minus recycled output).
pub fn sankey(f: &SankeyInputs) -> (Vec<Link>, Vec<Balance>) {
    let zero = Figure::Exact(0);
    let eol = f.eol_generated;
    let recycling_losses = f.recycling_input.minus(f.recycled);
    let dismantling_losses = f.losses.minus(recycling_losses);
    let uncollected = eol.map(|e| {
        let rest = e.minus(f.collected);
        match rest.kg() {
            Some(kg) if kg < 0.0 => zero,
            _ => rest,
        }
    });
    let mut links = vec![Link {
        source: "market",
        target: "use",
        figure: f.placed_on_market,
        basis: "observed",
    }];
    if let Some(eol) = eol {
        links.push(Link {
            source: "use",
            target: "end_of_life",
            figure: eol,
            basis: "modelled",
        });
    }
    links.push(Link {
        source: "end_of_life",
        target: "collection",
        figure: f.collected,
        basis: "observed",
    });
    if let Some(u) = uncollected {
        links.push(Link {
            source: "end_of_life",
            target: "uncollected",
            figure: u,
            basis: "derived",
        });
    }
    links.extend([
        Link {
            source: "collection",
            target: "sorting",
            figure: f.sorted,
            basis: "observed",
        },
        Link {
            source: "collection",
            target: "destroyed",
            figure: f.destroyed,
            basis: "observed",
        },
        Link {
            source: "collection",
            target: "exported",
            figure: f.exported,
            basis: "observed",
        },
        Link {
            source: "sorting",
            target: "dismantling",
            figure: f.dismantled,
            basis: "observed",
        },
        Link {
            source: "dismantling",
            target: "recycling",
            figure: f.recycling_input,
            basis: "observed",
        },
        Link {
            source: "dismantling",
            target: "losses",
            figure: dismantling_losses,
            basis: "derived",
        },
        Link {
            source: "recycling",
            target: "secondary_material",
            figure: f.recycled,
            basis: "observed",
        },
        Link {
            source: "recycling",
            target: "losses",
            figure: recycling_losses,
            basis: "derived",
        },
    ]);
    let balance = |node: &'static str, meaning: &'static str| {
        let sum = |pick: &dyn Fn(&Link) -> bool| {
            links
                .iter()
                .filter(|l| pick(l))
                .fold(zero, |acc, l| acc.plus(l.figure))
        };
        let inflow = sum(&|l| l.target == node);
        let outflow = sum(&|l| l.source == node);
        Balance {
            node,
            inflow,
            outflow,
            residual: inflow.minus(outflow),
            meaning,
        }
    };
    let mut balances = vec![];
    if eol.is_some() {
        balances.push(balance("use", "net addition to the stock in use"));
        balances.push(balance(
            "end_of_life",
            "zero unless more was collected than the model expects to reach end of life",
        ));
    }
    balances.extend([
        balance(
            "collection",
            "collected but not yet sorted, destroyed or exported",
        ),
        balance("sorting", "sorted but not yet dismantled"),
        balance(
            "dismantling",
            "dismantled output not yet recycled (magnets, lots in stock)",
        ),
        balance(
            "recycling",
            "zero: custody records the losses of every recycling",
        ),
    ]);
    (links, balances)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn kg(v: i128) -> Figure {
        Figure::Exact(v * 1_000_000_000)
    }

    #[test]
    fn rates_follow_unep_and_respect_suppression() {
        let inputs = IndicatorInputs {
            placed_on_market: Some(kg(100)),
            recycled_content: Some(kg(5)),
            collected: Some(kg(20)),
            recycled: Some(kg(16)),
            stock_in_use: Some(Figure::Model(900.0)),
            eol_generated: Some(Figure::Model(40.0)),
        };
        let r = inputs.rates();
        assert_eq!(r.collection_rate, Metric::Value(0.5));
        assert_eq!(r.recovery_yield, Metric::Value(0.8));
        assert_eq!(r.eol_recycling_rate, Metric::Value(0.4));
        assert_eq!(r.recycled_content_rate, Metric::Value(0.05));
        let withheld = IndicatorInputs {
            collected: Some(Figure::Suppressed),
            eol_generated: None,
            placed_on_market: Some(kg(0)),
            ..inputs
        };
        let r = withheld.rates();
        assert_eq!(r.collection_rate, Metric::Undefined);
        assert_eq!(r.recovery_yield, Metric::Suppressed);
        assert_eq!(r.recycled_content_rate, Metric::Undefined);
        let forecast = IndicatorInputs {
            collected: None,
            recycled: None,
            ..inputs
        };
        assert_eq!(forecast.rates().eol_recycling_rate, Metric::Undefined);
    }

    #[test]
    fn sankey_balances_each_node() {
        let inputs = SankeyInputs {
            placed_on_market: kg(100),
            eol_generated: Some(Figure::Model(50.0)),
            collected: kg(30),
            sorted: kg(25),
            dismantled: kg(20),
            recycling_input: kg(15),
            recycled: kg(12),
            losses: kg(5),
            destroyed: kg(1),
            exported: kg(2),
        };
        let (links, balances) = sankey(&inputs);
        let link = |s: &str, t: &str| {
            links
                .iter()
                .find(|l| l.source == s && l.target == t)
                .unwrap()
                .figure
                .kg()
        };
        assert_eq!(link("end_of_life", "uncollected"), Some(20.0));
        assert_eq!(link("recycling", "losses"), Some(3.0));
        assert_eq!(link("dismantling", "losses"), Some(2.0));
        let residual = |n: &str| balances.iter().find(|b| b.node == n).unwrap().residual.kg();
        assert_eq!(residual("use"), Some(50.0));
        assert_eq!(residual("end_of_life"), Some(0.0));
        assert_eq!(residual("collection"), Some(2.0));
        assert_eq!(residual("dismantling"), Some(3.0));
        assert_eq!(residual("recycling"), Some(0.0));
        let withheld = SankeyInputs {
            recycled: Figure::Suppressed,
            ..inputs
        };
        let (links, _) = sankey(&withheld);
        assert!(links.iter().filter(|l| l.figure.is_suppressed()).count() == 3);
    }
}
