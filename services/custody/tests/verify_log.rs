//! The log verifier on a real store, on both backends: a log written through the store's
//! `write` and signed by the log verifies; editing an event (its document or any column its
//! leaf covers), deleting or reordering chain links, reordering leaves, editing a leaf hash and
//! rewriting a leaf in the first form straight in the database are each detected and named.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{FixedOffset, TimeZone};
use reetrace_core::backend_test;
use reetrace_core::crypto::MasterKey;
use reetrace_core::db::{Db, PoolOptions};
use reetrace_core::testing::TestDatabase;
use reetrace_custody::domain::event::NewEvent;
use reetrace_custody::domain::log_verifier::{LogVerifier, VerificationReport};
use reetrace_custody::epcis::{Observation, ObservationStep, ProductEpc, observation_event};
use reetrace_custody::service::TransparencyLog;
use reetrace_custody::store::{self, CustodyStore, Write};
use uuid::Uuid;

const BASE: &str = "https://reetrace.example";

/// A step on `product` (its `n`th) as the service would store it.
fn step(product: Uuid, n: u32) -> NewEvent {
    let epc = format!("{BASE}/p/{product}");
    let steps = [
        ObservationStep::Collect,
        ObservationStep::Receive,
        ObservationStep::Sort,
    ];
    let at = FixedOffset::east_opt(3600)
        .unwrap()
        .with_ymd_and_hms(2026, 9, 2, 9, n, 0)
        .unwrap();
    let event = observation_event(&Observation {
        step: steps[n as usize % steps.len()],
        event_time: at,
        products: vec![ProductEpc::passport(BASE, &product.to_string()).unwrap()],
        lots: Vec::new(),
        read_point: None,
        biz_location: Some("urn:epc:id:sgln:4012345.00001.0".into()),
        holder: "eori:FR123456789000".into(),
        to_holder: None,
        from_holder: None,
        measured_mass: None,
    })
    .unwrap();
    let id = event["eventID"].as_str().unwrap().to_owned();
    NewEvent {
        event_id: id.clone(),
        event_hash: id,
        event_type: "ObjectEvent".into(),
        action: "collect".into(),
        biz_step: event["bizStep"].as_str().map(str::to_owned),
        biz_location: None,
        event_time: at.to_utc(),
        org_id: Uuid::nil(),
        document: serde_json::to_string(&event).unwrap(),
        data: "{}".into(),
        subjects: vec![product],
        epcs: vec![(epc, "epc")],
    }
}

/// Three products, three steps each, interleaved, in writes of one to three events; signed.
async fn written_log(db: &Db) -> (Arc<dyn CustodyStore>, Vec<Uuid>, String) {
    let store = store::open(db);
    let products: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    let mut events = Vec::new();
    for n in 0..3 {
        for p in &products {
            events.push(step(*p, n));
        }
    }
    for chunk in [&events[0..1], &events[1..4], &events[4..6], &events[6..9]] {
        store
            .write(Write {
                events: chunk.to_vec(),
                ..Write::default()
            })
            .await
            .unwrap();
    }
    let master = MasterKey::generate().unwrap();
    let log = TransparencyLog::open(
        store.clone(),
        &reetrace_custody::domain::transparency_log::origin_for(BASE),
        &master,
    )
    .await
    .unwrap();
    log.publish().await.unwrap();
    let key = log.verifier_key().to_owned();
    (store, products, key)
}

/// Verifies the whole stored log in pages of `page` events, stored nodes included.
async fn verify(store: &dyn CustodyStore, key: &str, page: u32) -> VerificationReport {
    let latest = store.latest_checkpoint().await.unwrap();
    let mut verifier = LogVerifier::new(latest.iter().map(|cp| cp.size)).keeping_nodes();
    let mut from = 0;
    loop {
        let events = store.events_from(from, page).await.unwrap();
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            break;
        };
        let links = store
            .links_between(first.leaf_index, last.leaf_index + 1)
            .await
            .unwrap();
        verifier.check_page(&events, &links);
        let nodes = verifier.take_nodes();
        let ids: Vec<_> = nodes.iter().map(|(id, _)| *id).collect();
        let stored = store.nodes(&ids).await.unwrap();
        verifier.check_nodes(&nodes, &stored);
        from = last.leaf_index + 1;
    }
    verifier.finish(latest.as_ref().map(|cp| cp.note.as_str()), key)
}

