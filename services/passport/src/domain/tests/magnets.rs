//! Magnets: one test per magnet row of the error table of docs/credential.md section 5 (and the
//! other magnet rules of that section), and the derivation of a component's rare-earth masses.
//! The fixture and helpers here serve `removal` too.

use reetrace_core::api::extract::parse_json;
use reetrace_core::domain::{Element, FieldError, Mass};
use serde_json::{Value, json};

use crate::domain::registration::{Method, Registration};
use crate::domain::subject;

/// The EV traction motor of docs/credential.md section 5: two NdFeB sets, 8 × 120 g and
/// 16 × 45 g, and five removal steps.
pub fn magnet_motor() -> Value {
    serde_json::from_str(include_str!(
        "../../../../../schemas/examples/valid/item-ev-traction-motor-with-magnets.json"
    ))
    .unwrap()
}

pub(super) const C0: &str = "/ree_content/components/0";

/// What the API answers: the parse error (with its pointer), or the rules broken after the
/// magnets are derived.
pub(crate) fn verdict(value: &Value) -> Result<Registration, Vec<FieldError>> {
    let mut registration: Registration =
        parse_json(value.to_string().as_bytes()).map_err(|problem| {
            assert_eq!(problem.status, 422, "{problem:?}");
            problem.errors
        })?;
    registration.derive_from_magnets();
    registration.check()?;
    Ok(registration)
}

pub(super) fn errors(value: &Value) -> Vec<FieldError> {
    verdict(value).expect_err("refused")
}

/// Asserts that `value` is refused with exactly this error (and no other).
pub(super) fn refused_with(value: &Value, pointer: &str, detail: &str) {
    assert_eq!(errors(value), [FieldError::new(pointer, detail)]);
}

/// Asserts that `value` is refused with this error among others.
pub(super) fn refused_among(value: &Value, pointer: &str, detail: &str) {
    let found = errors(value);
    assert!(
        found.contains(&FieldError::new(pointer, detail)),
        "{pointer}: {detail}\nnot in {found:#?}"
    );
}

pub(super) fn outer(r: &mut Value) -> &mut Value {
    &mut r["ree_content"]["components"][0]["magnets"][0]
}

pub(super) fn inner(r: &mut Value) -> &mut Value {
    &mut r["ree_content"]["components"][0]["magnets"][1]
}

pub(super) fn step(r: &mut Value, index: usize) -> &mut Value {
    &mut r["end_of_life"]["removal_steps"][index]
}

#[test]
fn the_motor_of_the_design_is_valid() {
    verdict(&magnet_motor()).unwrap();
}

#[test]
fn the_component_elements_are_the_sums_of_the_compositions() {
    let registration = verdict(&magnet_motor()).unwrap();
    let component = &registration.ree_content.components[0];
    let derived: Vec<(Element, String, Method)> = component
        .elements
        .iter()
        .map(|e| (e.element, e.mass_g.to_grams_string(), e.method))
        .collect();
    // Nd 8 × 26.4 + 16 × 10.575 = 380.4; Pr 8 × 7.2 + 16 × 3.15 = 108; Dy 8 × 4.2 + 16 × 0.45
    // = 40.8; Tb 8 × 0.6 = 4.8, measured (only the outer set lists it). B, Co, Ni, Cu, Al and
    // Fe are no rare earths: they stay in the compositions.
    assert_eq!(
        derived,
        [
            (Element::Pr, "108".to_owned(), Method::Declared),
            (Element::Nd, "380.4".to_owned(), Method::Declared),
            (Element::Tb, "4.8".to_owned(), Method::Measured),
            (Element::Dy, "40.8".to_owned(), Method::Declared),
        ]
    );
    let (totals, _) = subject::element_totals(&registration);
    let nd = totals.iter().find(|t| t.element == Element::Nd).unwrap();
    assert_eq!(nd.mass_g, Mass::from_grams_str("380.4").unwrap());
}

#[test]
fn methods_that_differ_derive_as_calculated_and_deriving_again_changes_nothing() {
    let mut r = magnet_motor();
    inner(&mut r)["composition"][0]["method"] = json!("measured");
    let mut registration = verdict(&r).unwrap();
    let nd = &registration.ree_content.components[0].elements[1];
    assert_eq!((nd.element, nd.method), (Element::Nd, Method::Calculated));
    let before = registration.clone();
    registration.derive_from_magnets();
    registration.check().unwrap();
    assert_eq!(registration, before);
}

