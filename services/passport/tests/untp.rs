//! The v2 passport credential against the pinned UNTP Digital Product Passport schema
//! (`schemas/untp/untp-dpp-schema.json`): every valid registration example becomes a
//! credential that validates, with the fields issue 14 names present (UNTP makes them all
//! optional, so the schema alone proves little), and without any placement fact, which goes into
//! the placement declaration instead.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use reetrace_core::domain::issuing::{StatusPurpose, StatusRef};
use reetrace_core::domain::{Lei, OperatorId};
use reetrace_passport::domain::credential::{self, Envelope};
use reetrace_passport::domain::placement::{self, Placement};
use reetrace_passport::domain::registration::Registration;
use reetrace_passport::domain::subject::{self, Manufacturer, SubjectContext};
use reetrace_passport::domain::untp::{self, Issuer, PassportContext};
use serde_json::Value;
use uuid::Uuid;

const BASE: &str = "https://passports.example";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The pinned UNTP schema, as kept unchanged in `schemas/untp/`.
fn untp_schema() -> Value {
    read_json(&repo().join("schemas/untp/untp-dpp-schema.json"))
}

fn valid_registrations() -> BTreeMap<String, Registration> {
    let dir = repo().join("schemas/examples/valid");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let mut registration: Registration =
                serde_json::from_value(read_json(&path)).unwrap_or_else(|e| panic!("{stem}: {e}"));
            // As the service does before it checks and signs.
            registration.derive_from_magnets();
            (stem, registration)
        })
        .collect()
}

fn issuer() -> Issuer {
    Issuer {
        id: "did:web:passports.example:orgs:0192f0c1-0000-7000-8000-000000000001".into(),
        org_id: "0192f0c1-0000-7000-8000-000000000001".parse().unwrap(),
        name: "Elektromotoren Rhein GmbH".into(),
        operator_id: Some(OperatorId::Lei(Lei::parse("5299000J2N45DDNE4Y28").unwrap())),
    }
}

fn status() -> [StatusRef; 3] {
    StatusPurpose::ALL.map(|purpose| StatusRef {
        purpose,
        list_id: "0192f0c1-0000-7000-8000-00000000a001".into(),
        index: 94567,
    })
}

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-05-02T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// The unsigned v2 credential and placement declaration of a registration.
fn issue(registration: &Registration) -> (Value, Value) {
    let passport_id: Uuid = "01966f3e-2a41-7c0d-8b7e-5f1a9c3d2e84".parse().unwrap();
    let credential_id: Uuid = "01966f3e-2a6b-7f10-9d2c-1e4b7a8c6f02".parse().unwrap();
    let subject_id = format!("{BASE}/p/{passport_id}");
    let issuer = issuer();
    let status = status();
    let envelope = Envelope {
        base_url: BASE,
        issuer: &issuer.id,
        credential_id,
        valid_from: at(),
        status: &status,
    };
    let subject = untp::subject(
        registration,
        PassportContext {
            base_url: BASE,
            subject_id: subject_id.clone(),
            passport_id,
            version: 1,
            issuer: &issuer,
            model_passport_uri: None,
            previous_version: None,
            component_count: u32::try_from(registration.ree_content.components.len()).unwrap(),
            details_digest: "sha256-3q2+7wJ1o9m0tCj1iYb0kq4T9lXH1d7b2xq8m5cZr0E=".into(),
        },
    );
    let credential = untp::unsigned(&subject, &issuer, &envelope);
    let placement = Placement::of(registration, &subject_id, passport_id, 1, credential_id);
    let declaration_id: Uuid = "01966f3e-2a6c-7a55-8e41-0c9d2b7f3a10".parse().unwrap();
    let declaration = placement::unsigned(&placement, &issuer, declaration_id, &envelope);
    (credential, declaration)
}

#[test]
fn every_valid_registration_makes_a_credential_the_untp_schema_accepts() {
    let schema = untp_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let registrations = valid_registrations();
    assert!(!registrations.is_empty());
    for (name, registration) in &registrations {
        let (credential, _) = issue(registration);
        let errors: Vec<String> = validator
            .iter_errors(&credential)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}\n{credential:#}");
    }
}

