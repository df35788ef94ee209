//! Verifying the log from what is stored: every chain link and every leaf recomputed from the
//! stored events, the tree rebuilt from those leaves, and its root checked against the latest
//! signed checkpoint. Used by `reetrace verify-log` (on the database, or through the API).
//!
//! The verifier checks the log page by page in leaf order, so that a log of millions of events is
//! checked in bounded memory: what it keeps is one chain tail per subject, the Merkle frontier
//! and the roots at the checkpoint sizes it was asked about.

use std::collections::{BTreeSet, HashMap, HashSet};

use reetrace_core::checkpoint;
use reetrace_core::merkle::{self, Frontier, Hash, NodeId};
use serde::Serialize;
use uuid::Uuid;

use super::event::{ChainLink, EventRow};
use super::log_leaf::{self, Joined};

/// The leaf data of a stored event, from its stored chain links, in the form its stored leaf
/// hash has (the covering form unless the leaf was written in the first).
pub fn leaf_data_of(event: &EventRow, links: &[ChainLink]) -> Vec<u8> {
    stored_form(event, links).0
}

/// The record digest a log entry serves for a stored event: the digest of its columns, unless
/// its leaf is in the first form (which covers none), so that a verifier outside recomputes
/// the leaf it was written with.
pub fn served_record(event: &EventRow, links: &[ChainLink]) -> Option<[u8; 32]> {
    stored_form(event, links).1
}

/// The leaf data of a stored event in the form of its stored leaf hash, and the record digest
/// it covers (`None` for the first form). When neither form matches, the covering one.
fn stored_form(event: &EventRow, links: &[ChainLink]) -> (Vec<u8>, Option<[u8; 32]>) {
    let digest = log_leaf::event_digest(&event.document);
    let joined: Vec<Joined> = links
        .iter()
        .filter(|l| l.leaf_index == event.leaf_index)
        .map(|l| Joined {
            subject: l.subject_id,
            seq: l.seq,
            link: l.link.as_slice().try_into().unwrap_or([0u8; 32]),
        })
        .collect();
    let record = log_leaf::record_digest(&event.record());
    let covering = log_leaf::covering_leaf_data(&event.event_id, &digest, &record, &joined);
    if merkle::leaf_hash(&covering).as_slice() != event.leaf_hash {
        let first = log_leaf::leaf_data(&event.event_id, &digest, &joined);
        if merkle::leaf_hash(&first).as_slice() == event.leaf_hash {
            return (first, None);
        }
    }
    (covering, Some(record))
}

/// Where the verifier takes each event's record digest from.
#[derive(Debug, Clone, Copy)]
pub enum Records<'a> {
    /// Recomputed from the stored columns of each event (on the database).
    Stored,
    /// As served with each entry, one per event (`None`: a leaf in the first form).
    Served(&'a [Option<[u8; 32]>]),
}

/// The columns of an event a covering leaf commits to, to name them in a problem.
pub const COVERED_COLUMNS: &str =
    "data, org_id, action, event_time, event_hash, event_type, biz_step, biz_location, recorded_at";

/// What a verification found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerificationReport {
    /// Events checked (leaves of the recomputed tree).
    pub events: i64,
    /// Subjects (products and lots) whose chains were followed.
    pub subjects: usize,
    /// Leaves in the first form, written before the log covered the stored columns of events:
    /// their `data`, `org_id`, action and time are not committed to by the log.
    pub uncovered: i64,
    /// Leaves served redacted (events the key reading the log is not involved in): taken as
    /// given into the tree, their events and chain links unseen.
    #[serde(skip_serializing_if = "is_zero")]
    pub redacted: i64,
    /// The size of the signed checkpoint checked, if one opened.
    pub checkpoint_size: Option<i64>,
    pub ok: bool,
    /// How many problems were found (only the first ones are listed).
    pub problem_count: usize,
    /// Each problem found, naming the event or leaf.
    pub problems: Vec<String>,
}