#[test]
fn a_component_of_ferrite_magnets_holds_no_rare_earth() {
    let mut r = magnet_motor();
    r["ree_content"]["components"][0]["magnets"] = json!([{
        "ref": "f1", "type": "ferrite", "grade": "Y30BH", "count": 4, "unit_mass_g": 50,
        "composition": [{"element": "Fe", "mass_g": 35}, {"element": "Sr", "mass_g": 4},
            {"element": "O", "mass_g": 11}]
    }]);
    step(&mut r, 4)["releases"] = json!(["f1"]);
    let registration = verdict(&r).unwrap();
    assert!(registration.ree_content.components[0].elements.is_empty());
}

#[test]
fn the_derived_masses_meet_the_mass_rules() {
    // 100,000 magnets of 10 g, 9 g of Nd each: 900 kg of Nd in a component of 1 kg.
    let mut r = magnet_motor();
    r["ree_content"]["components"][0]["magnets"] = json!([{
        "ref": "m", "type": "ndfeb", "subtype": "bonded", "count": 100000, "unit_mass_g": 10,
        "composition": [{"element": "Nd", "mass_g": 9}, {"element": "Fe", "mass_g": 0.5},
            {"element": "B", "mass_g": 0.1}]
    }]);
    r["end_of_life"]["removal_steps"] = json!([]);
    let found = errors(&r);
    let pointers: Vec<&str> = found.iter().map(|e| e.pointer.as_str()).collect();
    assert!(
        pointers.contains(&"/ree_content/components/0/magnets"),
        "{found:#?}"
    );
    assert!(
        pointers.contains(&"/ree_content/components/0/elements"),
        "the derived 900 kg of Nd outweigh the component: {found:#?}"
    );
}

// The error table of section 5, row by row.

#[test]
fn an_unknown_magnet_type_names_the_vocabulary() {
    let mut r = magnet_motor();
    inner(&mut r)["type"] = json!("neodymium");
    refused_with(
        &r,
        &format!("{C0}/magnets/1/type"),
        "unknown magnet type \"neodymium\"; expected ndfeb, smco, alnico, ferrite",
    );
}

#[test]
fn a_subtype_of_another_type_is_refused() {
    let mut r = magnet_motor();
    let set = inner(&mut r);
    set["type"] = json!("smco");
    set["grade"] = json!("YXG-28");
    set.as_object_mut().unwrap().remove("temperature_class");
    set["composition"] = json!([{"element": "Sm", "mass_g": 11}, {"element": "Co", "mass_g": 30}]);
    refused_with(
        &r,
        &format!("{C0}/magnets/1/subtype"),
        "\"sintered\" is not a subtype of smco; expected 1_5, 2_17",
    );
}

#[test]
fn subtypes_are_required_for_ndfeb_and_smco_and_absent_otherwise() {
    let mut r = magnet_motor();
    outer(&mut r).as_object_mut().unwrap().remove("subtype");
    refused_with(
        &r,
        &format!("{C0}/magnets/0/subtype"),
        "an ndfeb magnet needs its subtype: sintered, bonded, hot_deformed",
    );
    let mut r = magnet_motor();
    let set = inner(&mut r);
    set["type"] = json!("alnico");
    set["grade"] = json!("LNG37");
    set.as_object_mut().unwrap().remove("temperature_class");
    set["composition"] = json!([{"element": "Fe", "mass_g": 23}, {"element": "Al", "mass_g": 4},
        {"element": "Ni", "mass_g": 7}, {"element": "Co", "mass_g": 11}]);
    refused_with(
        &r,
        &format!("{C0}/magnets/1/subtype"),
        "an alnico magnet has no subtype, got \"sintered\"",
    );
}

#[test]
fn an_unknown_coating_names_the_vocabulary() {
    let mut r = magnet_motor();
    outer(&mut r)["coatings"][0]["type"] = json!("chrome");
    refused_with(
        &r,
        &format!("{C0}/magnets/0/coatings/0/type"),
        "unknown coating \"chrome\"; expected nickel_copper_nickel, nickel, zinc, epoxy, \
         aluminium, parylene, phosphate, other, none",
    );
}

#[test]
fn none_is_the_only_entry_of_its_list() {
    let mut r = magnet_motor();
    outer(&mut r)["coatings"] = json!([{"type": "none"}, {"type": "zinc"}]);
    refused_with(
        &r,
        &format!("{C0}/magnets/0/coatings"),
        "\"none\" must be the only entry",
    );
    let mut r = magnet_motor();
    inner(&mut r)["additives"] = json!([{"type": "none"}, {"type": "impregnation_resin"}]);
    refused_with(
        &r,
        &format!("{C0}/magnets/1/additives"),
        "\"none\" must be the only entry",
    );
}

