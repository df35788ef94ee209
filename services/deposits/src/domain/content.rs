//! A deposit's concentration and content per element, with their standard uncertainties.
//!
//! - Concentration: the sample-count-weighted mean of the assays that report the element,
//!   `c = Σ nᵢ cᵢ / Σ nᵢ`, with `u(c) = √(Σ (nᵢ u(cᵢ))²) / Σ nᵢ` (assays uncorrelated; GUM,
//!   JCGM 100:2008, 5.1.2).
//! - Content: tonnage × concentration; ppm is grams per tonne, so `m = T c` grams, with
//!   `u(m) = √((c u(T))² + (T u(c))²)` (first-order GUM for a product of uncorrelated inputs).
//!
//! Central values are exact rationals ([`Exact`]); uncertainties are doubles, and exactly 0
//! when every input uncertainty is 0.

use std::collections::BTreeMap;

use reetrace_core::domain::ChemicalElement;

use super::assay::Assay;
use super::exact::{Exact, ExactError};

/// A value with its standard uncertainty (1σ), in the same unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: Exact,
    pub uncertainty: f64,
}

/// Per element, the weighted mean concentration (ppm) of the assays reporting it, and the
/// samples behind it.
pub fn concentrations(
    assays: &[Assay],
) -> Result<BTreeMap<ChemicalElement, (Estimate, u64)>, ExactError> {
    struct Sums {
        weighted: Exact,
        samples: u64,
        variance: f64,
    }
    let mut sums: BTreeMap<ChemicalElement, Sums> = BTreeMap::new();
    for assay in assays {
        let n = u64::from(assay.sample_count);
        for c in &assay.concentrations {
            let entry = sums.entry(c.element).or_insert(Sums {
                weighted: Exact::ZERO,
                samples: 0,
                variance: 0.0,
            });
            entry.weighted = entry
                .weighted
                .checked_add(c.ppm.checked_mul(Exact::integer(i128::from(n)))?)?;
            entry.samples += n;
            let spread = n as f64 * c.uncertainty_ppm;
            entry.variance += spread * spread;
        }
    }
    sums.into_iter()
        .map(|(element, s)| {
            let value = s.weighted.checked_div_int(i128::from(s.samples))?;
            let uncertainty = s.variance.sqrt() / s.samples as f64;
            Ok((element, (Estimate { value, uncertainty }, s.samples)))
        })
        .collect()
}

/// Mass in grams of an element at `concentration` ppm in `tonnage` tonnes.
pub fn content_grams(tonnage: Estimate, concentration: Estimate) -> Result<Estimate, ExactError> {
    let value = tonnage.value.checked_mul(concentration.value)?;
    let by_tonnage = concentration.value.to_f64() * tonnage.uncertainty;
    let by_concentration = tonnage.value.to_f64() * concentration.uncertainty;
    Ok(Estimate {
        value,
        uncertainty: by_tonnage.hypot(by_concentration),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::assay::AssayInput;

    fn assay(samples: u32, nd: f64, u: f64) -> Assay {
        let input: AssayInput = serde_json::from_value(serde_json::json!({
            "sampled_on": "2025-01-01", "method": "ICP-MS", "laboratory": "Lab",
            "sample_count": samples,
            "concentrations": [{"element": "Nd", "ppm": nd, "uncertainty_ppm": u}]
        }))
        .unwrap();
        Assay::parse(&input, "/assays/0").unwrap()
    }

    fn exact(v: f64) -> Exact {
        Exact::from_json_number(v).unwrap()
    }

    #[test]
    fn the_mean_is_weighted_by_samples_and_exact() {
        // (10 × 100.1 + 30 × 120.3) / 40 = 115.25 exactly.
        let c = concentrations(&[assay(10, 100.1, 4.0), assay(30, 120.3, 2.0)]).unwrap();
        let (nd, samples) = c[&ChemicalElement::Nd];
        assert_eq!(samples, 40);
        assert_eq!(nd.value, exact(115.25));
        // √((10·4)² + (30·2)²) / 40 = √5200 / 40.
        assert!((nd.uncertainty - 5200f64.sqrt() / 40.0).abs() < 1e-12);
    }

    #[test]
    fn a_mean_that_does_not_end_stays_a_rational() {
        let c = concentrations(&[assay(1, 1.0, 0.0), assay(2, 0.0, 0.0)]).unwrap();
        let (nd, _) = c[&ChemicalElement::Nd];
        assert_eq!(nd.value, Exact::ratio(1, 3).unwrap());
        assert_eq!(nd.uncertainty, 0.0);
    }

    #[test]
    fn content_is_tonnage_times_concentration_with_gum_uncertainty() {
        // 2.5 Mt of bauxite residue at 1,000.4 ppm Nd: 2,501,000,000 g.
        let tonnage = Estimate {
            value: exact(2_500_000.0),
            uncertainty: 250_000.0,
        };
        let conc = Estimate {
            value: exact(1_000.4),
            uncertainty: 50.0,
        };
        let m = content_grams(tonnage, conc).unwrap();
        assert_eq!(m.value, Exact::integer(2_501_000_000));
        let expected = (1_000.4f64 * 250_000.0).hypot(2_500_000.0 * 50.0);
        assert!((m.uncertainty - expected).abs() / expected < 1e-15);
        // Exact inputs give an exact content and no uncertainty.
        let exact_in = content_grams(
            Estimate {
                value: exact(0.1),
                uncertainty: 0.0,
            },
            Estimate {
                value: exact(0.2),
                uncertainty: 0.0,
            },
        )
        .unwrap();
        assert_eq!(exact_in.value, exact(0.02));
        assert_eq!(exact_in.uncertainty, 0.0);
    }
}