/// UNTP makes every field optional; issue 14 item 1 names the ones a v2 credential must have.
#[test]
fn the_fields_of_the_untp_mapping_are_present() {
    for (name, registration) in &valid_registrations() {
        let (credential, _) = issue(registration);
        assert_eq!(credential["@context"][1], untp::UNTP_CONTEXT, "{name}");
        assert_eq!(credential["issuer"]["id"], issuer().id, "{name}");
        assert_eq!(credential["issuer"]["name"], issuer().name, "{name}");
        let subject = &credential["credentialSubject"];
        let product = &subject["product"];
        for pointer in [
            "/id",
            "/registeredId",
            "/idScheme/id",
            "/productCategory/0/code",
            "/producedByParty/id",
            "/producedByParty/name",
            "/dimensions/weight/value",
            "/dimensions/weight/unit",
        ] {
            assert!(
                product.pointer(pointer).is_some(),
                "{name}: product{pointer}"
            );
        }
        assert!(subject["granularityLevel"].is_string(), "{name}");
        assert_eq!(product["id"], subject["id"], "{name}");
        match registration.product.serial.as_ref() {
            Some(serial) => assert_eq!(product["serialNumber"], serial.as_str(), "{name}"),
            None => assert!(product.get("serialNumber").is_none(), "{name}"),
        }
        if let Some(lot) = &registration.product.lot {
            assert_eq!(product["batchNumber"], lot.as_str(), "{name}");
        }
        if registration.product.manufactured_on.is_some() {
            assert!(product["productionDate"].is_string(), "{name}");
        }
        let materials = subject["materialsProvenance"].as_array().unwrap();
        assert!(!materials.is_empty(), "{name}");
        for material in materials {
            for key in [
                "mass",
                "massFraction",
                "recycledMassFraction",
                "ree:massGrams",
            ] {
                assert!(material.get(key).is_some(), "{name}: {key} in {material}");
            }
        }
        assert!(
            subject["circularityScorecard"]["recyclingInformation"]["linkURL"].is_string(),
            "{name}"
        );
    }
}

/// Neither the credential nor anything in it says where, when or how many were placed.
#[test]
fn placement_facts_are_only_in_the_declaration() {
    for (name, registration) in &valid_registrations() {
        let (credential, declaration) = issue(registration);
        let text = credential.to_string();
        let market = &registration.product.placed_on_market;
        for key in [
            "placed_on_market",
            "marketCountry",
            "placementDate",
            "nutsRegion",
            "units",
        ] {
            assert!(
                !text.contains(key),
                "{name}: {key} in the public credential"
            );
        }
        assert!(
            !text.contains(&market.date.to_string()),
            "{name}: the placement date in the public credential"
        );
        let facts = &declaration["credentialSubject"];
        assert_eq!(facts["ree:marketCountry"], market.country.code(), "{name}");
        assert_eq!(
            facts["ree:placementDate"],
            market.date.to_string(),
            "{name}"
        );
        assert_eq!(
            facts["ree:units"],
            registration.product.units.unwrap_or(1),
            "{name}"
        );
        assert_eq!(
            facts["ree:passportCredential"], credential["id"],
            "{name}: the declaration names its credential"
        );
        assert_eq!(
            declaration["credentialStatus"], credential["credentialStatus"],
            "{name}: one set of status bits for both"
        );
    }
}

/// UNTP numbers come from the exact masses by the one rounding rule; the exact ones stay.
#[test]
fn numbers_are_rounded_from_the_exact_masses() {
    let registration: Registration = serde_json::from_value(serde_json::json!({
        "granularity": "item",
        "product": {"serial": "EVM-1", "name": "Traction motor", "category": "ev_traction_motor",
            "net_mass_g": 48000, "placed_on_market": {"date": "2026-04-15", "country": "FR"}},
        "ree_content": {"components": [{"name": "rotor magnets", "material": "NdFeB-sintered",
            "mass_g": 1680, "elements": [{"element": "Nd", "mass_g": 380.4}, {"element": "Pr", "mass_g": 5.6}],
            "recycled_content": {"sources": [{"lot": "0195e0aa-4c7d-7e21-b3f0-6a2d9c814f57",
                "elements": [{"element": "Nd", "mass_g": 21.12}]}]}}]}
    }))
    .unwrap();
    let (credential, _) = issue(&registration);
    let subject = &credential["credentialSubject"];
    assert_eq!(subject["product"]["dimensions"]["weight"]["value"], 48.0);
    assert_eq!(subject["product"]["dimensions"]["weight"]["unit"], "KGM");
    assert_eq!(subject["product"]["ree:netMassGrams"], 48000);
    let materials = subject["materialsProvenance"].as_array().unwrap();
    let nd = materials
        .iter()
        .find(|m| m["materialType"]["code"] == "Nd")
        .unwrap();
    assert_eq!(nd["mass"]["value"], 0.3804);
    assert_eq!(nd["massFraction"], 0.007925);
    assert_eq!(nd["recycledMassFraction"], 0.0555205);
    assert_eq!(nd["ree:massGrams"], 380.4);
    assert_eq!(nd["ree:recycledMassGrams"], 21.12);
    let pr = materials
        .iter()
        .find(|m| m["materialType"]["code"] == "Pr")
        .unwrap();
    assert_eq!(pr["massFraction"], 0.000116667);
    assert_eq!(pr["recycledMassFraction"], 0.0);
}

