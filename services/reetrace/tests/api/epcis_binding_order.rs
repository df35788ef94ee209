//! The result controls of the EPCIS 2.0 REST binding's simple event query (§8.2.7.1):
//! `orderBy` and `orderDirection` (pages stay in the chosen order), `eventCountLimit` across
//! pages, `maxEventCount` and its `QueryTooLargeException`, the refusals of wrong values and
//! combinations, and page tokens that hold for their own query only.

use serde_json::Value;

use crate::api_test;
use crate::epcis_binding_query::{captured_all, events, exception};
use crate::helpers::TestApp;

/// The four events (event times on the 1st to the 4th), captured one by one in the order
/// 03, 01, 04, 02: log and record order differ from event time order.
async fn captured(app: &TestApp, key: &str) {
    let all = events();
    for i in [2, 0, 3, 1] {
        captured_all(app, key, vec![all[i].clone()]).await;
    }
}

fn days(body: &Value) -> Vec<String> {
    body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventTime"].as_str().unwrap()[8..10].to_owned())
        .collect()
}

/// Every page of `query`, following `Link: rel="next"`; the days of each page.
pub(crate) async fn pages(app: &TestApp, key: &str, query: &str) -> Vec<Vec<String>> {
    let mut next = Some(format!(
        "{}/epcis/2.0/events?{query}",
        app.config.public_base_url.as_deref().unwrap()
    ));
    let mut out = Vec::new();
    while let Some(url) = next {
        let response = app.client.get(&url).bearer_auth(key).send().await.unwrap();
        let status = response.status();
        next = response.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            l[1..l.find('>').unwrap()].to_owned()
        });
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{url}: {body}");
        out.push(days(&body));
        assert!(out.len() < 10, "{query}: endless pages");
    }
    out
}

async fn all(app: &TestApp, key: &str, query: &str) -> Vec<String> {
    pages(app, key, query).await.concat()
}

api_test!(order_by_event_and_record_time, |app: TestApp| async move {
    let (_, key) = app.create_org("Ordering Recycling", "recycler").await;
    captured(&app, &key).await;
    for (query, expected) in [
        ("", ["03", "01", "04", "02"]),
        ("orderBy=eventTime", ["04", "03", "02", "01"]),
        (
            "orderBy=eventTime&orderDirection=DESC",
            ["04", "03", "02", "01"],
        ),
        (
            "orderBy=eventTime&orderDirection=ASC",
            ["01", "02", "03", "04"],
        ),
        (
            "orderBy=recordTime&orderDirection=ASC",
            ["03", "01", "04", "02"],
        ),
        ("orderBy=recordTime", ["02", "04", "01", "03"]),
    ] {
        assert_eq!(all(&app, &key, query).await, expected, "{query}");
        // One event a page: every page starts where the last one ended.
        let sep = if query.is_empty() { "" } else { "&" };
        let paged = pages(&app, &key, &format!("{query}{sep}perPage=1")).await;
        assert_eq!(paged.len(), 4, "{query}: {paged:?}");
        assert_eq!(paged.concat(), expected, "{query}");
    }
    // With a filter: the matches only, in order.
    assert_eq!(
        all(
            &app,
            &key,
            "eventType=ObjectEvent&orderBy=eventTime&orderDirection=ASC"
        )
        .await,
        ["01", "04"]
    );
});

api_test!(
    event_count_limit_counts_over_pages,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Limit Recycling", "recycler").await;
        captured(&app, &key).await;
        assert_eq!(
            pages(&app, &key, "orderBy=eventTime&eventCountLimit=3&perPage=2").await,
            [vec!["04", "03"], vec!["02"]]
        );
        assert_eq!(
            pages(
                &app,
                &key,
                "orderBy=eventTime&orderDirection=ASC&eventCountLimit=2&perPage=2"
            )
            .await,
            [vec!["01", "02"]]
        );
        assert_eq!(
            all(
                &app,
                &key,
                "orderBy=recordTime&orderDirection=ASC&eventCountLimit=1"
            )
            .await,
            ["03"]
        );
        assert_eq!(
            all(&app, &key, "orderBy=eventTime&eventCountLimit=10").await,
            ["04", "03", "02", "01"]
        );
    }
);

