#![allow(clippy::unwrap_used)]

use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 7).expect("date")
}

fn red_mud() -> serde_json::Value {
    serde_json::json!({
        "name": "Residue pond 10",
        "type": "bauxite_residue",
        "status": "closed",
        "location": {
            "geometry": {"type": "Polygon", "coordinates": [
                [[17.47, 47.08], [17.49, 47.08], [17.49, 47.09], [17.47, 47.09], [17.47, 47.08]]
            ]},
            "country": "HU",
            "nuts": "HU213"
        },
        "operator": {"name": "Alumina works"},
        "tonnage": {"tonnes": 30000000, "uncertainty_tonnes": 3000000, "method": "survey"},
        "deposition": {"from": 1964, "to": 2010},
        "assays": [
            {"sampled_on": "2024-05-02", "method": "ICP-MS", "laboratory": "Lab A", "sample_count": 20,
             "concentrations": [
                {"element": "Sc", "ppm": 110, "uncertainty_ppm": 8},
                {"element": "Nd", "ppm": 95, "uncertainty_ppm": 6}
             ]},
            {"sampled_on": "2025-03-10", "method": "XRF", "laboratory": "Lab B", "sample_count": 5,
             "concentrations": [{"element": "Nd", "ppm": 120, "uncertainty_ppm": 10}]}
        ]
    })
}

fn parse(json: serde_json::Value) -> Result<Deposit, Vec<FieldError>> {
    let input: DepositInput = serde_json::from_value(json).expect("shape");
    Deposit::parse(&input, today())
}

fn pointers(json: serde_json::Value) -> Vec<String> {
    parse(json)
        .expect_err("refused")
        .into_iter()
        .map(|e| e.pointer)
        .collect()
}

#[test]
fn content_per_element_from_the_assays() {
    let d = parse(red_mud()).expect("valid");
    let content = d.content().expect("computable");
    let nd = content[&ChemicalElement::Nd];
    // (20 × 95 + 5 × 120) / 25 = 100 ppm; 30 Mt × 100 g/t = 3,000 t.
    assert_eq!(nd.samples, 25);
    assert_eq!(nd.concentration.value, Exact::integer(100));
    assert_eq!(nd.content.value, Exact::integer(3_000_000_000));
    let u_c = (20.0f64 * 6.0).hypot(5.0 * 10.0) / 25.0;
    let expected = (100.0 * 3_000_000.0f64).hypot(30_000_000.0 * u_c);
    assert!((nd.content.uncertainty - expected).abs() / expected < 1e-15);
    let sc = content[&ChemicalElement::Sc];
    assert_eq!(sc.samples, 20, "only the assay that measured Sc counts");
    assert_eq!(sc.content.value, Exact::integer(3_300_000_000));
}

#[test]
fn a_tonnage_without_a_method_is_refused_by_its_shape() {
    let mut json = red_mud();
    json["tonnage"]
        .as_object_mut()
        .expect("object")
        .remove("method");
    let err = serde_json::from_value::<DepositInput>(json).expect_err("method is required");
    assert!(err.to_string().contains("missing field `method`"), "{err}");
}

#[test]
fn bad_fields_are_all_named() {
    let mut json = red_mud();
    json["name"] = "  ".into();
    json["location"]["nuts"] = "DE12".into();
    json["tonnage"]["tonnes"] = 0.into();
    json["deposition"] = serde_json::json!({"from": 2011, "to": 1990});
    json["assays"][1]["sampled_on"] = "2027-01-01".into();
    json["assays"][0]["concentrations"][0]["ppm"] = (-3).into();
    assert_eq!(
        pointers(json),
        [
            "/name",
            "/location/nuts",
            "/tonnage/tonnes",
            "/deposition/to",
            "/assays/0/concentrations/0/ppm",
            "/assays/1/sampled_on",
        ]
    );
}

#[test]
fn nuts_codes_belong_to_the_country() {
    let mut json = red_mud();
    json["location"]["country"] = "GR".into();
    json["location"]["nuts"] = "EL304".into();
    assert!(
        parse(json.clone()).is_ok(),
        "Greece's NUTS codes start with EL"
    );
    json["location"]["nuts"] = "EL3045".into();
    assert_eq!(pointers(json), ["/location/nuts"]);
}

#[test]
fn a_closed_deposit_names_its_last_year() {
    let mut json = red_mud();
    json["deposition"] = serde_json::json!({"from": 1964});
    assert_eq!(pointers(json.clone()), ["/deposition/to"]);
    json["status"] = "active".into();
    assert!(parse(json).is_ok());
}

#[test]
fn names_are_the_json_names() {
    for (kind, json) in [
        (DepositType::FlyAsh, "fly_ash"),
        (DepositType::MineTailings, "mine_tailings"),
    ] {
        assert_eq!(kind.as_str(), json);
        assert_eq!(serde_json::to_value(kind).expect("json"), json);
    }
    assert_eq!(
        serde_json::to_value(DepositStatus::Abandoned).expect("json"),
        DepositStatus::Abandoned.as_str()
    );
}
