//! The rules of the magnets in a component: types and subtypes that fit, grades and
//! temperature classes that agree, compositions within the magnet, sets within the component,
//! `ref`s that name one magnet each.

use std::collections::BTreeMap;

use reetrace_core::domain::{ChemicalElement, Mass};

use super::super::{Component, Magnet, MagnetType, RecycledSource, TemperatureClass};
use super::{MAX_SOURCES, Violations};

const MAX_MAGNETS_PER_COMPONENT: usize = 100;
const MAX_MAGNETS: usize = 1_000;
const MAX_COUNT: u32 = 100_000;
/// One entry per element of the periodic table at most.
const MAX_COMPOSITION: usize = 118;
const MAX_DECLARATIONS: usize = 20;

/// Checks the magnets of every component; returns each `ref` with the pointer of its magnet.
pub(super) fn check_all(v: &mut Violations, components: &[Component]) -> BTreeMap<String, String> {
    let mut refs = BTreeMap::new();
    let mut total = 0;
    for (i, component) in components.iter().enumerate() {
        if component.magnets.is_empty() {
            continue;
        }
        let at = format!("/ree_content/components/{i}");
        total += component.magnets.len();
        if component.magnets.len() > MAX_MAGNETS_PER_COMPONENT {
            v.add(
                format!("{at}/magnets"),
                format!("at most {MAX_MAGNETS_PER_COMPONENT} magnet entries per component"),
            );
        }
        for (m, magnet) in component.magnets.iter().enumerate() {
            let mat = format!("{at}/magnets/{m}");
            check_ref(v, &mat, &magnet.reference, &mut refs);
            check_magnet(v, &mat, magnet);
        }
        check_set_within_component(v, &at, component);
    }
    if total > MAX_MAGNETS {
        v.add(
            "/ree_content/components",
            format!("at most {MAX_MAGNETS} magnet entries per registration, got {total}"),
        );
    }
    refs
}

fn check_ref(v: &mut Violations, mat: &str, reference: &str, refs: &mut BTreeMap<String, String>) {
    let valid = (1..=40).contains(&reference.len())
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        v.add(
            format!("{mat}/ref"),
            "must be 1 to 40 of the characters A-Z a-z 0-9 _ -",
        );
    } else if let Some(first) = refs.get(reference) {
        v.add(
            format!("{mat}/ref"),
            format!("ref \"{reference}\" is used twice (also at {first})"),
        );
    } else {
        refs.insert(reference.to_owned(), mat.to_owned());
    }
}

fn check_magnet(v: &mut Violations, mat: &str, magnet: &Magnet) {
    let kind = magnet.magnet_type;
    let subtypes = kind.subtypes();
    match magnet.subtype {
        None if !subtypes.is_empty() => v.add(
            format!("{mat}/subtype"),
            format!("{} magnet needs its subtype: {}", a(kind), list(subtypes)),
        ),
        Some(subtype) if subtypes.is_empty() => v.add(
            format!("{mat}/subtype"),
            format!("{} magnet has no subtype, got \"{subtype}\"", a(kind)),
        ),
        Some(subtype) if !subtypes.contains(&subtype) => v.add(
            format!("{mat}/subtype"),
            format!(
                "\"{subtype}\" is not a subtype of {kind}; expected {}",
                list(subtypes)
            ),
        ),
        _ => {}
    }
    if let Some(grade) = &magnet.grade {
        let valid = (1..=20).contains(&grade.len())
            && grade
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'/'));
        if !valid {
            v.add(
                format!("{mat}/grade"),
                "must be 1 to 20 of the characters A-Z a-z 0-9 - . /",
            );
        }
    }
    if let Some(class) = magnet.temperature_class {
        if kind != MagnetType::Ndfeb {
            v.add(
                format!("{mat}/temperature_class"),
                format!(
                    "only an ndfeb magnet has a temperature class, not {} one",
                    a(kind)
                ),
            );
        } else if let Some(grade) = &magnet.grade
            && let Some(graded) = grade_class(grade)
            && graded != class
        {
            v.add(
                format!("{mat}/temperature_class"),
                format!("the grade {grade} says {graded}, not {class}"),
            );
        }
    }
    if !(1..=MAX_COUNT).contains(&magnet.count) {
        v.add(format!("{mat}/count"), format!("must be 1 to {MAX_COUNT}"));
    }
    if magnet.unit_mass_g == Mass::ZERO {
        v.add(format!("{mat}/unit_mass_g"), "must be greater than 0");
    }
    v.opt_text(
        format_args!("{mat}/position"),
        magnet.position.as_deref(),
        1000,
    );
    check_composition(v, mat, magnet);
    check_declarations(v, mat, magnet);
    check_sources(v, mat, magnet);
}

