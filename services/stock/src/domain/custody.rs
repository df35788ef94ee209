//! What custody events add to the figures.
//!
//! Custody flows belong to the urban mine of the *product's* market country and category, in
//! the year of the event. A product step names the passport, whose category and country the
//! stock service looks up in its own copy of the passports; a lot carries its provenance as
//! `origin` shares (category, country, parts per million), and its masses are split by those
//! shares exactly (integer micrograms, the remainder to the largest share).
//!
//! Flows by action: product `collect` -> collected, `sort` -> sorted; product or lot `destroy`
//! -> destroyed, `export` -> exported; `dismantling` inputs -> dismantled; `recycling` inputs ->
//! recycling input, its outputs -> recycled; the losses of both -> losses. `receive`,
//! `handover` and `accept` move custody without moving material between stages: no flow.

use reetrace_core::domain::{Category, Country, TrackedElement};
use serde::Deserialize;
use uuid::Uuid;

use super::flow::{Deltas, ElementMasses, Flow, Place, split_exact};

/// One share of a lot's provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct OriginShare {
    pub category: Category,
    pub country: Country,
    /// Parts per million of the lot; a lot's shares sum to 1,000,000.
    pub share_ppm: u64,
}

/// A step on one product, to be attributed once its passport is known.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductStep {
    pub passport_id: Uuid,
    pub flow: Flow,
    pub year: i32,
    /// The organisation that recorded the step.
    pub recorder: Uuid,
    /// The whole product's content (all units), micrograms per element.
    pub elements: ElementMasses,
}

impl ProductStep {
    /// Adds the step to the cells of the product's category and market country.
    pub fn attribute(&self, category: Category, country: Country, deltas: &mut Deltas) {
        let place = Place {
            flow: self.flow,
            year: self.year,
            country,
            category,
        };
        deltas.add_masses(place, self.recorder, &self.elements, 1);
    }
}

/// One custody feed event, as the stock service applies it.
#[derive(Debug, Clone, PartialEq)]
pub enum CustodyChange {
    /// A product step: its category and country come from the passport.
    Product(ProductStep),
    /// Lot steps and transformations, attributed from their origin shares already.
    Cells(Deltas),
    /// Several subjects moved by one captured EPCIS event.
    Several(Vec<CustodyChange>),
    /// No flow (it still moves the cursor).
    Ignore,
}

impl CustodyChange {
    /// The single changes this one holds (itself, or each of several).
    pub fn parts(&self) -> Box<dyn Iterator<Item = &CustodyChange> + '_> {
        match self {
            CustodyChange::Several(parts) => Box::new(parts.iter().flat_map(|p| p.parts())),
            single => Box::new(std::iter::once(single)),
        }
    }
}

/// An input of a transformation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TransformInput {
    #[serde(default)]
    pub elements: std::collections::BTreeMap<TrackedElement, i64>,
    #[serde(default)]
    pub origin: Vec<OriginShare>,
}

/// An output of a transformation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TransformOutput {
    #[serde(default)]
    pub elements: std::collections::BTreeMap<TrackedElement, i64>,
    #[serde(default)]
    pub origin: Vec<OriginShare>,
}

/// Micrograms that could not be attributed (no origin); the caller logs them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unattributed(pub i128);

pub fn masses(map: &std::collections::BTreeMap<TrackedElement, i64>) -> ElementMasses {
    map.iter()
        .filter(|(_, m)| **m != 0)
        .map(|(e, m)| (*e, i128::from(*m)))
        .collect()
}

fn origin_weights(origin: &[OriginShare]) -> Vec<((Category, Country), u64)> {
    origin
        .iter()
        .map(|o| ((o.category, o.country), o.share_ppm))
        .collect()
}

/// Adds `elements` to `flow`'s cells, split by the `origin` shares.
pub fn attribute_by_origin(
    flow: Flow,
    year: i32,
    recorder: Uuid,
    elements: &ElementMasses,
    origin: &[OriginShare],
    deltas: &mut Deltas,
) -> Unattributed {
    let weights = origin_weights(origin);
    let mut lost = 0;
    for (&element, &micrograms) in elements {
        match split_exact(micrograms, &weights) {
            Some(parts) => {
                for ((category, country), part) in parts {
                    let place = Place {
                        flow,
                        year,
                        country,
                        category,
                    };
                    if part != 0 {
                        deltas.add(place.cell(element), recorder, part, 1);
                    }
                }
            }
            None => lost += micrograms,
        }
    }
    Unattributed(lost)
}

