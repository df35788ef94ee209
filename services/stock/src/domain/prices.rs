//! Element prices, to put a value on rare-earth masses: a versioned series of price points
//! (an element or a mix such as PrNd, as oxide or metal, per kg, in a currency, with a
//! source) and exchange rates between currencies.
//!
//! Rules:
//! - A price per kg of oxide becomes a price per kg of the element by stoichiometry: the oxide's
//!   element mass fraction (Nd₂O₃ 0.857, Dy₂O₃ 0.871, Tb₄O₇ 0.850, CeO₂ 0.814, Pr₆O₁₁ 0.828;
//!   the other rare earths as RE₂O₃). A kg of oxide holds that fraction of element, so the
//!   element's price is the oxide's divided by it.
//! - A mix (PrNd) names its shares of the oxide (or metal) by mass; a kg of the mix holds
//!   Σ share × fraction kg of the elements, each priced the same per kg of element.
//! - The price of an element at a date is the point nearest in time among those for it (its
//!   own, or a mix holding it); ties go to the earlier point. It is flagged `nearest` when the
//!   point is not of the same calendar year as the date asked for.
//! - A point in another currency than the one asked for is converted at the exchange rate
//!   nearest to the point's date; a point no rate converts is not used.
//! - The range of an element is the least and greatest of its converted prices over the whole
//!   series (volatility), whatever the date.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use reetrace_core::domain::{Element, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most price points one series may hold.
pub const MAX_POINTS: usize = 10_000;
/// The most exchange rates one series may hold.
pub const MAX_RATES: usize = 10_000;
/// The longest source text.
pub const MAX_SOURCE: usize = 2_000;

/// Whether a price is per kg of oxide or of metal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceForm {
    Oxide,
    Metal,
}

/// One price: per kg of `form`, of one element or of a mix with its shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PricePoint {
    /// An element (`Dy`), or `PrNd` for a didymium mix (then `shares` is required).
    #[schema(
        example = "Dy",
        pattern = "^(Sc|Y|La|Ce|Pr|Nd|Pm|Sm|Eu|Gd|Tb|Dy|Ho|Er|Tm|Yb|Lu|PrNd)$"
    )]
    pub material: String,
    /// A mix's mass shares of its elements, summing to 1 (`{"Nd": 0.75, "Pr": 0.25}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub shares: Option<BTreeMap<Element, f64>>,
    pub date: NaiveDate,
    /// Per kg of the oxide or metal; positive.
    #[schema(exclusive_minimum = 0.0)]
    pub price_per_kg: f64,
    /// ISO 4217 code (`USD`, `EUR`, `CNY`).
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    pub form: PriceForm,
    /// Where the price comes from (required).
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    pub source: String,
}

/// One exchange rate: 1 `from` = `rate` `to`, at a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRate {
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub from: String,
    /// Another currency than `from`.
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub to: String,
    pub date: NaiveDate,
    /// Positive.
    #[schema(exclusive_minimum = 0.0)]
    pub rate: f64,
    /// Where the rate comes from (required).
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    pub source: String,
}

/// A whole price series (what a PUT replaces).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub points: Vec<PricePoint>,
    #[serde(default)]
    pub exchange_rates: Vec<ExchangeRate>,
}

/// The element mass fraction of a rare earth's common oxide (IUPAC standard atomic weights;
/// Pm by its longest-lived isotope, 145).
pub fn oxide_fraction(element: Element) -> f64 {
    const O: f64 = 15.999;
    let (mass, atoms, oxygens) = match element {
        Element::Sc => (44.955_908, 2.0, 3.0),
        Element::Y => (88.905_838, 2.0, 3.0),
        Element::La => (138.905_47, 2.0, 3.0),
        Element::Ce => (140.116, 1.0, 2.0),
        Element::Pr => (140.907_66, 6.0, 11.0),
        Element::Nd => (144.242, 2.0, 3.0),
        Element::Pm => (145.0, 2.0, 3.0),
        Element::Sm => (150.36, 2.0, 3.0),
        Element::Eu => (151.964, 2.0, 3.0),
        Element::Gd => (157.25, 2.0, 3.0),
        Element::Tb => (158.925_354, 4.0, 7.0),
        Element::Dy => (162.500, 2.0, 3.0),
        Element::Ho => (164.930_329, 2.0, 3.0),
        Element::Er => (167.259, 2.0, 3.0),
        Element::Tm => (168.934_219, 2.0, 3.0),
        Element::Yb => (173.045, 2.0, 3.0),
        Element::Lu => (174.966_8, 2.0, 3.0),
    };
    mass * atoms / (mass * atoms + O * oxygens)
}

