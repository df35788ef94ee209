#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, TimeZone, Utc};
use reetrace_deposits::api::context::DEPOSITS_CONTEXT;
use reetrace_deposits::domain::credential::{CONTEXT_PATH, Issue, unsigned};
use reetrace_deposits::domain::deposit::{Deposit, DepositInput};
use uuid::Uuid;

use super::*;

/// Every type of the issue has several deposits, in several countries.
#[test]
fn every_type_has_several_deposits_in_several_countries() {
    for kind in [
        "fly_ash",
        "bottom_ash",
        "bauxite_residue",
        "phosphogypsum",
        "mine_tailings",
        "slag",
    ] {
        let countries: BTreeSet<&str> = SITES
            .iter()
            .filter(|s| s.deposit_type == kind)
            .map(|s| s.country)
            .collect();
        assert!(countries.len() >= 2, "{kind}: {countries:?}");
    }
}

fn total(site: &Site, rare_earths_only: bool) -> f64 {
    site.profile
        .iter()
        .filter(|(e, _)| !rare_earths_only || *e != "Sc")
        .map(|(_, ppm)| tenth(ppm * site.scale))
        .sum()
}

/// The ranges the module's comment cites.
#[test]
fn concentrations_stay_in_the_literature_ranges() {
    for site in SITES {
        let (low, high) = match site.deposit_type {
            "fly_ash" => (400.0, 600.0),
            "bottom_ash" => (250.0, 400.0),
            "bauxite_residue" => (400.0, 1_100.0),
            "phosphogypsum" => (500.0, 5_000.0),
            "mine_tailings" => (300.0, 1_500.0),
            _ => (50.0, 150.0),
        };
        let rey = total(site, true);
        assert!((low..=high).contains(&rey), "{}: {rey} ppm", site.name());
    }
    let greek = SITES
        .iter()
        .find(|s| s.nuts == "EL642")
        .map(|s| tenth(s.profile[0].1 * s.scale))
        .unwrap_or_default();
    assert!((100.0..=150.0).contains(&greek), "Greek Sc {greek} ppm");
}

/// Outlines are closed and counterclockwise (positive shoelace area).
#[test]
fn outlines_follow_the_right_hand_rule() {
    for site in SITES.iter().filter(|s| s.half_side_km > 0.0) {
        let geometry = site.geometry();
        let ring = geometry["coordinates"][0]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(ring.first(), ring.last());
        let xy: Vec<(f64, f64)> = ring
            .iter()
            .map(|p| (p[0].as_f64().unwrap_or(0.0), p[1].as_f64().unwrap_or(0.0)))
            .collect();
        let area: f64 = xy
            .windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum();
        assert!(area > 0.0, "{}", site.name());
    }
}

/// The credential of one version of `record`, unsigned, as the deposits service issues it.
fn credential(record: &Value) -> Value {
    let input: DepositInput = serde_json::from_value(record.clone()).unwrap();
    let deposit = Deposit::parse(&input, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e:?}", record["name"]));
    let issue = Issue {
        credential_id: Uuid::from_u128(1),
        deposit_id: Uuid::from_u128(2),
        version: 1,
        base_url: "https://reetrace.example",
        issuer: "did:web:reetrace.example:orgs:0190c4d2-8a4e-7c1f-9a4b-2f6d1e0c3b5a",
        at: Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap(),
        status: Vec::new(),
    };
    unsigned(&deposit, &issue).unwrap()
}

/// The VC 2.0 terms a deposit subject uses, with their VC meaning (`name` also names an
/// operator).
const VC2_TERMS_IN_SUBJECTS: [&str; 3] = ["id", "type", "name"];
/// Top-level and type-scoped terms of the VC 2.0 context, which ours must leave alone (a
/// protected term cannot be redefined).
const VC2_TERMS: &str = "id type description digestMultibase digestSRI mediaType name \
    VerifiableCredential credentialSchema credentialStatus credentialSubject evidence issuer \
    proof refreshService relatedResource renderMethod termsOfUse validFrom validUntil \
    confidenceMethod";

