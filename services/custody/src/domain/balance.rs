//! Element-by-element mass balance, exact to the microgram.
//!
//! Inputs of a transformation bring what their passports declared (products) or what was
//! recovered into them (lots); outputs may never exceed inputs for any element, and what does
//! not come out is a recorded loss. Partial takes from a lot carry its elements in proportion,
//! rounded down to the microgram (taking the rest of a lot takes everything left, so nothing is
//! lost to rounding).
//!
//! The elements are the rare earths and the magnet materials B, Co and Ni ([`TrackedElement`]):
//! a dismantling takes out of a product what its passport says the unit holds (its rare earths,
//! and the B, Co and Ni of its magnets), and recovered lots record them alike.

use std::collections::BTreeMap;

use reetrace_core::domain::{Mass, TrackedElement};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Masses per element, in micrograms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bag(BTreeMap<TrackedElement, i64>);

/// One element's mass, as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ElementAmount {
    /// A rare earth, or B, Co, Ni.
    pub element: TrackedElement,
    pub mass_g: Mass,
}

impl Bag {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, element: impl Into<TrackedElement>) -> i64 {
        self.0.get(&element.into()).copied().unwrap_or(0)
    }

    /// Adds `micrograms` of `element` (saturating: masses are capped far below overflow).
    pub fn add(&mut self, element: impl Into<TrackedElement>, micrograms: i64) {
        if micrograms != 0 {
            let slot = self.0.entry(element.into()).or_insert(0);
            *slot = slot.saturating_add(micrograms);
        }
    }

    pub fn extend(&mut self, other: &Bag) {
        for (e, m) in &other.0 {
            self.add(*e, *m);
        }
    }

    /// Every element times `n`.
    pub fn times(&self, n: u64) -> Bag {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        Bag(self
            .0
            .iter()
            .map(|(e, m)| (*e, m.saturating_mul(n)))
            .collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = (TrackedElement, i64)> + '_ {
        self.0.iter().map(|(e, m)| (*e, *m))
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(|m| *m == 0)
    }

    pub fn total(&self) -> i64 {
        self.0.values().fold(0i64, |a, m| a.saturating_add(*m))
    }

    /// The rare earths' total (B, Co and Ni left out).
    pub fn rare_earth_total(&self) -> i64 {
        self.0
            .iter()
            .filter(|(e, _)| e.rare_earth().is_some())
            .fold(0i64, |a, (_, m)| a.saturating_add(*m))
    }

    /// The API form, the rare earths in atomic-number order then B, Co, Ni, zero entries left
    /// out.
    pub fn amounts(&self) -> Vec<ElementAmount> {
        self.0
            .iter()
            .filter(|(_, m)| **m > 0)
            .filter_map(|(e, m)| {
                Some(ElementAmount {
                    element: *e,
                    mass_g: Mass::from_micrograms(*m).ok()?,
                })
            })
            .collect()
    }

    pub fn from_amounts(amounts: &[ElementAmount]) -> Bag {
        let mut bag = Bag::new();
        for a in amounts {
            bag.add(a.element, a.mass_g.micrograms());
        }
        bag
    }

    /// `self - other` for every element, or the elements where `other` is larger.
    pub fn minus(&self, other: &Bag) -> Result<Bag, Vec<Excess>> {
        let mut out = Bag::new();
        let mut excess = Vec::new();
        let elements: std::collections::BTreeSet<TrackedElement> =
            self.0.keys().chain(other.0.keys()).copied().collect();
        for e in elements {
            let (have, take) = (self.get(e), other.get(e));
            if take > have {
                excess.push(Excess {
                    element: e,
                    available_ug: have,
                    requested_ug: take,
                });
            } else {
                out.add(e, have - take);
            }
        }
        if excess.is_empty() {
            Ok(out)
        } else {
            Err(excess)
        }
    }
}

/// An element of which more is asked than there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Excess {
    pub element: TrackedElement,
    pub available_ug: i64,
    pub requested_ug: i64,
}

impl std::fmt::Display for Excess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = |ug: i64| {
            Mass::from_micrograms(ug)
                .map(|m| m.to_string())
                .unwrap_or_else(|_| format!("{ug} µg"))
        };
        write!(
            f,
            "{}: {} requested, only {} available",
            self.element.symbol(),
            g(self.requested_ug),
            g(self.available_ug)
        )
    }
}

/// What taking `take_ug` of a lot with `remaining_ug` mass and `elements` left carries: the
/// proportional share of every element, rounded down; all that is left when the lot is used up.
pub fn take_share(remaining_ug: i64, elements: &Bag, take_ug: i64) -> Bag {
    if take_ug >= remaining_ug || remaining_ug <= 0 {
        return elements.clone();
    }
    let mut out = Bag::new();
    for (e, m) in elements.iter() {
        let share = i128::from(m) * i128::from(take_ug) / i128::from(remaining_ug);
        out.add(e, i64::try_from(share).unwrap_or(i64::MAX));
    }
    out
}