/// Recomputes chains, leaves and roots, page by page, in leaf order.
pub struct LogVerifier {
    tails: HashMap<Uuid, (i64, [u8; 32])>,
    frontier: Frontier,
    /// Roots at sizes worth checking (checkpoint sizes), filled as the tree grows.
    wanted: HashSet<i64>,
    roots: HashMap<i64, Hash>,
    next_leaf: i64,
    /// Nodes completed since the last [`LogVerifier::take_nodes`], when asked to keep them.
    nodes: Option<Vec<(NodeId, Hash)>>,
    /// Leaves whose stored hash differs from the recomputed one: the stored nodes above them
    /// differ as a consequence, which is not worth a problem each.
    diverged: BTreeSet<u64>,
    /// A leaf is missing or repeated: tree positions no longer match leaf indexes.
    misaligned: bool,
    /// Leaves in the first form, and the first covering leaf seen (after it, every leaf covers).
    uncovered: i64,
    covering_from: Option<(i64, String)>,
    redacted: i64,
    problems: Vec<String>,
    problem_count: usize,
}

/// At most this many problems are listed (the count of events still says how far it got).
const MAX_PROBLEMS: usize = 100;

impl LogVerifier {
    /// A verifier that will keep the roots at `sizes`.
    pub fn new(sizes: impl IntoIterator<Item = i64>) -> Self {
        Self {
            tails: HashMap::new(),
            frontier: Frontier::new(),
            wanted: sizes.into_iter().collect(),
            roots: HashMap::new(),
            next_leaf: 0,
            nodes: None,
            diverged: BTreeSet::new(),
            misaligned: false,
            uncovered: 0,
            covering_from: None,
            redacted: 0,
            problems: Vec::new(),
            problem_count: 0,
        }
    }

    /// Also keeps every tree node the recomputation completes, for [`LogVerifier::check_nodes`]
    /// (the stored nodes are what inclusion and consistency proofs are served from).
    pub fn keeping_nodes(mut self) -> Self {
        self.nodes = Some(Vec::new());
        self
    }

    /// Records a problem found outside the recomputation (e.g. by the caller's own queries).
    pub fn problem(&mut self, text: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }

    /// The next leaf index expected.
    pub fn next_leaf(&self) -> i64 {
        self.next_leaf
    }

    /// Checks the next events (in leaf order, starting where the last page ended) with their
    /// stored chain links and stored columns.
    pub fn check_page(&mut self, events: &[EventRow], links: &[ChainLink]) {
        self.check_events(events, links, Records::Stored);
    }

    /// Checks the next events with their chain links and the record digest of each (see
    /// [`Records`]).
    pub fn check_events(&mut self, events: &[EventRow], links: &[ChainLink], records: Records) {
        let mut by_leaf: HashMap<i64, Vec<&ChainLink>> = HashMap::new();
        for l in links {
            by_leaf.entry(l.leaf_index).or_default().push(l);
        }
        for (i, event) in events.iter().enumerate() {
            self.align(event.leaf_index, &event.event_id);
            let digest = log_leaf::event_digest(&event.document);
            let mut joined = Vec::new();
            let mut own = by_leaf
                .get(&event.leaf_index)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .to_vec();
            // Chain order within a leaf does not matter; sorting keeps reports stable.
            own.sort_by_key(|l| (l.subject_id, l.seq));
            for link in own {
                let (seq, previous) = self
                    .tails
                    .get(&link.subject_id)
                    .copied()
                    .unwrap_or((0, log_leaf::genesis(link.subject_id)));
                let expected = log_leaf::next_link(&previous, &digest);
                if link.seq != seq + 1 && self.redacted > 0 {
                    // Events of this chain were redacted before: follow it from here.
                    let stored: [u8; 32] = link.link.as_slice().try_into().unwrap_or(expected);
                    self.tails.insert(link.subject_id, (link.seq, stored));
                    joined.push(Joined {
                        subject: link.subject_id,
                        seq: link.seq,
                        link: stored,
                    });
                    continue;
                }
                if link.seq != seq + 1 {
                    self.problem(format!(
                        "chain of {} forks or skips at event {} (leaf {}): link {} follows link {seq}",
                        link.subject_id, event.event_id, event.leaf_index, link.seq
                    ));
                }
                if link.link.as_slice() != expected {
                    self.problem(format!(
                        "chain of {} breaks at event {} (leaf {}, link {}): the stored event does not match its link",
                        link.subject_id, event.event_id, event.leaf_index, link.seq
                    ));
                }
                // Each link is checked against the stored one before it, so one edited event
                // is named once, not again at every later link of its chain; the leaf commits
                // to the stored link, which its own hash then checks.
                let stored: [u8; 32] = link.link.as_slice().try_into().unwrap_or(expected);
                self.tails.insert(link.subject_id, (link.seq, stored));
                joined.push(Joined {
                    subject: link.subject_id,
                    seq: link.seq,
                    link: stored,
                });
            }
            let record = match records {
                Records::Stored => Some(log_leaf::record_digest(&event.record())),
                Records::Served(served) => served.get(i).copied().flatten(),
            };
            let leaf = self.leaf_of(event, &digest, record, &joined, records);
            self.append(leaf, event.leaf_index);
        }
    }