/// The term definitions of one context object (its keywords and prefixes left out).
fn definitions(context: &Value, at: &str) -> BTreeMap<String, Value> {
    let map = context.as_object().unwrap();
    assert_eq!(map.get("@protected"), Some(&json!(true)), "{at}: protected");
    map.iter()
        .filter(|(term, _)| !term.starts_with('@') && *term != "ree" && *term != "xsd")
        .map(|(term, definition)| {
            assert!(
                !VC2_TERMS.split_whitespace().any(|t| t == term),
                "{at}: redefines the VC 2.0 term {term}"
            );
            let iri = definition
                .as_str()
                .or_else(|| definition["@id"].as_str())
                .unwrap();
            assert!(iri.starts_with("ree:"), "{at}/{term} maps to {iri}");
            (term.clone(), definition.clone())
        })
        .collect()
}

/// Checks that every property of `value` is defined where it occurs (by our terms, those of
/// the enclosing property-scoped contexts, or VC 2.0's) and that coerced values are of their
/// datatype; records the terms used.
fn walk(value: &Value, active: &BTreeMap<String, Value>, path: &str, used: &mut BTreeSet<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| walk(v, active, path, used)),
        Value::Object(map) => {
            for (key, v) in map {
                let at = format!("{path}/{key}");
                if VC2_TERMS_IN_SUBJECTS.contains(&key.as_str()) {
                    continue;
                }
                let definition = active
                    .get(key)
                    .unwrap_or_else(|| panic!("{at}: {key} is not defined by the context"));
                used.insert(key.clone());
                let fits = match definition.get("@type").and_then(Value::as_str) {
                    _ if v.is_null() => true,
                    Some("@json") => true,
                    Some("xsd:integer") => v.is_i64() || v.is_u64(),
                    Some("xsd:decimal" | "xsd:double") => v.is_number(),
                    Some("xsd:boolean") => v.is_boolean(),
                    Some("xsd:date") => v
                        .as_str()
                        .is_some_and(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()),
                    Some(other) => panic!("{at}: @type {other}"),
                    None => !v.is_number() && !v.is_boolean(),
                };
                assert!(fits, "{at}: {v} does not fit {definition}");
                if definition.get("@type").and_then(Value::as_str) == Some("@json") {
                    continue;
                }
                let mut inner = active.clone();
                if let Some(scoped) = definition.get("@context") {
                    inner.extend(definitions(scoped, &at));
                }
                walk(v, &inner, &at, used);
            }
        }
        _ => {}
    }
}

fn collect_terms(context: &Value, out: &mut BTreeSet<String>) {
    for (term, definition) in context.as_object().unwrap() {
        if term.starts_with('@') || term == "ree" || term == "xsd" {
            continue;
        }
        out.insert(term.clone());
        if let Some(scoped) = definition.get("@context") {
            collect_terms(scoped, out);
        }
    }
}

/// Every term of the demo's deposit credentials is defined by our JSON-LD context (with its
/// datatype), the context redefines no VC 2.0 term, and it defines nothing they leave unused
/// but the operator's terms, which a record with an operator uses.
#[test]
fn the_context_defines_every_term_of_the_demo_credentials() {
    let document: Value = serde_json::from_str(DEPOSITS_CONTEXT).unwrap();
    let context = &document["@context"];
    assert_eq!(context["@version"], json!(1.1));
    assert_eq!(context["ree"], "https://w3id.org/reetrace/vocab#");
    let top = definitions(context, "@context");
    let mut used = BTreeSet::new();
    let mut records: Vec<Value> = SITES.iter().enumerate().map(|(i, s)| s.record(i)).collect();
    let mut operated = records[0].clone();
    operated["operator"] = json!({"name": "Power station", "identifier": {"scheme": "eori", "value": "BG000000000001"}});
    records.push(operated);
    for record in &records {
        let vc = credential(record);
        assert_eq!(
            vc["@context"],
            json!([
                "https://www.w3.org/ns/credentials/v2",
                format!("https://reetrace.example{CONTEXT_PATH}")
            ])
        );
        for t in vc["type"].as_array().unwrap() {
            let t = t.as_str().unwrap();
            assert!(
                t == "VerifiableCredential" || top.contains_key(t),
                "type {t}"
            );
        }
        let subject = &vc["credentialSubject"];
        assert!(top.contains_key(subject["type"].as_str().unwrap()));
        walk(subject, &top, record["name"].as_str().unwrap(), &mut used);
    }
    assert!(used.contains("assays") && used.contains("content") && used.contains("identifier"));
    let mut defined = BTreeSet::new();
    collect_terms(context, &mut defined);
    defined.remove("ResidueDepositCredential");
    defined.remove("ResidueDeposit");
    let unused: Vec<&String> = defined.difference(&used).collect();
    assert!(unused.is_empty(), "defined but never used: {unused:?}");
}
