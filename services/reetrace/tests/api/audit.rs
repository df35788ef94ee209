//! The audit trail of authority reads: every request made with a regulator's key is recorded
//! (organisation, key, route, path, query, status, time) before it is answered; admins read the
//! trail, paginated and filtered; entries past the retention are pruned.

use chrono::{DateTime, Duration, Utc};
use reetrace_core::db::{Db, PoolOptions, Sql};
use reetrace_core::service::audit::AuditTrail;
use serde_json::Value;

use crate::api_test;
use crate::helpers::{TestApp, assert_problem};
use crate::passports::motor;

/// The public prefix of an API key (`rtk_<prefix>_<secret>`).
fn prefix(key: &str) -> &str {
    key.split('_').nth(1).unwrap()
}

/// Every entry of the trail for `query`, following the cursor `limit` entries at a time.
async fn all_entries(app: &TestApp, query: &str, limit: u32) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/audit?limit={limit}");
        if !query.is_empty() {
            path.push('&');
            path.push_str(query);
        }
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = app.get_json(&path, Some(&app.admin_key)).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        entries.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return entries,
        }
    }
}

/// The routes of `entries`, in order.
fn routes(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["route"].as_str().unwrap())
        .collect()
}

api_test!(
    authority_reads_are_recorded_and_others_are_not,
    |app: TestApp| async move {
        let (owner_org, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let (agency, regulator) = app.create_org("Agency", "regulator").await;
        let id = app.register(&owner, &motor("EVM-1")).await["id"]
            .as_str()
            .unwrap()
            .to_owned();

        app.get_json(
            "/api/v1/stock/flows?element=Nd&group_by=year",
            Some(&regulator),
        )
        .await;
        let passport = app
            .get_json(&format!("/api/v1/passports/{id}"), Some(&regulator))
            .await;
        assert_eq!(passport["tier"], "authority");
        let missing = format!("/api/v1/passports/{}", uuid::Uuid::now_v7());
        let response = app
            .get(&missing)
            .bearer_auth(&regulator)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        // The owner's and the admin's reads are not the trail's business.
        app.get_json(&format!("/api/v1/passports/{id}"), Some(&owner))
            .await;
        app.get_json("/api/v1/stock/flows?element=Nd", Some(&app.admin_key))
            .await;

        let page = app.get_json("/api/v1/audit", Some(&app.admin_key)).await;
        let entries = page["items"].as_array().unwrap();
        assert_eq!(
            routes(entries),
            [
                "/api/v1/passports/{id}",
                "/api/v1/passports/{id}",
                "/api/v1/stock/flows"
            ],
            "newest first: {page}"
        );
        assert!(page.get("next_cursor").is_none());
        let keys = app
            .get_json(
                &format!("/api/v1/orgs/{agency}/api-keys"),
                Some(&app.admin_key),
            )
            .await;
        let key_id = keys[0]["id"].as_str().unwrap();
        for entry in entries {
            assert_eq!(entry["org_id"], agency.as_str());
            assert_eq!(entry["org_name"], "Agency");
            assert_eq!(entry["key_id"], key_id);
            assert_eq!(entry["key_prefix"], prefix(&regulator));
            assert_eq!(entry["method"], "GET");
            let at: DateTime<Utc> = entry["at"].as_str().unwrap().parse().unwrap();
            assert!((Utc::now() - at).num_seconds().abs() < 60, "{entry}");
            assert_ne!(entry["org_id"], owner_org.as_str());
        }
        assert_eq!(entries[0]["path"], missing);
        assert_eq!(entries[0]["status"], 404);
        assert!(entries[0].get("query").is_none());
        assert_eq!(entries[1]["path"], format!("/api/v1/passports/{id}"));
        assert_eq!(entries[1]["status"], 200);
        assert_eq!(entries[2]["path"], "/api/v1/stock/flows");
        assert_eq!(entries[2]["query"], "element=Nd&group_by=year");
        assert_eq!(entries[2]["status"], 200);
        // The key's secret is never written.
        assert!(!page.to_string().contains(&regulator));
    }
);

api_test!(
    queries_sent_as_post_and_head_requests_are_recorded_too,
    |app: TestApp| async move {
        let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
        let (agency, regulator) = app.create_org("Agency", "regulator").await;
        let registered = app.register(&owner, &motor("EVM-2")).await;
        let verified = app
            .post("/credentials/verify")
            .bearer_auth(&regulator)
            .json(&serde_json::json!({"verifiableCredential": registered["credential"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(verified.status(), 200);
        let head = app
            .client
            .head(app.url("/api/v1/stock/flows?element=Dy"))
            .bearer_auth(&regulator)
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200);
        // The same verification without a key is nobody's read.
        let anonymous = app
            .post("/credentials/verify")
            .json(&serde_json::json!({"verifiableCredential": registered["credential"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 200);

        let entries = all_entries(&app, "", 100).await;
        let seen: Vec<(&str, &str, &str)> = entries
            .iter()
            .map(|e| {
                (
                    e["method"].as_str().unwrap(),
                    e["route"].as_str().unwrap(),
                    e["org_id"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("HEAD", "/api/v1/stock/flows", agency.as_str()),
                ("POST", "/credentials/verify", agency.as_str()),
            ]
        );
        assert_eq!(entries[0]["query"], "element=Dy");
    }
);

api_test!(only_admins_read_the_trail, |app: TestApp| async move {
    let (_, regulator) = app.create_org("Agency", "regulator").await;
    let (_, manufacturer) = app.create_org("Acme Motors", "manufacturer").await;
    for key in [&regulator, &manufacturer] {
        let response = app
            .get("/api/v1/audit")
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_problem(response, 403, "forbidden").await;
    }
    let anonymous = app.get("/api/v1/audit").send().await.unwrap();
    assert_problem(anonymous, 401, "unauthorized").await;
    let forged = format!("rtk_{}_AAAA", prefix(&regulator));
    let refused = app
        .get("/api/v1/audit")
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_problem(refused, 401, "unauthorized").await;
    // The regulator's refused attempt is itself on the record.
    let entries = all_entries(&app, "", 100).await;
    assert_eq!(routes(&entries), ["/api/v1/audit"]);
    assert_eq!(entries[0]["status"], 403);
});

api_test!(
    the_trail_is_paginated_and_filtered,
    |app: TestApp| async move {
        let (first_org, first) = app.create_org("Agency", "regulator").await;
        let (second_org, second) = app.create_org("Customs", "regulator").await;
        let created = app
            .post(&format!("/api/v1/orgs/{first_org}/api-keys"))
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        let (spare, spare_id) = (
            created["api_key"].as_str().unwrap().to_owned(),
            created["key_id"].as_str().unwrap().to_owned(),
        );
        for (key, path) in [
            (&first, "/api/v1/stock/flows?element=Nd"),
            (&first, "/api/v1/whoami"),
            (&second, "/api/v1/whoami"),
            (&first, "/api/v1/stock/flows?element=Dy"),
            (&second, "/api/v1/whoami"),
            (&spare, "/api/v1/whoami"),
        ] {
            app.get_json(path, Some(key)).await;
        }

        // Pages of two: every entry once, newest first.
        let entries = all_entries(&app, "", 2).await;
        assert_eq!(entries.len(), 6);
        let ids: Vec<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        sorted.dedup();
        assert_eq!(ids, sorted);
        assert_eq!(entries[0]["key_id"], spare_id.as_str());
        assert_eq!(entries[5]["query"], "element=Nd");

        let of = |query: String| {
            let app = &app;
            async move { all_entries(app, &query, 100).await }
        };
        let firsts = of(format!("org_id={first_org}")).await;
        assert_eq!(firsts.len(), 4);
        assert!(firsts.iter().all(|e| e["org_id"] == first_org.as_str()));
        let spares = of(format!("key_id={spare_id}")).await;
        assert_eq!(routes(&spares), ["/api/v1/whoami"]);
        let by_prefix = of(format!("key_prefix={}", prefix(&first))).await;
        assert_eq!(by_prefix.len(), 3);
        assert!(by_prefix.iter().all(|e| e["key_prefix"] == prefix(&first)));
        let whoami = of("route=/api/v1/whoami".into()).await;
        assert_eq!(whoami.len(), 4);
        let first_flows = of(format!("route=/api/v1/stock/flows&org_id={first_org}")).await;
        assert_eq!(first_flows.len(), 2);
        assert!(
            of(format!("route=/api/v1/stock/flows&org_id={second_org}"))
                .await
                .is_empty()
        );

        // The second regulator's reads, moved back to 2020 behind the app's back.
        let old: DateTime<Utc> = "2020-06-01T00:00:00Z".parse().unwrap();
        app.execute(
            Sql::new("UPDATE audit_trail SET at = $1 WHERE org_id = $2")
                .bind(old)
                .bind(second_org.parse::<uuid::Uuid>().unwrap()),
        )
        .await;
        let recent = of("since=2021-01-01T00:00:00Z".into()).await;
        assert_eq!(recent.len(), 4);
        assert!(recent.iter().all(|e| e["org_id"] == first_org.as_str()));
        let earlier = of("until=2021-01-01T00:00:00%2B00:00".into()).await;
        assert_eq!(earlier.len(), 2);
        assert!(earlier.iter().all(|e| e["org_id"] == second_org.as_str()));
        assert_eq!(earlier[0]["at"], "2020-06-01T00:00:00Z");
        // `since` is inclusive, `until` exclusive.
        let window = "since=2020-06-01T00:00:00Z&until=2020-06-01T00:00:01Z";
        assert_eq!(of(window.into()).await.len(), 2);
        let empty = "since=2020-05-01T00:00:00Z&until=2020-06-01T00:00:00Z";
        assert!(of(empty.into()).await.is_empty());

        for (query, param, code) in [
            ("since=yesterday", "since", "invalid_query"),
            ("until=2021-13-01T00:00:00Z", "until", "invalid_query"),
            (
                "since=2022-01-01T00:00:00Z&until=2021-01-01T00:00:00Z",
                "until",
                "invalid_query",
            ),
            ("org_id=agency", "org_id", "invalid_query"),
            ("key_id=42", "key_id", "invalid_query"),
            ("limit=0", "limit", "invalid_query"),
            ("cursor=page-2", "cursor", "invalid_cursor"),
        ] {
            let response = app
                .get(&format!("/api/v1/audit?{query}"))
                .bearer_auth(&app.admin_key)
                .send()
                .await
                .unwrap();
            let problem = assert_problem(response, 400, code).await;
            assert_eq!(problem["errors"][0]["pointer"], param, "{query}: {problem}");
        }
        let unknown = app
            .get("/api/v1/audit?org=x")
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap();
        assert_problem(unknown, 400, "invalid_query").await;
    }
);

api_test!(
    entries_past_the_retention_are_pruned,
    |app: TestApp| async move {
        assert_eq!(app.config.audit_retention_days, 730);
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        for path in [
            "/api/v1/whoami",
            "/api/v1/stock/flows",
            "/api/v1/stock/indicators",
        ] {
            app.get_json(path, Some(&regulator)).await;
        }
        let now = Utc::now();
        for (route, days) in [("/api/v1/whoami", 731), ("/api/v1/stock/flows", 729)] {
            app.execute(
                Sql::new("UPDATE audit_trail SET at = $1 WHERE route = $2")
                    .bind(now - Duration::days(days))
                    .bind(route),
            )
            .await;
        }
        let db = Db::connect(&app.database_url, &PoolOptions::default())
            .await
            .unwrap();
        let trail = AuditTrail::new(
            reetrace_core::store::audit::open(&db),
            app.config.audit_retention_days,
        );
        assert_eq!(trail.prune(Utc::now()).await.unwrap(), 1);
        assert_eq!(trail.prune(Utc::now()).await.unwrap(), 0);
        db.close().await;
        let kept = all_entries(&app, "", 100).await;
        assert_eq!(
            routes(&kept),
            ["/api/v1/stock/indicators", "/api/v1/stock/flows"]
        );
    }
);

api_test!(
    an_authority_read_that_cannot_be_recorded_is_not_answered,
    |app: TestApp| async move {
        let (_, regulator) = app.create_org("Agency", "regulator").await;
        let (_, manufacturer) = app.create_org("Acme Motors", "manufacturer").await;
        app.execute(Sql::new("DROP TABLE audit_trail")).await;
        let response = app
            .get("/api/v1/stock/flows")
            .bearer_auth(&regulator)
            .send()
            .await
            .unwrap();
        assert_problem(response, 503, "unavailable").await;
        // Callers who are not authorities are served as before.
        app.get_json("/api/v1/whoami", Some(&manufacturer)).await;
    }
);