/// The finding of issue 14: the v1 form fails the UNTP schema at its second context, its string
/// issuer and its subject's product without an id; the v2 form of the same registration passes.
#[test]
fn the_v1_form_fails_where_the_issue_says_and_v2_does_not() {
    let schema = untp_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let registration = valid_registrations()
        .remove("item-ev-traction-motor")
        .unwrap();
    let issuer = issuer();
    let (subject, _, _) = subject::build(
        &registration,
        SubjectContext {
            subject_id: format!("{BASE}/p/01966f3e-2a41-7c0d-8b7e-5f1a9c3d2e84"),
            passport_id: "01966f3e-2a41-7c0d-8b7e-5f1a9c3d2e84".parse().unwrap(),
            version: 1,
            manufacturer: Manufacturer {
                id: issuer.id.clone(),
                org_id: issuer.org_id,
                name: issuer.name.clone(),
                operator_id: issuer.operator_id.clone(),
            },
            model_passport_uri: None,
            previous_version: None,
        },
    );
    let status = status();
    let v1 = credential::unsigned(
        &subject,
        &Envelope {
            base_url: BASE,
            issuer: &issuer.id,
            credential_id: Uuid::now_v7(),
            valid_from: at(),
            status: &status,
        },
    );
    let mut failing: Vec<String> = validator
        .iter_errors(&v1)
        .map(|e| e.instance_path().to_string())
        .collect();
    failing.sort();
    failing.dedup();
    assert_eq!(
        failing,
        ["/@context/1", "/credentialSubject/product", "/issuer"],
        "{v1:#}"
    );
    let (v2, _) = issue(&registration);
    assert!(validator.is_valid(&v2));
}

fn ree_keys(value: &Value, out: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key.starts_with("ree:") {
                    out.insert(key.clone());
                }
                ree_keys(inner, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| ree_keys(item, out)),
        _ => {}
    }
}

/// Every `ree:` key the v2 forms write is a term of the v2 context, and the context defines no
/// term of VC 2.0 or UNTP (its own keys are our prefix, our types or `ree:` terms).
#[test]
fn the_v2_context_defines_every_term_it_is_used_for() {
    let context = read_json(&repo().join("schemas/contexts/reetrace-v2.jsonld"));
    let terms = context["@context"].as_object().unwrap();
    let mut used = std::collections::BTreeSet::new();
    for registration in valid_registrations().values() {
        let (credential, declaration) = issue(registration);
        ree_keys(&credential, &mut used);
        ree_keys(&declaration, &mut used);
    }
    assert!(used.contains("ree:marketCountry") && used.contains("ree:detailsDigest"));
    assert!(
        used.contains("ree:crmaScope"),
        "an example declares a CRMA scope"
    );
    for key in &used {
        assert!(terms.contains_key(key), "{key} is not in the v2 context");
    }
    for key in terms.keys() {
        assert!(
            key.starts_with("ree:")
                || ["@version", "ree", "xsd", "PlacementDeclaration"].contains(&key.as_str()),
            "the v2 context defines {key}"
        );
    }
    // The keys inside our own objects are scoped to them.
    for (term, keys) in [
        (
            "ree:declaredRecycledContent",
            &["element", "massGrams", "basis"][..],
        ),
        (
            "ree:permanentMagnets",
            &["magnetType", "magnetSubtype", "count", "massGrams"],
        ),
        (
            "ree:magnetRecycledContent",
            &[
                "element",
                "status",
                "share",
                "recoveredMassGrams",
                "magnetMassGrams",
            ],
        ),
        (
            "ree:responsiblePerson",
            &["name", "address", "email", "telephone", "url"],
        ),
        (
            "ree:crmaScope",
            &[
                "productGroup",
                "exemptions",
                "ratedOutputKw",
                "lCategoryVehicle",
            ],
        ),
    ] {
        let scoped = terms[term]["@context"].as_object().unwrap();
        for key in keys {
            assert!(scoped.contains_key(*key), "{term}: {key}");
        }
    }
}

/// The motor of `docs/credential.md` section 5: its magnets become the label summary, the
/// art. 29 elements in `materialsProvenance` (B, Ni and Co beside the rare earths) and the
/// computed recycled share of each, Sm not applicable; the responsible person is public.
#[test]
fn magnets_give_the_label_the_elements_and_the_recycled_shares() {
    let registration = valid_registrations()
        .remove("item-ev-traction-motor-with-magnets")
        .unwrap();
    let (credential, _) = issue(&registration);
    let subject = &credential["credentialSubject"];
    assert_eq!(
        subject["ree:permanentMagnets"],
        serde_json::json!([{"magnetType": "ndfeb", "magnetSubtype": "sintered", "count": 24, "massGrams": 1680}])
    );
    let codes: Vec<&str> = subject["materialsProvenance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["materialType"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["B", "Co", "Ni", "Pr", "Nd", "Tb", "Dy"]);
    let shares = subject["circularityScorecard"]["ree:magnetRecycledContent"]
        .as_array()
        .unwrap();
    let of = |symbol: &str| shares.iter().find(|s| s["element"] == symbol).unwrap();
    assert_eq!(of("Nd")["status"], "computed");
    assert_eq!(of("Nd")["magnetMassGrams"], 380.4);
    assert_eq!(of("Nd")["recoveredMassGrams"], 21.12);
    assert_eq!(of("Nd")["share"], 0.0555205);
    assert_eq!(of("Dy")["share"], 0.0);
    assert_eq!(
        of("Sm"),
        &serde_json::json!({"element": "Sm", "status": "not_applicable"})
    );
    assert_eq!(shares.len(), 8);
    let person = &subject["ree:responsiblePerson"];
    assert_eq!(person["address"]["addressCountry"], "DE");
    assert!(person["email"].is_string());
    assert_eq!(subject["ree:detailsAccess"], "restricted");
}