    /// Takes the next leaf as given: a redacted entry (an event the reader is not involved in)
    /// whose leaf hash alone is served. Chains that then continue past unseen events are
    /// followed from where they are seen again.
    pub fn pass_redacted(&mut self, leaf_index: i64, leaf_hash: &[u8]) {
        self.align(leaf_index, "(redacted)");
        self.redacted += 1;
        let leaf: Hash = leaf_hash.try_into().unwrap_or_else(|_| {
            self.problem(format!("leaf {leaf_index}: the leaf hash is not 32 bytes"));
            [0; 32]
        });
        self.append(leaf, leaf_index);
    }

    /// Checks that `leaf_index` is the next leaf, naming a gap or a repeat.
    fn align(&mut self, leaf_index: i64, event_id: &str) {
        if leaf_index != self.next_leaf {
            self.misaligned = true;
        }
        if leaf_index > self.next_leaf {
            self.problem(format!(
                "leaves {} to {} are missing: the next stored event is leaf {leaf_index} ({event_id})",
                self.next_leaf,
                leaf_index - 1,
            ));
        } else if leaf_index < self.next_leaf {
            self.problem(format!(
                "leaf {leaf_index} ({event_id}) comes again or out of order after leaf {}",
                self.next_leaf - 1
            ));
        }
    }

    /// Appends a leaf to the recomputed tree, keeping nodes and the roots asked for.
    fn append(&mut self, leaf: Hash, leaf_index: i64) {
        match self.frontier.append(leaf) {
            Ok(nodes) => {
                if let Some(kept) = &mut self.nodes {
                    kept.extend(nodes);
                }
            }
            Err(_) => self.problem("the log is larger than a Merkle tree can hold".to_owned()),
        }
        self.next_leaf = self.next_leaf.max(leaf_index + 1);
        let size = self.frontier.size() as i64;
        if self.wanted.contains(&size) {
            self.roots.insert(size, self.frontier.root());
        }
    }

    /// Recomputes the leaf of `event` in the form its stored hash has, and names what differs.
    fn leaf_of(
        &mut self,
        event: &EventRow,
        digest: &[u8; 32],
        record: Option<[u8; 32]>,
        joined: &[Joined],
        records: Records,
    ) -> Hash {
        // A log of the first form stays in it until its first covering leaf: try that first.
        if self.covering_from.is_none() && self.uncovered > 0 {
            let first = merkle::leaf_hash(&log_leaf::leaf_data(&event.event_id, digest, joined));
            if event.leaf_hash.as_slice() == first {
                self.uncovered += 1;
                return first;
            }
        }
        let covering = record.map(|record| {
            merkle::leaf_hash(&log_leaf::covering_leaf_data(
                &event.event_id,
                digest,
                &record,
                joined,
            ))
        });
        if let Some(leaf) = covering
            && event.leaf_hash.as_slice() == leaf
        {
            if self.covering_from.is_none() {
                self.covering_from = Some((event.leaf_index, event.event_id.clone()));
            }
            return leaf;
        }
        let first = merkle::leaf_hash(&log_leaf::leaf_data(&event.event_id, digest, joined));
        if event.leaf_hash.as_slice() == first {
            self.uncovered += 1;
            if let Some((leaf, id)) = self.covering_from.clone() {
                self.problem(format!(
                    "leaf {} (event {}) is in the first leaf form, which does not cover its columns ({COVERED_COLUMNS}), although the log covers them from leaf {leaf} ({id}) on",
                    event.leaf_index, event.event_id
                ));
            }
            return first;
        }
        let what = match records {
            Records::Stored => format!(
                ": its stored document or one of the columns the leaf covers ({COVERED_COLUMNS}) was changed"
            ),
            Records::Served(_) => String::new(),
        };
        self.problem(format!(
            "leaf {} (event {}) does not match its recomputed leaf hash{what}",
            event.leaf_index, event.event_id
        ));
        self.diverged.insert(self.frontier.size());
        covering.unwrap_or(first)
    }

