//! The rules a registration must meet across its fields, each violation named by its JSON
//! pointer. The magnets' rules are in `magnets`, the removal steps' and the responsible
//! person's in `removal`.

mod crma;
mod magnets;
mod removal;

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use reetrace_core::domain::{Element, FieldError, Mass, UseType};

use super::{Component, Granularity, RecycledContent, Registration};

const MAX_COMPONENTS: usize = 100;
const MAX_SOURCES: usize = 50;
const MAX_DOCUMENTS: usize = 50;
const MAX_CONFIDENTIAL_BYTES: usize = 16 * 1024;

/// Collects violations with their pointers.
#[derive(Default)]
struct Violations(Vec<FieldError>);

impl Violations {
    fn add(&mut self, pointer: impl Into<String>, detail: impl Into<String>) {
        self.0.push(FieldError::new(pointer, detail));
    }

    /// Checks a text field; `pointer` is written out only for a violation (most fields have
    /// none, and a registration with magnets has many).
    fn text(&mut self, pointer: impl fmt::Display, value: &str, max: usize) {
        let chars = value.chars().count();
        if value.trim().is_empty() {
            self.add(pointer.to_string(), "must not be empty");
        } else if chars > max {
            self.add(
                pointer.to_string(),
                format!("must be at most {max} characters, got {chars}"),
            );
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            self.add(pointer.to_string(), "must not contain control characters");
        }
    }

    fn opt_text(&mut self, pointer: impl fmt::Display, value: Option<&str>, max: usize) {
        if let Some(value) = value {
            self.text(pointer, value, max);
        }
    }
}

fn earliest() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN)
}

