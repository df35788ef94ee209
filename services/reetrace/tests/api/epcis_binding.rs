//! The EPCIS 2.0 REST binding at `/epcis/2.0`: asynchronous capture with capture jobs (202 and
//! `Location`, the job's states and per-event errors, exactly-once processing).

use std::time::Duration;

use reetrace_core::db::Sql;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api_test;
use crate::epcis::{document, event, get_json, log_size, register, urn};
use crate::helpers::{TestApp, assert_problem};

/// `POST /epcis/2.0/capture`, asserting 202; returns the job's path from `Location`.
pub(crate) async fn accepted(app: &TestApp, key: &str, doc: &Value, behaviour: &str) -> String {
    let response = app
        .post("/epcis/2.0/capture")
        .bearer_auth(key)
        .header("content-type", "application/ld+json")
        .header("GS1-Capture-Error-Behaviour", behaviour)
        .body(serde_json::to_vec(doc).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["captureErrorBehaviour"], behaviour);
    let location = location.expect("a Location header");
    let path = location
        .strip_prefix(app.config.public_base_url.as_deref().unwrap())
        .unwrap_or_else(|| panic!("{location} is not under the base URL"))
        .to_owned();
    assert_eq!(
        path,
        format!("/epcis/2.0/capture/{}", body["captureID"].as_str().unwrap())
    );
    path
}

/// Polls a job until it no longer runs.
pub(crate) async fn finished(app: &TestApp, key: &str, path: &str) -> Value {
    for _ in 0..200 {
        let job = get_json(app, key, path).await;
        if job["running"] == json!(false) {
            assert!(job["finishedAt"].is_string(), "{job}");
            return job;
        }
        assert_eq!(job["success"], false, "not successful while running: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("capture job {path} still running after 20 s");
}

api_test!(
    capture_answers_202_with_a_job_that_completes,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Binding Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Binding Recycling", "recycler").await;
        let (_, other) = app.create_org("Other Recycling", "recycler").await;
        let passport = register(&app, &maker, "B-1").await;
        let doc = document(vec![event(
            "collecting",
            &[urn("B-1")],
            "2026-09-02T09:00:00Z",
        )]);

        let path = accepted(&app, &collector, &doc, "rollback").await;
        let job = finished(&app, &collector, &path).await;
        assert_eq!(job["success"], true, "{job}");
        assert_eq!(job["errors"], json!([]));
        assert_eq!(job["report"]["captured"], 1, "{job}");
        let scan = get_json(&app, &collector, &format!("/api/v1/custody/{passport}")).await;
        assert_eq!(scan["custody"]["state"], "collected");

        // The job is its sender's: listed for it, unknown to anyone else.
        let jobs = get_json(&app, &collector, "/epcis/2.0/capture").await;
        assert_eq!(jobs.as_array().unwrap().len(), 1);
        assert_eq!(jobs[0]["captureID"], job["captureID"]);
        let theirs = app.get(&path).bearer_auth(&other).send().await.unwrap();
        assert_problem(theirs, 404, "not_found").await;
        assert_eq!(
            get_json(&app, &other, "/epcis/2.0/capture").await,
            json!([])
        );
        let unknown = app
            .get(&format!("/epcis/2.0/capture/{}", Uuid::new_v4()))
            .bearer_auth(&collector)
            .send()
            .await
            .unwrap();
        assert_problem(unknown, 404, "not_found").await;
        let not_an_id = app
            .get("/epcis/2.0/capture/nope")
            .bearer_auth(&collector)
            .send()
            .await
            .unwrap();
        assert_problem(not_an_id, 404, "not_found").await;

        // Authorisation is today's capture's: a maker may not, nobody anonymous.
        let by_maker = app
            .post("/epcis/2.0/capture")
            .bearer_auth(&maker)
            .json(&doc)
            .send()
            .await
            .unwrap();
        assert_problem(by_maker, 403, "forbidden").await;
        let anonymous = app
            .post("/epcis/2.0/capture")
            .json(&doc)
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);
        // What is wrong with the document as a whole is answered at once, and queues nothing.
        let not_json = app
            .post("/epcis/2.0/capture")
            .bearer_auth(&collector)
            .header("content-type", "application/json")
            .body("{\"type\": ")
            .send()
            .await
            .unwrap();
        assert_problem(not_json, 400, "malformed_json").await;
        let bare_event = app
            .post("/epcis/2.0/capture")
            .bearer_auth(&collector)
            .json(&event("collecting", &[urn("B-1")], "2026-09-02T09:00:00Z"))
            .send()
            .await
            .unwrap();
        assert_eq!(bare_event.status(), 422);
        let bad_header = app
            .post("/epcis/2.0/capture")
            .bearer_auth(&collector)
            .header("GS1-Capture-Error-Behaviour", "sometimes")
            .json(&doc)
            .send()
            .await
            .unwrap();
        assert_problem(bad_header, 400, "invalid_header").await;
        let jobs = get_json(&app, &collector, "/epcis/2.0/capture").await;
        assert_eq!(jobs.as_array().unwrap().len(), 1);
    }
);

