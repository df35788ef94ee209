//! The EPCIS event hash against the CBV 2.0 reference vectors, and its invariances.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use reetrace_custody::epcis::hash::{
    HashError, document_event_hashes, event_hash, event_hash_in, pre_hash_string,
};
use serde_json::{Map, Value, json};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/epcis")
        .join(name)
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

fn lines(name: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(fixture(name)).ok()?;
    Some(
        text.lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// The reference implementation's CBV 2.0 vectors: a document, the expected hashes and,
/// where published, the expected pre-hash strings, one line per event.
const VECTORS: [&str; 8] = [
    "ReferenceEventHashAlgorithm.jsonld",
    "ReferenceEventHashAlgorithm2.jsonld",
    "ReferenceEventHashAlgorithm3.jsonld",
    "TimeStampRoundOff.jsonld",
    "epcisDocWithXMLstartTagAndErrorDeclaration.jsonld",
    "epcisEventWithCURIEs.jsonld",
    "ObjectEvent_all_possible_fields.json",
    "TransformationEvent_all_possible_fields.json",
];

#[test]
fn reference_vectors_reproduce_pre_hash_strings_and_hashes() {
    let mut events_checked = 0;
    for name in VECTORS {
        let stem = name.rsplit_once('.').unwrap().0;
        let document = read_json(&format!("hash/{name}"));
        let events = document["epcisBody"]["eventList"].as_array().unwrap();
        let expected = lines(&format!("hash/{stem}.hashes")).unwrap();
        assert_eq!(events.len(), expected.len(), "{name}");
        if let Some(expected_pre) = lines(&format!("hash/{stem}.prehashes")) {
            for (i, event) in events.iter().enumerate() {
                let pre = pre_hash_string(event, document.get("@context")).unwrap();
                assert_eq!(pre, expected_pre[i], "{name}, event {i}");
            }
        }
        assert_eq!(
            document_event_hashes(&document).unwrap(),
            expected,
            "{name}"
        );
        events_checked += events.len();
    }
    assert_eq!(events_checked, 10);
}

/// The same object with its keys in reverse order, at every depth.
fn reversed(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map.iter().rev() {
                out.insert(k.clone(), reversed(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
        other => other.clone(),
    }
}

#[test]
fn key_order_and_whitespace_do_not_change_the_hash() {
    let document = read_json("hash/TransformationEvent_all_possible_fields.json");
    let expected = document_event_hashes(&document).unwrap();
    // With serde_json's default (sorted) maps a reordering is invisible once parsed; with its
    // `preserve_order` feature (which a dependent build may switch on) it is real. Either way
    // the hash must not change.
    let flipped = reversed(&document);
    assert_eq!(document_event_hashes(&flipped).unwrap(), expected);
    let compact: Value = serde_json::from_str(&serde_json::to_string(&flipped).unwrap()).unwrap();
    let pretty: Value =
        serde_json::from_str(&serde_json::to_string_pretty(&compact).unwrap()).unwrap();
    assert_eq!(document_event_hashes(&pretty).unwrap(), expected);
}

fn object_event() -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                     {"ree": "https://w3id.org/reetrace/vocab#"}],
        "type": "ObjectEvent",
        "eventTime": "2026-11-26T10:15:30.250+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017", "https://example.com/p/7"],
        "action": "OBSERVE",
        "bizStep": "ree:sorting",
        "readPoint": {"id": "https://example.com/sites/1"},
        "ree:holder": "eori:DE1234567890123",
        "ree:measuredMass": 12.5
    })
}

