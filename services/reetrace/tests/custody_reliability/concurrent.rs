//! 16 concurrent writers recording steps on the same few products, as several recycler
//! organisations, many of them racing for the same transition: every chain stays linear (no
//! fork, no gap), the log holds exactly the acknowledged events on gap-free leaves, it verifies,
//! and every product's custody is what its last event says.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use reetrace_custody::domain::state::{self, Action, Custody, State};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::support::Running;
use crate::{both, rows};

const WRITERS: usize = 16;
const STEPS_PER_WRITER: usize = 40;
const PRODUCTS: usize = 6;

/// A small deterministic generator (xorshift64*): each writer its own sequence.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// An acknowledged step.
#[derive(Debug, Clone)]
struct Ack {
    product: String,
    event_id: String,
    leaf_index: i64,
    custody: Value,
}

#[derive(Default)]
struct Tally {
    acks: Vec<Ack>,
    refused: usize,
    busy: usize,
}

/// What a writer asks for: mostly a step the scan just allowed (which a racing writer may take
/// first), sometimes a blind one; destroying is rare so that products keep moving.
///
/// Every request has its own event time: two steps identical in every field (same product,
/// holder, step and time) are the same EPCIS event by its hash, refused as a duplicate.
fn choose(rng: &mut Rng, allowed: &[Value], orgs: &[String], me: usize, n: usize) -> Value {
    let pick = |rng: &mut Rng, allowed: &[&str]| -> String {
        let weighted: Vec<&str> = allowed
            .iter()
            .copied()
            .filter(|a| *a != "destroy" || rng.below(40) == 0)
            .filter(|a| *a != "export")
            .collect();
        if weighted.is_empty() {
            "handover".to_owned()
        } else {
            weighted[rng.below(weighted.len())].to_owned()
        }
    };
    let allowed: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
    let action = if allowed.is_empty() || rng.below(4) == 0 {
        pick(
            rng,
            &[
                "collect", "receive", "sort", "handover", "accept", "destroy",
            ],
        )
    } else {
        pick(rng, &allowed)
    };
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp(1_780_000_000 + n as i64, 0).unwrap();
    let mut body = json!({"action": action, "at": at.to_rfc3339()});
    if action == "handover" {
        let other = (me + 1 + rng.below(orgs.len() - 1)) % orgs.len();
        body["to_org"] = json!(orgs[other]);
    }
    body
}

