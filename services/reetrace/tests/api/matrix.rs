//! Who sees what, tried (issue 15): a key of each role, and no key, against every route that
//! reads records or figures, for what the confidentiality model says each must and must not
//! see. The expected table is the README's "Who sees what".

use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::TestApp;
use crate::passports::motor;

/// The callers: a name and a key (`None`: no key).
struct Caller {
    name: &'static str,
    key: Option<String>,
}

/// What `caller` got from `path`, as a label the table below compares: the status, and for a
/// 200 what the answer shows.
async fn label(
    app: &TestApp,
    caller: &Caller,
    path: &str,
    classify: fn(&Value) -> &'static str,
) -> String {
    let mut request = app.get(path);
    if let Some(key) = &caller.key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert_ne!(status, 500, "{} on {path}", caller.name);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status == 200 {
        classify(&body).to_owned()
    } else {
        status.to_string()
    }
}

fn passport(body: &Value) -> &'static str {
    if body.get("component_details").is_some_and(|d| !d.is_null()) {
        "detail"
    } else {
        "public"
    }
}

fn placement(_: &Value) -> &'static str {
    "placement"
}

fn lot(body: &Value) -> &'static str {
    // Names only of the organisations shown: the holder's with the chain, the claimants' else.
    let names = body["names"].as_object();
    let named =
        |id: &Value| names.is_some_and(|n| id.as_str().is_some_and(|id| n.contains_key(id)));
    let claimants_only = names.is_some_and(|n| {
        n.keys().all(|id| {
            body["claims"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["org_id"] == id.as_str()))
        })
    });
    match (
        body.get("holder").is_some(),
        body["events"].as_array().map(Vec::len),
    ) {
        (true, Some(n)) if n > 0 && named(&body["holder"]) => "chain",
        (false, Some(0)) if claimants_only => "totals",
        _ => "mixed",
    }
}

fn directory(body: &Value) -> &'static str {
    match body["items"].as_array() {
        Some(items) if !items.is_empty() && items.iter().all(|o| o["name"].is_string()) => "listed",
        _ => "mixed",
    }
}

fn scan(body: &Value) -> &'static str {
    // Names: the holder's with the history; only the manufacturer's with the state alone.
    let names = body["names"].as_object();
    let holder_named = names.is_some_and(|n| {
        body["custody"]["holder"]
            .as_str()
            .is_some_and(|h| n.contains_key(h))
    });
    let maker_only = names.is_some_and(|n| {
        n.len() == 1
            && body["product"]["manufacturer"]
                .as_str()
                .is_some_and(|m| n.contains_key(m))
    });
    match (
        body["custody"].get("holder").is_some(),
        body["events"].as_array().map(Vec::len),
    ) {
        (true, Some(n)) if n > 0 && holder_named => "history",
        (false, Some(0)) if maker_only => "state",
        _ => "mixed",
    }
}

fn epcis(body: &Value) -> &'static str {
    match body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .map(Vec::len)
    {
        Some(0) => "none",
        Some(_) => "events",
        None => "mixed",
    }
}

fn entries(body: &Value) -> &'static str {
    let list = body.as_array().cloned().unwrap_or_default();
    if !list.is_empty()
        && list
            .iter()
            .all(|e| e["redacted"] == false && e["document"].is_string())
    {
        "documents"
    } else if !list.is_empty()
        && list
            .iter()
            .all(|e| e["redacted"] == true && e.get("document").is_none())
    {
        "leaves"
    } else {
        "mixed"
    }
}

fn stock(body: &Value) -> &'static str {
    match (body["scope"].as_str(), body.get("disclosure").is_some()) {
        (Some("published"), true) => "published",
        (Some("all"), false) => "exact",
        (Some("own"), false) => "own",
        _ => "mixed",
    }
}

fn conformity(body: &Value) -> &'static str {
    match (body["rules"].as_array().map(Vec::len), body.get("withheld")) {
        (Some(5), None) => "all rules",
        (Some(3), Some(_)) => "public rules",
        _ => "mixed",
    }
}

fn conformity_summary(body: &Value) -> &'static str {
    match body["totals"].get("coverage") {
        Some(cells) if cells.is_array() => "coverage",
        None if body["totals"]["passports"].is_u64() => "totals",
        _ => "mixed",
    }
}

/// The free-access page of CRMA art. 29(1): the same for everyone, no placement fact.
fn recycled_content(body: &Value) -> &'static str {
    let text = body.to_string();
    let placement = [
        "\"country\"",
        "\"units\"",
        "placed_on_market",
        "marketCountry",
    ];
    match body["items"].as_array().map(Vec::len) {
        Some(1) if !placement.iter().any(|k| text.contains(k)) => "shares",
        _ => "mixed",
    }
}

fn listed(_: &Value) -> &'static str {
    "listed"
}

