//! Capture throughput in documents of 100 events.
//!
//! Three paths over the same [`Document`]s, each into a fresh database:
//! - the store's `write` with one document's 100 events per write (the transaction the
//!   capture ends in), with 1 and 4 concurrent writers;
//! - `POST /api/v1/epcis/capture` through the served application, with 1 and 4 concurrent
//!   clients: the products are registered first (bulk passport registration, then the
//!   passport feed), so every event is checked against the schema, hashed, and moves real
//!   custody (state machine, holder rule, compare-and-set) before its write;
//! - the raw multi-row INSERT of exactly the rows the store's write produced (events, their
//!   identifiers, chain links, tree nodes, the head), one transaction per document.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use reetrace_core::db::{Backend, Db};
use reetrace_core::domain::Role;
use reetrace_core::domain::account::NewOrg;
use reetrace_core::domain::gs1_prefix::NewGs1Prefix;
use reetrace_core::domain::{Mass, Sgtin};
use reetrace_custody::domain::event::NewEvent;
use reetrace_custody::epcis::{Observation, ObservationStep, ProductEpc, observation_event};
use reetrace_custody::store::{CustodyStore, Write};
use serde_json::{Value, json};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::support::fresh_app;

/// The GTIN of every product (its serial is `EVM-{p:06}`).
const GTIN: &str = "09506000134352";
/// The collector's EORI number (it collects, receives, sorts and hands over).
const COLLECTOR_EORI: &str = "FR123456789000";
/// The recycler's EORI number (it accepts the handovers).
const RECYCLER_EORI: &str = "DE1234567890123";

/// Events per document.
pub const PER_DOCUMENT: usize = 100;
/// Products the events are about at a time: each goes through the five steps in five
/// documents, so writes extend chains whose tails are in the database; the next 10,000 events
/// are about 2,000 new products.
const PRODUCTS: usize = 2_000;
/// A product's life here, one step per pass over the products.
const LIFE: [ObservationStep; 5] = [
    ObservationStep::Collect,
    ObservationStep::Receive,
    ObservationStep::Sort,
    ObservationStep::Handover,
    ObservationStep::Accept,
];
const STEPS: usize = LIFE.len();

/// The product of event `n`.
fn product_of(n: usize) -> usize {
    n % PRODUCTS + n / (PRODUCTS * STEPS) * PRODUCTS
}

/// How many products `count` documents are about.
fn products(count: usize) -> usize {
    (0..count * PER_DOCUMENT)
        .map(product_of)
        .max()
        .map_or(0, |p| p + 1)
}

/// One capture document: its events as EPCIS JSON and as the store appends them.
#[derive(Clone)]
pub struct Document {
    pub events: Vec<Value>,
    pub appends: Vec<NewEvent>,
    /// The step of all its events (the recycler posts the accepts, the collector the rest).
    pub step: ObservationStep,
}

/// `count` documents of realistic custody events (collect, receive, sort, handover, accept).
pub fn documents(count: usize) -> Vec<Document> {
    let tz = FixedOffset::east_opt(3600).unwrap();
    let start = tz.with_ymd_and_hms(2025, 1, 1, 8, 0, 0).unwrap();
    let org = Uuid::from_u128(0xC0FFEE);
    (0..count)
        .map(|d| {
            let mut events = Vec::with_capacity(PER_DOCUMENT);
            let mut appends = Vec::with_capacity(PER_DOCUMENT);
            for j in 0..PER_DOCUMENT {
                let n = d * PER_DOCUMENT + j;
                let p = product_of(n);
                let subject = Uuid::from_u128(p as u128 + 1);
                let epc = format!("https://id.gs1.org/01/{GTIN}/21/EVM-{p:06}");
                let step = LIFE[n / PRODUCTS % STEPS];
                let at = start + chrono::Duration::seconds(n as i64);
                let event = observation_event(&Observation {
                    step,
                    event_time: at,
                    products: vec![ProductEpc::sgtin(&Sgtin::parse(&epc).unwrap())],
                    lots: Vec::new(),
                    read_point: Some("urn:epc:id:sgln:4012345.00001.0".into()),
                    biz_location: Some("urn:epc:id:sgln:4012345.00001.0".into()),
                    holder: format!("eori:{COLLECTOR_EORI}"),
                    to_holder: (step == ObservationStep::Handover)
                        .then(|| format!("eori:{RECYCLER_EORI}")),
                    from_holder: (step == ObservationStep::Accept)
                        .then(|| format!("eori:{COLLECTOR_EORI}")),
                    measured_mass: Some(Mass::from_grams(48_100).unwrap()),
                })
                .unwrap();
                let id = event["eventID"].as_str().unwrap().to_owned();
                let data = json!({"action": step.biz_step(), "subject": subject, "subject_kind": "product",
                    "passport_id": subject, "state": "collected", "holder": org, "units": 1,
                    "elements": {"Nd": 337_500_000, "Pr": 105_000_000, "Dy": 60_000_000, "Tb": 7_500_000}});
                appends.push(NewEvent {
                    event_id: id.clone(),
                    event_hash: id,
                    event_type: "ObjectEvent".into(),
                    action: step.biz_step().into(),
                    biz_step: Some(step.biz_step().into()),
                    biz_location: Some("urn:epc:id:sgln:4012345.00001.0".into()),
                    event_time: at.to_utc(),
                    org_id: org,
                    document: serde_json::to_string(&event).unwrap(),
                    data: data.to_string(),
                    subjects: vec![subject],
                    epcs: vec![(epc, "epc")],
                });
                events.push(event);
            }
            let step = LIFE[d * PER_DOCUMENT / PRODUCTS % STEPS];
            Document {
                events,
                appends,
                step,
            }
        })
        .collect()
}