/// The elements a point prices, with their shares (1 for a single element).
fn shares_of(point: &PricePoint) -> Vec<(Element, f64)> {
    match (point.material.parse::<Element>(), &point.shares) {
        (Ok(element), None) => vec![(element, 1.0)],
        (_, Some(shares)) => shares.iter().map(|(e, s)| (*e, *s)).collect(),
        (Err(_), None) => Vec::new(),
    }
}

/// A point's price per kg of each of its elements, in its own currency.
pub fn element_price(point: &PricePoint) -> f64 {
    let contained: f64 = match point.form {
        PriceForm::Metal => 1.0,
        PriceForm::Oxide => shares_of(point)
            .iter()
            .map(|(e, s)| s * oxide_fraction(*e))
            .sum(),
    };
    point.price_per_kg / contained
}

fn currency_ok(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

fn source_ok(source: &str) -> bool {
    !source.trim().is_empty() && source.chars().count() <= MAX_SOURCE
}

impl Prices {
    /// Every error, each naming its JSON pointer.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.points.len() > MAX_POINTS {
            errors.push(FieldError::new(
                "/points",
                format!("at most {MAX_POINTS} points"),
            ));
        }
        if self.exchange_rates.len() > MAX_RATES {
            errors.push(FieldError::new(
                "/exchange_rates",
                format!("at most {MAX_RATES} rates"),
            ));
        }
        for (i, p) in self.points.iter().enumerate() {
            let at = |field: &str| format!("/points/{i}/{field}");
            match (p.material.parse::<Element>(), &p.shares) {
                (Ok(_), None) => {}
                (Ok(_), Some(_)) => errors.push(FieldError::new(
                    at("shares"),
                    "only a mix (PrNd) has shares; a single element has none",
                )),
                (Err(_), _) if p.material != "PrNd" => errors.push(FieldError::new(
                    at("material"),
                    format!(
                        "{:?} is neither a rare-earth element symbol nor the mix PrNd",
                        p.material
                    ),
                )),
                (Err(_), None) => errors.push(FieldError::new(
                    at("shares"),
                    "a PrNd mix needs its shares, e.g. {\"Nd\": 0.75, \"Pr\": 0.25}",
                )),
                (Err(_), Some(shares)) => {
                    let mut sum = 0.0;
                    for (element, share) in shares {
                        if !matches!(element, Element::Nd | Element::Pr) {
                            errors.push(FieldError::new(
                                format!("/points/{i}/shares/{element}"),
                                "a PrNd mix holds Nd and Pr only",
                            ));
                        }
                        if !(share.is_finite() && *share > 0.0 && *share <= 1.0) {
                            errors.push(FieldError::new(
                                format!("/points/{i}/shares/{element}"),
                                format!("a share is in (0, 1], got {share}"),
                            ));
                        }
                        sum += share;
                    }
                    if (sum - 1.0).abs() > 1e-9 {
                        errors.push(FieldError::new(
                            at("shares"),
                            format!("the shares sum to 1, got {sum}"),
                        ));
                    }
                }
            }
            if !(p.price_per_kg.is_finite() && p.price_per_kg > 0.0) {
                errors.push(FieldError::new(
                    at("price_per_kg"),
                    format!("a price is positive, got {}", p.price_per_kg),
                ));
            }
            if !currency_ok(&p.currency) {
                errors.push(FieldError::new(
                    at("currency"),
                    format!(
                        "an ISO 4217 code of three capitals (USD, EUR), got {:?}",
                        p.currency
                    ),
                ));
            }
            if !source_ok(&p.source) {
                errors.push(FieldError::new(
                    at("source"),
                    format!("where the price comes from, 1 to {MAX_SOURCE} characters"),
                ));
            }
        }
        for (i, r) in self.exchange_rates.iter().enumerate() {
            let at = |field: &str| format!("/exchange_rates/{i}/{field}");
            for (field, code) in [("from", &r.from), ("to", &r.to)] {
                if !currency_ok(code) {
                    errors.push(FieldError::new(
                        at(field),
                        format!("an ISO 4217 code of three capitals, got {code:?}"),
                    ));
                }
            }
            if r.from == r.to {
                errors.push(FieldError::new(
                    at("to"),
                    "a rate converts between two different currencies",
                ));
            }
            if !(r.rate.is_finite() && r.rate > 0.0) {
                errors.push(FieldError::new(
                    at("rate"),
                    format!("a rate is positive, got {}", r.rate),
                ));
            }
            if !source_ok(&r.source) {
                errors.push(FieldError::new(
                    at("source"),
                    format!("where the rate comes from, 1 to {MAX_SOURCE} characters"),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// How many `to` one `from` buys at the rate nearest to `date` (either direction of a
    /// stored rate); `Some(1)` for the same currency, `None` when no rate links them.
    pub fn rate(&self, from: &str, to: &str, date: NaiveDate) -> Option<f64> {
        if from == to {
            return Some(1.0);
        }
        self.exchange_rates
            .iter()
            .filter_map(|r| {
                let factor = if r.from == from && r.to == to {
                    r.rate
                } else if r.from == to && r.to == from {
                    1.0 / r.rate
                } else {
                    return None;
                };
                Some(((r.date - date).num_days().abs(), r.date, factor))
            })
            .min_by_key(|(distance, day, _)| (*distance, *day))
            .map(|(_, _, factor)| factor)
    }

    /// Every price of `element` per kg of element in `currency`, with its point.
    fn converted(&self, element: Element, currency: &str) -> Vec<(f64, &PricePoint)> {
        self.points
            .iter()
            .filter(|p| shares_of(p).iter().any(|(e, _)| *e == element))
            .filter_map(|p| {
                let rate = self.rate(&p.currency, currency, p.date)?;
                Some((element_price(p) * rate, p))
            })
            .collect()
    }

    /// The price of `element` at `date` in `currency`, or `None` when the series has none.
    pub fn price(&self, element: Element, date: NaiveDate, currency: &str) -> Option<Price> {
        let converted = self.converted(element, currency);
        let (per_kg, point) = converted
            .iter()
            .min_by_key(|(_, p)| ((p.date - date).num_days().abs(), p.date))?;
        let (low, high) = converted
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (v, _)| {
                (lo.min(*v), hi.max(*v))
            });
        Some(Price {
            per_kg: *per_kg,
            low,
            high,
            date: point.date,
            nearest: point.date.year() != date.year(),
            source: point.source.clone(),
        })
    }
}

/// An element's price as used for a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    /// Per kg of element, in the currency asked for.
    pub per_kg: f64,
    /// The least and greatest price of the element over the whole series.
    pub low: f64,
    pub high: f64,
    /// The date of the point used.
    pub date: NaiveDate,
    /// The point is not of the year asked for.
    pub nearest: bool,
    pub source: String,
}

#[cfg(test)]
#[path = "prices_tests.rs"]
mod tests;

const DEFAULTS_JSON: &str = include_str!("../default_prices.json");

/// The built-in series (version 1): the prices of `shared/data/ree_content_reference.csv`
/// (USD per kg of oxide, 2020 and 2024) and the ECB's euro rates of those years.
pub fn defaults() -> Prices {
    serde_json::from_str(DEFAULTS_JSON).expect("default_prices.json is a valid price series")
}