/// Runs one statement with its binds on either backend.
macro_rules! exec {
    ($db:expr, $sql:expr $(, $bind:expr)*) => {
        reetrace_core::db::Sql::new($sql)$(.bind($bind))*.execute($db.writer()).await.unwrap()
    };
}

async fn connect(db: &TestDatabase) -> Db {
    let db = Db::connect(&db.url, &PoolOptions::default()).await.unwrap();
    db.migrate(&store::MIGRATIONS).await.unwrap();
    db
}

fn mentions(report: &VerificationReport, words: &[&str]) -> bool {
    report
        .problems
        .iter()
        .any(|p| words.iter().all(|w| p.contains(w)))
}

backend_test!(
    a_clean_log_verifies_in_any_page_size,
    |tdb: TestDatabase| async move {
        let db = connect(&tdb).await;
        let (store, _, key) = written_log(&db).await;
        for page in [1, 2, 4, 1000] {
            let report = verify(store.as_ref(), &key, page).await;
            assert!(report.ok, "page {page}: {report:?}");
            assert_eq!(
                (report.events, report.subjects, report.checkpoint_size),
                (9, 3, Some(9))
            );
        }
        // The same log name under another key (an impostor's) does not open the checkpoint.
        let impostor = reetrace_core::checkpoint::verifier_key(
            key.split('+').next().unwrap(),
            &reetrace_core::crypto::generate_signing_key()
                .unwrap()
                .verifying_key(),
        )
        .unwrap();
        let report = verify(store.as_ref(), &impostor, 4).await;
        assert!(!report.ok);
        assert!(
            mentions(&report, &["checkpoint does not verify"]),
            "{report:?}"
        );
        assert_eq!(report.problem_count, 1, "{report:?}");
    }
);

backend_test!(an_edited_event_is_named, |tdb: TestDatabase| async move {
    let db = connect(&tdb).await;
    let (store, products, key) = written_log(&db).await;
    let victim = store.events_from(4, 1).await.unwrap().remove(0);
    exec!(
        &db,
        "UPDATE custody_events SET document = replace(document, 'sgln:4012345.00001.0', 'sgln:4012345.00002.0') WHERE leaf_index = 4"
    );
    let report = verify(store.as_ref(), &key, 2).await;
    assert!(!report.ok);
    // Its chain link and its leaf no longer match; the checkpoint's root neither.
    assert!(
        mentions(&report, &["breaks at event", &victim.event_id, "leaf 4"]),
        "{report:?}"
    );
    assert!(
        mentions(&report, &["leaf 4", "recomputed leaf hash"]),
        "{report:?}"
    );
    assert!(mentions(&report, &["differs from the signed checkpoint"]));
    // Later links are checked against the stored ones: the edit is named once, and the stored
    // tree nodes above the edited leaf are not listed as separate problems.
    assert_eq!(report.problem_count, 3, "{report:?}");
    assert!(!mentions(&report, &[&products[0].to_string()]));
});

backend_test!(
    a_deleted_chain_link_is_detected,
    |tdb: TestDatabase| async move {
        let db = connect(&tdb).await;
        let (store, products, key) = written_log(&db).await;
        // The second link of the first product (its event is leaf 3).
        exec!(
            &db,
            "DELETE FROM custody_chain WHERE subject_id = $1 AND seq = 2",
            products[0]
        );
        let report = verify(store.as_ref(), &key, 1000).await;
        assert!(!report.ok);
        let subject = products[0].to_string();
        assert!(
            mentions(
                &report,
                &[
                    "chain of",
                    &subject,
                    "forks or skips",
                    "link 3 follows link 1"
                ]
            ),
            "{report:?}"
        );
        assert!(
            mentions(&report, &["leaf 3", "recomputed leaf hash"]),
            "{report:?}"
        );
    }
);