both!(
    sixteen_writers_leave_linear_chains_and_a_consistent_log,
    |app: Running| async move {
        let app = Arc::new(app);
        let (_, maker) = app.org("Acme Motors", "manufacturer").await;
        let mut orgs = Vec::new();
        let mut keys = Vec::new();
        for name in ["Collecte Lyon", "Urban Mine", "Recyclage Nord"] {
            let (id, key) = app.org(name, "recycler").await;
            orgs.push(id);
            keys.push(key);
        }
        let mut products = Vec::new();
        for i in 0..PRODUCTS {
            products.push(app.product(&maker, &format!("CC-{i}")).await);
        }
        let tally = Arc::new(Mutex::new(Tally::default()));

        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let (app, orgs, keys, products, tally) = (
                app.clone(),
                orgs.clone(),
                keys.clone(),
                products.clone(),
                tally.clone(),
            );
            writers.push(tokio::spawn(async move {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((w as u64 + 1) * 0x1000_0000_01B3));
                for i in 0..STEPS_PER_WRITER {
                    let product = &products[rng.below(products.len())];
                    let mut me = rng.below(orgs.len());
                    let mut scan = app.scan(&keys[me], product).await;
                    // Mostly act as whoever may act now (so that writers race for the same
                    // transition), sometimes as someone who may not.
                    let turn = scan["custody"]["pending_to"]
                        .as_str()
                        .or(scan["custody"]["holder"].as_str())
                        .and_then(|org| orgs.iter().position(|o| o == org));
                    if let Some(turn) = turn
                        && turn != me
                        && rng.below(4) != 0
                    {
                        me = turn;
                        scan = app.scan(&keys[me], product).await;
                    }
                    let allowed = scan["next"]["actions"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    let body = choose(&mut rng, &allowed, &orgs, me, w * STEPS_PER_WRITER + i);
                    let (status, answer) = app.step(&keys[me], product, &body).await;
                    let mut tally = tally.lock().await;
                    match status {
                        201 => tally.acks.push(Ack {
                            product: product.clone(),
                            event_id: answer["event_id"].as_str().unwrap().to_owned(),
                            leaf_index: answer["leaf_index"].as_i64().unwrap(),
                            custody: answer["custody"].clone(),
                        }),
                        409 => {
                            assert_eq!(answer["code"], "step_not_allowed", "{answer}");
                            tally.refused += 1;
                        }
                        // Lost the race more often than the service retries: nothing written.
                        503 => tally.busy += 1,
                        other => panic!("{other} for {body}: {answer}"),
                    }
                }
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
        let tally = Arc::try_unwrap(tally).ok().unwrap().into_inner();
        let acked = tally.acks.len();
        assert!(acked >= 30, "enough steps went through: {acked}");
        assert!(
            tally.refused >= 30,
            "and many raced: {} refused",
            tally.refused
        );

        // The log: every acknowledged event on the leaf it was acknowledged with, nothing else.
        let cp = app.checkpoint().await;
        assert_eq!(cp["tree_size"], acked as i64);
        let stored: BTreeMap<i64, String> = rows!(
            &app.db,
            (i64, String),
            "SELECT leaf_index, event_id FROM custody_events ORDER BY leaf_index"
        )
        .into_iter()
        .collect();
        let expected: BTreeMap<i64, String> = tally
            .acks
            .iter()
            .map(|a| (a.leaf_index, a.event_id.clone()))
            .collect();
        assert_eq!(
            stored, expected,
            "stored events are exactly the acknowledged ones"
        );
        assert_eq!(
            stored.keys().copied().collect::<Vec<_>>(),
            (0..acked as i64).collect::<Vec<_>>(),
            "leaf indexes 0..size with no gap"
        );
        let (head,): (i64,) = rows!(&app.db, (i64,), "SELECT size FROM custody_log_head").remove(0);
        assert_eq!(head, acked as i64);
        let (nodes,): (i64,) =
            rows!(&app.db, (i64,), "SELECT COUNT(*) FROM custody_log_nodes").remove(0);
        assert_eq!(
            nodes,
            2 * head - i64::from(head.count_ones()),
            "one node per perfect subtree"
        );

        // Chains: seqs 1..n per subject, every event in exactly one chain (a step has one subject).
        let links = rows!(
            &app.db,
            (Uuid, i64, i64),
            "SELECT subject_id, seq, leaf_index FROM custody_chain ORDER BY subject_id, seq"
        );
        let mut by_subject: HashMap<Uuid, Vec<(i64, i64)>> = HashMap::new();
        for (subject, seq, leaf) in &links {
            by_subject.entry(*subject).or_default().push((*seq, *leaf));
        }
        for (subject, chain) in &by_subject {
            let seqs: Vec<i64> = chain.iter().map(|(s, _)| *s).collect();
            assert_eq!(
                seqs,
                (1..=chain.len() as i64).collect::<Vec<_>>(),
                "chain of {subject}"
            );
            assert!(
                chain.windows(2).all(|w| w[0].1 < w[1].1),
                "chain of {subject} follows the log"
            );
        }
        let leaves: BTreeSet<i64> = links.iter().map(|(_, _, leaf)| *leaf).collect();
        assert_eq!(links.len(), acked, "one link per event");
        assert_eq!(leaves.len(), acked, "every event in exactly one chain");

        // The verifier recomputes it all and checks the signed checkpoint.
        let report = reetrace::verify_log::verify_database(&app.db, None, 64)
            .await
            .unwrap();
        assert!(report.report.ok, "{:?}", report.report);
        assert_eq!(report.report.events, acked as i64);
        assert_eq!(report.report.checkpoint_size, Some(acked as i64));

        // Each product: its chain replays through the state machine to its stored custody, which
        // is what the last acknowledgement said.
        let store = app.services.custody.store();
        for product in &products {
            let id: Uuid = product.parse().unwrap();
            let mut custody = Custody::in_use();
            for (link, event) in store.chain_of(id).await.unwrap() {
                let data: Value = serde_json::from_str(&event.data).unwrap();
                let action = Action::parse(&event.action).unwrap();
                let to = data["pending_to"].as_str().map(|t| t.parse().unwrap());
                custody = state::step(custody, action, event.org_id, to)
                    .unwrap_or_else(|r| panic!("{product} link {}: {r}", link.seq));
                assert_eq!(data["state"], custody.state.as_str());
                assert_eq!(data["holder"], json!(custody.holder));
            }
            let row = store.product(id).await.unwrap().unwrap();
            assert_eq!(row.custody, custody, "{product}");
            let last = tally
                .acks
                .iter()
                .filter(|a| &a.product == product)
                .max_by_key(|a| a.leaf_index);
            match last {
                Some(ack) => {
                    assert_eq!(ack.custody["state"], custody.state.as_str());
                    assert_eq!(ack.custody["holder"], json!(custody.holder));
                    assert_eq!(
                        ack.custody
                            .get("pending_to")
                            .cloned()
                            .unwrap_or(Value::Null),
                        json!(custody.pending_to)
                    );
                }
                None => assert_eq!(custody.state, State::InUse),
            }
        }
        let mut states = BTreeMap::new();
        for product in &products {
            let row = store
                .product(product.parse().unwrap())
                .await
                .unwrap()
                .unwrap();
            *states.entry(row.custody.state.as_str()).or_insert(0) += 1;
        }
        eprintln!(
            "{WRITERS} writers: {acked} steps recorded, {} refused, {} gave up after retries; products {states:?}",
            tally.refused, tally.busy
        );
    }
);
