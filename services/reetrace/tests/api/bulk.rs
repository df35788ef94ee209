//! Bulk requests are bounded: at most `bulk_in_flight` at once across the process (503 with
//! `Retry-After` for the rest, their bodies discarded), and an NDJSON body is read as it
//! arrives, lines split across chunks included.

use std::time::Duration;

use reetrace_core::db::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, assert_problem, spawn_app_with};
use crate::passports::motor;

/// Starts a bulk registration over a raw connection and sends only part of its body.
async fn half_sent_bulk(app: &TestApp, key: &str, body: &[u8], sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/passports/bulk HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..sent]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

async fn a_bulk_request_over_the_bound_is_503_and_the_first_completes(backend: Backend) {
    // Bodies over 1 KiB are bulk traffic here (smaller ones pass the gate).
    let Some(app) = spawn_app_with(backend, |c| {
        c.bulk_in_flight = 1;
        c.body_limit_bytes = 1024;
    })
    .await
    else {
        return;
    };
    let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
    let body: String = (0..20)
        .map(|i| format!("{}\r\n\n", motor(&format!("G-{i}"))))
        .collect();
    let body = body.into_bytes();
    // Half of the body, cut inside a line: the first request holds the only permit.
    let mut first = half_sent_bulk(&app, &owner, &body, body.len() / 2 + 7).await;
    let mut holding = false;
    for _ in 0..200 {
        let metrics = app.metrics().await;
        if metrics.contains("reetrace_bulk_in_flight 1") {
            holding = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(holding, "the first bulk request holds the permit");
    let refused = app
        .post("/api/v1/passports/bulk")
        .bearer_auth(&owner)
        .header("content-type", "application/x-ndjson")
        .body(format!(
            "{}\n{}\n{}\n",
            motor("OTHER-1"),
            motor("OTHER-2"),
            motor("OTHER-3")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()["retry-after"], "1");
    let problem = assert_problem(refused, 503, "unavailable").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("1 bulk requests are in flight"),
        "{problem}"
    );

    // A body an ordinary route would take is not bulk traffic: it passes while the gate is full.
    let small = format!("{}\n", motor("SMALL-1"));
    assert!(small.len() <= 1024);
    let response = app
        .post("/api/v1/passports/bulk")
        .bearer_auth(&owner)
        .header("content-type", "application/x-ndjson")
        .body(small)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // The rest of the first body: every line, split across writes, is registered.
    first.write_all(&body[body.len() / 2 + 7..]).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(60), first.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let results: Vec<serde_json::Value> = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 20);
    assert!(results.iter().all(|r| r["status"] == 201), "{results:?}");

    let metrics = app.metrics().await;
    assert!(
        metrics.contains("reetrace_bulk_refused_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("reetrace_bulk_in_flight 0"), "{metrics}");

    // The permit is back: the next bulk request is admitted.
    let response = app
        .post("/api/v1/passports/bulk")
        .bearer_auth(&owner)
        .header("content-type", "application/x-ndjson")
        .body(format!("{}\n", motor("AFTER-1")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_requests_in_flight_are_bounded_sqlite() {
    a_bulk_request_over_the_bound_is_503_and_the_first_completes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_requests_in_flight_are_bounded_postgres() {
    a_bulk_request_over_the_bound_is_503_and_the_first_completes(Backend::Postgres).await;
}

async fn an_ndjson_body_over_the_limit_is_413(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.body_limit_bytes = 1024;
        c.bulk_body_limit_bytes = 4096;
    })
    .await
    else {
        return;
    };
    let (_, owner) = app.create_org("Acme Motors", "manufacturer").await;
    let body: String = (0..20)
        .map(|i| format!("{}\n", motor(&format!("L-{i}"))))
        .collect();
    let response = app
        .post("/api/v1/passports/bulk")
        .bearer_auth(&owner)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "body_too_large").await;
    let listed: serde_json::Value = app
        .get("/api/v1/passports")
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        0,
        "nothing stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ndjson_body_over_the_limit_is_413_sqlite() {
    an_ndjson_body_over_the_limit_is_413(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ndjson_body_over_the_limit_is_413_postgres() {
    an_ndjson_body_over_the_limit_is_413(Backend::Postgres).await;
}