backend_test!(
    reordered_chain_links_are_detected,
    |tdb: TestDatabase| async move {
        let db = connect(&tdb).await;
        let (store, products, key) = written_log(&db).await;
        // Swap the positions of the second and third events in the first product's chain.
        exec!(
            &db,
            "UPDATE custody_chain SET seq = -1 WHERE subject_id = $1 AND seq = 2",
            products[0]
        );
        exec!(
            &db,
            "UPDATE custody_chain SET seq = 2 WHERE subject_id = $1 AND seq = 3",
            products[0]
        );
        exec!(
            &db,
            "UPDATE custody_chain SET seq = 3 WHERE subject_id = $1 AND seq = -1",
            products[0]
        );
        let report = verify(store.as_ref(), &key, 3).await;
        assert!(!report.ok);
        assert!(
            mentions(
                &report,
                &["forks or skips", "leaf 3", "link 3 follows link 1"]
            ),
            "{report:?}"
        );
    }
);

backend_test!(
    reordered_leaves_are_detected_and_located,
    |tdb: TestDatabase| async move {
        let db = connect(&tdb).await;
        let (store, _, key) = written_log(&db).await;
        // Leaves 1 and 2 are the first steps of two different products: swapping the events (every
        // column a leaf covers, the salt included, and their chain rows) keeps every chain and every leaf hash
        // consistent. Only the tree sees it.
        let a = store.events_from(1, 1).await.unwrap().remove(0);
        let b = store.events_from(2, 1).await.unwrap().remove(0);
        exec!(
            &db,
            "UPDATE custody_events SET event_id = 'moving' WHERE leaf_index = 1"
        );
        for (leaf, row) in [(2i64, &a), (1i64, &b)] {
            exec!(
                &db,
                "UPDATE custody_events SET event_id = $2, document = $3, leaf_hash = $4, event_hash = $5, \
                 event_type = $6, action = $7, biz_step = $8, biz_location = $9, event_time = $10, \
                 org_id = $11, data = $12, salt = $13 WHERE leaf_index = $1",
                leaf,
                row.event_id.clone(),
                row.document.clone(),
                row.leaf_hash.clone(),
                row.event_hash.clone(),
                row.event_type.clone(),
                row.action.clone(),
                row.biz_step.as_deref(),
                row.biz_location.as_deref(),
                row.event_time,
                row.org_id,
                row.data.clone(),
                row.salt.clone()
            );
        }
        exec!(
            &db,
            "UPDATE custody_chain SET leaf_index = CASE WHEN leaf_index = 1 THEN 2 ELSE 1 END WHERE leaf_index IN (1, 2)"
        );
        let report = verify(store.as_ref(), &key, 1000).await;
        assert!(!report.ok);
        assert!(!mentions(&report, &["chain of"]), "{report:?}");
        assert!(
            mentions(&report, &["differs from the signed checkpoint"]),
            "{report:?}"
        );
        assert!(mentions(&report, &["level 0, index 1"]), "{report:?}");
        assert!(mentions(&report, &["level 0, index 2"]), "{report:?}");
    }
);

backend_test!(
    an_edited_leaf_hash_is_named,
    |tdb: TestDatabase| async move {
        let db = connect(&tdb).await;
        let (store, _, key) = written_log(&db).await;
        let victim = store.events_from(6, 1).await.unwrap().remove(0);
        exec!(
            &db,
            "UPDATE custody_events SET leaf_hash = (SELECT leaf_hash FROM custody_events WHERE leaf_index = 0) WHERE leaf_index = 6"
        );
        let report = verify(store.as_ref(), &key, 1000).await;
        assert!(!report.ok);
        assert!(
            mentions(
                &report,
                &["leaf 6", &victim.event_id, "recomputed leaf hash"]
            ),
            "{report:?}"
        );
        assert_eq!(
            report.problem_count, 1,
            "the chains and the tree still hold: {report:?}"
        );
    }
);

backend_test!(
    an_edited_tree_node_is_named,
    |tdb: TestDatabase| async move {
        let db = connect(&tdb).await;
        let (store, _, key) = written_log(&db).await;
        exec!(
            &db,
            "UPDATE custody_log_nodes SET hash = (SELECT hash FROM custody_log_nodes WHERE level = 0 AND idx = 0) WHERE level = 1 AND idx = 1"
        );
        let report = verify(store.as_ref(), &key, 1000).await;
        assert!(!report.ok);
        assert!(
            mentions(&report, &["level 1, index 1", "differs"]),
            "{report:?}"
        );
    }
);