api_test!(
    max_event_count_refuses_a_larger_result,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Max Recycling", "recycler").await;
        let (_, bystander) = app.create_org("Max Bystander", "recycler").await;
        captured(&app, &key).await;
        assert_eq!(all(&app, &key, "maxEventCount=4").await.len(), 4);
        assert_eq!(
            all(
                &app,
                &key,
                "maxEventCount=2&eventType=ObjectEvent&orderBy=eventTime"
            )
            .await,
            ["04", "01"]
        );
        // Paged: the result is checked as a whole, every page then follows.
        assert_eq!(
            pages(&app, &key, "maxEventCount=4&perPage=3").await.len(),
            2
        );
        assert!(
            all(&app, &key, "maxEventCount=0&EQ_action=DELETE")
                .await
                .is_empty()
        );
        // Only what the caller may see counts.
        assert!(all(&app, &bystander, "maxEventCount=0").await.is_empty());
        for query in [
            "maxEventCount=3",
            "maxEventCount=0",
            "maxEventCount=1&eventType=ObjectEvent",
        ] {
            let response = app
                .get(&format!("/epcis/2.0/events?{query}"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 413, "{query}");
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["type"], "epcisException:QueryTooLargeException",
                "{body}"
            );
            assert_eq!(body["code"], "query_too_large", "{body}");
            assert_eq!(body["status"], 413);
        }
        // On a resource of the binding too.
        let response = app
            .get("/epcis/2.0/eventTypes/ObjectEvent/events?maxEventCount=1")
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413);
    }
);

api_test!(
    wrong_controls_are_query_parameter_exceptions,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Wrong Recycling", "recycler").await;
        for (query, param) in [
            ("orderBy=bizStep", "orderBy"),
            ("orderBy=eventtime", "orderBy"),
            ("orderBy=", "orderBy"),
            ("orderBy=eventTime&orderBy=recordTime", "orderBy"),
            ("orderBy=eventTime&orderDirection=asc", "orderDirection"),
            ("orderBy=eventTime&orderDirection=UP", "orderDirection"),
            ("orderDirection=ASC", "orderDirection"),
            ("orderBy=eventTime&eventCountLimit=0", "eventCountLimit"),
            ("orderBy=eventTime&eventCountLimit=two", "eventCountLimit"),
            ("eventCountLimit=3", "eventCountLimit"),
            (
                "orderBy=eventTime&eventCountLimit=3&maxEventCount=3",
                "eventCountLimit",
            ),
            (
                "maxEventCount=3&eventCountLimit=3&orderBy=eventTime",
                "eventCountLimit",
            ),
            ("maxEventCount=-1", "maxEventCount"),
            ("maxEventCount=3&maxEventCount=4", "maxEventCount"),
            ("maxEventCount=99999999999", "maxEventCount"),
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

api_test!(
    page_tokens_hold_for_their_query_only,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Token Recycling", "recycler").await;
        captured(&app, &key).await;
        let first = app
            .get("/epcis/2.0/events?orderBy=eventTime&perPage=1")
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
        let token_q: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        // The same query, another page size: the rest, in order.
        let rest = app
            .get(&format!(
                "/epcis/2.0/events?orderBy=eventTime&perPage=10&nextPageToken={token_q}"
            ))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(rest.status(), 200);
        assert_eq!(days(&rest.json().await.unwrap()), ["03", "02", "01"]);
        // Another order, another filter, an altered or foreign token: refused.
        let digit = if token.starts_with('9') { "8" } else { "9" };
        let altered = format!("{digit}{}", &token[1..]);
        let altered: String = url::form_urlencoded::byte_serialize(altered.as_bytes()).collect();
        for query in [
            format!("orderBy=eventTime&orderDirection=ASC&nextPageToken={token_q}"),
            format!("orderBy=recordTime&nextPageToken={token_q}"),
            format!("nextPageToken={token_q}"),
            format!("orderBy=eventTime&eventType=ObjectEvent&nextPageToken={token_q}"),
            format!("orderBy=eventTime&nextPageToken={altered}"),
            "orderBy=eventTime&nextPageToken=2".to_owned(),
            "nextPageToken=2".to_owned(),
        ] {
            let response = app
                .get(&format!("/epcis/2.0/events?{query}"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            let body = exception(response).await;
            assert_eq!(
                body["errors"][0]["pointer"], "nextPageToken",
                "{query}: {body}"
            );
        }
    }
);
