//! Residue deposits beside the urban mine: the stock service's copy of each deposit (from the
//! deposits feed) and their content added up by country, element, deposit type and status.
//!
//! Deposits are open data (the CRMA asks for public databases of them), so no disclosure
//! control applies. The content of a deposit per element is the deposits service's figure
//! (tonnage x weighted mean concentration, kg, with its standard uncertainty); a sum over
//! deposits adds the figures and combines their uncertainties as uncorrelated (root sum of
//! squares, GUM), the deposits being surveyed independently.

use std::collections::BTreeMap;

use reetrace_core::domain::{Country, TrackedElement};
use uuid::Uuid;

/// One element of a deposit: kg, and its standard uncertainty (1σ), kg.
#[derive(Debug, Clone, PartialEq)]
pub struct DepositElement {
    /// The chemical symbol (any element an assay reported).
    pub element: String,
    pub kg: f64,
    pub uncertainty_kg: f64,
}

/// The newest version of a deposit, as the stock service keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct DepositFacts {
    pub deposit_id: Uuid,
    pub version: i64,
    pub org_id: Uuid,
    pub deposit_type: String,
    pub status: String,
    pub country: Country,
    pub nuts: Option<String>,
    pub illustrative: bool,
    pub tonnes: f64,
    pub content: Vec<DepositElement>,
}

/// What a deposits feed event changes.
#[derive(Debug, Clone, PartialEq)]
pub enum DepositChange {
    /// A version: kept when newer than the one kept.
    Upsert(Box<DepositFacts>),
    /// Withdrawn: its content counts no more.
    Withdrawn {
        deposit_id: Uuid,
    },
    Ignore,
}

/// One stored content line of a deposit that was not withdrawn.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentLine {
    pub deposit_id: Uuid,
    pub country: Country,
    pub deposit_type: String,
    pub status: String,
    pub illustrative: bool,
    pub element: TrackedElement,
    pub kg: f64,
    pub uncertainty_kg: f64,
}

/// The deposits of one type and status, added up.
#[derive(Debug, Clone, PartialEq)]
pub struct DepositSum {
    pub kg: f64,
    /// Root sum of squares of the deposits' uncertainties.
    pub uncertainty_kg: f64,
    pub deposits: u32,
    /// How many of them are illustrations (the demo's), not surveys.
    pub illustrative: u32,
}

impl DepositSum {
    const ZERO: DepositSum = DepositSum {
        kg: 0.0,
        uncertainty_kg: 0.0,
        deposits: 0,
        illustrative: 0,
    };

    fn add(&mut self, kg: f64, uncertainty_kg: f64, deposits: u32, illustrative: u32) {
        self.kg += kg;
        self.uncertainty_kg = self.uncertainty_kg.hypot(uncertainty_kg);
        self.deposits += deposits;
        self.illustrative += illustrative;
    }
}

/// Deposit type and status.
pub type DepositKind = (String, String);

/// The content of one country (or of all, `None`) and element: in all, and per type and status.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementInDeposits {
    pub total: DepositSum,
    pub by_kind: BTreeMap<DepositKind, DepositSum>,
}

impl Default for ElementInDeposits {
    fn default() -> Self {
        ElementInDeposits {
            total: DepositSum::ZERO,
            by_kind: BTreeMap::new(),
        }
    }
}

/// The lines added up by country and element, and by element over every country (key
/// `None`). A deposit's lines are in the same units, so the sums are plain sums; lines of
/// elements the urban mine does not follow were left out by the caller.
pub fn add_up(
    lines: &[ContentLine],
) -> BTreeMap<(Option<Country>, TrackedElement), ElementInDeposits> {
    let mut out: BTreeMap<(Option<Country>, TrackedElement), ElementInDeposits> = BTreeMap::new();
    for line in lines {
        let illustrative = u32::from(line.illustrative);
        for country in [Some(line.country), None] {
            let cell = out.entry((country, line.element)).or_default();
            cell.total
                .add(line.kg, line.uncertainty_kg, 1, illustrative);
            cell.by_kind
                .entry((line.deposit_type.clone(), line.status.clone()))
                .or_insert(DepositSum::ZERO)
                .add(line.kg, line.uncertainty_kg, 1, illustrative);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reetrace_core::domain::Element;

    fn line(country: &str, kind: &str, element: Element, kg: f64, u: f64) -> ContentLine {
        ContentLine {
            deposit_id: Uuid::now_v7(),
            country: Country::parse(country).unwrap(),
            deposit_type: kind.to_owned(),
            status: "closed".to_owned(),
            illustrative: kind == "slag",
            element: element.into(),
            kg,
            uncertainty_kg: u,
        }
    }

    #[test]
    fn sums_by_country_and_over_all_with_uncertainties_in_quadrature() {
        let lines = [
            line("GR", "bauxite_residue", Element::Nd, 3000.0, 300.0),
            line("GR", "bauxite_residue", Element::Nd, 1000.0, 400.0),
            line("GR", "slag", Element::Nd, 500.0, 0.0),
            line("HU", "bauxite_residue", Element::Nd, 250.0, 0.0),
            line("HU", "bauxite_residue", Element::Sc, 80.0, 8.0),
        ];
        let sums = add_up(&lines);
        let nd = Element::Nd.into();
        let gr = &sums[&(Some(Country::parse("GR").unwrap()), nd)];
        assert_eq!(gr.total.kg, 4500.0);
        assert_eq!(gr.total.uncertainty_kg, 500.0);
        assert_eq!(gr.total.deposits, 3);
        assert_eq!(gr.total.illustrative, 1);
        let bauxite = &gr.by_kind[&("bauxite_residue".to_owned(), "closed".to_owned())];
        assert_eq!(
            (bauxite.kg, bauxite.uncertainty_kg, bauxite.deposits),
            (4000.0, 500.0, 2)
        );
        let all = &sums[&(None, nd)];
        assert_eq!(all.total.kg, 4750.0);
        assert_eq!(all.total.deposits, 4);
        assert_eq!(all.by_kind.len(), 2);
        assert_eq!(sums[&(None, Element::Sc.into())].total.kg, 80.0);
        assert_eq!(sums.len(), 5);
    }

    #[test]
    fn exact_inputs_keep_a_zero_uncertainty() {
        let lines = [
            line("FR", "mine_tailings", Element::Ce, 1.5, 0.0),
            line("FR", "mine_tailings", Element::Ce, 2.5, 0.0),
        ];
        let all = &add_up(&lines)[&(None, Element::Ce.into())];
        assert_eq!((all.total.kg, all.total.uncertainty_kg), (4.0, 0.0));
    }
}
