//! Validation against the official EPCIS 2.0 JSON Schema, with GS1's example documents.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use reetrace_custody::epcis::schema::{
    EPCIS_JSON_SCHEMA, SchemaError, validate_document, validate_document_event, validate_event,
};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/epcis")
}

fn examples() -> Vec<(String, Value)> {
    let mut docs: Vec<(String, Value)> = std::fs::read_dir(fixtures().join("examples"))
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            (name, serde_json::from_str(&text).unwrap())
        })
        .collect();
    docs.sort_by(|a, b| a.0.cmp(&b.0));
    docs
}

fn example(name: &str) -> Value {
    examples().into_iter().find(|(n, _)| n == name).unwrap().1
}

fn pointers(errors: &[SchemaError]) -> Vec<&str> {
    errors.iter().map(|e| e.pointer.as_str()).collect()
}

#[test]
fn the_embedded_schema_is_the_published_one() {
    let published = std::fs::read_to_string(fixtures().join("EPCIS-JSON-Schema.json")).unwrap();
    assert_eq!(EPCIS_JSON_SCHEMA, published);
}

#[test]
fn every_official_example_validates() {
    let docs = examples();
    assert_eq!(docs.len(), 7);
    for (name, doc) in &docs {
        assert_eq!(validate_document(doc), Ok(()), "{name}");
        for (i, event) in doc["epcisBody"]["eventList"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            assert_eq!(validate_document_event(event), Ok(()), "{name} event {i}");
        }
    }
}

#[test]
fn a_bare_word_business_step_is_refused_and_a_curie_accepted() {
    let mut doc = example("Example_9.6.1-ObjectEvent.jsonld");
    for word in ["recycling", "sorting", "dismantling"] {
        doc["epcisBody"]["eventList"][0]["bizStep"] = json!(word);
        let errors = validate_document(&doc).unwrap_err();
        assert_eq!(
            pointers(&errors),
            ["/epcisBody/eventList/0/bizStep"],
            "{word}"
        );
        assert!(errors[0].message.contains("business step"), "{}", errors[0]);
    }
    for ours in [
        "ree:recycling",
        "ree:sorting",
        "ree:dismantling",
        "https://w3id.org/reetrace/vocab#recycling",
    ] {
        doc["epcisBody"]["eventList"][0]["bizStep"] = json!(ours);
        assert_eq!(validate_document(&doc), Ok(()), "{ours}");
    }
    // A URI in the CBV namespace that CBV does not define is refused too.
    doc["epcisBody"]["eventList"][0]["bizStep"] = json!("https://ns.gs1.org/cbv/BizStep-recycling");
    assert!(validate_document(&doc).is_err());
}

/// Sets the member at `pointer`, creating it if its parent lacks it.
fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    doc.pointer_mut(parent).unwrap()[key] = value;
}

#[test]
fn broken_copies_fail_at_the_right_pointer() {
    let cases: [(&str, &str, Value); 6] = [
        (
            "Example_9.6.1-ObjectEvent.jsonld",
            "/epcisBody/eventList/1/action",
            json!("LOOK"),
        ),
        (
            "Example_9.6.3-AggregationEvent.jsonld",
            "/epcisBody/eventList/0/eventTime",
            json!("2013-06-08T14:58:56"),
        ),
        (
            "Example_9.6.4-TransformationEvent.jsonld",
            "/epcisBody/eventList/0/eventTimeZoneOffset",
            json!("+15:00"),
        ),
        (
            "SensorDataExample8.jsonld",
            "/epcisBody/eventList/0/readPoint/id",
            json!("not a uri"),
        ),
        (
            "ErrorDeclarationAndCorrectiveEvent.jsonld",
            "/epcisBody/eventList/0/errorDeclaration/reason",
            json!("typo"),
        ),
        // An extension field whose name is not a URI or CURIE.
        (
            "AssociationEvent-d.jsonld",
            "/epcisBody/eventList/0/holder",
            json!("eori:DE1"),
        ),
    ];
    for (name, pointer, value) in cases {
        let mut doc = example(name);
        set(&mut doc, pointer, value);
        let errors = validate_document(&doc).unwrap_err();
        assert!(pointers(&errors).contains(&pointer), "{name}: {errors:?}");
    }
}

#[test]
fn missing_required_members_are_named() {
    let mut doc = example("Example_9.6.1-ObjectEvent.jsonld");
    doc.as_object_mut().unwrap().remove("creationDate");
    doc["epcisBody"]["eventList"][0]
        .as_object_mut()
        .unwrap()
        .remove("eventTimeZoneOffset");
    let errors = validate_document(&doc).unwrap_err();
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("/: ") && m.contains("creationDate")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.starts_with("/epcisBody/eventList/0: ") && m.contains("eventTimeZoneOffset")),
        "{messages:?}"
    );
}

#[test]
fn a_standalone_event_needs_its_own_context() {
    let doc = example("Example_9.6.1-ObjectEvent.jsonld");
    let mut event = doc["epcisBody"]["eventList"][0].clone();
    let errors = validate_event(&event).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("@context"), "{}", errors[0]);
    event["@context"] = doc["@context"].clone();
    assert_eq!(validate_event(&event), Ok(()));
}

#[test]
fn documents_and_events_are_not_confused() {
    let doc = example("Example_9.6.1-ObjectEvent.jsonld");
    let mut event = doc["epcisBody"]["eventList"][0].clone();
    event["@context"] = doc["@context"].clone();
    assert_eq!(pointers(&validate_document(&event).unwrap_err()), ["/type"]);
    assert_eq!(pointers(&validate_event(&doc).unwrap_err()), ["/type"]);
}