fn rate(events: usize, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64()
}

/// Writes every document with `writers` concurrent writers; returns the elapsed time.
async fn store_write(store: Arc<dyn CustodyStore>, docs: &[Document], writers: usize) -> Duration {
    let mut shares: Vec<Vec<Write>> = (0..writers).map(|_| Vec::new()).collect();
    for (i, doc) in docs.iter().enumerate() {
        shares[i % writers].push(Write {
            events: doc.appends.clone(),
            ..Write::default()
        });
    }
    let started = Instant::now();
    let tasks: Vec<_> = shares
        .into_iter()
        .map(|share| {
            let store = store.clone();
            tokio::spawn(async move {
                for write in share {
                    store.write(write).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

/// The served application, its products registered and in custody, and the keys of the
/// collector and the recycler.
struct Served {
    address: String,
    collector: String,
    recycler: String,
    shutdown: tokio_util::sync::CancellationToken,
    server: tokio::task::JoinHandle<()>,
    _db: reetrace_core::testing::TestDatabase,
}

async fn org(app: &reetrace::app::App, name: &str, role: Role, eori: Option<&str>) -> String {
    let operator_id =
        eori.map(|e| serde_json::from_value(json!({"scheme": "eori", "value": e})).unwrap());
    let created = app
        .accounts()
        .create_org(NewOrg {
            name: name.into(),
            role,
            operator_id,
        })
        .await
        .unwrap();
    if role == Role::Manufacturer {
        // The maker holds the GTIN every product is registered under.
        let gtin = NewGs1Prefix {
            gtin: Some(GTIN.into()),
            ..NewGs1Prefix::default()
        };
        app.accounts()
            .add_gs1_prefix(created.org_id, &gtin)
            .await
            .unwrap();
    }
    created.api_key
}

/// Serves a fresh application and registers the `count` products the documents are about.
async fn serve(backend: Backend, count: usize, client: &reqwest::Client) -> Served {
    let (app, listener, db, address) = fresh_app(backend).await;
    let maker = org(&app, "Acme Motors", Role::Manufacturer, None).await;
    let collector = org(&app, "Collecte Lyon", Role::Recycler, Some(COLLECTOR_EORI)).await;
    let recycler = org(
        &app,
        "Urban Mine Recycling",
        Role::Recycler,
        Some(RECYCLER_EORI),
    )
    .await;
    let custody = app.services().custody.clone();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            app.run(listener, shutdown).await.unwrap();
        }
    });
    let mut last = None;
    let all: Vec<usize> = (0..count).collect();
    for chunk in all.chunks(1_000) {
        let registrations: Vec<Value> = chunk
            .iter()
            .map(|p| {
                json!({"granularity": "item",
                 "product": {"gtin": GTIN, "serial": format!("EVM-{p:06}"), "name": "Traction motor PMSM 150 kW",
                   "category": "ev_traction_motor", "net_mass_g": 48_100,
                   "placed_on_market": {"date": "2024-04-15", "country": "FR"}},
                 "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
                   "elements": [{"element": "Nd", "mass_g": 337.5}, {"element": "Pr", "mass_g": 105},
                                {"element": "Dy", "mass_g": 60}, {"element": "Tb", "mass_g": 7.5}]}]}})
            })
            .collect();
        let response = client
            .post(format!("{address}/api/v1/passports/bulk?atomic=true"))
            .bearer_auth(&maker)
            .json(&registrations)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["created"], chunk.len(), "{body}");
        last = body["results"][chunk.len() - 1]["id"]
            .as_str()
            .map(|id| id.parse::<Uuid>().unwrap());
    }
    // Reading a product brings the passport feed up to date: every product is in custody
    // before the clock starts.
    custody.product(last.unwrap()).await.unwrap();
    let epcs: Vec<String> = (0..count)
        .map(|p| format!("https://id.gs1.org/01/{GTIN}/21/EVM-{p:06}"))
        .collect();
    let mut in_custody = 0;
    for chunk in epcs.chunks(500) {
        in_custody += custody
            .store()
            .products_named(chunk, &[])
            .await
            .unwrap()
            .len();
    }
    assert_eq!(in_custody, count, "every product reached custody");
    Served {
        address,
        collector,
        recycler,
        shutdown,
        server,
        _db: db,
    }
}