#[test]
fn a_composition_weighs_at_most_its_magnet() {
    // 119.84 g with 77.6 g of Fe; 121.2 g with 78.96 g.
    let mut r = magnet_motor();
    outer(&mut r)["composition"][9]["mass_g"] = json!(78.96);
    refused_with(
        &r,
        &format!("{C0}/magnets/0/composition"),
        "the composition weighs 121.2 g, more than the magnet's 120 g",
    );
}

#[test]
fn an_element_is_listed_once_per_composition() {
    let mut r = magnet_motor();
    outer(&mut r)["composition"][2]["element"] = json!("Tb");
    refused_with(
        &r,
        &format!("{C0}/magnets/0/composition/3/element"),
        "Tb is listed twice (also at index 2)",
    );
}

#[test]
fn a_composition_lists_what_makes_its_type() {
    let mut r = magnet_motor();
    let composition = outer(&mut r)["composition"].as_array_mut().unwrap();
    composition.retain(|e| e["element"] != "B");
    refused_with(
        &r,
        &format!("{C0}/magnets/0/composition"),
        "an ndfeb magnet lists Fe, B and Nd or Pr; B missing",
    );
}

#[test]
fn a_share_where_masses_are_expected_is_refused() {
    let mut r = magnet_motor();
    outer(&mut r)["composition"][0] = json!({"element": "Nd", "share": 0.22});
    refused_with(
        &r,
        &format!("{C0}/magnets/0/composition/0/share"),
        "a composition takes masses (`mass_g`, grams in one magnet), not shares; multiply the \
         share by `unit_mass_g`",
    );
    let mut r = magnet_motor();
    outer(&mut r)["composition"][0]["mass_g"] = json!("22%");
    refused_with(
        &r,
        &format!("{C0}/magnets/0/composition/0/mass_g"),
        "mass must be a decimal number of grams such as 337.5, got \"22%\"",
    );
}

#[test]
fn the_magnets_weigh_at_most_their_component() {
    let mut r = magnet_motor();
    r["ree_content"]["components"][0]["mass_g"] = json!(1500);
    refused_with(
        &r,
        &format!("{C0}/magnets"),
        "the magnets weigh 1680 g (count × unit mass), more than the component's 1500 g",
    );
    // Glue sits outside the magnets: 24 × 1.7 g of epoxy on top of 1680 g is 1720.8 g.
    let mut r = magnet_motor();
    outer(&mut r)["glues"][0]["mass_g"] = json!(1.7);
    inner(&mut r)["glues"][0]["mass_g"] = json!(1.7);
    refused_with(
        &r,
        &format!("{C0}/magnets"),
        "the magnets and their glue weigh 1720.8 g (count × (unit mass + glue)), more than the \
         component's 1720 g",
    );
}

#[test]
fn a_component_with_magnets_sends_no_elements() {
    let mut r = magnet_motor();
    r["ree_content"]["components"][0]["elements"] = json!([{"element": "Nd", "mass_g": 380.4}]);
    refused_with(
        &r,
        &format!("{C0}/elements"),
        "derived from the magnets' compositions; leave it out (one truth)",
    );
}

#[test]
fn recycled_claims_stay_within_the_set() {
    let mut r = magnet_motor();
    outer(&mut r)["recycled_sources"][0]["elements"][0]["mass_g"] = json!(230);
    refused_with(
        &r,
        &format!("{C0}/magnets/0/recycled_sources/0/elements/0/mass_g"),
        "claims 230 g of recycled Nd in all, more than the set's 211.2 g",
    );
    let mut r = magnet_motor();
    outer(&mut r)["recycled_sources"][0]["elements"][1]["element"] = json!("Ce");
    refused_with(
        &r,
        &format!("{C0}/magnets/0/recycled_sources/0/elements/1/element"),
        "the magnet's composition holds no Ce",
    );
}

// The other rules of section 5.