api_test!(
    every_role_and_no_key_see_only_what_the_model_allows,
    |app: TestApp| async move {
        let (maker_id, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, rival) = app.create_org("Rival Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let (_, bystander) = app.create_org("Elsewhere Recycling", "recycler").await;
        let (_, regulator) = app.create_org("Market Surveillance", "regulator").await;
        let (_, service) = app.create_org("Stock Service", "service").await;
        let id = app.register(&maker, &motor("EVM-MATRIX-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.custody_step(&collector, &id, "collect", "2026-09-02T09:30:00Z")
            .await;
        app.custody_step(&collector, &id, "receive", "2026-09-03T09:30:00Z")
            .await;
        let lot_id = app
            .dismantle(&collector, &id, json!([{"element": "Nd", "mass_g": 330}]))
            .await;

        let callers = [
            Caller {
                name: "no key",
                key: None,
            },
            Caller {
                name: "manufacturer (owner)",
                key: Some(maker.clone()),
            },
            Caller {
                name: "manufacturer (rival)",
                key: Some(rival),
            },
            Caller {
                name: "recycler (holder)",
                key: Some(collector),
            },
            Caller {
                name: "recycler (bystander)",
                key: Some(bystander),
            },
            Caller {
                name: "regulator",
                key: Some(regulator),
            },
            Caller {
                name: "admin",
                key: Some(app.admin_key.clone()),
            },
            Caller {
                name: "service",
                key: Some(service),
            },
        ];
        type Classify = fn(&Value) -> &'static str;
        // Route, how an answer is read, and what each caller (in the order above) must get.
        let table: Vec<(String, Classify, [&str; 8])> = vec![
            (
                format!("/api/v1/passports/{id}"),
                passport,
                [
                    "public", "detail", "public", "detail", "detail", "detail", "detail", "public",
                ],
            ),
            (
                format!("/api/v1/passports/{id}/conformity"),
                conformity,
                [
                    "public rules",
                    "all rules",
                    "public rules",
                    "all rules",
                    "all rules",
                    "all rules",
                    "all rules",
                    "public rules",
                ],
            ),
            (
                format!("/api/v1/conformity?org={maker_id}"),
                conformity_summary,
                [
                    "401", "totals", "403", "403", "403", "coverage", "coverage", "403",
                ],
            ),
            (
                format!("/api/v1/orgs/{maker_id}/recycled-content"),
                recycled_content,
                [
                    "shares", "shares", "shares", "shares", "shares", "shares", "shares", "shares",
                ],
            ),
            (
                format!("/api/v1/passports/{id}/placement"),
                placement,
                [
                    "401",
                    "placement",
                    "403",
                    "403",
                    "403",
                    "placement",
                    "placement",
                    "403",
                ],
            ),
            (
                format!("/api/v1/lots/{lot_id}"),
                lot,
                [
                    "401", "totals", "totals", "chain", "totals", "chain", "chain", "totals",
                ],
            ),
            (
                format!("/lots/{lot_id}"),
                lot,
                [
                    "401", "totals", "totals", "chain", "totals", "chain", "chain", "totals",
                ],
            ),
            (
                "/api/v1/directory/orgs".to_owned(),
                directory,
                [
                    "401", "listed", "listed", "listed", "listed", "listed", "listed", "listed",
                ],
            ),
            (
                format!("/api/v1/custody/{id}"),
                scan,
                [
                    "401", "403", "403", "history", "state", "history", "history", "403",
                ],
            ),
            (
                "/api/v1/epcis/events".to_owned(),
                epcis,
                [
                    "401", "events", "none", "events", "none", "events", "events", "none",
                ],
            ),
            // The EPCIS 2.0 REST binding reads as the v1 query does.
            (
                "/epcis/2.0/events".to_owned(),
                epcis,
                [
                    "401", "events", "none", "events", "none", "events", "events", "none",
                ],
            ),
            (
                "/api/v1/log/entries".to_owned(),
                entries,
                [
                    "401",
                    "documents",
                    "leaves",
                    "documents",
                    "leaves",
                    "documents",
                    "documents",
                    "leaves",
                ],
            ),
            (
                "/api/v1/stock/flows".to_owned(),
                stock,
                [
                    "published",
                    "own",
                    "own",
                    "own",
                    "own",
                    "exact",
                    "exact",
                    "403",
                ],
            ),
            (
                "/api/v1/audit".to_owned(),
                listed,
                ["401", "403", "403", "403", "403", "403", "listed", "403"],
            ),
            (
                "/api/v1/orgs".to_owned(),
                listed,
                ["401", "403", "403", "403", "403", "403", "listed", "403"],
            ),
            (
                format!("/api/v1/orgs/{maker_id}/gs1-prefixes"),
                listed,
                ["401", "listed", "403", "403", "403", "403", "listed", "403"],
            ),
        ];
        let mut wrong = Vec::new();
        for (path, classify, expected) in &table {
            for (caller, want) in callers.iter().zip(expected) {
                let got = label(&app, caller, path, *classify).await;
                if got != *want {
                    wrong.push(format!("{path} as {}: got {got}, want {want}", caller.name));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
);