/// Posts every document to `POST /api/v1/epcis/capture` with `clients` concurrent clients
/// (a product's five documents all go to the same client, in order); returns the elapsed time.
async fn http_capture(backend: Backend, docs: &[Document], clients: usize) -> Duration {
    reetrace_passport::client::install_crypto_provider();
    let client = reqwest::Client::new();
    let served = serve(backend, products(docs.len()), &client).await;
    assert_eq!(
        PRODUCTS % (PER_DOCUMENT * clients),
        0,
        "a product's documents share a client"
    );
    let mut shares: Vec<Vec<(String, Vec<u8>)>> = (0..clients).map(|_| Vec::new()).collect();
    for (i, doc) in docs.iter().enumerate() {
        let key = if doc.step == ObservationStep::Accept {
            &served.recycler
        } else {
            &served.collector
        };
        let body = json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                         {"ree": "https://w3id.org/reetrace/vocab#"}],
            "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2025-01-01T08:00:00Z",
            "epcisBody": {"eventList": doc.events}
        });
        shares[i % clients].push((key.clone(), serde_json::to_vec(&body).unwrap()));
    }
    let url = format!("{}/api/v1/epcis/capture", served.address);
    let started = Instant::now();
    let tasks: Vec<_> = shares
        .into_iter()
        .map(|share| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                for (key, body) in share {
                    let response = client
                        .post(&url)
                        .bearer_auth(key)
                        .header("content-type", "application/ld+json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    let status = response.status();
                    let report: Value = response.json().await.unwrap();
                    assert_eq!(status, 201, "{report}");
                    assert_eq!(report["captured"], PER_DOCUMENT, "{report}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    served.shutdown.cancel();
    served.server.await.unwrap();
    elapsed
}

type EventRowDb = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    Uuid,
    String,
    String,
    Vec<u8>,
    DateTime<Utc>,
);

/// The rows one document's write produced.
#[derive(Default)]
struct Rows {
    events: Vec<EventRowDb>,
    epcs: Vec<(i64, String, String)>,
    chain: Vec<(Uuid, i64, i64, Vec<u8>)>,
    nodes: Vec<(i64, i64, Vec<u8>)>,
}

macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Sqlite(sqlite) => {
                let $pool = &sqlite.write;
                $body
            }
            Db::Postgres(pg) => {
                let $pool = pg;
                $body
            }
        }
    };
}

