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
    let text = app.metrics().await;
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

api_test!(
    an_event_no_consumer_can_apply_is_quarantined_and_the_consumers_move_on,
    |app: TestApp| async move {
        use reetrace_core::db::{Db, PoolOptions, Sql};
        let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Collecte Lyon", "recycler").await;
        let first = app.register(&maker, &crate::passports::motor("Q-1")).await;
        let first_id = first["id"].as_str().unwrap().to_owned();

        // A malformed event in the passport feed (a status no consumer knows), as a bug in a
        // producer or a tampered row would leave it.
        let db = Db::connect(&app.database_url, &PoolOptions::default())
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        let seq: i64 =
            Sql::new("UPDATE passport_feed_head SET head = head + 1 WHERE id = 1 RETURNING head")
                .scalar(&mut tx)
                .await
                .unwrap();
        let passport: (uuid::Uuid, i64) =
            Sql::new("SELECT org_id, version FROM passports WHERE id = $1")
                .bind(first_id.parse::<uuid::Uuid>().unwrap())
                .fetch_one(&mut tx)
                .await
                .unwrap();
        Sql::new(
            "INSERT INTO passport_feed (seq, event_id, type, passport_id, version, org_id, occurred_at, data) \
             VALUES ($1, $2, 'passport.status_changed', $3, $4, $5, $6, $7)",
        )
        .bind(seq)
        .bind(uuid::Uuid::now_v7())
        .bind(first_id.parse::<uuid::Uuid>().unwrap())
        .bind(passport.1)
        .bind(passport.0)
        .bind(chrono::Utc::now())
        .bind(r#"{"status": "exploded", "reason": null}"#)
        .execute(&mut tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();

        // A later passport still reaches custody (a step on it succeeds) and stock.
        let second = app.register(&maker, &crate::passports::motor("Q-2")).await;
        let second_id = second["id"].as_str().unwrap();
        let step = app
            .post(&format!("/api/v1/custody/{second_id}/events"))
            .bearer_auth(&collector)
            .json(&serde_json::json!({"action": "collect", "at": "2026-09-02T09:30:00Z"}))
            .send()
            .await
            .unwrap();
        assert_eq!(step.status(), 201, "{}", step.text().await.unwrap());

        // Both passport consumers kept the event aside; the admin sees it, and why.
        let mut listed = Value::Null;
        for _ in 0..100 {
            listed = app
                .get("/api/v1/admin/quarantine")
                .bearer_auth(&app.admin_key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            // The count and the page are two reads: wait until both show the second one.
            if listed["total"] == 2 && listed["events"].as_array().is_some_and(|e| e.len() == 2) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(listed["total"], 2, "{listed}");
        let consumers: Vec<&str> = listed["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["consumer"].as_str().unwrap())
            .collect();
        assert_eq!(consumers, ["custody.passports", "stock.passports"]);
        for event in listed["events"].as_array().unwrap() {
            assert_eq!(event["seq"], seq);
            assert_eq!(event["subject"], first_id.as_str());
            assert!(
                event["reason"].as_str().unwrap().contains("exploded"),
                "{event}"
            );
        }
        let metrics = app.metrics().await;
        assert!(
            metrics.contains("reetrace_feed_quarantined_total{consumer=\"custody.passports\"} 1"),
            "{metrics}"
        );

        // Replaying before a fix is refused and keeps it; others may not look.
        let replay = app
            .post(&format!(
                "/api/v1/admin/quarantine/custody.passports/{seq}/replay"
            ))
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap();
        crate::helpers::assert_problem(replay, 409, "still_refused").await;
        let forbidden = app
            .get("/api/v1/admin/quarantine")
            .bearer_auth(&maker)
            .send()
            .await
            .unwrap();
        crate::helpers::assert_problem(forbidden, 403, "forbidden").await;
    }
);
