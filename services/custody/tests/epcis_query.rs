//! Query parameters of `GET /api/v1/epcis/events`, the match of an event, and the response
//! document.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use reetrace_custody::epcis::query::{
    DEFAULT_PER_PAGE, EpcisAction, EventQuery, QueryError, query_document,
};
use reetrace_custody::epcis::schema::validate_document;
use serde_json::{Value, json};

fn q(query: &str) -> EventQuery {
    EventQuery::from_query_string(query).unwrap()
}

fn err(query: &str) -> QueryError {
    EventQuery::from_query_string(query).unwrap_err()
}

/// GS1's Example 9.6.1 receiving event, written the way another system might: EPC URNs,
/// a bare CBV business step.
fn receiving_event() -> Value {
    let text = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/epcis/examples/Example_9.6.1-ObjectEvent.jsonld"),
    )
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["epcisBody"]["eventList"][1].clone()
}

fn dismantling_event() -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                     {"ree": "https://w3id.org/reetrace/vocab#"}],
        "type": "TransformationEvent",
        "eventTime": "2026-11-26T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "inputEPCList": ["https://id.gs1.org/01/09506000134352/21/MOTOR-17"],
        "outputQuantityList": [{"epcClass": "https://id.gs1.org/01/09506000134369/10/NDFEB-0042", "quantity": 1.875, "uom": "KGM"}],
        "bizStep": "ree:dismantling",
        "bizLocation": {"id": "https://reetrace.example/sites/3"}
    })
}

#[test]
fn parameters_parse_into_the_filter() {
    let query = q(
        "EQ_bizStep=receiving%7Cree%3Asorting&EQ_bizStep=urn:epcglobal:cbv:bizstep:shipping\
        &MATCH_anyEPC=urn:epc:id:sgtin:0614141.107346.2018&MATCH_epcClass=urn:epc:idpat:sgtin:9506000.013436.*\
        &GE_eventTime=2005-04-01T00:00:00Z&LT_eventTime=2005-05-01T00:00:00%2B02:00\
        &EQ_bizLocation=urn:epc:id:sgln:0012345.11111.0&EQ_action=OBSERVE|ADD&perPage=50&nextPageToken=abc",
    );
    assert_eq!(
        query.biz_steps,
        [
            "https://ref.gs1.org/cbv/BizStep-receiving",
            "https://w3id.org/reetrace/vocab#sorting",
            "https://ref.gs1.org/cbv/BizStep-shipping"
        ]
    );
    assert_eq!(
        query.any_epc[0].canonical,
        "https://id.gs1.org/01/10614141073464/21/2018"
    );
    assert!(!query.any_epc[0].pattern);
    assert_eq!(
        query.epc_class[0].canonical,
        "https://id.gs1.org/01/09506000134369"
    );
    assert!(query.epc_class[0].pattern);
    assert_eq!(
        query.event_time_from.unwrap(),
        Utc.with_ymd_and_hms(2005, 4, 1, 0, 0, 0).unwrap()
    );
    assert_eq!(
        query.event_time_until.unwrap(),
        Utc.with_ymd_and_hms(2005, 4, 30, 22, 0, 0).unwrap()
    );
    assert_eq!(
        query.biz_locations,
        ["https://id.gs1.org/414/0012345111112"]
    );
    assert_eq!(query.actions, [EpcisAction::Observe, EpcisAction::Add]);
    assert_eq!(query.per_page, 50);
    assert_eq!(query.next_page_token.as_deref(), Some("abc"));
    // A `+` left unencoded reads as a space; the offset is still understood.
    let plus = q("GE_eventTime=2005-05-01T00:00:00+02:00");
    assert_eq!(
        plus.event_time_from.unwrap(),
        Utc.with_ymd_and_hms(2005, 4, 30, 22, 0, 0).unwrap()
    );
    let empty = q("");
    assert_eq!(empty.per_page, DEFAULT_PER_PAGE);
    assert!(empty.biz_steps.is_empty() && empty.next_page_token.is_none());
}