api_test!(
    failing_events_fail_the_job_or_are_listed_with_proceed,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Failing Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Failing Recycling", "recycler").await;
        register(&app, &maker, "F-1").await;
        register(&app, &maker, "F-2").await;
        let mut broken = event("collecting", &[urn("F-2")], "2026-09-02T10:00:00Z");
        broken["action"] = json!("WATCH");
        let doc = document(vec![
            event("collecting", &[urn("F-1")], "2026-09-02T09:00:00Z"),
            broken,
        ]);

        let path = accepted(&app, &collector, &doc, "rollback").await;
        let job = finished(&app, &collector, &path).await;
        assert_eq!(job["success"], false, "{job}");
        assert!(job.get("report").is_none(), "{job}");
        let errors = job["errors"].as_array().unwrap();
        assert!(!errors.is_empty());
        assert!(
            errors.iter().all(|e| e["index"] == 1
                && e["type"] == "epcisException:ValidationException"
                && e["code"] == "schema"),
            "{job}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e["pointer"] == "/epcisBody/eventList/1/action")
        );
        assert_eq!(
            log_size(&app, &collector).await,
            0,
            "rollback stores nothing"
        );

        let path = accepted(&app, &collector, &doc, "proceed").await;
        let job = finished(&app, &collector, &path).await;
        assert_eq!(job["success"], true, "{job}");
        assert_eq!(
            (&job["report"]["captured"], &job["report"]["refused"]),
            (&json!(1), &json!(1)),
            "{job}"
        );
        assert!(
            job["errors"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["index"] == 1)
        );
        assert_eq!(log_size(&app, &collector).await, 1);
    }
);

api_test!(
    a_job_is_captured_once_however_often_it_is_taken,
    |app: TestApp| async move {
        let (_, maker) = app.create_org("Once Motors", "manufacturer").await;
        let (_, collector) = app.create_org("Once Recycling", "recycler").await;
        register(&app, &maker, "O-1").await;
        register(&app, &maker, "O-2").await;
        let doc = document(vec![
            event("collecting", &[urn("O-1")], "2026-09-02T09:00:00Z"),
            event("collecting", &[urn("O-2")], "2026-09-02T09:05:00Z"),
        ]);
        let path = accepted(&app, &collector, &doc, "rollback").await;
        let first = finished(&app, &collector, &path).await;
        assert_eq!(first["report"]["captured"], 2, "{first}");
        assert_eq!(log_size(&app, &collector).await, 2);

        // As if the worker had died after its write and before recording the outcome: the
        // job is open again, with its document and a lapsed lease.
        let id: Uuid = first["captureID"].as_str().unwrap().parse().unwrap();
        app.execute(
            Sql::new(
                "UPDATE custody_capture_jobs SET finished_at = NULL, success = NULL, \
                 errors = NULL, report = NULL, lease_owner = NULL, lease_until_ms = 0, \
                 document = $1 WHERE capture_id = $2",
            )
            .bind(serde_json::to_string(&doc).unwrap())
            .bind(id),
        )
        .await;
        let again = finished(&app, &collector, &path).await;
        // The answer kept with the write, not a second capture (nor a report of duplicates).
        assert_eq!(again["report"], first["report"]);
        assert_eq!(again["success"], true);
        assert_eq!(log_size(&app, &collector).await, 2);
    }
);