/// The temperature class an NdFeB grade of the form `N<digits><class>` states (`N42SH`: SH,
/// `N52`: none); `None` for grades of another form.
fn grade_class(grade: &str) -> Option<TemperatureClass> {
    let rest = grade.strip_prefix('N')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    match &rest[digits..] {
        "" => Some(TemperatureClass::None),
        class => class.parse().ok().filter(|c| *c != TemperatureClass::None),
    }
}

fn check_composition(v: &mut Violations, mat: &str, magnet: &Magnet) {
    let at = format!("{mat}/composition");
    if magnet.composition.is_empty() {
        v.add(
            at,
            "list the elements of one magnet with their masses (mass_g per element)",
        );
        return;
    }
    if magnet.composition.len() > MAX_COMPOSITION {
        v.add(&at, format!("at most {MAX_COMPOSITION} entries"));
    }
    let mut seen: BTreeMap<ChemicalElement, usize> = BTreeMap::new();
    let mut sum: i128 = 0;
    for (k, entry) in magnet.composition.iter().enumerate() {
        if let Some(first) = seen.insert(entry.element, k) {
            v.add(
                format!("{at}/{k}/element"),
                format!("{} is listed twice (also at index {first})", entry.element),
            );
        }
        if entry.mass_g == Mass::ZERO {
            v.add(
                format!("{at}/{k}/mass_g"),
                "must be greater than 0 (leave out an element the magnet does not hold)",
            );
        }
        sum += i128::from(entry.mass_g.micrograms());
    }
    if sum > i128::from(magnet.unit_mass_g.micrograms()) {
        v.add(
            &at,
            format!(
                "the composition weighs {}, more than the magnet's {}",
                grams(sum),
                magnet.unit_mass_g
            ),
        );
    }
    let kind = magnet.magnet_type;
    let missing: Vec<String> = kind
        .characteristic_elements()
        .iter()
        .filter(|group| !group.iter().any(|e| seen.contains_key(e)))
        .map(|group| either(group))
        .collect();
    if !missing.is_empty() {
        let expected: Vec<String> = kind
            .characteristic_elements()
            .iter()
            .map(|group| either(group))
            .collect();
        v.add(
            at,
            format!(
                "{} magnet lists {}; {} missing",
                a(kind),
                and(&expected),
                and(&missing)
            ),
        );
    }
}

/// Coatings, glues and additives: "none" alone, "other" described, masses within the magnet.
fn check_declarations(v: &mut Violations, mat: &str, magnet: &Magnet) {
    let coatings: Vec<Declared> = magnet
        .coatings
        .iter()
        .map(|c| Declared::new(c.kind.as_str(), c.mass_g, c.description.as_deref()))
        .collect();
    let glues: Vec<Declared> = magnet
        .glues
        .iter()
        .map(|g| Declared::new(g.kind.as_str(), g.mass_g, g.description.as_deref()))
        .collect();
    let additives: Vec<Declared> = magnet
        .additives
        .iter()
        .map(|a| Declared::new(a.kind.as_str(), a.mass_g, a.description.as_deref()))
        .collect();
    for (list, what, entries) in [
        ("coatings", "coating", &coatings),
        ("glues", "glue", &glues),
        ("additives", "additive", &additives),
    ] {
        if entries.len() > MAX_DECLARATIONS {
            v.add(
                format!("{mat}/{list}"),
                format!("at most {MAX_DECLARATIONS} entries"),
            );
        }
        if entries.len() > 1 && entries.iter().any(|d| d.code == "none") {
            v.add(format!("{mat}/{list}"), "\"none\" must be the only entry");
        }
        for (k, d) in entries.iter().enumerate() {
            match d.description {
                None if d.code == "other" => v.add(
                    format!("{mat}/{list}/{k}/description"),
                    format!("describe the other {what}"),
                ),
                description => v.opt_text(
                    format_args!("{mat}/{list}/{k}/description"),
                    description,
                    200,
                ),
            }
        }
    }
    let inside: i128 = coatings
        .iter()
        .chain(&additives)
        .map(|d| i128::from(d.mass.micrograms()))
        .sum();
    if inside > i128::from(magnet.unit_mass_g.micrograms()) {
        v.add(
            mat,
            format!(
                "the coatings and additives weigh {}, more than the magnet's {}",
                grams(inside),
                magnet.unit_mass_g
            ),
        );
    }
}