    /// The nodes completed since the last call (empty unless [`LogVerifier::keeping_nodes`]).
    pub fn take_nodes(&mut self) -> Vec<(NodeId, Hash)> {
        self.nodes.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Compares recomputed nodes with the stored ones (proofs are served from those).
    pub fn check_nodes(&mut self, recomputed: &[(NodeId, Hash)], stored: &HashMap<NodeId, Hash>) {
        if self.misaligned {
            return;
        }
        for (id, hash) in recomputed {
            let first = id.index << id.level;
            let covers_diverged = self
                .diverged
                .range(first..first + (1u64 << id.level))
                .next()
                .is_some();
            match stored.get(id) {
                Some(_) if covers_diverged => {}
                Some(s) if s == hash => {}
                Some(_) => self.problem(format!(
                    "stored tree node (level {}, index {}) differs from the recomputed one: proofs through it do not verify",
                    id.level, id.index
                )),
                None => self.problem(format!(
                    "tree node (level {}, index {}) is not stored: proofs through it cannot be served",
                    id.level, id.index
                )),
            }
        }
    }

    /// Checks a stored (unsigned) root of `size` leaves against the recomputed one, when that
    /// size was asked for.
    pub fn check_root(&mut self, size: i64, root: &[u8]) {
        if let Some(recomputed) = self.roots.get(&size)
            && recomputed.as_slice() != root
        {
            self.problem(format!(
                "the checkpoint of {size} leaves records another root than the first {size} recomputed leaves"
            ));
        }
    }

    /// Checks the signed checkpoint note against the recomputed root of its size.
    pub fn finish(mut self, note: Option<&str>, verifier_key: &str) -> VerificationReport {
        let mut checkpoint_size = None;
        if let Some(note) = note {
            match checkpoint::open(note, verifier_key) {
                Ok(cp) => {
                    let size = i64::try_from(cp.size).unwrap_or(i64::MAX);
                    checkpoint_size = Some(size);
                    let key_name = verifier_key.split('+').next().unwrap_or_default();
                    if cp.origin != key_name {
                        self.problem(format!(
                            "the checkpoint names the log {:?}, but its key is {key_name:?}'s",
                            cp.origin
                        ));
                    }
                    match self.roots.get(&size) {
                        Some(root) if *root == cp.root => {}
                        Some(_) => self.problem(format!(
                            "the root of the first {size} recomputed leaves differs from the signed checkpoint"
                        )),
                        None if (self.frontier.size() as i64) < size => self.problem(format!(
                            "the signed checkpoint covers {size} leaves but only {} events are stored",
                            self.frontier.size()
                        )),
                        None => self.problem(format!(
                            "the root at {size} leaves was not kept: the verifier was not told the checkpoint's size"
                        )),
                    }
                }
                Err(err) => self.problem(format!("the latest checkpoint does not verify: {err}")),
            }
        } else if self.frontier.size() > 0 {
            self.problem("events are stored but no checkpoint was published".to_owned());
        }
        VerificationReport {
            events: self.frontier.size() as i64,
            subjects: self.tails.len(),
            uncovered: self.uncovered,
            redacted: self.redacted,
            checkpoint_size,
            ok: self.problem_count == 0,
            problem_count: self.problem_count,
            problems: self.problems,
        }
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}
