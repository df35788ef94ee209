//! The binding's collections `/bizSteps`, `/dispositions`, `/readPoints`, `/bizLocations` and
//! `/epcs`: the values of the events the caller may read, paged by `Link`, each usable in its
//! collection's `/{value}/events`; wrong parameters are `QueryParameterException`s.

use serde_json::{Value, json};

use crate::api_test;
use crate::epcis::encode;
use crate::epcis_binding_query::{captured_all, events, exception};
use crate::helpers::TestApp;

/// Every value of a collection, following `Link: rel="next"`, and the number of pages.
async fn listed(app: &TestApp, key: &str, path: &str) -> (Vec<String>, usize) {
    let mut next = Some(format!(
        "{}/epcis/2.0/{path}",
        app.config.public_base_url.as_deref().unwrap()
    ));
    let mut values = Vec::new();
    let mut pages = 0;
    while let Some(url) = next {
        let response = app.client.get(&url).bearer_auth(key).send().await.unwrap();
        let status = response.status();
        next = response.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with("; rel=\"next\""), "{l}");
            l[1..l.find('>').unwrap()].to_owned()
        });
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{url}: {body}");
        for v in body.as_array().unwrap() {
            values.push(v.as_str().unwrap().to_owned());
        }
        pages += 1;
        assert!(pages < 20, "{path}: endless pages");
    }
    (values, pages)
}

async fn sorted(app: &TestApp, key: &str, path: &str) -> Vec<String> {
    let (mut values, _) = listed(app, key, path).await;
    values.sort();
    values
}

/// The event times (days) of the events of one collection value.
async fn days_of(app: &TestApp, key: &str, collection: &str, value: &str) -> Vec<String> {
    let path = format!("/epcis/2.0/{collection}/{}/events", encode(value));
    let response = app.get(&path).bearer_auth(key).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let body: Value = response.json().await.unwrap();
    body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventTime"].as_str().unwrap()[8..10].to_owned())
        .collect()
}

fn bystanders_event() -> Value {
    json!({
        "type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-09-09T10:00:00Z",
        "eventTimeZoneOffset": "+00:00", "epcList": ["urn:epc:id:sgtin:0614141.107346.9999"],
        "bizStep": "receiving", "disposition": "active",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.9999"},
        "bizLocation": {"id": "urn:epc:id:sgln:0614141.00999.0"}
    })
}

api_test!(
    collections_list_the_callers_values,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Listing Recycling", "recycler").await;
        let (_, bystander) = app.create_org("Listing Bystander", "recycler").await;
        captured_all(&app, &key, events()).await;
        captured_all(&app, &bystander, vec![bystanders_event()]).await;

        assert_eq!(
            sorted(&app, &key, "bizSteps").await,
            ["commissioning", "inspecting", "packing", "shipping"]
        );
        assert_eq!(sorted(&app, &bystander, "bizSteps").await, ["receiving"]);
        assert_eq!(
            sorted(&app, &key, "dispositions").await,
            ["in_progress", "in_transit"]
        );
        assert_eq!(sorted(&app, &bystander, "dispositions").await, ["active"]);
        assert_eq!(
            sorted(&app, &key, "readPoints").await,
            [
                "urn:epc:id:sgln:0614141.07346.1234",
                "urn:epc:id:sgln:0614141.07346.5678"
            ]
        );
        assert_eq!(
            sorted(&app, &bystander, "readPoints").await,
            ["urn:epc:id:sgln:0614141.07346.9999"]
        );
        let locations = sorted(&app, &key, "bizLocations").await;
        assert_eq!(locations.len(), 1, "{locations:?}");
        assert_eq!(sorted(&app, &bystander, "bizLocations").await.len(), 1);

        // Each value leads to its events.
        for (collection, value, days) in [
            ("bizSteps", "packing", vec!["02"]),
            ("dispositions", "in_transit", vec!["01"]),
            (
                "readPoints",
                "urn:epc:id:sgln:0614141.07346.5678",
                vec!["02"],
            ),
            ("bizLocations", locations[0].as_str(), vec!["01"]),
        ] {
            assert_eq!(
                days_of(&app, &key, collection, value).await,
                days,
                "{value}"
            );
        }
        let epcs = sorted(&app, &key, "epcs").await;
        let mut reached = Vec::new();
        for epc in &epcs {
            let days = days_of(&app, &key, "epcs", epc).await;
            assert!(!days.is_empty(), "{epc} leads to no event");
            reached.extend(days);
        }
        reached.sort();
        reached.dedup();
        assert_eq!(reached, ["01", "02", "03", "04"]);
        let theirs = sorted(&app, &bystander, "epcs").await;
        assert!(!theirs.is_empty());
        assert!(
            theirs.iter().all(|e| !epcs.contains(e)),
            "{theirs:?} {epcs:?}"
        );

        // A regulator reads every event, so every value.
        let (_, regulator) = app.create_org("Listing Agency", "regulator").await;
        assert_eq!(
            sorted(&app, &regulator, "bizSteps").await,
            [
                "commissioning",
                "inspecting",
                "packing",
                "receiving",
                "shipping"
            ]
        );
        let mut everyone = [epcs, theirs].concat();
        everyone.sort();
        assert_eq!(sorted(&app, &regulator, "epcs").await, everyone);
    }
);

api_test!(collections_page_by_link, |app: TestApp| async move {
    let (_, key) = app.create_org("Listing Pages", "recycler").await;
    captured_all(&app, &key, events()).await;
    for collection in ["bizSteps", "dispositions", "readPoints", "epcs"] {
        let (all, pages) = listed(&app, &key, collection).await;
        assert_eq!(pages, 1, "{collection}");
        let (paged, pages) = listed(&app, &key, &format!("{collection}?perPage=1")).await;
        assert_eq!(paged, all, "{collection}");
        assert_eq!(pages, all.len(), "{collection}");
    }
});

api_test!(
    collections_refuse_wrong_parameters,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Listing Strict", "recycler").await;
        captured_all(&app, &key, events()).await;
        let first = app
            .get("/epcis/2.0/epcs?perPage=1")
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        let link = first.headers()["link"].to_str().unwrap().to_owned();
        let url = url::Url::parse(&link[1..link.find('>').unwrap()]).unwrap();
        let token = url
            .query_pairs()
            .find(|(k, _)| k == "nextPageToken")
            .unwrap()
            .1
            .into_owned();
        let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        for (path, param) in [
            ("bizSteps?perPage=0".to_owned(), "perPage"),
            ("dispositions?perPage=1001".to_owned(), "perPage"),
            ("readPoints?perPage=1&perPage=2".to_owned(), "perPage"),
            ("bizLocations?EQ_bizStep=receiving".to_owned(), "EQ_bizStep"),
            ("epcs?nextPageToken=urn%3Aepc".to_owned(), "nextPageToken"),
            ("epcs?nextPageToken=".to_owned(), "nextPageToken"),
            (format!("bizSteps?nextPageToken={token}"), "nextPageToken"),
        ] {
            let response = app
                .get(&format!("/epcis/2.0/{path}"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            let body = exception(response).await;
            assert_eq!(body["errors"][0]["pointer"], param, "{path}: {body}");
        }
        let no_key = app.get("/epcis/2.0/bizSteps").send().await.unwrap();
        assert_eq!(no_key.status(), 401);
    }
);
