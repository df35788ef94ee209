//! How long the answers to `Idempotency-Key`s are kept: within the retention (72 hours unless
//! configured, never under 24: a phone's queue may wait a day offline) a replayed step answers
//! the first answer and records nothing; past it the answers of both services are pruned.

use chrono::{Duration, Utc};
use reetrace_core::db::{Db, PoolOptions, Sql};
use reetrace_core::service::idempotency_retention::IdempotencyRetention;
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::{TestApp, assert_problem, spawn_app_with};
use crate::passports::motor;

async fn post(app: &TestApp, key: &str, path: &str, idem: &str, body: &Value) -> reqwest::Response {
    app.post(path)
        .bearer_auth(key)
        .header("Idempotency-Key", idem)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn created(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

/// Ages the answer kept for `key` in `table` by `hours`.
async fn age(app: &TestApp, table: &str, key: &str, hours: i64) {
    app.execute(
        Sql::new(format!("UPDATE {table} SET created_at = $1 WHERE key = $2"))
            .bind(Utc::now() - Duration::hours(hours))
            .bind(key),
    )
    .await;
}

async fn prune(app: &TestApp) -> u64 {
    let db = Db::connect(&app.database_url, &PoolOptions::default())
        .await
        .unwrap();
    let retention = IdempotencyRetention::new(
        app.config.idempotency_retention_hours,
        vec![
            (
                "passport",
                reetrace_passport::store::idempotent_answers(&db),
            ),
            ("custody", reetrace_custody::store::idempotent_answers(&db)),
        ],
    );
    let pruned = retention.prune(Utc::now()).await.unwrap();
    db.close().await;
    pruned
}

async fn count(app: &TestApp, table: &str) -> i64 {
    app.scalar::<i64>(Sql::new(format!("SELECT COUNT(*) FROM {table}")))
        .await
}

/// Registers a motor (with an Idempotency-Key) and collects and receives it (each with one);
/// returns the passport id and the two steps' answers.
async fn collected_and_received(app: &TestApp, recycler: &str) -> (String, Value, Value) {
    let (_, maker) = app.create_org("Acme Motors", "manufacturer").await;
    let passport = created(
        post(
            app,
            &maker,
            "/api/v1/passports",
            "register-1",
            &motor("EVM-IDEM-1"),
        )
        .await,
    )
    .await;
    let id = passport["id"].as_str().unwrap().to_owned();
    let events = format!("/api/v1/custody/{id}/events");
    let collect = json!({"action": "collect", "at": "2026-09-02T09:30:00Z"});
    let receive = json!({"action": "receive", "at": "2026-09-02T10:30:00Z"});
    let collected = created(post(app, recycler, &events, "collect-1", &collect).await).await;
    let received = created(post(app, recycler, &events, "receive-1", &receive).await).await;
    (id, collected, received)
}

async fn events_of(app: &TestApp, key: &str, id: &str) -> usize {
    app.get_json(&format!("/api/v1/custody/{id}"), Some(key))
        .await["events"]
        .as_array()
        .unwrap()
        .len()
}

api_test!(
    a_replay_within_the_retention_answers_the_first_answer_and_older_answers_are_pruned,
    |app: TestApp| async move {
        assert_eq!(app.config.idempotency_retention_hours, 72);
        let (_, recycler) = app.create_org("Collecte Lyon", "recycler").await;
        let (id, collected, received) = collected_and_received(&app, &recycler).await;
        let events = format!("/api/v1/custody/{id}/events");
        let collect = json!({"action": "collect", "at": "2026-09-02T09:30:00Z"});
        let receive = json!({"action": "receive", "at": "2026-09-02T10:30:00Z"});

        // A day and a half offline: the queued steps replay to their first answers.
        age(&app, "custody_idempotency", "collect-1", 36).await;
        assert_eq!(prune(&app).await, 0);
        let replayed = post(&app, &recycler, &events, "collect-1", &collect).await;
        assert_eq!(replayed.status(), 201);
        let replayed: Value = replayed.json().await.unwrap();
        assert_eq!(replayed["event_id"], collected["event_id"]);
        assert_eq!(
            events_of(&app, &recycler, &id).await,
            2,
            "nothing recorded twice"
        );

        // Past 72 hours the answers of both services go; a younger one stays.
        age(&app, "custody_idempotency", "collect-1", 73).await;
        age(&app, "passport_idempotency", "register-1", 73).await;
        age(&app, "custody_idempotency", "receive-1", 71).await;
        assert_eq!(prune(&app).await, 2);
        assert_eq!(count(&app, "custody_idempotency").await, 1);
        assert_eq!(count(&app, "passport_idempotency").await, 0);
        let kept = created(post(&app, &recycler, &events, "receive-1", &receive).await).await;
        assert_eq!(kept["event_id"], received["event_id"]);
        // The pruned key is a new request now: the state machine refuses a second collect.
        let again = post(&app, &recycler, &events, "collect-1", &collect).await;
        assert_problem(again, 409, "step_not_allowed").await;
        assert_eq!(events_of(&app, &recycler, &id).await, 2);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_retention_of_a_day_prunes_after_a_day() {
    for backend in [
        reetrace_core::db::Backend::Sqlite,
        reetrace_core::db::Backend::Postgres,
    ] {
        let Some(app) = spawn_app_with(backend, |c| c.idempotency_retention_hours = 24).await
        else {
            continue;
        };
        let (_, recycler) = app.create_org("Collecte Lyon", "recycler").await;
        collected_and_received(&app, &recycler).await;
        age(&app, "custody_idempotency", "collect-1", 25).await;
        age(&app, "custody_idempotency", "receive-1", 23).await;
        assert_eq!(prune(&app).await, 1, "{backend:?}");
        assert_eq!(count(&app, "custody_idempotency").await, 1, "{backend:?}");
    }
}