/// One coating, glue or additive, as the shared rules see it.
struct Declared<'a> {
    code: &'static str,
    mass: Mass,
    description: Option<&'a str>,
}

impl<'a> Declared<'a> {
    fn new(code: &'static str, mass: Option<Mass>, description: Option<&'a str>) -> Self {
        Declared {
            code,
            mass: mass.unwrap_or(Mass::ZERO),
            description,
        }
    }
}

/// Recycled sources claim only rare earths, B, Co and Ni of the composition, at most the set's
/// mass of each.
fn check_sources(v: &mut Violations, mat: &str, magnet: &Magnet) {
    if magnet.recycled_sources.len() > MAX_SOURCES {
        v.add(
            format!("{mat}/recycled_sources"),
            format!("at most {MAX_SOURCES} sources"),
        );
    }
    let mut claimed: BTreeMap<ChemicalElement, i128> = BTreeMap::new();
    for (k, RecycledSource { lot, elements }) in magnet.recycled_sources.iter().enumerate() {
        let sat = format!("{mat}/recycled_sources/{k}");
        v.text(format_args!("{sat}/lot"), lot, 100);
        if elements.is_empty() {
            v.add(
                format!("{sat}/elements"),
                "list at least one element claimed from the lot",
            );
        }
        for (j, claim) in elements.iter().enumerate() {
            let element = ChemicalElement::from(claim.element);
            let held = magnet
                .composition
                .iter()
                .find(|e| e.element == element)
                .map(|e| magnet.times_count(e.mass_g));
            let sum = claimed.entry(element).or_insert(0);
            *sum += i128::from(claim.mass_g.micrograms());
            match held {
                None => v.add(
                    format!("{sat}/elements/{j}/element"),
                    format!("the magnet's composition holds no {element}"),
                ),
                Some(held) if *sum > held => v.add(
                    format!("{sat}/elements/{j}/mass_g"),
                    format!(
                        "claims {} of recycled {element} in all, more than the set's {}",
                        grams(*sum),
                        grams(held)
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}

/// The magnets, count times unit mass plus their glue, weigh at most their component.
fn check_set_within_component(v: &mut Violations, at: &str, component: &Component) {
    let mut magnets: i128 = 0;
    let mut glue: i128 = 0;
    for magnet in &component.magnets {
        magnets += magnet.times_count(magnet.unit_mass_g);
        for g in &magnet.glues {
            glue += magnet.times_count(g.mass_g.unwrap_or(Mass::ZERO));
        }
    }
    let limit = i128::from(component.mass_g.micrograms());
    if magnets > limit {
        v.add(
            format!("{at}/magnets"),
            format!(
                "the magnets weigh {} (count × unit mass), more than the component's {}",
                grams(magnets),
                component.mass_g
            ),
        );
    } else if magnets + glue > limit {
        v.add(
            format!("{at}/magnets"),
            format!(
                "the magnets and their glue weigh {} (count × (unit mass + glue)), more than \
                 the component's {}",
                grams(magnets + glue),
                component.mass_g
            ),
        );
    }
}

/// "an ndfeb", "a ferrite".
fn a(kind: MagnetType) -> String {
    match kind {
        MagnetType::Ferrite => format!("a {kind}"),
        _ => format!("an {kind}"),
    }
}

/// A sum of micrograms as a mass (`1680 g`), or beyond what a mass can be.
fn grams(micrograms: i128) -> String {
    i64::try_from(micrograms)
        .ok()
        .and_then(|m| Mass::from_micrograms(m).ok())
        .map_or_else(|| format!("more than {}", Mass::MAX), |m| m.to_string())
}

fn list<T: std::fmt::Display>(values: &[T]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Nd or Pr`.
fn either(group: &[ChemicalElement]) -> String {
    group
        .iter()
        .map(|e| e.symbol())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// `Fe, B and Nd or Pr`.
fn and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