#[test]
fn notation_and_bookkeeping_fields_do_not_change_the_hash() {
    let event = object_event();
    let expected = event_hash(&event).unwrap();
    let mut same = event.clone();
    // Another serialisation of the same facts: list order, time zone, Digital Link for the
    // EPC URN, the full IRI for the CURIE, a number with a trailing zero.
    same["epcList"] = json!([
        "https://example.com/p/7",
        "https://id.gs1.org/01/10614141073464/21/2017"
    ]);
    same["eventTime"] = json!("2026-11-26T09:15:30.25Z");
    same["bizStep"] = json!("https://w3id.org/reetrace/vocab#sorting");
    same["ree:measuredMass"] = json!(12.50);
    // Fields outside the hash.
    same["eventID"] = json!("urn:uuid:5f0b8a5e-2d1c-4a2b-9a57-0c1f1f0d3e11");
    same["recordTime"] = json!("2026-11-26T09:16:00Z");
    same["certificationInfo"] = json!("https://example.com/certificates/1");
    same["errorDeclaration"] =
        json!({"declarationTime": "2026-11-27T00:00:00Z", "reason": "incorrect_data"});
    assert_eq!(event_hash(&same).unwrap(), expected);
}

#[test]
fn the_same_event_as_urns_and_as_digital_links_hashes_the_same() {
    // GS1's Example 9.6.4 comes in an EPC URN and a Digital Link edition of one event.
    let urns = read_json("examples/Example_9.6.4-TransformationEvent.jsonld");
    let links = read_json("examples/Example_9.6.4-TransformationEventWithDigitalLink.jsonld");
    let (urns, links) = (
        document_event_hashes(&urns).unwrap(),
        document_event_hashes(&links).unwrap(),
    );
    assert_eq!(urns, links);
}

#[test]
fn any_change_of_content_changes_the_hash() {
    let event = object_event();
    let original = event_hash(&event).unwrap();
    let changes: [(&str, Value); 6] = [
        ("eventTime", json!("2026-11-26T10:15:30.251+01:00")),
        ("action", json!("ADD")),
        ("bizStep", json!("ree:dismantling")),
        ("readPoint", json!({"id": "https://example.com/sites/2"})),
        ("ree:holder", json!("eori:DE999")),
        ("ree:note", json!("an added extension")),
    ];
    for (field, value) in changes {
        let mut changed = event.clone();
        changed[field] = value;
        assert_ne!(event_hash(&changed).unwrap(), original, "{field}");
    }
    let mut fewer = event.clone();
    fewer.as_object_mut().unwrap().remove("ree:measuredMass");
    assert_ne!(event_hash(&fewer).unwrap(), original);
}

#[test]
fn the_document_context_supplies_prefixes_for_its_events() {
    let mut event = object_event();
    let context = event.as_object_mut().unwrap().remove("@context").unwrap();
    assert_eq!(
        event_hash_in(&event, Some(&context)).unwrap(),
        event_hash(&object_event()).unwrap()
    );
    // A prefix only the document declares changes how an extension key is written.
    event["x:y"] = json!(1);
    let declared = event_hash_in(&event, Some(&json!({"x": "https://x.example/"}))).unwrap();
    assert_ne!(declared, event_hash(&event).unwrap());
    let spelled_out = {
        let mut e = event.clone();
        let v = e.as_object_mut().unwrap().remove("x:y").unwrap();
        e["https://x.example/y"] = v;
        e
    };
    // The full IRI as a key is not split into namespace and name: JSON-LD allows it, but the
    // pre-hash string of the reference implementation only knows prefixed names.
    assert_ne!(declared, event_hash(&spelled_out).unwrap());
}

#[test]
fn unhashable_input_is_refused() {
    assert_eq!(event_hash(&json!([])), Err(HashError::NotAnObject));
    assert_eq!(
        event_hash(&json!({"action": "ADD"})),
        Err(HashError::MissingType)
    );
    let mut bad_time = object_event();
    bad_time["eventTime"] = json!("yesterday");
    assert!(matches!(
        event_hash(&bad_time),
        Err(HashError::BadTimestamp {
            field: "eventTime",
            ..
        })
    ));
    assert_eq!(
        document_event_hashes(&json!({"type": "EPCISDocument"})),
        Err(HashError::NotADocument)
    );
}
