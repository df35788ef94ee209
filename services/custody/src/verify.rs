//! Verifying the log from what is stored: every chain link and every leaf recomputed from the
//! stored events, the tree rebuilt from those leaves, and its root checked against the latest
//! signed checkpoint. Used by `reetrace verify-log` (on the database, or through the API).

use std::collections::HashMap;

use reetrace_core::checkpoint;
use reetrace_core::merkle::{self, Frontier, Hash};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::log::{self, Joined};
use crate::store::{ChainLink, EventRow};

/// The leaf data of a stored event, from its stored chain links.
pub fn leaf_data_of(event: &EventRow, links: &[ChainLink]) -> Vec<u8> {
    let digest = log::event_digest(&event.document);
    let joined: Vec<Joined> = links
        .iter()
        .filter(|l| l.leaf_index == event.leaf_index)
        .map(|l| Joined {
            subject: l.subject_id,
            seq: l.seq,
            link: l.link.as_slice().try_into().unwrap_or([0u8; 32]),
        })
        .collect();
    log::leaf_data(&event.event_id, &digest, &joined)
}

/// What a verification found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub events: i64,
    pub subjects: usize,
    pub checkpoint_size: Option<i64>,
    pub ok: bool,
    /// Each problem found, naming the event or leaf.
    pub problems: Vec<String>,
}

/// Recomputes chains, leaves and roots, page by page, in leaf order.
pub struct Verifier {
    tails: HashMap<Uuid, (i64, [u8; 32])>,
    frontier: Frontier,
    /// Roots at sizes worth checking (checkpoint sizes), filled as the tree grows.
    wanted: Vec<i64>,
    roots: HashMap<i64, Hash>,
    next_leaf: i64,
    problems: Vec<String>,
}

/// At most this many problems are listed (the count of events still says how far it got).
const MAX_PROBLEMS: usize = 100;

impl Verifier {
    /// A verifier that will keep the roots at `sizes`.
    pub fn new(sizes: Vec<i64>) -> Self {
        Self {
            tails: HashMap::new(),
            frontier: Frontier::new(),
            wanted: sizes,
            roots: HashMap::new(),
            next_leaf: 0,
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }

    /// Checks the next events (in leaf order, starting where the last page ended) with their
    /// stored chain links.
    pub fn feed(&mut self, events: &[EventRow], links: &[ChainLink]) {
        let mut by_leaf: HashMap<i64, Vec<&ChainLink>> = HashMap::new();
        for l in links {
            by_leaf.entry(l.leaf_index).or_default().push(l);
        }
        for event in events {
            if event.leaf_index != self.next_leaf {
                self.problem(format!(
                    "leaf {} is missing: the next stored event is leaf {}",
                    self.next_leaf, event.leaf_index
                ));
                self.next_leaf = event.leaf_index;
            }
            let digest = log::event_digest(&event.document);
            let mut joined = Vec::new();
            for link in by_leaf
                .get(&event.leaf_index)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let (seq, previous) = self
                    .tails
                    .get(&link.subject_id)
                    .copied()
                    .unwrap_or((0, log::genesis(link.subject_id)));
                let expected = log::next_link(&previous, &digest);
                if link.seq != seq + 1 {
                    self.problem(format!(
                        "chain of {} forks or skips at event {}: link {} follows link {seq}",
                        link.subject_id, event.event_id, link.seq
                    ));
                }
                if link.link.as_slice() != expected {
                    self.problem(format!(
                        "chain of {} breaks at event {} (leaf {}): the stored event does not match its link",
                        link.subject_id, event.event_id, event.leaf_index
                    ));
                }
                self.tails.insert(link.subject_id, (link.seq, expected));
                joined.push(Joined {
                    subject: link.subject_id,
                    seq: link.seq,
                    link: expected,
                });
            }
            let leaf = merkle::leaf_hash(&log::leaf_data(&event.event_id, &digest, &joined));
            if event.leaf_hash.as_slice() != leaf {
                self.problem(format!(
                    "leaf {} (event {}) does not match its recomputed leaf hash",
                    event.leaf_index, event.event_id
                ));
            }
            if self.frontier.append(leaf).is_err() {
                self.problem("the log is larger than a Merkle tree can hold".to_owned());
            }
            self.next_leaf = event.leaf_index + 1;
            let size = self.frontier.size() as i64;
            if self.wanted.contains(&size) {
                self.roots.insert(size, self.frontier.root());
            }
        }
    }

    /// Checks the signed checkpoint note against the recomputed root of its size.
    pub fn finish(mut self, note: Option<&str>, verifier_key: &str) -> Report {
        let mut checkpoint_size = None;
        if let Some(note) = note {
            match checkpoint::open(note, verifier_key) {
                Ok(cp) => {
                    let size = i64::try_from(cp.size).unwrap_or(i64::MAX);
                    checkpoint_size = Some(size);
                    match self.roots.get(&size) {
                        Some(root) if *root == cp.root => {}
                        Some(_) => self.problem(format!(
                            "the root of the first {size} recomputed leaves differs from the signed checkpoint"
                        )),
                        None => self.problem(format!(
                            "the signed checkpoint covers {size} leaves but only {} events are stored",
                            self.frontier.size()
                        )),
                    }
                }
                Err(err) => self.problem(format!("the latest checkpoint does not verify: {err}")),
            }
        } else if self.frontier.size() > 0 {
            self.problem("events are stored but no checkpoint was published".to_owned());
        }
        Report {
            events: self.frontier.size() as i64,
            subjects: self.tails.len(),
            checkpoint_size,
            ok: self.problems.is_empty(),
            problems: self.problems,
        }
    }
}