/// Everything the store wrote, grouped by document (a node by the leaf that completed it).
async fn written_rows(db: &Db) -> Vec<Rows> {
    let (events, epcs, chain, nodes) = on_db!(db, pool => {
        let events: Vec<EventRowDb> = sqlx::query_as(
            "SELECT leaf_index, event_id, event_hash, event_type, action, biz_step, biz_location, \
             event_time, org_id, document, data, leaf_hash, recorded_at FROM custody_events ORDER BY leaf_index",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let epcs: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT leaf_index, epc, role FROM custody_event_epcs ORDER BY leaf_index")
                .fetch_all(pool)
                .await
                .unwrap();
        let chain: Vec<(Uuid, i64, i64, Vec<u8>)> =
            sqlx::query_as("SELECT subject_id, seq, leaf_index, link FROM custody_chain ORDER BY leaf_index")
                .fetch_all(pool)
                .await
                .unwrap();
        let nodes: Vec<(i64, i64, Vec<u8>)> =
            sqlx::query_as("SELECT level, idx, hash FROM custody_log_nodes")
                .fetch_all(pool)
                .await
                .unwrap();
        (events, epcs, chain, nodes)
    });
    let doc = |leaf: i64| (leaf as usize) / PER_DOCUMENT;
    let mut out: BTreeMap<usize, Rows> = BTreeMap::new();
    for e in events {
        out.entry(doc(e.0)).or_default().events.push(e);
    }
    for e in epcs {
        out.entry(doc(e.0)).or_default().epcs.push(e);
    }
    for c in chain {
        out.entry(doc(c.2)).or_default().chain.push(c);
    }
    for n in nodes {
        let completing_leaf = ((n.1 + 1) << n.0) - 1;
        out.entry(doc(completing_leaf)).or_default().nodes.push(n);
    }
    out.into_values().collect()
}

/// Inserts `rows` with one multi-row INSERT per table and document, one transaction each.
async fn raw_insert(db: &Db, rows: &[Rows]) -> Duration {
    let started = Instant::now();
    on_db!(db, pool => {
        for doc in rows {
            let mut tx = pool.begin().await.unwrap();
            let mut q = QueryBuilder::new(
                "INSERT INTO custody_events (leaf_index, event_id, event_hash, event_type, action, biz_step, \
                 biz_location, event_time, org_id, document, data, leaf_hash, recorded_at) ",
            );
            q.push_values(&doc.events, |mut b, e| {
                b.push_bind(e.0).push_bind(&e.1).push_bind(&e.2).push_bind(&e.3).push_bind(&e.4)
                    .push_bind(&e.5).push_bind(&e.6).push_bind(e.7).push_bind(e.8).push_bind(&e.9)
                    .push_bind(&e.10).push_bind(&e.11).push_bind(e.12);
            });
            q.build().execute(&mut *tx).await.unwrap();
            let mut q = QueryBuilder::new("INSERT INTO custody_event_epcs (leaf_index, epc, role) ");
            q.push_values(&doc.epcs, |mut b, e| {
                b.push_bind(e.0).push_bind(&e.1).push_bind(&e.2);
            });
            q.build().execute(&mut *tx).await.unwrap();
            let mut q = QueryBuilder::new("INSERT INTO custody_chain (subject_id, seq, leaf_index, link) ");
            q.push_values(&doc.chain, |mut b, c| {
                b.push_bind(c.0).push_bind(c.1).push_bind(c.2).push_bind(&c.3);
            });
            q.build().execute(&mut *tx).await.unwrap();
            let mut q = QueryBuilder::new("INSERT INTO custody_log_nodes (level, idx, hash) ");
            q.push_values(&doc.nodes, |mut b, n| {
                b.push_bind(n.0).push_bind(n.1).push_bind(&n.2);
            });
            q.build().execute(&mut *tx).await.unwrap();
            sqlx::query("UPDATE custody_log_head SET size = size + $1 WHERE id = 1")
                .bind(doc.events.len() as i64)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    });
    started.elapsed()
}

/// Runs the capture benchmark on `backend` with `count` documents.
pub async fn run(backend: Backend, count: usize) {
    let built = Instant::now();
    let docs = documents(count);
    let events = count * PER_DOCUMENT;
    println!(
        "\n[capture, {backend}] {count} documents of {PER_DOCUMENT} events ({events} events, built and hashed in {:.2} s)",
        built.elapsed().as_secs_f64()
    );

    let (one_app, _l1, _db1, _) = fresh_app(backend).await;
    let one = store_write(one_app.services().custody.store().clone(), &docs, 1).await;
    println!(
        "  store write, 1 writer          {:>8.0} events/s  ({:.1} ms per document)",
        rate(events, one),
        one.as_secs_f64() * 1e3 / count as f64
    );

    let (four_app, _l4, _db4, _) = fresh_app(backend).await;
    let four = store_write(four_app.services().custody.store().clone(), &docs, 4).await;
    println!(
        "  store write, 4 writers         {:>8.0} events/s",
        rate(events, four)
    );

    for clients in [1, 4] {
        let took = http_capture(backend, &docs, clients).await;
        let label = if clients == 1 {
            "1 client "
        } else {
            "4 clients"
        };
        println!(
            "  HTTP capture, {label}         {:>8.0} events/s  ({:.1} ms per document)",
            rate(events, took),
            took.as_secs_f64() * 1e3 / count as f64
        );
    }

    let rows = written_rows(one_app.db()).await;
    assert_eq!(rows.len(), count, "one group of rows per document");
    let (raw_app, _lr, _dbr, _) = fresh_app(backend).await;
    let raw = raw_insert(raw_app.db(), &rows).await;
    println!(
        "  raw multi-row INSERT, same rows {:>7.0} events/s  (store write at {:.0}% of it)",
        rate(events, raw),
        100.0 * raw.as_secs_f64() / one.as_secs_f64()
    );
    let size = raw_app.services().custody.store().log_size().await.unwrap();
    assert_eq!(size, events as i64, "the raw insert stored every row");
}