/// Checks outputs against inputs element by element; returns the losses.
pub fn balance(inputs: &Bag, outputs: &Bag) -> Result<Bag, Vec<Excess>> {
    inputs.minus(outputs)
}

/// A mass in grams from micrograms, for answers (negative counts as nothing, beyond the largest
/// mass as the largest).
pub fn grams(micrograms: i64) -> Mass {
    Mass::from_micrograms(micrograms.max(0)).unwrap_or(Mass::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn g(grams: &str) -> i64 {
        Mass::from_grams_str(grams).unwrap().micrograms()
    }

    use reetrace_core::domain::Element;

    fn bag(items: &[(TrackedElement, &str)]) -> Bag {
        let mut b = Bag::new();
        for (e, m) in items {
            b.add(*e, g(m));
        }
        b
    }

    #[test]
    fn losses_are_exact() {
        let motor = bag(&[
            (TrackedElement::Ree(Element::Nd), "337.5"),
            (TrackedElement::Ree(Element::Pr), "105"),
            (TrackedElement::Ree(Element::Dy), "60"),
            (TrackedElement::Ree(Element::Tb), "7.5"),
        ]);
        let lot = bag(&[
            (TrackedElement::Ree(Element::Nd), "330"),
            (TrackedElement::Ree(Element::Pr), "100"),
            (TrackedElement::Ree(Element::Dy), "58"),
            (TrackedElement::Ree(Element::Tb), "7"),
        ]);
        let losses = balance(&motor, &lot).unwrap();
        assert_eq!(losses.get(Element::Nd), g("7.5"));
        assert_eq!(losses.get(Element::Tb), g("0.5"));
        let too_much = bag(&[(TrackedElement::Ree(Element::Nd), "337.500001")]);
        let err = balance(&motor, &too_much).unwrap_err();
        assert_eq!(err[0].element, TrackedElement::Ree(Element::Nd));
        assert!(
            err[0].to_string().contains("337.500001 g requested"),
            "{}",
            err[0]
        );
        let other = bag(&[(TrackedElement::Ree(Element::Ce), "1")]);
        assert_eq!(balance(&motor, &other).unwrap_err()[0].available_ug, 0);
    }

    #[test]
    fn partial_takes_round_down_and_the_rest_takes_all() {
        let lot = bag(&[
            (TrackedElement::Ree(Element::Nd), "330"),
            (TrackedElement::Ree(Element::Tb), "7"),
        ]);
        let mass = g("1480");
        let third = take_share(mass, &lot, mass / 3);
        assert_eq!(third.get(Element::Nd), 109_999_999, "rounded down");
        let rest = lot.minus(&third).unwrap();
        let last = take_share(mass - mass / 3, &rest, mass - mass / 3);
        assert_eq!(last, rest);
        let mut both = third.clone();
        both.extend(&last);
        assert_eq!(both, lot, "nothing lost to rounding");
    }

    #[test]
    fn bags_serialise_by_symbol() {
        let b = bag(&[(TrackedElement::Ree(Element::Nd), "1")]);
        assert_eq!(serde_json::to_string(&b).unwrap(), r#"{"Nd":1000000}"#);
        assert_eq!(b.times(3).get(Element::Nd), g("3"));
        assert_eq!(b.amounts()[0].mass_g, Mass::from_grams(1).unwrap());
    }

    #[test]
    fn magnet_materials_balance_beside_the_rare_earths() {
        let motor = bag(&[
            (TrackedElement::Ree(Element::Nd), "337.5"),
            (TrackedElement::Co, "14.4"),
            (TrackedElement::Ni, "3.2"),
        ]);
        let lot = bag(&[
            (TrackedElement::Ree(Element::Nd), "330"),
            (TrackedElement::Co, "14"),
        ]);
        let losses = balance(&motor, &lot).unwrap();
        assert_eq!(losses.get(TrackedElement::Co), g("0.4"));
        assert_eq!(losses.get(TrackedElement::Ni), g("3.2"));
        assert_eq!(motor.rare_earth_total(), g("337.5"));
        let json = serde_json::to_string(&lot).unwrap();
        assert_eq!(json, r#"{"Nd":330000000,"Co":14000000}"#);
        assert_eq!(serde_json::from_str::<Bag>(&json).unwrap(), lot);
        let err = balance(&lot, &bag(&[(TrackedElement::Co, "15")])).unwrap_err();
        assert_eq!(
            err[0].to_string(),
            "Co: 15 g requested, only 14 g available"
        );
        let amounts: Vec<_> = motor.amounts().iter().map(|a| a.element).collect();
        assert_eq!(
            amounts.last(),
            Some(&TrackedElement::Ni),
            "magnet materials last"
        );
    }
}
