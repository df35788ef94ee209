//! Reads under load: `/credentials/verify` with concurrent clients, and the resolver
//! (`GET /01/{gtin}/21/{serial}` as JSON) against `/healthz` at the same concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::register::Sample;
use crate::support::{Rng, percentiles};

/// What a load run measured.
struct Load {
    requests: usize,
    per_second: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

/// `connections` workers send requests made by `request(i)` for `duration`; every answer
/// must have status `expected`.
async fn load<F>(connections: usize, duration: Duration, expected: u16, request: F) -> Load
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let counter = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..connections {
        let request = request.clone();
        let counter = counter.clone();
        workers.push(tokio::spawn(async move {
            let mut took = Vec::new();
            while started.elapsed() < duration {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let response = request(i).send().await.unwrap();
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap();
                took.push(t.elapsed());
                assert_eq!(status, expected, "{}", String::from_utf8_lossy(&body));
            }
            took
        }));
    }
    let mut took = Vec::new();
    for w in workers {
        took.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    let (p50, p99, max) = percentiles(&mut took);
    Load {
        requests: took.len(),
        per_second: took.len() as f64 / elapsed.as_secs_f64(),
        p50,
        p99,
        max,
    }
}

fn show(what: &str, l: &Load) {
    println!(
        "  {what}: {:.0} requests/s ({} requests; p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms)",
        l.per_second, l.requests, l.p50, l.p99, l.max
    );
}

/// A client that keeps up to `connections` connections open.
pub fn client(connections: usize) -> reqwest::Client {
    reetrace_passport::client::install_crypto_provider();
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap()
}

/// `/credentials/verify` of stored credentials by `connections` concurrent clients.
pub async fn verify(address: &str, samples: &[Sample], connections: usize, duration: Duration) {
    let client = client(connections);
    let mut credentials = Vec::new();
    for s in samples.iter().take(200) {
        let credential: Value = client
            .get(format!("{address}/api/v1/passports/{}/credential", s.id))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        credentials.push(serde_json::to_vec(&json!({"verifiableCredential": credential})).unwrap());
    }
    let credentials = Arc::new(credentials);
    let url = format!("{address}/credentials/verify");
    let l = load(connections, duration, 200, move |i| {
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(credentials[i % credentials.len()].clone())
    })
    .await;
    show(
        &format!("POST /credentials/verify, {connections} clients"),
        &l,
    );
}

/// The resolver's JSON read against `/healthz`, both at `connections` connections.
pub async fn resolver(address: &str, samples: &[Sample], connections: usize, duration: Duration) {
    let client = client(connections);
    let health_url = format!("{address}/healthz");
    let c = client.clone();
    let health = load(connections, duration, 200, move |_| c.get(&health_url)).await;
    show(&format!("GET /healthz, {connections} connections"), &health);
    let paths: Arc<Vec<String>> = Arc::new({
        let mut rng = Rng(0x853c_49e6_748f_ea9b);
        let mut paths: Vec<String> = samples
            .iter()
            .map(|s| format!("{address}{}", s.path))
            .collect();
        // Shuffled, so that connections do not read the same passports in step.
        for i in (1..paths.len()).rev() {
            paths.swap(i, rng.below(i as u64 + 1) as usize);
        }
        paths
    });
    let read = load(connections, duration, 200, move |i| {
        client
            .get(&paths[i % paths.len()])
            .header("accept", "application/json")
    })
    .await;
    show(
        &format!("GET /01/{{gtin}}/21/{{serial}} (application/json), {connections} connections"),
        &read,
    );
    println!(
        "  resolver / healthz throughput: {:.0} % (target >= 25 %, p99 < 20 ms)",
        read.per_second / health.per_second * 100.0
    );
}
