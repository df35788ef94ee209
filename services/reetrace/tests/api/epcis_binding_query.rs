//! Queries of the EPCIS 2.0 REST binding: every supported parameter of the simple event query
//! on events that tell them apart, the standard's exception for unsupported and unknown
//! parameters, pagination with `Link`, and visibility as in `/api/v1/epcis/events`.

use serde_json::{Value, json};

use crate::api_test;
use crate::epcis::{document, encode, get_json};
use crate::helpers::{TestApp, assert_problem};

/// The binding's `QueryParameterException`: 400, problem+json of the EPCIS problem type, with
/// our code; returns the body.
pub(crate) async fn exception(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["type"], "epcisException:QueryParameterException",
        "{body}"
    );
    assert_eq!(body["code"], "invalid_query_parameter", "{body}");
    assert_eq!(body["status"], 400);
    body
}

const SGTIN: &str = "urn:epc:id:sgtin:0614141.107346";
const CLASS: &str = "urn:epc:class:lgtin:4012345.012345";

/// Four events of another company's goods (stored as they are) and an error declaration of
/// the first, told apart by their event times.
pub(crate) fn events() -> Vec<Value> {
    vec![
        json!({
            "type": "ObjectEvent", "action": "ADD", "eventTime": "2026-09-01T10:00:00Z",
            "eventTimeZoneOffset": "+00:00", "eventID": "urn:uuid:8a2f3e4c-1d2b-4c5d-9e8f-000000000001",
            "epcList": [format!("{SGTIN}.2017")], "bizStep": "shipping", "disposition": "in_transit",
            "persistentDisposition": {"set": ["completeness_verified"], "unset": ["completeness_inferred"]},
            "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
            "bizLocation": {"id": "urn:epc:id:sgln:0614141.00888.0"},
            "bizTransactionList": [{"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}],
            "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}],
            "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00002"}],
            "quantityList": [{"epcClass": format!("{CLASS}.1"), "quantity": 200, "uom": "KGM"}]
        }),
        json!({
            "type": "AggregationEvent", "action": "ADD", "eventTime": "2026-09-02T10:00:00Z",
            "eventTimeZoneOffset": "+00:00", "parentID": "urn:epc:id:sscc:0614141.1234567890",
            "childEPCs": [format!("{SGTIN}.2018")], "bizStep": "packing", "disposition": "in_progress",
            "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.5678"},
            "childQuantityList": [{"epcClass": format!("{CLASS}.2"), "quantity": 10}]
        }),
        json!({
            "type": "TransformationEvent", "eventTime": "2026-09-03T10:00:00Z",
            "eventTimeZoneOffset": "+00:00", "transformationID": "urn:epc:id:gdti:0614141.12345.400",
            "inputEPCList": [format!("{SGTIN}.2019")], "outputEPCList": [format!("{SGTIN}.2020")],
            "inputQuantityList": [{"epcClass": format!("{CLASS}.3"), "quantity": 5}],
            "outputQuantityList": [{"epcClass": format!("{CLASS}.4"), "quantity": 4}],
            "bizStep": "commissioning"
        }),
        json!({
            "type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-09-04T10:00:00Z",
            "eventTimeZoneOffset": "+00:00", "epcList": [format!("{SGTIN}.2021")],
            "bizStep": "inspecting"
        }),
    ]
}

/// The events answered, by event time (`!` marks an error declaration).
pub(crate) async fn answered(app: &TestApp, key: &str, query: &str) -> Vec<String> {
    let body = get_json(app, key, &format!("/epcis/2.0/events?{query}")).await;
    assert_eq!(body["type"], "EPCISQueryDocument", "{body}");
    body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let day = &e["eventTime"].as_str().unwrap()[8..10];
            if e.get("errorDeclaration").is_some() {
                format!("{day}!")
            } else {
                day.to_owned()
            }
        })
        .collect()
}

pub(crate) async fn captured_all(app: &TestApp, key: &str, events: Vec<Value>) {
    let response = app
        .post("/api/v1/epcis/capture")
        .bearer_auth(key)
        .json(&document(events))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
}

