//! The sensor-data and extension-field parameters of the EPCIS 2.0 REST binding's simple event
//! query, and `orderBy` on an extension field: GS1's `SensorDataExample8` beside events of our
//! own with sensor reports and `rec:` extension fields, one captured under another prefix for
//! the same namespace.

use serde_json::{Value, json};

use crate::api_test;
use crate::epcis::encode;
use crate::epcis_binding_order::pages;
use crate::epcis_binding_query::{answered, exception};
use crate::helpers::TestApp;

const REC: &str = "https://ns.recycler.example/epcis/";

fn document(context: Value, events: Vec<Value>) -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", context],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-09-01T08:00:00Z",
        "epcisBody": {"eventList": events}
    })
}

fn observed(day: u32, extra: Value) -> Value {
    let mut event = json!({
        "type": "ObjectEvent", "action": "OBSERVE", "eventTime": format!("2026-09-{day:02}T10:00:00Z"),
        "eventTimeZoneOffset": "+00:00", "epcList": [format!("urn:epc:id:sgtin:0614141.107346.30{day:02}")],
        "bizStep": "inspecting"
    });
    for (k, v) in extra.as_object().unwrap() {
        event[k] = v.clone();
    }
    event
}

/// GS1's SensorDataExample8 (its AggregationEvent, moved to the 3rd of September).
fn gs1_example() -> Value {
    let text = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/epcis/examples/SensorDataExample8.jsonld"),
    )
    .unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    let event = &mut doc["epcisBody"]["eventList"][0];
    event.as_object_mut().unwrap().remove("eventID");
    event["eventTime"] = json!("2026-09-03T10:00:00.000+01:00");
    doc
}

async fn capture(app: &TestApp, key: &str, doc: &Value) {
    let response = app
        .post("/api/v1/epcis/capture")
        .bearer_auth(key)
        .json(doc)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
}

/// Captured in the order 02, 01, 04, 05, 03 (so that log order is not day order): 01 and 02
/// with temperature reports and a `rec:grade` (2 and 10), 04 with a grade "2" and no sensor,
/// 05 with its grade 5 under the prefix `r2:`, 03 GS1's example (no grade).
async fn captured(app: &TestApp, key: &str) {
    let rec = json!({"rec": REC});
    let sensor = |celsius: f64| {
        json!([{"sensorMetadata": {"time": "2026-09-01T09:00:00Z", "deviceID": "urn:epc:id:giai:4000001.111"},
                "sensorReport": [{"type": "Temperature", "value": celsius, "uom": "CEL"},
                                 {"type": "RelativeHumidity", "value": 40, "uom": "P1"}]}])
    };
    let day2 = observed(
        2,
        json!({"rec:grade": 10, "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 12, "uom": "CEL",
               "deviceID": "urn:epc:id:giai:4000001.222"}]}]}),
    );
    let day1 = observed(
        1,
        json!({"rec:grade": 2, "rec:batch": {"rec:furnace": "F1"}, "sensorElementList": sensor(4.5)}),
    );
    capture(app, key, &document(rec.clone(), vec![day2])).await;
    capture(app, key, &document(rec.clone(), vec![day1])).await;
    capture(
        app,
        key,
        &document(rec, vec![observed(4, json!({"rec:grade": "2"}))]),
    )
    .await;
    capture(
        app,
        key,
        &document(
            json!({"r2": REC}),
            vec![observed(5, json!({"r2:grade": 5}))],
        ),
    )
    .await;
    capture(app, key, &gs1_example()).await;
}

api_test!(
    sensor_and_extension_field_parameters_select_their_events,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Sensor Recycling", "recycler").await;
        captured(&app, &key).await;
        let grade = encode(&format!("{REC}grade"));
        let cases: Vec<(String, Vec<&str>)> = vec![
            (String::new(), vec!["02", "01", "04", "05", "03"]),
            ("EXISTS_sensorElementList".into(), vec!["02", "01", "03"]),
            ("EQ_type=Temperature&GE_value_CEL=10".into(), vec!["02"]),
            // 4.5 °C is 277.65 K and 40.1 °F.
            ("EQ_type=Temperature&LT_value_KEL=280".into(), vec!["01"]),
            ("GE_value_FAH=40".into(), vec!["02", "01"]),
            ("GE_value_FAH=40.2".into(), vec!["02"]),
            // On one report: the humidity of 01 is no temperature.
            ("EQ_type=Temperature&EQ_value_P1=40".into(), vec![]),
            ("EQ_type=RelativeHumidity&EQ_value_P1=40".into(), vec!["01"]),
            (
                format!("EQ_deviceID={}", encode("urn:epc:id:giai:4000001.111")),
                vec!["01", "03"],
            ),
            ("GE_time=2026-09-01T09:00:00Z".into(), vec!["01"]),
            (
                "EQ_type=AmountOfSubstancePerUnitVolume&GT_value_C35=0.1".into(),
                vec!["03"],
            ),
            (
                "GE_minValue_CEL=12.4&LE_maxValue_CEL=13.8&GE_percRank=50".into(),
                vec!["03"],
            ),
            ("EQ_stringValue=someSensorOutput".into(), vec!["03"]),
            (
                "EQ_SENSORREPORT_example:cv=123&EQ_type=Temperature".into(),
                vec!["03"],
            ),
            (
                "EQ_SENSORMETADATA_example:someFurtherMetaData=someText".into(),
                vec!["03"],
            ),
            (
                "EQ_INNER_SENSORELEMENT_example:measure1=123.5".into(),
                vec!["03"],
            ),
            ("EQ_quantity_KGM=52".into(), vec!["03"]),
            (
                "GE_quantity_TNE=0.052&LE_quantity_GRM=52000".into(),
                vec!["03"],
            ),
            // Extension fields: a number, or a string that reads as one.
            ("EQ_rec:grade=2".into(), vec!["01", "04"]),
            ("GT_rec:grade=2".into(), vec!["02"]),
            // By IRI whatever the prefix it was captured with.
            (format!("GT_{grade}=2"), vec!["02", "05"]),
            (format!("EXISTS_{grade}"), vec!["02", "01", "04", "05"]),
            ("EQ_r2:grade=5".into(), vec!["05"]),
            ("EQ_INNER_rec:furnace=F1".into(), vec!["01"]),
            ("EQ_rec:furnace=F1".into(), vec![]),
            ("EXISTS_rec:batch&EQ_type=Temperature".into(), vec!["01"]),
        ];
        for (query, expected) in &cases {
            assert_eq!(&answered(&app, &key, query).await, expected, "{query}");
        }
    }
);