/// The cells of a transformation: `dismantling` or `recycling`.
pub fn transformation(
    process: &str,
    year: i32,
    recorder: Uuid,
    inputs: &[TransformInput],
    outputs: &[TransformOutput],
    losses: &ElementMasses,
) -> (Deltas, Unattributed) {
    let mut deltas = Deltas::new();
    let mut lost = 0;
    let input_flow = match process {
        "dismantling" => Flow::Dismantled,
        "recycling" => Flow::RecyclingInput,
        _ => return (deltas, Unattributed(0)),
    };
    for input in inputs {
        let Unattributed(l) = attribute_by_origin(
            input_flow,
            year,
            recorder,
            &masses(&input.elements),
            &input.origin,
            &mut deltas,
        );
        lost += l;
    }
    if process == "recycling" {
        for output in outputs {
            let Unattributed(l) = attribute_by_origin(
                Flow::Recycled,
                year,
                recorder,
                &masses(&output.elements),
                &output.origin,
                &mut deltas,
            );
            lost += l;
        }
    }
    // A loss is split over the inputs in proportion to how much of the element each brought,
    // then by each input's origin: two exact splits.
    for (&element, &loss) in losses {
        let weights: Vec<(usize, u64)> = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| {
                let held = input.elements.get(&element).copied().unwrap_or(0);
                (i, u64::try_from(held).unwrap_or(0))
            })
            .collect();
        let Some(per_input) = split_exact(loss, &weights) else {
            lost += loss;
            continue;
        };
        for (i, share) in per_input {
            let Unattributed(l) = attribute_by_origin(
                Flow::Losses,
                year,
                recorder,
                &[(element, share)].into(),
                &inputs[i].origin,
                &mut deltas,
            );
            lost += l;
        }
    }
    (deltas, Unattributed(lost))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reetrace_core::domain::Element;

    const ND: TrackedElement = TrackedElement::Ree(Element::Nd);

    fn fr() -> Country {
        Country::parse("FR").unwrap()
    }
    fn de() -> Country {
        Country::parse("DE").unwrap()
    }

    fn sum(deltas: &Deltas, flow: Flow, category: Category, country: Country) -> i128 {
        deltas
            .entries()
            .filter(|(k, ..)| k.flow == flow && k.category == category && k.country == country)
            .map(|(_, _, v, _)| v)
            .sum()
    }

    #[test]
    fn lots_split_by_origin_exactly() {
        let origin = [
            OriginShare {
                category: Category::EvTractionMotor,
                country: fr(),
                share_ppm: 333_334,
            },
            OriginShare {
                category: Category::HardDiskDrive,
                country: de(),
                share_ppm: 666_666,
            },
        ];
        let mut deltas = Deltas::new();
        let elements: ElementMasses = [(ND, 1_000_000_001)].into();
        let lost = attribute_by_origin(
            Flow::Exported,
            2025,
            Uuid::nil(),
            &elements,
            &origin,
            &mut deltas,
        );
        assert_eq!(lost, Unattributed(0));
        let ev = sum(&deltas, Flow::Exported, Category::EvTractionMotor, fr());
        let hdd = sum(&deltas, Flow::Exported, Category::HardDiskDrive, de());
        assert_eq!((ev, hdd), (333_334_000, 666_666_001));
        let lost = attribute_by_origin(
            Flow::Exported,
            2025,
            Uuid::nil(),
            &elements,
            &[],
            &mut deltas,
        );
        assert_eq!(lost, Unattributed(1_000_000_001));
    }

    #[test]
    fn recycling_counts_inputs_outputs_and_splits_losses_over_inputs() {
        let product = TransformInput {
            elements: [(ND, 600)].into(),
            origin: vec![OriginShare {
                category: Category::EvTractionMotor,
                country: fr(),
                share_ppm: 1_000_000,
            }],
        };
        let lot = TransformInput {
            elements: [(ND, 400)].into(),
            origin: vec![OriginShare {
                category: Category::HardDiskDrive,
                country: de(),
                share_ppm: 1_000_000,
            }],
        };
        let output = TransformOutput {
            elements: [(ND, 900)].into(),
            origin: vec![
                OriginShare {
                    category: Category::EvTractionMotor,
                    country: fr(),
                    share_ppm: 600_000,
                },
                OriginShare {
                    category: Category::HardDiskDrive,
                    country: de(),
                    share_ppm: 400_000,
                },
            ],
        };
        let (deltas, lost) = transformation(
            "recycling",
            2030,
            Uuid::nil(),
            &[product, lot],
            &[output],
            &[(ND, 100)].into(),
        );
        assert_eq!(lost, Unattributed(0));
        let ev = Category::EvTractionMotor;
        let hdd = Category::HardDiskDrive;
        assert_eq!(sum(&deltas, Flow::RecyclingInput, ev, fr()), 600);
        assert_eq!(sum(&deltas, Flow::RecyclingInput, hdd, de()), 400);
        assert_eq!(sum(&deltas, Flow::Recycled, ev, fr()), 540);
        assert_eq!(sum(&deltas, Flow::Recycled, hdd, de()), 360);
        assert_eq!(sum(&deltas, Flow::Losses, ev, fr()), 60);
        assert_eq!(sum(&deltas, Flow::Losses, hdd, de()), 40);
        // Unknown processes add nothing.
        let (none, _) = transformation("shredding", 2030, Uuid::nil(), &[], &[], &[].into());
        assert!(none.is_empty());
    }
}