api_test!(
    every_supported_query_parameter_selects_its_events,
    |app: TestApp| async move {
        let (_, recorder) = app.create_org("Query Recycling", "recycler").await;
        let (_, bystander) = app.create_org("Bystander Recycling", "recycler").await;
        captured_all(&app, &recorder, events()).await;
        let mut declaration = events()[0].clone();
        declaration["errorDeclaration"] = json!({"declarationTime": "2026-09-05T08:00:00Z",
            "reason": "incorrect_data", "correctiveEventIDs": ["urn:uuid:8a2f3e4c-1d2b-4c5d-9e8f-0000000000c1"]});
        captured_all(&app, &recorder, vec![declaration]).await;

        let cases: Vec<(String, Vec<&str>)> = vec![
            (String::new(), vec!["01", "02", "03", "04", "01!"]),
            ("eventType=AggregationEvent|TransformationEvent".into(), vec!["02", "03"]),
            ("GE_eventTime=2026-09-02T00:00:00Z&LT_eventTime=2026-09-04T00:00:00Z".into(), vec!["02", "03"]),
            ("GE_recordTime=2020-01-01T00:00:00Z&LT_recordTime=2100-01-01T00:00:00Z&eventType=TransformationEvent".into(), vec!["03"]),
            ("LT_recordTime=2020-01-01T00:00:00Z".into(), vec![]),
            ("EQ_action=OBSERVE".into(), vec!["04"]),
            ("EQ_bizStep=packing".into(), vec!["02"]),
            ("EQ_disposition=in_progress".into(), vec!["02"]),
            ("EQ_persistentDisposition_set=completeness_verified".into(), vec!["01", "01!"]),
            ("EQ_persistentDisposition_unset=completeness_inferred&EQ_action=ADD".into(), vec!["01", "01!"]),
            (format!("EQ_readPoint={}", encode("urn:epc:id:sgln:0614141.07346.5678")), vec!["02"]),
            (format!("EQ_bizLocation={}", encode("urn:epc:id:sgln:0614141.00888.0")), vec!["01", "01!"]),
            (format!("EQ_transformationID={}", encode("urn:epc:id:gdti:0614141.12345.400")), vec!["03"]),
            (format!("MATCH_epc={}", encode(&format!("{SGTIN}.2018"))), vec!["02"]),
            (format!("MATCH_epc={}", encode(&format!("{SGTIN}.2019"))), vec![]),
            (format!("MATCH_parentID={}", encode("urn:epc:id:sscc:0614141.1234567890")), vec!["02"]),
            (format!("MATCH_inputEPC={}", encode(&format!("{SGTIN}.2019"))), vec!["03"]),
            (format!("MATCH_outputEPC={}", encode(&format!("{SGTIN}.2020"))), vec!["03"]),
            (format!("MATCH_anyEPC={}", encode(&format!("{SGTIN}.2020"))), vec!["03"]),
            (format!("MATCH_anyEPC={}", encode("urn:epc:idpat:sgtin:0614141.107346.*")), vec!["01", "02", "03", "04", "01!"]),
            (format!("MATCH_epcClass={}", encode(&format!("{CLASS}.2"))), vec!["02"]),
            (format!("MATCH_epcClass={}", encode(&format!("{CLASS}.3"))), vec![]),
            (format!("MATCH_inputEPCClass={}", encode(&format!("{CLASS}.3"))), vec!["03"]),
            (format!("MATCH_outputEPCClass={}", encode(&format!("{CLASS}.4"))), vec!["03"]),
            (format!("MATCH_anyEPCClass={}", encode(&format!("{CLASS}.4"))), vec!["03"]),
            ("EQ_quantity=10".into(), vec!["02"]),
            ("GT_quantity=10&EQ_action=ADD".into(), vec!["01", "01!"]),
            ("GE_quantity=10&LE_quantity=10".into(), vec!["02"]),
            ("LT_quantity=5".into(), vec!["03"]),
            (format!("EQ_eventID={}", encode("urn:uuid:8a2f3e4c-1d2b-4c5d-9e8f-000000000001")), vec!["01", "01!"]),
            ("EXISTS_errorDeclaration".into(), vec!["01!"]),
            ("GE_errorDeclarationTime=2026-09-05T00:00:00Z&LT_errorDeclarationTime=2026-09-06T00:00:00Z".into(), vec!["01!"]),
            ("EQ_errorReason=incorrect_data".into(), vec!["01!"]),
            ("EQ_errorReason=did_not_occur".into(), vec![]),
            (format!("EQ_correctiveEventID={}", encode("urn:uuid:8a2f3e4c-1d2b-4c5d-9e8f-0000000000c1")), vec!["01!"]),
            (format!("EQ_bizTransaction_po={}", encode("http://transaction.acme.com/po/12345678")), vec!["01", "01!"]),
            (format!("EQ_bizTransaction_inv={}", encode("http://transaction.acme.com/po/12345678")), vec![]),
            (format!("EQ_source_owning_party={}", encode("urn:epc:id:pgln:0614141.00001")), vec!["01", "01!"]),
            (format!("EQ_destination_owning_party={}", encode("urn:epc:id:pgln:0614141.00002")), vec!["01", "01!"]),
            (format!("EQ_destination_owning_party={}", encode("urn:epc:id:pgln:0614141.00001")), vec![]),
        ];
        for (query, expected) in &cases {
            assert_eq!(&answered(&app, &recorder, query).await, expected, "{query}");
        }
        // Only those involved read events: a bystander sees none of them.
        assert!(answered(&app, &bystander, "").await.is_empty());

        // The path forms.
        for (path, expected) in [
            ("bizSteps/packing", vec!["02"]),
            ("dispositions/in_transit", vec!["01", "01!"]),
            (
                &*format!(
                    "readPoints/{}",
                    encode("urn:epc:id:sgln:0614141.07346.5678")
                ),
                vec!["02"],
            ),
            (
                &*format!("bizLocations/{}", encode("urn:epc:id:sgln:0614141.00888.0")),
                vec!["01", "01!"],
            ),
        ] {
            let body = get_json(&app, &recorder, &format!("/epcis/2.0/{path}/events")).await;
            let days: Vec<String> = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let day = e["eventTime"].as_str().unwrap()[8..10].to_owned();
                    if e.get("errorDeclaration").is_some() {
                        format!("{day}!")
                    } else {
                        day
                    }
                })
                .collect();
            assert_eq!(days, expected, "{path}");
        }
        let types = get_json(&app, &recorder, "/epcis/2.0/eventTypes").await;
        assert_eq!(types.as_array().unwrap().len(), 5);
        let of_type = get_json(
            &app,
            &recorder,
            "/epcis/2.0/eventTypes/AggregationEvent/events",
        )
        .await;
        assert_eq!(
            of_type["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["type"],
            "AggregationEvent"
        );
        assert_eq!(
            of_type["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let no_type = app
            .get("/epcis/2.0/eventTypes/SensorEvent/events")
            .bearer_auth(&recorder)
            .send()
            .await
            .unwrap();
        assert_problem(no_type, 404, "not_found").await;
        let of_epc = get_json(
            &app,
            &recorder,
            &format!(
                "/epcis/2.0/epcs/{}/events",
                encode(&format!("{SGTIN}.2021"))
            ),
        )
        .await;
        assert_eq!(
            of_epc["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["action"],
            "OBSERVE"
        );
    }
);

api_test!(
    unsupported_parameters_are_the_standards_exception,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Strict Recycling", "recycler").await;
        for query in [
            "WD_readPoint=urn:epc:id:sgln:0614141.07346.1234",
            "WD_bizLocation=urn:epc:id:sgln:0614141.07346.1234",
            "HASATTR_bizLocation=x",
            "EQATTR_readPoint_name=x",
            "orderBy=bizStep",
            "eventCountLimit=3",
            "maxEventCount=-1",
            "EQ_sensorMetadata_time=2026-01-01T00:00:00Z",
            "GE_value=3",
            "EQ_somethingElse=1",
            "eventType=SensorEvent",
            "GE_quantity=many",
            "EQ_bizTransaction_=x",
        ] {
            let response = app
                .get(&format!("/epcis/2.0/events?{query}"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            let body = exception(response).await;
            let name = query.split('=').next().unwrap();
            assert!(
                body["errors"][0]["pointer"]
                    .as_str()
                    .unwrap()
                    .starts_with(&name[..name.len().min(8)]),
                "{query}: {body}"
            );
        }
        let body = exception(
            app.get("/epcis/2.0/events?WD_readPoint=x")
                .bearer_auth(&key)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(
            body["detail"].as_str().unwrap().contains("not supported"),
            "{body}"
        );
        // Today's route keeps its own parameters.
        let v1 = app
            .get("/api/v1/epcis/events?eventType=ObjectEvent")
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_problem(v1, 400, "invalid_query_parameter").await;
    }
);

api_test!(pages_follow_the_link_header, |app: TestApp| async move {
    let (_, key) = app.create_org("Paging Recycling", "recycler").await;
    captured_all(&app, &key, events()).await;
    let mut seen = Vec::new();
    let mut next = Some(format!(
        "{}/epcis/2.0/events?eventType=ObjectEvent|AggregationEvent|TransformationEvent&perPage=2",
        app.config.public_base_url.as_deref().unwrap()
    ));
    let mut pages = 0;
    while let Some(url) = next {
        let response = app.client.get(&url).bearer_auth(&key).send().await.unwrap();
        assert_eq!(response.status(), 200);
        next = response.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with("; rel=\"next\""), "{l}");
            assert!(l.contains("/epcis/2.0/events?"), "{l}");
            l[1..l.find('>').unwrap()].to_owned()
        });
        let body: Value = response.json().await.unwrap();
        for e in body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
        {
            seen.push(e["eventTime"].as_str().unwrap()[8..10].to_owned());
        }
        pages += 1;
    }
    assert_eq!(seen, ["01", "02", "03", "04"]);
    assert_eq!(pages, 2);
    let bad = app
        .get("/epcis/2.0/events?nextPageToken=nope")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let body = exception(bad).await;
    assert_eq!(body["errors"][0]["pointer"], "nextPageToken");
});

api_test!(
    an_overlong_path_segment_is_the_standards_exception,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Long Recycling", "recycler").await;
        let long = "0".repeat(2049);
        for (resource, parameter) in [
            ("epcs", "MATCH_anyEPC"),
            ("bizSteps", "EQ_bizStep"),
            ("dispositions", "EQ_disposition"),
            ("readPoints", "EQ_readPoint"),
            ("bizLocations", "EQ_bizLocation"),
        ] {
            let response = app
                .get(&format!("/epcis/2.0/{resource}/{long}/events"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            let body = exception(response).await;
            assert_eq!(body["errors"][0]["pointer"], parameter, "{body}");
        }
        // At the bound, an ordinary (empty) answer.
        let at_bound = app
            .get(&format!("/epcis/2.0/epcs/{}/events", "0".repeat(2048)))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(at_bound.status(), 200);
    }
);