api_test!(
    order_by_an_extension_field_pages_without_gaps,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Grade Recycling", "recycler").await;
        captured(&app, &key).await;
        let grade = encode(&format!("{REC}grade"));
        for (query, expected) in [
            // Equal grades (01: 2, 04: "2") keep the log order; events without a grade come
            // last, in log order, whichever the direction.
            (
                format!("orderBy={grade}&orderDirection=ASC"),
                ["01", "04", "05", "02", "03"],
            ),
            (format!("orderBy={grade}"), ["02", "05", "01", "04", "03"]),
            // `rec:` is not declared by 05 (captured with `r2:`): it lacks `rec:grade`.
            (
                "orderBy=rec:grade&orderDirection=ASC".to_owned(),
                ["01", "04", "02", "05", "03"],
            ),
        ] {
            for per_page in [1, 2, 30] {
                let paged = pages(&app, &key, &format!("{query}&perPage={per_page}")).await;
                assert_eq!(paged.len(), 5usize.div_ceil(per_page), "{query}: {paged:?}");
                assert_eq!(paged.concat(), expected, "{query}&perPage={per_page}");
            }
        }
        // eventCountLimit counts over pages; a filter keeps its matches only.
        assert_eq!(
            pages(
                &app,
                &key,
                &format!("orderBy={grade}&eventCountLimit=3&perPage=2")
            )
            .await,
            [vec!["02", "05"], vec!["01"]]
        );
        assert_eq!(
            pages(
                &app,
                &key,
                &format!("orderBy={grade}&orderDirection=ASC&EXISTS_sensorElementList")
            )
            .await,
            [vec!["01", "02", "03"]]
        );
        // An event recorded between two pages falls in its place: no page skips or repeats.
        let first = app
            .get(&format!(
                "/epcis/2.0/events?orderBy={grade}&orderDirection=ASC&perPage=2"
            ))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        let link = first.headers()["link"].to_str().unwrap().to_owned();
        let next = link[1..link.find('>').unwrap()].to_owned();
        capture(
            &app,
            &key,
            &document(
                json!({"rec": REC}),
                vec![observed(6, json!({"rec:grade": 1}))],
            ),
        )
        .await;
        capture(
            &app,
            &key,
            &document(
                json!({"rec": REC}),
                vec![observed(7, json!({"rec:grade": 7}))],
            ),
        )
        .await;
        let rest: Value = app
            .client
            .get(&next)
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let days: Vec<&str> = rest["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["eventTime"].as_str().unwrap()[8..10])
            .collect();
        // After 01 and 04 (grade 2): 05 (5) and the new 07 (7); the new 06 (grade 1) sorts
        // before the cursor, so no event of the first page comes again.
        assert_eq!(days, ["05", "07"]);
        // The token holds for its own query only.
        let token = next.split("nextPageToken=").nth(1).unwrap();
        let other = app
            .get(&format!(
                "/epcis/2.0/events?orderBy={grade}&orderDirection=DESC&perPage=2&nextPageToken={token}"
            ))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        let body = exception(other).await;
        assert_eq!(body["errors"][0]["pointer"], "nextPageToken");
    }
);

api_test!(
    malformed_sensor_and_field_parameters_are_the_standards_exception,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Strict Sensor Recycling", "recycler").await;
        for (query, param) in [
            ("GE_value_CEL=warm", "GE_value_CEL"),
            ("GE_value_celsius=1", "GE_value_celsius"),
            ("EQ_booleanValue=maybe", "EQ_booleanValue"),
            ("LT_time=noon", "LT_time"),
            ("GT_rec:grade=high", "GT_rec:grade"),
            ("EQ_ILMD_grade=A", "EQ_ILMD_grade"),
            ("EXISTS_rec:grade=yes", "EXISTS_rec:grade"),
            ("LT_quantity_KGM=light", "LT_quantity_KGM"),
            ("orderBy=grade", "orderBy"),
            ("GE_value=3", "GE_value"),
        ] {
            let response = app
                .get(&format!("/epcis/2.0/events?{query}"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            let body = exception(response).await;
            assert_eq!(body["errors"][0]["pointer"], param, "{query}: {body}");
        }
    }
);