backend_test!(
    each_column_the_leaf_covers_is_checked,
    |tdb: TestDatabase| async move {
        let db = connect(&tdb).await;
        let (store, _, key) = written_log(&db).await;
        let victim = store.events_from(5, 1).await.unwrap().remove(0);
        for (column, edited) in [
            ("data", "'{\"elements\":{\"Nd\":1}}'"),
            ("org_id", ""),
            ("action", "'destroy'"),
            ("event_hash", "'ni:///sha-256;0'"),
            ("event_type", "'AggregationEvent'"),
            ("biz_step", "'destroying'"),
            ("biz_location", "'urn:epc:id:sgln:4012345.00009.0'"),
            ("recorded_at", ""),
        ] {
            if column == "org_id" {
                exec!(
                    &db,
                    "UPDATE custody_events SET org_id = $1 WHERE leaf_index = 5",
                    Uuid::now_v7()
                );
            } else if column == "recorded_at" {
                exec!(
                    &db,
                    "UPDATE custody_events SET recorded_at = $1 WHERE leaf_index = 5",
                    victim.recorded_at + chrono::TimeDelta::seconds(1)
                );
            } else {
                exec!(
                    &db,
                    format!("UPDATE custody_events SET {column} = {edited} WHERE leaf_index = 5")
                );
            }
            let report = verify(store.as_ref(), &key, 4).await;
            assert!(!report.ok, "{column}");
            assert!(
                mentions(
                    &report,
                    &["leaf 5", &victim.event_id, "recomputed leaf hash", column]
                ),
                "{column}: {report:?}"
            );
            assert!(!mentions(&report, &["breaks at event"]), "{report:?}");
            exec!(
                &db,
                "UPDATE custody_events SET data = $1, org_id = $2, action = $3, event_hash = $4, \
                 event_type = $5, biz_step = $6, biz_location = $7, recorded_at = $8 WHERE leaf_index = 5",
                victim.data.clone(),
                victim.org_id,
                victim.action.clone(),
                victim.event_hash.clone(),
                victim.event_type.clone(),
                victim.biz_step.as_deref(),
                victim.biz_location.as_deref(),
                victim.recorded_at
            );
            let report = verify(store.as_ref(), &key, 4).await;
            assert!(report.ok, "{column} undone: {report:?}");
            assert_eq!(report.uncovered, 0);
        }
        // A year later: the event would count in another year's figures.
        exec!(
            &db,
            "UPDATE custody_events SET event_time = $1 WHERE leaf_index = 5",
            victim.event_time + chrono::TimeDelta::days(366)
        );
        let report = verify(store.as_ref(), &key, 4).await;
        assert!(
            mentions(&report, &["leaf 5", "recomputed leaf hash"]),
            "{report:?}"
        );
    }
);

backend_test!(
    a_leaf_rewritten_in_the_first_form_is_named,
    |tdb: TestDatabase| async move {
        let db = connect(&tdb).await;
        let (store, _, key) = written_log(&db).await;
        // The first form covers the document and links only: with it, an edited data would pass
        // the leaf check. After the log's first covering leaf, it is refused by itself.
        let mut victim = store.events_from(7, 1).await.unwrap().remove(0);
        let links = store.links_between(7, 8).await.unwrap();
        let joined: Vec<_> = links
            .iter()
            .map(|l| reetrace_custody::domain::log_leaf::Joined {
                subject: l.subject_id,
                seq: l.seq,
                link: l.link.as_slice().try_into().unwrap(),
            })
            .collect();
        let digest = reetrace_custody::domain::log_leaf::event_digest(&victim.document);
        let first = reetrace_core::merkle::leaf_hash(
            &reetrace_custody::domain::log_leaf::leaf_data(&victim.event_id, &digest, &joined),
        );
        exec!(
            &db,
            "UPDATE custody_events SET leaf_hash = $1 WHERE leaf_index = 7",
            first.to_vec()
        );
        let report = verify(store.as_ref(), &key, 4).await;
        assert!(!report.ok);
        assert!(
            mentions(
                &report,
                &["leaf 7", &victim.event_id, "first leaf form", "from leaf 0"]
            ),
            "{report:?}"
        );
        assert!(
            mentions(&report, &["differs from the signed checkpoint"]),
            "{report:?}"
        );
        assert_eq!(report.uncovered, 1);
        // Served through the API, the entry of that leaf says it covers no record.
        victim.leaf_hash = first.to_vec();
        assert_eq!(
            reetrace_custody::domain::log_verifier::served_record(&victim, &links),
            None
        );
    }
);
