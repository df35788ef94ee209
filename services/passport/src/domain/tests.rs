//! The registration rules and the subject built from a registration.

#![allow(clippy::unwrap_used)]

mod fingerprint;
pub(crate) mod magnets;
mod removal;

use reetrace_core::domain::{Element, Mass};
use serde_json::{Value, json};
use uuid::Uuid;

use super::registration::Registration;
use super::subject::{self, Manufacturer, SubjectContext};

/// The registration from the issue that specified the passport API.
pub fn motor() -> Value {
    json!({"granularity": "item",
     "product": {"gtin": "04012345000016", "serial": "EVM-2026-000001", "name": "Traction motor PMSM 150 kW",
       "model": "PM150", "category": "ev_traction_motor", "net_mass_g": 48000, "manufactured_on": "2026-03-02",
       "placed_on_market": {"date": "2026-04-15", "country": "FR"}, "expected_lifetime_years": 15},
     "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
       "location": "rotor, 48 segments in V-slots",
       "elements": [{"element": "Nd", "mass_g": 337.5, "method": "declared"}, {"element": "Pr", "mass_g": 105},
                    {"element": "Dy", "mass_g": 60}, {"element": "Tb", "mass_g": 7.5}],
       "recycled_content": {"pre_consumer": 0.0, "post_consumer": 0.05}}]},
     "end_of_life": {"dismantling": "remove rotor; magnets glued, heat to 350 C to release", "use_type": "concentrated"}})
}

fn parse(value: Value) -> Registration {
    serde_json::from_value(value).unwrap()
}

fn pointers(value: Value) -> Vec<String> {
    parse(value)
        .check()
        .unwrap_err()
        .into_iter()
        .map(|e| e.pointer)
        .collect()
}

#[test]
fn the_reference_registration_is_valid() {
    parse(motor()).check().unwrap();
}

#[test]
fn element_masses_stay_within_their_component() {
    let mut r = motor();
    r["ree_content"]["components"][0]["elements"][1]["mass_g"] = json!(1600);
    let found = pointers(r);
    assert!(
        found.contains(&"/ree_content/components/0/elements/1/mass_g".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"/ree_content/components/0/elements".to_owned()),
        "{found:?}"
    );
}

#[test]
fn components_stay_within_the_product() {
    let mut r = motor();
    r["product"]["net_mass_g"] = json!(1000);
    assert_eq!(pointers(r), ["/ree_content/components"]);
}

#[test]
fn an_element_is_listed_once_per_component() {
    let mut r = motor();
    r["ree_content"]["components"][0]["elements"][2]["element"] = json!("Nd");
    assert_eq!(
        pointers(r),
        ["/ree_content/components/0/elements/2/element"]
    );
}

#[test]
fn identifiers_fit_the_granularity() {
    let mut batch = motor();
    batch["granularity"] = json!("batch");
    let found = pointers(batch);
    assert!(found.contains(&"/product/lot".to_owned()));
    assert!(found.contains(&"/product/units".to_owned()));
    assert!(found.contains(&"/product/serial".to_owned()));

    let mut model = motor();
    model["granularity"] = json!("model");
    assert_eq!(pointers(model), ["/product/serial"]);
}

#[test]
fn dates_and_shares_are_checked() {
    let mut r = motor();
    r["product"]["manufactured_on"] = json!("2026-05-01");
    r["ree_content"]["components"][0]["recycled_content"] =
        json!({"pre_consumer": 0.6, "post_consumer": 0.5});
    assert_eq!(
        pointers(r),
        [
            "/product/manufactured_on",
            "/ree_content/components/0/recycled_content"
        ]
    );
}

#[test]
fn recycled_sources_cannot_exceed_the_components_element() {
    let mut r = motor();
    r["ree_content"]["components"][0]["recycled_content"]["sources"] = json!([
        {"lot": "L1", "elements": [{"element": "Nd", "mass_g": 300}]},
        {"lot": "L2", "elements": [{"element": "Nd", "mass_g": 40}, {"element": "Ce", "mass_g": 1}]}
    ]);
    assert_eq!(
        pointers(r),
        [
            "/ree_content/components/0/recycled_content/sources/1/elements/0/mass_g",
            "/ree_content/components/0/recycled_content/sources/1/elements/1/element"
        ]
    );
}

#[test]
fn type_errors_are_refused_when_parsing() {
    for (path, value) in [
        ("category", json!("spaceship")),
        ("gtin", json!("04012345000018")),
        ("net_mass_g", json!(-1)),
    ] {
        let mut r = motor();
        r["product"][path] = value;
        assert!(serde_json::from_value::<Registration>(r).is_err(), "{path}");
    }
}

