//! Phase 1 of capture: envelope and event checks, hashes, classification, the stored form.

use chrono::Utc;
use serde_json::{Value, json};

use super::prepare::{lot_key, merge_contexts, product_key};
use super::*;
use crate::api::error::event_error;
use crate::epcis::{event_hash, validate_event};

const BASE: &str = "https://reetrace.example";

fn bases() -> Vec<String> {
    vec![BASE.to_owned()]
}

fn document(events: Vec<Value>) -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                     {"ree": "https://w3id.org/reetrace/vocab#"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-09-02T08:00:00Z",
        "epcisBody": {"eventList": events}
    })
}

fn checked(document: Value) -> Prepared {
    prepare(document, &[BASE.to_owned()], Utc::now()).unwrap()
}

fn object_event(biz_step: &str, epc: &str) -> Value {
    json!({
        "type": "ObjectEvent",
        "eventTime": "2026-09-02T09:30:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "epcList": [epc],
        "action": "OBSERVE",
        "bizStep": biz_step,
        "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        "recordTime": "2026-09-02T10:00:00Z"
    })
}

#[test]
fn our_steps_are_recognised_in_every_spelling() {
    let epc = "urn:epc:id:sgtin:4012345.000001.EVM-1";
    let body = document(vec![
        object_event("collecting", epc),
        object_event("https://ref.gs1.org/cbv/BizStep-receiving", epc),
        object_event("cbv:BizStep-accepting", epc),
        object_event("ree:sorting", epc),
        object_event("https://w3id.org/reetrace/vocab#exporting", epc),
        object_event("inspecting", epc),
    ]);
    let prepared = checked(body);
    let kinds: Vec<EventKind> = prepared.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Step(Action::Collect),
            EventKind::Step(Action::Receive),
            EventKind::Step(Action::Accept),
            EventKind::Step(Action::Sort),
            EventKind::Step(Action::Export),
            EventKind::Plain,
        ]
    );
    let first = &prepared.events[0];
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(first.biz_step.as_deref(), Some("collecting"));
    assert_eq!(prepared.events[3].biz_step.as_deref(), Some("ree:sorting"));
    // The EPC URN names the product by its canonical SGTIN.
    assert_eq!(
        first.names[0].key,
        Some(SubjectKey::Product(StoreKey::Epc(
            "https://id.gs1.org/01/04012345000016/21/EVM-1".into()
        )))
    );
    assert_eq!(
        first.names[0].indexed,
        "https://id.gs1.org/01/04012345000016/21/EVM-1"
    );
    assert_eq!(first.names[0].pointer, "/epcisBody/eventList/0/epcList/0");
    assert_eq!(
        first.biz_location.as_deref(),
        Some("https://id.gs1.org/414/4012345000016")
    );
}

#[test]
fn each_event_gets_its_hash_and_a_standalone_stored_form() {
    let mut with_id = object_event("collecting", "https://id.gs1.org/01/04012345000016/21/A");
    with_id["eventID"] = json!("urn:uuid:7c1b8c6e-0f3e-4c55-9d1e-2f1f3c1a0b01");
    let body = document(vec![
        object_event("collecting", "https://id.gs1.org/01/04012345000016/21/A"),
        with_id,
    ]);
    let prepared = checked(body);
    let (plain, named) = (&prepared.events[0], &prepared.events[1]);
    assert!(plain.hash.starts_with("ni:///sha-256;") && plain.hash.ends_with("?ver=CBV2.0"));
    assert_eq!(plain.id, plain.hash, "no eventID: the hash is the id");
    assert_eq!(named.id, "urn:uuid:7c1b8c6e-0f3e-4c55-9d1e-2f1f3c1a0b01");
    assert_eq!(
        named.hash, plain.hash,
        "eventID and recordTime are not hashed"
    );
    for e in &prepared.events {
        let stored: Value = serde_json::from_str(&e.document).unwrap();
        validate_event(&stored).unwrap();
        assert!(stored.get("recordTime").is_none(), "the repository sets it");
        assert_eq!(stored["eventID"], json!(e.id));
        assert_eq!(
            event_hash(&stored).unwrap(),
            e.hash,
            "same hash standing alone"
        );
    }
}

#[test]
fn schema_errors_point_into_the_document() {
    let mut bad = object_event("collecting", "https://id.gs1.org/01/04012345000016/21/A");
    bad["action"] = json!("WATCH");
    let bare = object_event("recycling", "https://id.gs1.org/01/04012345000016/21/A");
    let prepared = checked(document(vec![object_event("collecting", "x:y"), bad, bare]));
    assert!(prepared.events[0].errors.is_empty());
    let errors = &prepared.events[1].errors;
    assert!(
        errors
            .iter()
            .any(|e| e.pointer == "/epcisBody/eventList/1/action" && e.index == 1),
        "{errors:?}"
    );
    assert!(errors.iter().all(|e| {
        let wire = event_error(e);
        wire.code == "schema" && wire.status == 422
    }));
    assert!(
        prepared.events[2]
            .errors
            .iter()
            .any(|e| e.pointer == "/epcisBody/eventList/2/bizStep"),
        "a bare word that is no CBV step: {:?}",
        prepared.events[2].errors
    );
}