#[test]
fn the_temperature_class_agrees_with_the_grade_and_is_ndfeb_only() {
    let mut r = magnet_motor();
    outer(&mut r)["temperature_class"] = json!("H");
    refused_with(
        &r,
        &format!("{C0}/magnets/0/temperature_class"),
        "the grade N42SH says SH, not H",
    );
    // A grade without a class is class none; another form of grade says nothing.
    let mut r = magnet_motor();
    outer(&mut r)["grade"] = json!("N52");
    refused_with(
        &r,
        &format!("{C0}/magnets/0/temperature_class"),
        "the grade N52 says none, not SH",
    );
    let mut r = magnet_motor();
    outer(&mut r)["grade"] = json!("42/SH");
    verdict(&r).unwrap();
    let mut r = magnet_motor();
    let set = inner(&mut r);
    set["type"] = json!("smco");
    set["subtype"] = json!("2_17");
    set["grade"] = json!("YXG-28");
    set["composition"] = json!([{"element": "Sm", "mass_g": 11}, {"element": "Co", "mass_g": 30}]);
    refused_with(
        &r,
        &format!("{C0}/magnets/1/temperature_class"),
        "only an ndfeb magnet has a temperature class, not an smco one",
    );
    let mut r = magnet_motor();
    outer(&mut r)["temperature_class"] = json!("sh");
    assert_eq!(
        errors(&r),
        [FieldError::new(
            format!("{C0}/magnets/0/temperature_class"),
            "unknown temperature class \"sh\"; expected none, M, H, SH, UH, EH, AH"
        )]
    );
}

#[test]
fn refs_match_their_pattern_and_name_one_magnet() {
    let mut r = magnet_motor();
    inner(&mut r)["ref"] = json!("outer");
    refused_among(
        &r,
        &format!("{C0}/magnets/1/ref"),
        "ref \"outer\" is used twice (also at /ree_content/components/0/magnets/0)",
    );
    let mut r = magnet_motor();
    inner(&mut r)["ref"] = json!("inner set");
    step(&mut r, 4)["releases"][1] = json!("inner set");
    refused_among(
        &r,
        &format!("{C0}/magnets/1/ref"),
        "must be 1 to 40 of the characters A-Z a-z 0-9 _ -",
    );
    let mut r = magnet_motor();
    outer(&mut r)["grade"] = json!("N42 SH");
    refused_with(
        &r,
        &format!("{C0}/magnets/0/grade"),
        "must be 1 to 20 of the characters A-Z a-z 0-9 - . /",
    );
}

#[test]
fn counts_masses_and_lists_stay_within_their_bounds() {
    let mut r = magnet_motor();
    outer(&mut r)["count"] = json!(0);
    inner(&mut r)["unit_mass_g"] = json!(0);
    step(&mut r, 0)["estimated_seconds"] = json!(604_801);
    let pointers: Vec<String> = errors(&r).into_iter().map(|e| e.pointer).collect();
    for expected in [
        format!("{C0}/magnets/0/count"),
        format!("{C0}/magnets/1/unit_mass_g"),
        "/end_of_life/removal_steps/0/estimated_seconds".to_owned(),
    ] {
        assert!(pointers.contains(&expected), "{expected} in {pointers:?}");
    }
    let mut r = magnet_motor();
    let magnets = r["ree_content"]["components"][0]["magnets"]
        .as_array_mut()
        .unwrap();
    let template = magnets[1].clone();
    for n in 0..100 {
        let mut more = template.clone();
        more["ref"] = json!(format!("m{n}"));
        more["count"] = json!(1);
        magnets.push(more);
    }
    refused_among(
        &r,
        &format!("{C0}/magnets"),
        "at most 100 magnet entries per component",
    );
    let mut r = magnet_motor();
    let steps = r["end_of_life"]["removal_steps"].as_array_mut().unwrap();
    let first = steps[0].clone();
    steps.resize(51, first);
    refused_with(&r, "/end_of_life/removal_steps", "at most 50 removal steps");
    let mut r = magnet_motor();
    outer(&mut r)["coatings"][0]["mass_g"] = json!(100);
    outer(&mut r)["additives"][0]["mass_g"] = json!(30);
    refused_with(
        &r,
        &format!("{C0}/magnets/0"),
        "the coatings and additives weigh 130 g, more than the magnet's 120 g",
    );
}

#[test]
fn composition_elements_are_case_sensitive_symbols_of_the_periodic_table() {
    let mut r = magnet_motor();
    outer(&mut r)["composition"][9]["element"] = json!("FE");
    let found = errors(&r);
    assert_eq!(
        found[0].pointer,
        format!("{C0}/magnets/0/composition/9/element")
    );
    assert!(found[0].detail.contains("did you mean \"Fe\""), "{found:?}");
}