#[test]
fn totals_are_exact() {
    let mut r = motor();
    r["ree_content"]["components"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "name": "sensor magnet", "material": "NdFeB-bonded", "mass_g": 0.3,
            "elements": [{"element": "Nd", "mass_g": 0.1}, {"element": "Pr", "mass_g": 0.2}]
        }));
    let registration = parse(r);
    registration.check().unwrap();
    let (totals, recycled) = subject::element_totals(&registration);
    let nd = totals.iter().find(|t| t.element == Element::Nd).unwrap();
    assert_eq!(
        nd.mass_g,
        Mass::from_grams_str("337.6").unwrap(),
        "no float drift"
    );
    assert_eq!(
        totals.iter().map(|t| t.element).collect::<Vec<_>>(),
        [Element::Pr, Element::Nd, Element::Tb, Element::Dy]
    );
    let nd_recycled = recycled.iter().find(|t| t.element == Element::Nd).unwrap();
    assert_eq!(
        nd_recycled.mass_g,
        Mass::from_grams_str("16.875").unwrap(),
        "5% of 337.5 g"
    );
}

#[test]
fn the_subject_commits_to_the_component_details() {
    let registration = parse(motor());
    let ctx = SubjectContext {
        subject_id: "https://p.example/01/04012345000016/21/EVM-2026-000001".into(),
        passport_id: Uuid::now_v7(),
        version: 1,
        manufacturer: Manufacturer {
            id: "did:web:p.example:orgs:x".into(),
            org_id: Uuid::now_v7(),
            name: "Acme".into(),
            operator_id: None,
        },
        model_passport_uri: None,
        previous_version: None,
    };
    let (s, details, canonical) = subject::build(&registration, ctx.clone());
    assert_eq!(
        s.ree_content.components_digest,
        subject::sri_sha256(&details.canonical_bytes())
    );
    assert_eq!(canonical.as_bytes(), details.canonical_bytes());
    assert_eq!(
        s.ree_content.total_mass_g,
        Mass::from_grams_str("510").unwrap()
    );
    // Two builds differ only by the salt: the digest hides guessable content.
    let (again, _, _) = subject::build(&registration, ctx);
    assert_ne!(
        s.ree_content.components_digest,
        again.ree_content.components_digest
    );
    let public = serde_json::to_string(&s).unwrap();
    assert!(
        !public.contains("48 segments"),
        "component detail is not in the public subject"
    );
}

/// The details document of a registration without the v2 fields is byte for byte what v1
/// issued: the same JCS text, so the same digest for the same salt.
#[test]
fn a_v1_registration_keeps_its_details_document_and_digest() {
    let mut r = motor();
    r["ree_content"]["components"][0]["removal"] = json!("heat to 350 C, press out");
    r["ree_content"]["components"][0]["recycled_content"]["sources"] =
        json!([{"lot": "L1", "elements": [{"element": "Nd", "mass_g": 16.875}]}]);
    r["end_of_life"]["hazards"] = json!(["strong magnetic field"]);
    let registration = parse(r);
    registration.check().unwrap();
    let ctx = SubjectContext {
        subject_id: "https://p.example/01/04012345000016/21/EVM-2026-000001".into(),
        passport_id: Uuid::nil(),
        version: 1,
        manufacturer: Manufacturer {
            id: "did:web:p.example:orgs:x".into(),
            org_id: Uuid::nil(),
            name: "Acme".into(),
            operator_id: None,
        },
        model_passport_uri: None,
        previous_version: None,
    };
    let (_, mut details, _) = subject::build(&registration, ctx);
    details.salt = "00112233445566778899aabbccddeeff".into();
    let canonical = String::from_utf8(details.canonical_bytes()).unwrap();
    assert_eq!(
        canonical,
        concat!(
            r#"{"components":[{"elements":[{"element":"Nd","mass_g":337.5,"method":"declared"},"#,
            r#"{"element":"Pr","mass_g":105,"method":"declared"},{"element":"Dy","mass_g":60,"#,
            r#""method":"declared"},{"element":"Tb","mass_g":7.5,"method":"declared"}],"#,
            r#""location":"rotor, 48 segments in V-slots","mass_g":1500,"material":"NdFeB-sintered","#,
            r#""name":"rotor magnet set","recycled_content":{"post_consumer":0.05,"pre_consumer":0,"#,
            r#""sources":[{"elements":[{"element":"Nd","mass_g":16.875}],"lot":"L1"}]},"#,
            r#""removal":"heat to 350 C, press out"}],"salt":"00112233445566778899aabbccddeeff"}"#
        )
    );
    assert_eq!(
        subject::sri_sha256(canonical.as_bytes()),
        "sha256-kCHb7zkH536LoKMP6EslesVnFCwTjjcsi8c6M0YCgOg="
    );
}
