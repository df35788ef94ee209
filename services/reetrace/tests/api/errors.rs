//! Every error is problem+json: axum's own rejections included.

use serde_json::json;

use crate::api_test;
use crate::helpers::{TestApp, assert_problem, spawn_app_with};
use reetrace_core::api::auth::RateLimit;
use reetrace_core::db::Backend;

api_test!(
    unknown_routes_and_methods_are_problems,
    |app: TestApp| async move {
        let missing = app.get("/api/v1/nothing-here").send().await.unwrap();
        assert_problem(missing, 404, "not_found").await;
        let wrong_method = app
            .client
            .patch(app.url("/api/v1/whoami"))
            .send()
            .await
            .unwrap();
        assert!(wrong_method.headers().contains_key("allow"));
        assert_problem(wrong_method, 405, "method_not_allowed").await;
    }
);

api_test!(malformed_bodies_are_problems, |app: TestApp| async move {
    let malformed = app
        .post("/api/v1/orgs")
        .bearer_auth(&app.admin_key)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_problem(malformed, 400, "malformed_json").await;
    let wrong_type = app
        .post("/api/v1/orgs")
        .bearer_auth(&app.admin_key)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_problem(wrong_type, 415, "unsupported_media_type").await;
    let nul = app
        .post("/api/v1/orgs")
        .bearer_auth(&app.admin_key)
        .json(&json!({"name": "A\u{0}B", "role": "recycler"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(nul, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["pointer"], "/name");
});

api_test!(responses_carry_a_request_id, |app: TestApp| async move {
    let response = app.get("/healthz").send().await.unwrap();
    let id = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let echoed = app
        .get("/healthz")
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
});

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.body_limit_bytes = 1024)
        .await
        .unwrap();
    let big = "x".repeat(4096);
    let response = app
        .post("/api/v1/orgs")
        .bearer_auth(&app.admin_key)
        .json(&json!({"name": big, "role": "recycler"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "body_too_large").await;
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.rate_limit = RateLimit {
            per_second: 1,
            burst: 3,
        }
    })
    .await
    .unwrap();
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            app.get("/api/v1/whoami")
                .bearer_auth(&app.admin_key)
                .send()
                .await
                .unwrap(),
        );
    }
    let response = last.unwrap();
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 429, "rate_limited").await;
}

#[tokio::test]
async fn the_rate_limit_holds_for_an_organisation_across_all_its_keys() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.rate_limit = RateLimit {
            per_second: 1,
            burst: 10,
        }
    })
    .await
    .unwrap();
    let (org_id, first_key) = app.create_org("Many Keys Ltd", "manufacturer").await;
    // The admin mints the keys (its own budget is separate).
    let mut keys = vec![first_key];
    for _ in 0..4 {
        let created: serde_json::Value = app
            .post(&format!("/api/v1/orgs/{org_id}/api-keys"))
            .bearer_auth(&app.admin_key)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        keys.push(created["api_key"].as_str().unwrap().to_owned());
    }
    let mut answered = 0;
    let mut limited = 0;
    for i in 0..40 {
        let response = app
            .get("/api/v1/whoami")
            .bearer_auth(&keys[i % keys.len()])
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            200 => answered += 1,
            429 => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    // Five keys buy no more than one: the burst of 10 and about one a second.
    assert!(answered <= 15, "{answered} of 40 answered");
    assert!(limited >= 25, "{limited} of 40 limited");
}

#[tokio::test]
async fn requests_without_a_key_are_limited_per_client_address() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.address_rate_limit = RateLimit {
            per_second: 1,
            burst: 5,
        }
    })
    .await
    .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let response = app
            .post("/api/v1/credentials/verify")
            .json(&serde_json::json!({"verifiableCredential": {}}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let last = app
        .post("/api/v1/credentials/verify")
        .json(&serde_json::json!({"verifiableCredential": {}}))
        .send()
        .await
        .unwrap();
    assert!(last.headers().contains_key("retry-after"));
    assert_problem(last, 429, "rate_limited").await;
    // Health checks are not limited.
    for _ in 0..20 {
        assert_eq!(app.get("/healthz").send().await.unwrap().status(), 200);
    }
    // A caller with a key has its organisation's budget, not the address's.
    let response = app
        .get("/api/v1/whoami")
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn guessing_keys_is_limited_per_client_address() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.failed_auth_rate_limit = RateLimit {
            per_second: 1,
            burst: 5,
        }
    })
    .await
    .unwrap();
    let mut statuses = Vec::new();
    for i in 0..12 {
        let response = app
            .get("/api/v1/whoami")
            .bearer_auth(format!("rtk_abcdefghij_guess{i}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
}

api_test!(
    a_mass_with_more_digits_than_kept_is_refused_not_rounded,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Digits GmbH", "manufacturer").await;
        let body = serde_json::to_string(&crate::passports::motor("DIGITS-1"))
            .unwrap()
            .replacen(
                "\"mass_g\":1500",
                &format!("\"mass_g\":1.{}1", "0".repeat(5_000)),
                1,
            );
        assert!(body.len() > 5_000, "the motor has a component of 1500 g");
        let response = app
            .post("/api/v1/passports")
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(
            problem["errors"][0]["pointer"],
            "/ree_content/components/0/mass_g"
        );
    }
);

api_test!(
    a_body_with_a_key_twice_is_refused_naming_it,
    |app: TestApp| async move {
        let (_, key) = app.create_org("Twice GmbH", "manufacturer").await;
        let body = serde_json::to_string(&crate::passports::motor("TWICE-1"))
            .unwrap()
            .replacen(
                "\"granularity\":\"item\"",
                "\"granularity\":\"item\",\"granularity\":\"model\"",
                1,
            );
        let response = app
            .post("/api/v1/passports")
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["pointer"], "/granularity");
    }
);
