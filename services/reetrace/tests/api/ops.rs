//! Health, readiness, metrics, the OpenAPI document and its interactive docs.

use serde_json::Value;

use crate::api_test;
use crate::helpers::TestApp;

api_test!(health_and_readiness_answer, |app: TestApp| async move {
    let health = app.get("/healthz").send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz").send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ok");
});

api_test!(metrics_count_requests_by_route, |app: TestApp| async move {
    app.get("/api/v1/whoami").send().await.unwrap();
    app.get("/no/such/route").send().await.unwrap();
    let text = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"reetrace_http_requests_total{method="GET",route="/api/v1/whoami",status="401"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(text.contains("reetrace_http_request_duration_seconds_bucket"));
});

api_test!(
    the_served_document_is_the_committed_one,
    |app: TestApp| async move {
        let served: Value = app
            .get("/openapi.json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let built = serde_json::to_value(reetrace::app::openapi()).unwrap();
        assert_eq!(
            served, built,
            "the routes served and the document built differ"
        );
        let docs = app.get("/docs/").send().await.unwrap();
        assert_eq!(docs.status(), 200);
        assert!(docs.text().await.unwrap().contains("swagger-ui"));
    }
);
