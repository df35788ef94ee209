//! Registering item passports: through `POST /api/v1/passports/bulk` (NDJSON batches), and,
//! in the same run, the two stages of that path alone — signing (`sign_new`: subject,
//! envelope, JCS, SHA-256, Ed25519 in parallel) and storing pre-signed rows
//! (`insert_passports`: the bulk path's multi-row transaction).

use std::time::{Duration, Instant};

use reetrace::app::Services;
use reetrace_core::api::extract::parse_json;
use reetrace_core::domain::account::Org;
use reetrace_passport::domain::registration::Registration;
use serde_json::Value;

use crate::data;
use crate::support::Rng;

/// A registered passport the read benchmarks use.
pub struct Sample {
    pub id: String,
    pub path: String,
}

pub struct Registered {
    pub samples: Vec<Sample>,
    /// Passports a second.
    pub rate: f64,
}

fn rate(n: u64, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

/// Registers `count` passports over HTTP in batches of `batch`, `clients` requests at a time;
/// traction motors with their magnets in full when `magnets`.
pub async fn over_http(
    client: &reqwest::Client,
    address: &str,
    api_key: &str,
    (count, batch, clients): (u64, u64, usize),
    magnets: bool,
) -> Registered {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let prefix = if magnets { "MAGNETS" } else { "HTTP" };
    let bodies: Vec<String> = (0..count.div_ceil(batch))
        .map(|b| {
            let size = batch.min(count - b * batch);
            data::ndjson(prefix, b * batch, size, &mut rng, magnets)
        })
        .collect();
    let bytes: usize = bodies.iter().map(String::len).sum();
    println!(
        "  generated {count} registrations ({:.1} MB of NDJSON) in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let queue = std::sync::Arc::new(std::sync::Mutex::new(bodies.into_iter().enumerate()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..clients {
        let queue = queue.clone();
        let client = client.clone();
        let url = format!("{address}/api/v1/passports/bulk");
        let key = api_key.to_owned();
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut took = Vec::new();
            loop {
                let next = queue.lock().unwrap().next();
                let Some((b, body)) = next else { break };
                let t = Instant::now();
                let response = client
                    .post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let text = response.text().await.unwrap();
                took.push(t.elapsed());
                assert_eq!(status, 200, "{}", &text[..text.len().min(500)]);
                for (i, line) in text.lines().enumerate() {
                    let result: Value = serde_json::from_str(line).unwrap();
                    assert_eq!(result["status"], 201, "batch {b}: {result}");
                    if i % 100 == 0 {
                        let uri = result["uri"].as_str().unwrap();
                        let path = uri[uri.find("/01/").unwrap()..].to_owned();
                        samples.push(Sample {
                            id: result["id"].as_str().unwrap().to_owned(),
                            path,
                        });
                    }
                }
            }
            (samples, took)
        }));
    }
    let mut samples = Vec::new();
    let mut took = Vec::new();
    for w in workers {
        let (s, t) = w.await.unwrap();
        samples.extend(s);
        took.extend(t);
    }
    let elapsed = started.elapsed();
    let (p50, p99, max) = crate::support::percentiles(&mut took);
    let what = if magnets { "with magnets in full " } else { "" };
    println!(
        "  bulk API {what}({clients} client(s), {batch}-line NDJSON requests): {count} passports in {:.1} s = {:.0} passports/s (request p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms)",
        elapsed.as_secs_f64(),
        rate(count, elapsed),
        p50,
        p99,
        max
    );
    Registered {
        samples,
        rate: rate(count, elapsed),
    }
}

/// Reads `count` registrations as the bulk route and service do before signing (`parse_json`,
/// the magnets' element masses, the rules) on one thread, without a server: traction motors
/// with their magnets in full when `magnets`. Under callgrind, the instruction count of a run
/// with twice the `count` less that of a run with `count` is the cost of `count` readings.
pub fn parse_only(count: u64, magnets: bool) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (prefix, what) = if magnets {
        ("RAWMAGNETS", "with magnets in full, ")
    } else {
        ("RAW", "")
    };
    let lines: Vec<String> = (0..count)
        .map(|n| {
            let value = if magnets {
                data::registration_with_magnets(prefix, n, &mut rng)
            } else {
                data::registration(prefix, n, &mut rng)
            };
            value.to_string()
        })
        .collect();
    let started = Instant::now();
    for line in &lines {
        let mut registration: Registration = parse_json(line.as_bytes()).unwrap();
        registration.derive_from_magnets();
        registration.check().unwrap();
    }
    println!(
        "  parse and check only ({what}parse_json, derive_from_magnets, check on one thread): {:.0} passports/s",
        rate(count, started.elapsed())
    );
}

/// The signing stage and the storing stage of the bulk path, each alone, over `count`
/// registrations in batches of `batch`; traction motors with their magnets in full when
/// `magnets`.
pub async fn stages(services: &Services, org: &Org, (count, batch): (u64, u64), magnets: bool) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (prefix, what) = if magnets {
        ("RAWMAGNETS", "with magnets in full, ")
    } else {
        ("RAW", "")
    };
    let lines: Vec<String> = (0..count)
        .map(|n| {
            let value = if magnets {
                data::registration_with_magnets(prefix, n, &mut rng)
            } else {
                data::registration(prefix, n, &mut rng)
            };
            value.to_string()
        })
        .collect();
    let started = Instant::now();
    let registrations: Vec<Registration> = lines
        .iter()
        .map(|line| parse_json(line.as_bytes()).unwrap())
        .collect();
    println!(
        "  parse only ({what}parse_json on one thread): {:.0} passports/s",
        rate(count, started.elapsed())
    );
    let passport = &services.passport;
    let status = passport
        .allocate_status(org.id, count as usize)
        .await
        .unwrap();
    let mut status = status.into_iter();
    let mut batches = Vec::new();
    let mut signing = Duration::ZERO;
    let mut input = registrations.into_iter();
    loop {
        let part: Vec<Registration> = input.by_ref().take(batch as usize).collect();
        if part.is_empty() {
            break;
        }
        let refs: Vec<_> = status.by_ref().take(part.len()).collect();
        let t = Instant::now();
        let rows = passport.sign_new(org, part, refs).await.unwrap();
        signing += t.elapsed();
        batches.push(rows);
    }
    println!(
        "  sign only ({what}sign_new, batches of {batch}, {} threads): {:.0} passports/s",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        rate(count, signing)
    );
    let store = passport.store();
    let t = Instant::now();
    for rows in &batches {
        let created = store.insert_passports(rows, false, None).await.unwrap();
        assert!(created.iter().all(|c| *c));
    }
    let storing = t.elapsed();
    let bytes: usize = batches.iter().flatten().map(|r| r.credential.len()).sum();
    println!(
        "  insert only ({what}insert_passports of signed rows, batches of {batch}; {:.1} kB per credential): {:.0} passports/s",
        bytes as f64 / count as f64 / 1e3,
        rate(count, storing)
    );
}
