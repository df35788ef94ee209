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