#[test]
fn bad_parameters_are_named() {
    let cases = [
        (
            "EQ_bizStepp=receiving",
            "unknown query parameter \"EQ_bizStepp\"",
        ),
        (
            "EQ_action=LOOK",
            "query parameter EQ_action: expected ADD, OBSERVE or DELETE (got \"LOOK\")",
        ),
        (
            "GE_eventTime=yesterday",
            "query parameter GE_eventTime: expected an RFC 3339 date-time with a time zone (got \"yesterday\")",
        ),
        (
            "LT_eventTime=2026-01-01T00:00:00",
            "query parameter LT_eventTime: expected an RFC 3339 date-time with a time zone (got \"2026-01-01T00:00:00\")",
        ),
        (
            "perPage=0",
            "query parameter perPage: expected a whole number from 1 to 1000 (got \"0\")",
        ),
        (
            "perPage=1001",
            "query parameter perPage: expected a whole number from 1 to 1000 (got \"1001\")",
        ),
        (
            "perPage=ten",
            "query parameter perPage: expected a whole number from 1 to 1000 (got \"ten\")",
        ),
        (
            "perPage=5&perPage=6",
            "query parameter perPage is given more than once",
        ),
        (
            "GE_eventTime=2026-01-01T00:00:00Z&GE_eventTime=2026-01-02T00:00:00Z",
            "query parameter GE_eventTime is given more than once",
        ),
        (
            "nextPageToken=",
            "query parameter nextPageToken: must not be empty (got \"\")",
        ),
        (
            "EQ_bizStep=receiving||shipping",
            "query parameter EQ_bizStep: empty value (got \"receiving||shipping\")",
        ),
        (
            "MATCH_anyEPC=",
            "query parameter MATCH_anyEPC: empty value (got \"\")",
        ),
    ];
    for (query, message) in cases {
        assert_eq!(err(query).to_string(), message, "{query}");
    }
}

#[test]
fn events_match_in_any_notation() {
    let event = receiving_event();
    for query in [
        "",
        "EQ_bizStep=receiving",
        "EQ_bizStep=https://ref.gs1.org/cbv/BizStep-receiving",
        "EQ_bizStep=shipping|urn:epcglobal:cbv:bizstep:receiving",
        "MATCH_anyEPC=https://id.gs1.org/01/10614141073464/21/2018",
        "MATCH_anyEPC=urn:epc:idpat:sgtin:0614141.107346.*",
        "EQ_bizLocation=https://id.gs1.org/414/0012345111112",
        "EQ_action=OBSERVE",
        "GE_eventTime=2005-04-04T20:33:31.116-06:00&LT_eventTime=2005-04-04T20:33:31.117-06:00",
        "EQ_bizStep=receiving&EQ_action=ADD|OBSERVE&MATCH_anyEPC=urn:epc:id:sgtin:0614141.107346.2018",
    ] {
        assert!(q(query).matches(&event), "{query}");
    }
    for query in [
        "EQ_bizStep=shipping",
        "MATCH_anyEPC=urn:epc:id:sgtin:0614141.107346.2017",
        "MATCH_anyEPC=urn:epc:idpat:sgtin:0614141.107347.*",
        "MATCH_epcClass=urn:epc:idpat:sgtin:0614141.107346.*",
        "EQ_bizLocation=urn:epc:id:sgln:0012345.11111.400",
        "EQ_action=ADD",
        "GE_eventTime=2005-04-04T20:33:31.117-06:00",
        "LT_eventTime=2005-04-04T20:33:31.116-06:00",
        // All parameters must hold.
        "EQ_bizStep=receiving&EQ_action=DELETE",
    ] {
        assert!(!q(query).matches(&event), "{query}");
    }
}

#[test]
fn our_events_match_by_curie_class_and_input() {
    let event = dismantling_event();
    for query in [
        "EQ_bizStep=ree:dismantling",
        "EQ_bizStep=https://w3id.org/reetrace/vocab%23dismantling",
        "MATCH_epcClass=https://id.gs1.org/01/09506000134369/10/NDFEB-0042",
        "MATCH_epcClass=urn:epc:class:lgtin:9506000.013436.NDFEB-0042",
        "MATCH_epcClass=urn:epc:idpat:sgtin:9506000.013436.*",
        "MATCH_anyEPC=urn:epc:id:sgtin:9506000.013435.MOTOR-17",
        "EQ_bizLocation=https://reetrace.example/sites/3",
    ] {
        assert!(q(query).matches(&event), "{query}");
    }
    for query in [
        "EQ_bizStep=ree:recycling",
        "EQ_bizStep=dismantling",
        "MATCH_epcClass=https://id.gs1.org/01/09506000134369/10/NDFEB-0043",
        // A transformation has no action: an action filter excludes it.
        "EQ_action=OBSERVE",
    ] {
        assert!(!q(query).matches(&event), "{query}");
    }
}

#[test]
fn the_response_is_a_valid_query_document() {
    let created: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
    let document = query_document(vec![receiving_event(), dismantling_event()], created);
    assert_eq!(validate_document(&document), Ok(()));
    assert_eq!(document["type"], "EPCISQueryDocument");
    assert_eq!(document["creationDate"], "2026-11-26T12:00:00.000Z");
    let results = &document["epcisBody"]["queryResults"];
    assert_eq!(results["queryName"], "SimpleEventQuery");
    assert_eq!(
        results["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let empty = query_document(Vec::new(), created);
    assert_eq!(validate_document(&empty), Ok(()));
}
