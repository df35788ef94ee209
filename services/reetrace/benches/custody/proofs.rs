//! Inclusion proof latency at 1,000,000 leaves.
//!
//! The leaves are loaded in bulk, straight into the tables with multi-row INSERTs, but as the
//! store would have written them: each event joins its subject's hash chain, its leaf commits
//! to its digest and link, and the tree nodes come from `merkle::Frontier` (so `verify-log`
//! verifies the result). Events are small synthetic documents; their identifier index rows
//! (`custody_event_epcs`), which proofs never read, are left out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reetrace_core::db::{Backend, Db};
use reetrace_core::merkle::{self, Frontier};
use reetrace_custody::domain::log_leaf::{self, Joined};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::support::{Rng, fresh_app, percentiles};

/// Subjects the synthetic events are about (ten events each at a million leaves).
const SUBJECTS: u64 = 100_000;
/// Leaves per INSERT statement.
const BATCH: u64 = 2_000;
/// Leaves per transaction.
const PER_TRANSACTION: u64 = 20_000;

/// The stored document of leaf `i`.
fn document(i: u64) -> String {
    let s = i % SUBJECTS;
    let second = i % 60;
    let minute = i / 60 % 60;
    format!(
        "{{\"type\":\"ObjectEvent\",\"eventTime\":\"2026-08-01T10:{minute:02}:{second:02}.000Z\",\
         \"eventTimeZoneOffset\":\"+00:00\",\"action\":\"OBSERVE\",\"bizStep\":\"collecting\",\
         \"epcList\":[\"https://id.gs1.org/01/09506000134352/21/B{s:07}\"],\"ree:n\":{i}}}"
    )
}

/// The event id of leaf `i` (shaped like our event hashes).
fn event_id(i: u64) -> String {
    format!(
        "ni:///sha-256;{}?ver=CBV2.0",
        hex::encode(log_leaf::event_digest(&document(i)))
    )
}

fn subject(i: u64) -> Uuid {
    Uuid::from_u128(u128::from(i % SUBJECTS) + 1)
}

type EventRowDb = (
    i64,
    String,
    String,
    String,
    String,
    chrono::DateTime<chrono::Utc>,
    Uuid,
    String,
    Vec<u8>,
);