#[test]
fn our_transformations_are_refused_with_a_pointer() {
    let recycling = json!({
        "type": "TransformationEvent",
        "eventTime": "2026-11-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "inputQuantityList": [{"epcClass": "https://reetrace.example/lots/0193a7f0-0000-7000-8000-000000000001",
                               "quantity": 1.48, "uom": "KGM"}],
        "outputQuantityList": [{"epcClass": "https://id.gs1.org/01/04012345000030/10/OX-1",
                                "quantity": 0.5, "uom": "KGM"}],
        "bizStep": "ree:recycling"
    });
    let prepared = checked(document(vec![recycling]));
    let errors = &prepared.events[0].errors;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].pointer, "/epcisBody/eventList/0/bizStep");
    let wire = event_error(&errors[0]);
    assert_eq!(wire.code, "use_transformations");
    assert!(wire.detail.contains("POST /api/v1/custody/transformations"));
    // Before it was refused, the lots it names were read as keys.
    let prepared = checked(document(vec![json!({
        "type": "AggregationEvent", "eventTime": "2026-11-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00", "action": "ADD",
        "parentID": "urn:epc:id:sscc:4012345.0000000001",
        "childQuantityList": [{"epcClass": "https://reetrace.example/lots/0193a7f0-0000-7000-8000-000000000001"}]
    })]));
    let names = &prepared.events[0].names;
    assert_eq!(prepared.events[0].kind, EventKind::Plain);
    assert!(names.iter().any(|n| n.role == "parent"));
    assert!(names.iter().any(|n| n.key
        == Some(SubjectKey::Lot(StoreKey::Id(
            "0193a7f0-0000-7000-8000-000000000001".parse().unwrap()
        )))));
}

#[test]
fn a_handover_names_its_next_holder() {
    let mut by_term = object_event("departing", "https://id.gs1.org/01/04012345000016/21/A");
    by_term["ree:toHolder"] = json!("eori:DE1234567890123");
    let mut by_destination = object_event("departing", "https://id.gs1.org/01/04012345000016/21/A");
    by_destination["destinationList"] = json!([{"type": "owning_party", "destination": "urn:uuid:00000000-0000-0000-0000-000000000001"},
               {"type": "possessing_party", "destination": "urn:uuid:00000000-0000-0000-0000-000000000002"}]);
    let prepared = checked(document(vec![by_term, by_destination]));
    assert_eq!(
        prepared.events[0].to_holder,
        Some((
            "eori:DE1234567890123".into(),
            "/epcisBody/eventList/0/ree:toHolder".into()
        ))
    );
    assert_eq!(
        prepared.events[1].to_holder,
        Some((
            "urn:uuid:00000000-0000-0000-0000-000000000002".into(),
            "/epcisBody/eventList/1/destinationList/1/destination".into()
        ))
    );
}

#[test]
fn own_uris_name_products_and_lots() {
    let id = "0193a7f0-0000-7000-8000-0000000000aa";
    assert_eq!(
        product_key(&format!("{BASE}/p/{id}"), &bases()),
        Some(StoreKey::Id(id.parse().unwrap()))
    );
    assert_eq!(product_key(&format!("{BASE}/lots/{id}"), &bases()), None);
    assert_eq!(
        lot_key(&format!("{BASE}/lots/{id}"), &bases()),
        Some(StoreKey::Id(id.parse().unwrap()))
    );
    assert_eq!(
        product_key(&format!("https://elsewhere.example/p/{id}"), &bases()),
        None
    );
    // An instance moved away from an old base URL keeps naming what it issued there.
    let moved = vec!["https://new.example".to_owned(), BASE.to_owned()];
    assert_eq!(
        product_key(&format!("{BASE}/p/{id}"), &moved),
        Some(StoreKey::Id(id.parse().unwrap()))
    );
    assert_eq!(
        lot_key(&format!("{BASE}/lots/{id}"), &moved),
        Some(StoreKey::Id(id.parse().unwrap()))
    );
    assert_eq!(
        lot_key("urn:epc:class:lgtin:4012345.000003.OX-1", &bases()),
        Some(StoreKey::Epc(
            "https://id.gs1.org/01/04012345000030/10/OX-1".into()
        ))
    );
}

#[test]
fn contexts_merge_without_repeating() {
    let document =
        json!(["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"ree": "x:"}]);
    let merged = merge_contexts(
        &document,
        json!(["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"ex": "https://ex.example/"}]),
    );
    assert_eq!(merged.as_array().unwrap().len(), 3);
}