fn latest() -> NaiveDate {
    NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// The most a passport may count of one element, in grams (10,000 t: more than the REEs of the
/// largest offshore wind farm; a batch counts its units times the content of one).
pub const MAX_COUNTED_G: i128 = 10_000_000_000;

impl Registration {
    /// Applies every rule across fields; returns all violations, each with its JSON pointer.
    pub fn check(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Violations::default();
        self.check_identity(&mut v);
        self.check_product(&mut v);
        crma::check_scope(&mut v, &self.product);
        self.check_content(&mut v);
        let refs = magnets::check_all(&mut v, &self.ree_content.components);
        self.check_end_of_life(&mut v);
        if let Some(eol) = &self.end_of_life {
            removal::check_steps(&mut v, &eol.removal_steps, &refs);
        }
        if let Some(person) = &self.responsible_person {
            removal::check_responsible_person(&mut v, person);
        }
        if v.0.is_empty() { Ok(()) } else { Err(v.0) }
    }

    fn check_identity(&self, v: &mut Violations) {
        let p = &self.product;
        if let Some(why) = p
            .gtin
            .as_ref()
            .and_then(reetrace_core::domain::gs1_prefix::restricted_circulation)
        {
            v.add(
                "/product/gtin",
                format!("{why}: they never identify a product"),
            );
        }
        match self.granularity {
            Granularity::Item => {
                if p.lot.is_some() && p.serial.is_none() {
                    v.add(
                        "/product/serial",
                        "an item passport needs a serial number (a lot alone makes a batch)",
                    );
                }
                if p.gtin.is_some() && p.serial.is_none() {
                    v.add(
                        "/product/serial",
                        "an item with a GTIN needs a serial number (GS1 AI 21)",
                    );
                }
                if p.units.is_some() {
                    v.add("/product/units", "only a batch passport has a unit count");
                }
            }
            Granularity::Batch => {
                if p.lot.is_none() {
                    v.add(
                        "/product/lot",
                        "a batch passport needs a lot number (GS1 AI 10)",
                    );
                }
                if p.serial.is_some() {
                    v.add(
                        "/product/serial",
                        "a batch passport has a lot, not a serial number",
                    );
                }
                match p.units {
                    None => v.add(
                        "/product/units",
                        "a batch passport needs its number of units",
                    ),
                    Some(0) => v.add("/product/units", "must be at least 1"),
                    Some(n) if n > 100_000_000 => {
                        v.add("/product/units", "must be at most 100000000")
                    }
                    Some(_) => {}
                }
            }
            Granularity::Model => {
                if p.gtin.is_none() {
                    v.add("/product/gtin", "a model passport needs the model's GTIN");
                }
                if p.serial.is_some() {
                    v.add("/product/serial", "a model passport has no serial number");
                }
                if p.lot.is_some() {
                    v.add("/product/lot", "a model passport has no lot number");
                }
                if p.units.is_some() {
                    v.add("/product/units", "only a batch passport has a unit count");
                }
                if p.model_passport.is_some() {
                    v.add(
                        "/product/model_passport",
                        "a model passport cannot link another model passport",
                    );
                }
            }
        }
    }

    fn check_product(&self, v: &mut Violations) {
        let p = &self.product;
        v.text("/product/name", &p.name, 200);
        v.opt_text("/product/model", p.model.as_deref(), 200);
        if p.net_mass_g == Mass::ZERO {
            v.add("/product/net_mass_g", "must be greater than 0");
        }
        let market = p.placed_on_market.date;
        if market < earliest() || market > latest() {
            v.add(
                "/product/placed_on_market/date",
                "must be between 1900-01-01 and 2100-12-31",
            );
        }
        if let Some(made) = p.manufactured_on {
            if made < earliest() || made > latest() {
                v.add(
                    "/product/manufactured_on",
                    "must be between 1900-01-01 and 2100-12-31",
                );
            } else if made > market {
                v.add(
                    "/product/manufactured_on",
                    format!("{made} is after the date it was placed on the market ({market})"),
                );
            }
        }
        if let Some(nuts) = &p.placed_on_market.nuts {
            let code = p.placed_on_market.country.code();
            let valid = (3..=5).contains(&nuts.len())
                && nuts
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                && (nuts.starts_with(code) || (code == "GR" && nuts.starts_with("EL")));
            if !valid {
                v.add(
                    "/product/placed_on_market/nuts",
                    format!("must be a NUTS code of {code} (2 letters then 1 to 3 characters)"),
                );
            }
        }
        if let Some(years) = p.expected_lifetime_years
            && !(years.is_finite() && years > 0.0 && years <= 100.0)
        {
            v.add(
                "/product/expected_lifetime_years",
                "must be more than 0 and at most 100",
            );
        }
        if let Some(facility) = &p.facility {
            v.text("/product/facility/name", &facility.name, 200);
            v.opt_text(
                "/product/facility/identifier",
                facility.identifier.as_deref(),
                100,
            );
        }
        if self.documents.len() > MAX_DOCUMENTS {
            v.add("/documents", format!("at most {MAX_DOCUMENTS} documents"));
        }
        for (i, doc) in self.documents.iter().enumerate() {
            v.text(format_args!("/documents/{i}/title"), &doc.title, 200);
            v.opt_text(
                format_args!("/documents/{i}/kind"),
                doc.kind.as_deref(),
                100,
            );
            let ok = url::Url::parse(&doc.url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                && doc.url.len() <= 2000;
            if !ok {
                v.add(
                    format!("/documents/{i}/url"),
                    "must be an http(s) URL of at most 2000 characters",
                );
            }
        }
        if let Some(confidential) = &self.confidential {
            let size = serde_json::to_vec(confidential)
                .map(|b| b.len())
                .unwrap_or(usize::MAX);
            if size > MAX_CONFIDENTIAL_BYTES {
                v.add(
                    "/confidential",
                    format!("must be at most {MAX_CONFIDENTIAL_BYTES} bytes of JSON"),
                );
            }
        }
    }

    fn check_content(&self, v: &mut Violations) {
        let components = &self.ree_content.components;
        if components.is_empty() {
            v.add(
                "/ree_content/components",
                "list at least one component holding REEs",
            );
        }
        if components.len() > MAX_COMPONENTS {
            v.add(
                "/ree_content/components",
                format!("at most {MAX_COMPONENTS} components"),
            );
        }
        let mut total = Mass::ZERO;
        for (i, component) in components.iter().enumerate() {
            let at = format!("/ree_content/components/{i}");
            check_component(v, &at, component);
            total = total.checked_add(component.mass_g).unwrap_or(Mass::MAX);
        }
        if total > self.product.net_mass_g {
            v.add(
                "/ree_content/components",
                format!(
                    "the components weigh {} in all, more than the product's net mass of {}",
                    total, self.product.net_mass_g
                ),
            );
        }
        self.check_counted_content(v);
    }

    /// What a passport counts of each element (per unit, times the units of a batch) stays
    /// within [`MAX_COUNTED_G`]: no real product exceeds it, and the figures built from
    /// passports can hold any sum of them.
    fn check_counted_content(&self, v: &mut Violations) {
        let units = i128::from(self.product.units.unwrap_or(1).max(1));
        let mut per_element: std::collections::BTreeMap<_, i128> = Default::default();
        for component in &self.ree_content.components {
            for element in &component.elements {
                *per_element.entry(element.element).or_default() +=
                    i128::from(element.mass_g.micrograms());
            }
        }
        for (element, per_unit) in per_element {
            let counted = per_unit * units;
            if counted > MAX_COUNTED_G * 1_000_000 {
                let pointer = if units > 1 {
                    "/product/units"
                } else {
                    "/ree_content/components"
                };
                v.add(
                    pointer,
                    format!(
                        "the passport counts {} kg of {} ({units} units), more than the \
                         {} kg a passport may count of an element",
                        counted / 1_000_000_000,
                        element.symbol(),
                        MAX_COUNTED_G / 1_000
                    ),
                );
            }
        }
    }

    fn check_end_of_life(&self, v: &mut Violations) {
        let Some(eol) = &self.end_of_life else {
            return;
        };
        v.opt_text("/end_of_life/dismantling", eol.dismantling.as_deref(), 4000);
        if eol.hazards.len() > 20 {
            v.add("/end_of_life/hazards", "at most 20 hazards");
        }
        for (i, hazard) in eol.hazards.iter().enumerate() {
            v.text(format_args!("/end_of_life/hazards/{i}"), hazard, 200);
        }
    }

    /// The use type this passport declares, or its category's typical one.
    pub fn use_type(&self) -> Option<UseType> {
        self.end_of_life
            .as_ref()
            .and_then(|e| e.use_type)
            .or_else(|| self.product.category.typical_use_type())
    }
}

fn check_component(v: &mut Violations, at: &str, component: &Component) {
    v.text(format_args!("{at}/name"), &component.name, 200);
    v.text(format_args!("{at}/material"), &component.material, 100);
    v.opt_text(
        format_args!("{at}/location"),
        component.location.as_deref(),
        1000,
    );
    v.opt_text(
        format_args!("{at}/removal"),
        component.removal.as_deref(),
        4000,
    );
    if component.magnets.is_empty() {
        if component.elements.is_empty() {
            v.add(format!("{at}/elements"), "list at least one element");
        }
    } else if !component.elements.is_empty() && !component.elements_derived {
        v.add(
            format!("{at}/elements"),
            "derived from the magnets' compositions; leave it out (one truth)",
        );
    }
    let mut seen = BTreeMap::new();
    let mut sum = Mass::ZERO;
    for (j, element) in component.elements.iter().enumerate() {
        if let Some(first) = seen.insert(element.element, j) {
            v.add(
                format!("{at}/elements/{j}/element"),
                format!(
                    "{} is listed twice (also at index {first})",
                    element.element.symbol()
                ),
            );
        }
        if element.mass_g > component.mass_g {
            v.add(
                format!("{at}/elements/{j}/mass_g"),
                format!(
                    "{} of {} exceeds the component's mass of {}",
                    element.mass_g,
                    element.element.symbol(),
                    component.mass_g
                ),
            );
        }
        sum = sum.checked_add(element.mass_g).unwrap_or(Mass::MAX);
    }
    if sum > component.mass_g {
        v.add(
            format!("{at}/elements"),
            format!(
                "the elements weigh {sum} in all, more than the component's {}",
                component.mass_g
            ),
        );
    }
    if let Some(recycled) = &component.recycled_content {
        check_recycled(v, &format!("{at}/recycled_content"), recycled, component);
    }
}

fn check_recycled(v: &mut Violations, at: &str, recycled: &RecycledContent, component: &Component) {
    if u64::from(recycled.pre_consumer.ppm()) + u64::from(recycled.post_consumer.ppm()) > 1_000_000
    {
        v.add(
            at.to_owned(),
            "pre_consumer and post_consumer add up to more than 1",
        );
    }
    if recycled.sources.len() > MAX_SOURCES {
        v.add(
            format!("{at}/sources"),
            format!("at most {MAX_SOURCES} sources"),
        );
    }
    let mut claimed: BTreeMap<Element, Mass> = BTreeMap::new();
    for (k, source) in recycled.sources.iter().enumerate() {
        let sat = format!("{at}/sources/{k}");
        v.text(format_args!("{sat}/lot"), &source.lot, 100);
        if source.elements.is_empty() {
            v.add(
                format!("{sat}/elements"),
                "list at least one element claimed from the lot",
            );
        }
        for (j, element) in source.elements.iter().enumerate() {
            // A component's elements are rare earths: B, Co and Ni are claimed for the magnet
            // sets that hold them.
            let Some(ree) = element.element.rare_earth() else {
                v.add(
                    format!("{sat}/elements/{j}/element"),
                    format!(
                        "{} is a magnet material: claim it in the recycled_sources of the \
                         magnet set whose composition holds it",
                        element.element.symbol()
                    ),
                );
                continue;
            };
            let held = component
                .elements
                .iter()
                .find(|e| e.element == ree)
                .map(|e| e.mass_g);
            let entry = claimed.entry(ree).or_insert(Mass::ZERO);
            *entry = entry.checked_add(element.mass_g).unwrap_or(Mass::MAX);
            match held {
                None => v.add(
                    format!("{sat}/elements/{j}/element"),
                    format!("the component holds no {}", element.element.symbol()),
                ),
                Some(held) if *entry > held => v.add(
                    format!("{sat}/elements/{j}/mass_g"),
                    format!(
                        "claims {} of recycled {} in all, more than the component's {}",
                        entry,
                        element.element.symbol(),
                        held
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}