/// One INSERT batch: events, chain links, tree nodes.
#[derive(Default)]
struct Batch {
    events: Vec<EventRowDb>,
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

/// Loads `leaves` leaves; returns the time it took.
async fn load(db: &Db, leaves: u64) -> Duration {
    let started = Instant::now();
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp(2_245_000_000, 0).unwrap();
    let org = Uuid::from_u128(0xC0FFEE);
    let mut tails: HashMap<Uuid, (i64, [u8; 32])> = HashMap::new();
    let mut frontier = Frontier::new();
    let mut next = 0u64;
    while next < leaves {
        let end = (next + PER_TRANSACTION).min(leaves);
        on_db!(db, pool => {
            let mut tx = pool.begin().await.unwrap();
            while next < end {
                let batch_end = (next + BATCH).min(end);
                let mut batch = Batch::default();
                for i in next..batch_end {
                    let document = document(i);
                    let digest = log_leaf::event_digest(&document);
                    let id = format!("ni:///sha-256;{}?ver=CBV2.0", hex::encode(digest));
                    let s = subject(i);
                    let (seq, previous) = tails.get(&s).copied().unwrap_or((0, log_leaf::genesis(s)));
                    let link = log_leaf::next_link(&previous, &digest);
                    tails.insert(s, (seq + 1, link));
                    let joined = [Joined { subject: s, seq: seq + 1, link }];
                    let leaf = merkle::leaf_hash(&log_leaf::leaf_data(&id, &digest, &joined));
                    for (node, hash) in frontier.append(leaf).unwrap() {
                        batch.nodes.push((i64::from(node.level), node.index as i64, hash.to_vec()));
                    }
                    batch.chain.push((s, seq + 1, i as i64, link.to_vec()));
                    batch.events.push((i as i64, id.clone(), id, "ObjectEvent".into(), "collect".into(), at, org, document, leaf.to_vec()));
                }
                let mut q = QueryBuilder::new(
                    "INSERT INTO custody_events (leaf_index, event_id, event_hash, event_type, action, biz_step, \
                     biz_location, event_time, org_id, document, data, leaf_hash, recorded_at) ",
                );
                q.push_values(&batch.events, |mut b, e| {
                    b.push_bind(e.0).push_bind(&e.1).push_bind(&e.2).push_bind(&e.3).push_bind(&e.4)
                        .push_bind("collecting").push_bind(None::<String>).push_bind(e.5).push_bind(e.6)
                        .push_bind(&e.7).push_bind("{}").push_bind(&e.8).push_bind(e.5);
                });
                q.build().execute(&mut *tx).await.unwrap();
                let mut q = QueryBuilder::new("INSERT INTO custody_chain (subject_id, seq, leaf_index, link) ");
                q.push_values(&batch.chain, |mut b, c| {
                    b.push_bind(c.0).push_bind(c.1).push_bind(c.2).push_bind(&c.3);
                });
                q.build().execute(&mut *tx).await.unwrap();
                for nodes in batch.nodes.chunks(BATCH as usize * 2) {
                    let mut q = QueryBuilder::new("INSERT INTO custody_log_nodes (level, idx, hash) ");
                    q.push_values(nodes, |mut b, n| {
                        b.push_bind(n.0).push_bind(n.1).push_bind(&n.2);
                    });
                    q.build().execute(&mut *tx).await.unwrap();
                }
                next = batch_end;
            }
            sqlx::query("UPDATE custody_log_head SET size = $1 WHERE id = 1")
                .bind(end as i64)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        });
    }
    // As a loaded production database would be: vacuumed and analysed, not in the middle of
    // the autovacuum a bulk load triggers.
    let settle = match db {
        Db::Postgres(_) => "VACUUM ANALYZE",
        Db::Sqlite(_) => "ANALYZE",
    };
    on_db!(db, pool => { sqlx::query(settle).execute(pool).await.unwrap(); });
    started.elapsed()
}

/// Runs the proof benchmark on `backend`.
pub async fn run(backend: Backend, leaves: u64, direct: usize, http: usize, verify: bool) {
    println!("\n[proofs, {backend}] {leaves} leaves");
    let (app, listener, _test_db, address) = fresh_app(backend).await;
    let db = app.db().clone();
    let loaded = load(&db, leaves).await;
    println!(
        "  bulk load                       {:.1} s ({:.0} leaves/s)",
        loaded.as_secs_f64(),
        leaves as f64 / loaded.as_secs_f64()
    );
    let log = app.services().custody.log().clone();
    let checkpoint = log.publish().await.unwrap().unwrap();
    assert_eq!(checkpoint.tree_size, leaves as i64);
    let root = reetrace_core::checkpoint::open(&checkpoint.note, &checkpoint.verifier_key)
        .unwrap()
        .root;

    let mut rng = Rng(0x0005_EED0_FC05_70D1);
    let mut samples = Vec::with_capacity(direct);
    for k in 0..direct {
        let i = rng.below(leaves);
        let id = event_id(i);
        let started = Instant::now();
        let proof = log.inclusion(&id, None).await.unwrap();
        samples.push(started.elapsed());
        if k < 100 {
            // Correct, not just fast.
            use base64::Engine;
            let decode = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap();
            let hashes: Vec<Vec<u8>> = proof.hashes.iter().map(|h| decode(h)).collect();
            merkle::verify_inclusion(&decode(&proof.leaf_hash), i, leaves, &hashes, &root).unwrap();
        }
    }
    let (p50, p99, max) = percentiles(&mut samples);
    println!(
        "  Log::inclusion x{direct:<6}         p50 {p50:.2} ms  p99 {p99:.2} ms  max {max:.2} ms"
    );

    // Where the time goes: each read an inclusion proof makes, alone.
    let store = app.services().custody.store().clone();
    let (mut event, mut head, mut nodes, mut links) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..direct.min(2_000) {
        let i = rng.below(leaves);
        let id = event_id(i);
        let t = Instant::now();
        store.event(&id).await.unwrap().unwrap();
        event.push(t.elapsed());
        let t = Instant::now();
        store.log_size().await.unwrap();
        store.latest_checkpoint().await.unwrap().unwrap();
        head.push(t.elapsed());
        let plan = merkle::inclusion_plan(i, leaves).unwrap();
        let t = Instant::now();
        store.nodes(&plan.node_ids()).await.unwrap();
        nodes.push(t.elapsed());
        let t = Instant::now();
        store.links_between(i as i64, i as i64 + 1).await.unwrap();
        links.push(t.elapsed());
    }
    for (what, samples) in [
        ("event by id", &mut event),
        ("log size + latest checkpoint", &mut head),
        ("proof nodes", &mut nodes),
        ("chain links of the leaf", &mut links),
    ] {
        let (p50, p99, _) = percentiles(samples);
        println!("    {what:<30} p50 {p50:.2} ms  p99 {p99:.2} ms");
    }

    // Before serving: the server closes the database when it stops.
    if verify {
        let started = Instant::now();
        let report = reetrace::verify_log::verify_database(&db, None, 1000)
            .await
            .unwrap();
        let took = started.elapsed();
        assert!(report.report.ok, "{:?}", report.report.problems);
        println!(
            "  verify-log (database)           {:.1} s ({:.0} events/s, stored nodes included)",
            took.as_secs_f64(),
            report.report.events as f64 / took.as_secs_f64()
        );
    }

    if http > 0 {
        let shutdown = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn(app.run(listener, shutdown.clone()));
        let client = reqwest::Client::new();
        let mut samples = Vec::with_capacity(http);
        for _ in 0..http {
            let id = event_id(rng.below(leaves));
            let encoded: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
            let url = format!("{address}/api/v1/log/proofs/inclusion?event_id={encoded}");
            let started = Instant::now();
            let response = client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap();
            samples.push(started.elapsed());
        }
        let (p50, p99, max) = percentiles(&mut samples);
        println!(
            "  GET /log/proofs/inclusion x{http:<5} p50 {p50:.2} ms  p99 {p99:.2} ms  max {max:.2} ms"
        );
        shutdown.cancel();
        let _ = server.await;
    }
}
