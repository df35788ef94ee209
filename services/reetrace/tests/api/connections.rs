//! The server keeps its footing: unfinished request heads are closed, long targets and large
//! heads answer problem+json, and a full connection cap still lets `/healthz` through.

use std::time::{Duration, Instant};

use reetrace_core::db::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::spawn_app_with;

fn host_port(address: &str) -> &str {
    address.trim_start_matches("http://")
}

/// Opens a connection and sends an unfinished request head.
async fn unfinished_head(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(host_port(address)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    stream
}

#[tokio::test]
async fn an_unfinished_request_head_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.connections.header_read_timeout_ms = 300;
    })
    .await
    .unwrap();
    let mut stream = unfinished_head(&app.address).await;
    let started = Instant::now();
    let mut buf = [0u8; 512];
    // The server closes the connection (EOF, or an answer then EOF) well before 5 s.
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the connection stayed open");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_long_request_target_is_a_414_problem_with_a_request_id() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await.unwrap();
    let long = format!("/healthz?pad={}", "a".repeat(9_000));
    let response = app.get(&long).send().await.unwrap();
    assert_eq!(response.status(), 414);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "uri_too_long");
}

#[tokio::test]
async fn too_many_or_too_large_headers_are_a_431_problem() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await.unwrap();
    let mut request = app.get("/healthz");
    for i in 0..150 {
        request = request.header(format!("x-h{i}"), "v");
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 431);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "headers_too_large");

    let response = app
        .get("/healthz")
        .header("x-big", "b".repeat(40_000))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 431);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "headers_too_large");
}

#[tokio::test]
async fn healthz_answers_while_unfinished_heads_fill_the_connection_cap() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.connections.max = 20;
        c.connections.header_read_timeout_ms = 500;
    })
    .await
    .unwrap();
    let mut held = Vec::new();
    for _ in 0..60 {
        held.push(unfinished_head(&app.address).await);
    }
    // New connections wait in the backlog until the header timeout frees slots; /healthz gets
    // through within a few timeouts, never "Too many open files".
    let started = Instant::now();
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        reqwest::Client::new().get(app.url("/healthz")).send(),
    )
    .await
    .expect("healthz answered in time")
    .unwrap();
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(held);
}
