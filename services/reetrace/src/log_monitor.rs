//! `reetrace verify-log --state FILE`: the monitor mode. A signed checkpoint only proves that
//! the log's key signed it, so an older one still verifies after the newest events and
//! checkpoints were deleted. The monitor keeps the last checkpoint it verified and, on each
//! run, accepts the log's latest one only if it extends that tree: not smaller, same origin and
//! key, and an RFC 9162 consistency proof from the kept size to the new one that verifies
//! against both roots (built from the database's verified tree nodes, or served by the API).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reetrace_core::checkpoint::{self, Checkpoint};
use reetrace_core::db::Db;
use reetrace_core::merkle;
use reetrace_custody::store;
use serde::{Deserialize, Serialize};

use crate::verify_log::{LogReport, http_client};

/// What the state file keeps: the last checkpoint verified, with the note it came in, so the
/// file can be checked on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorState {
    pub origin: String,
    pub tree_size: u64,
    /// Base64.
    pub root_hash: String,
    /// The key the note was opened with.
    pub verifier_key: String,
    /// The signed checkpoint note itself.
    pub note: String,
    /// Where it was verified (`database` or the base URL) and when (RFC 3339).
    pub source: String,
    pub verified_at: String,
}

/// The monitor's part of the `verify-log` report.
#[derive(Debug, Clone, Serialize)]
pub struct MonitorReport {
    /// The state file.
    pub state: PathBuf,
    /// The tree size kept from the previous run; none on the first run.
    pub previous_size: Option<u64>,
    /// The tree size of the latest checkpoint, now kept (when `written`).
    pub tree_size: Option<u64>,
    /// Whether the state file was (re)written: only when everything verified.
    pub written: bool,
}

/// How the latest checkpoint relates to the kept one.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The same tree.
    Same,
    /// A larger tree: consistent only if a proof from `from` to `to` verifies.
    Grew { from: u64, to: u64 },
}

/// Why the latest checkpoint does not extend the kept one.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rollback {
    #[error("the log is {now:?}, but the state file keeps a checkpoint of {kept:?}: another log")]
    OtherOrigin { kept: String, now: String },
    #[error(
        "the log's key changed from {kept:?} to {now:?}: pin the expected key with \
         --verifier-key, or remove the state file to trust the new one"
    )]
    OtherKey { kept: String, now: String },
    #[error(
        "rollback: the log shows {now} leaves, fewer than the {kept} leaves of the checkpoint \
         verified before"
    )]
    Smaller { kept: u64, now: u64 },
    #[error("fork: the checkpoint of {size} leaves has another root than the one verified before")]
    OtherRoot { size: u64 },
    #[error(
        "fork: the log of {now} leaves is not consistent with the checkpoint of {kept} leaves \
         verified before: {reason}"
    )]
    Inconsistent { kept: u64, now: u64, reason: String },
}

/// A kept checkpoint, re-opened from its note with its own key: a state file whose fields and
/// note disagree, or whose note does not verify, is refused rather than trusted.
pub fn reopen(state: &MonitorState) -> Result<Checkpoint, String> {
    let opened = checkpoint::open(&state.note, &state.verifier_key)
        .map_err(|e| format!("its note does not verify with its key: {e}"))?;
    let root = STANDARD.encode(opened.root);
    if opened.origin != state.origin || opened.size != state.tree_size || root != state.root_hash {
        return Err("its origin, tree size or root differ from its signed note".to_owned());
    }
    Ok(opened)
}

/// Compares the kept checkpoint with the latest (both opened with their keys).
pub fn step(
    kept: &Checkpoint,
    kept_key: &str,
    now: &Checkpoint,
    now_key: &str,
) -> Result<Step, Rollback> {
    if kept.origin != now.origin {
        return Err(Rollback::OtherOrigin {
            kept: kept.origin.clone(),
            now: now.origin.clone(),
        });
    }
    if kept_key != now_key {
        return Err(Rollback::OtherKey {
            kept: kept_key.to_owned(),
            now: now_key.to_owned(),
        });
    }
    match now.size.cmp(&kept.size) {
        std::cmp::Ordering::Less => Err(Rollback::Smaller {
            kept: kept.size,
            now: now.size,
        }),
        std::cmp::Ordering::Equal if now.root == kept.root => Ok(Step::Same),
        std::cmp::Ordering::Equal => Err(Rollback::OtherRoot { size: now.size }),
        // Every tree extends the empty one: nothing to prove.
        std::cmp::Ordering::Greater if kept.size == 0 => Ok(Step::Same),
        std::cmp::Ordering::Greater => Ok(Step::Grew {
            from: kept.size,
            to: now.size,
        }),
    }
}

/// Checks a consistency proof from the kept tree to the latest one (RFC 9162 2.1.4.2); proof
/// elements that are not 32-byte hashes are refused, not padded.
pub fn check_proof<P: AsRef<[u8]>>(
    kept: &Checkpoint,
    now: &Checkpoint,
    proof: &[P],
) -> Result<(), Rollback> {
    merkle::verify_consistency(kept.size, now.size, proof, &kept.root, &now.root).map_err(|e| {
        Rollback::Inconsistent {
            kept: kept.size,
            now: now.size,
            reason: e.to_string(),
        }
    })
}

/// Where consistency proofs come from.
pub enum Proofs<'a> {
    /// Built from the database's tree nodes, which the verification just recomputed from the
    /// leaves.
    Database(&'a Db),
    /// Served by the instance at this base URL (`GET /api/v1/log/proofs/consistency`).
    Api(&'a str),
}

#[derive(Deserialize)]
struct ProofWire {
    hashes: Vec<String>,
}

impl Proofs<'_> {
    /// The proof from `from` to `to` leaves; the inner error says why the log cannot give one
    /// (a failure of the log, reported as such), the outer one that it could not be asked.
    async fn consistency(
        &self,
        from: u64,
        to: u64,
    ) -> anyhow::Result<Result<Vec<Vec<u8>>, String>> {
        match self {
            Proofs::Database(db) => {
                let plan = merkle::consistency_plan(from, to)?;
                let nodes = store::open(db).nodes(&plan.node_ids()).await?;
                Ok(plan
                    .assemble(&nodes)
                    .map(|hashes| hashes.iter().map(|h| h.to_vec()).collect())
                    .map_err(|e| format!("no consistency proof from the stored tree: {e}")))
            }
            Proofs::Api(base) => {
                let url = format!("{base}/api/v1/log/proofs/consistency?from={from}&to={to}");
                let response = http_client()?
                    .get(&url)
                    .send()
                    .await
                    .with_context(|| format!("fetch {url}"))?;
                match response.status().as_u16() {
                    200 => {}
                    // The log itself says it has no such checkpoint (any more).
                    404 => {
                        return Ok(Err(format!(
                            "the instance has no checkpoint of {from} leaves to prove from (404)"
                        )));
                    }
                    status => anyhow::bail!("{url} answered {status}"),
                }
                let proof: ProofWire = response.json().await.context("read the proof")?;
                Ok(proof
                    .hashes
                    .iter()
                    .map(|h| STANDARD.decode(h))
                    .collect::<Result<_, _>>()
                    .map_err(|_| "a proof element is not base64".to_owned()))
            }
        }
    }
}

/// Compares the checkpoint `report` verified with the one kept in `path`, adds what breaks to
/// the report's problems, and keeps the new checkpoint when everything holds.
pub async fn watch(path: &Path, report: &mut LogReport, proofs: Proofs<'_>) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let mut kept = None;
    match load(path)? {
        None => {}
        Some(Err(why)) => problems.push(format!(
            "the state file {} is refused: {why}",
            path.display()
        )),
        Some(Ok(state)) => match reopen(&state) {
            Ok(opened) => kept = Some((state, opened)),
            Err(why) => problems.push(format!(
                "the state file {} is refused: {why}",
                path.display()
            )),
        },
    }
    let now = match (&report.note, &report.verifier_key) {
        (Some(note), Some(key)) => checkpoint::open(note, key)
            .ok()
            .map(|opened| (opened, note.clone(), key.clone())),
        _ => None,
    };
    match (&kept, &now) {
        (Some((state, old)), Some((new, _, key))) => match step(old, &state.verifier_key, new, key)
        {
            Ok(Step::Same) => {}
            Ok(Step::Grew { from, to }) => match proofs.consistency(from, to).await? {
                Ok(proof) => {
                    if let Err(broken) = check_proof(old, new, &proof) {
                        problems.push(broken.to_string());
                    }
                }
                Err(reason) => problems.push(
                    Rollback::Inconsistent {
                        kept: from,
                        now: to,
                        reason,
                    }
                    .to_string(),
                ),
            },
            Err(broken) => problems.push(broken.to_string()),
        },
        (Some((state, _)), None) if report.note.is_none() => problems.push(format!(
            "rollback: the log shows no checkpoint, but one of {} leaves was verified before",
            state.tree_size
        )),
        (Some((state, _)), None) => problems.push(format!(
            "the latest checkpoint does not open, so it cannot be compared with the one of {} \
             leaves verified before",
            state.tree_size
        )),
        (None, _) => {}
    }
    for problem in &problems {
        report.report.problem_count += 1;
        report.report.problems.push(problem.clone());
    }
    report.report.ok &= problems.is_empty();
    let written = match &now {
        Some((opened, note, key)) if report.report.ok => {
            save(path, &state_of(opened, note, key, &report.source))?;
            true
        }
        _ => false,
    };
    report.monitor = Some(MonitorReport {
        state: path.to_owned(),
        previous_size: kept.as_ref().map(|(state, _)| state.tree_size),
        tree_size: now.as_ref().map(|(opened, _, _)| opened.size),
        written,
    });
    Ok(())
}

/// Reads the state file; `None` when there is none yet.
pub fn load(path: &Path) -> anyhow::Result<Option<Result<MonitorState, String>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("read {}", path.display())),
    };
    Ok(Some(
        serde_json::from_str(&text).map_err(|e| format!("it is not a monitor state: {e}")),
    ))
}

/// Writes the state file atomically: a temporary file beside it, flushed, then renamed over it,
/// so a crash leaves the old state or the new one, never half of either.
pub fn save(path: &Path, state: &MonitorState) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let text = serde_json::to_string_pretty(state)?;
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("write {}", path.display()))
}

/// The state to keep for a verified checkpoint.
pub fn state_of(opened: &Checkpoint, note: &str, verifier_key: &str, source: &str) -> MonitorState {
    MonitorState {
        origin: opened.origin.clone(),
        tree_size: opened.size,
        root_hash: STANDARD.encode(opened.root),
        verifier_key: verifier_key.to_owned(),
        note: note.to_owned(),
        source: source.to_owned(),
        verified_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use reetrace_core::merkle::{Frontier, Hash, NodeId, consistency_proof, leaf_hash};

    use super::*;

    const ORIGIN: &str = "reetrace.test/custody";

    /// The nodes of a log of `n` leaves and its checkpoint at every size (unsigned).
    fn log(n: u64, salt: &str) -> (HashMap<NodeId, Hash>, Vec<Checkpoint>) {
        let mut frontier = Frontier::new();
        let mut nodes = HashMap::new();
        let mut checkpoints = vec![Checkpoint::new(ORIGIN, 0, frontier.root())];
        for i in 0..n {
            let leaf = leaf_hash(format!("{salt}{i}").as_bytes());
            nodes.extend(frontier.append(leaf).unwrap());
            checkpoints.push(Checkpoint::new(ORIGIN, i + 1, frontier.root()));
        }
        (nodes, checkpoints)
    }

    #[test]
    fn a_grown_log_passes_with_its_consistency_proof() {
        let (nodes, cps) = log(13, "");
        for (m, n) in [(1u64, 13u64), (4, 7), (6, 13), (12, 13)] {
            let (kept, now) = (&cps[m as usize], &cps[n as usize]);
            assert_eq!(step(kept, "k", now, "k"), Ok(Step::Grew { from: m, to: n }));
            let proof = consistency_proof(m, n, &nodes).unwrap();
            assert_eq!(check_proof(kept, now, &proof), Ok(()));
        }
        assert_eq!(step(&cps[5], "k", &cps[5], "k"), Ok(Step::Same));
        assert_eq!(step(&cps[0], "k", &cps[5], "k"), Ok(Step::Same));
    }

    #[test]
    fn a_smaller_forked_or_foreign_log_is_refused() {
        let (_, cps) = log(13, "");
        assert_eq!(
            step(&cps[9], "k", &cps[3], "k"),
            Err(Rollback::Smaller { kept: 9, now: 3 })
        );
        // The same size with other leaves; a larger tree that rewrote the kept prefix.
        let (forked_nodes, forked) = log(13, "forked ");
        assert_eq!(
            step(&cps[9], "k", &forked[9], "k"),
            Err(Rollback::OtherRoot { size: 9 })
        );
        let proof = consistency_proof(9, 13, &forked_nodes).unwrap();
        assert!(matches!(
            check_proof(&cps[9], &forked[13], &proof),
            Err(Rollback::Inconsistent {
                kept: 9,
                now: 13,
                ..
            })
        ));
        let elsewhere = Checkpoint::new("other.test/custody", 13, cps[13].root);
        assert!(matches!(
            step(&cps[9], "k", &elsewhere, "k"),
            Err(Rollback::OtherOrigin { .. })
        ));
        assert!(matches!(
            step(&cps[9], "k", &cps[13], "k2"),
            Err(Rollback::OtherKey { .. })
        ));
    }

    #[test]
    fn the_state_file_round_trips_and_refuses_edits() {
        let key = reetrace_core::crypto::generate_signing_key().unwrap();
        let vkey = checkpoint::verifier_key(ORIGIN, &key.verifying_key()).unwrap();
        let (_, cps) = log(5, "");
        let note = checkpoint::sign(&cps[5], ORIGIN, &key).unwrap();
        let state = state_of(&cps[5], &note, &vkey, "database");
        assert_eq!(reopen(&state), Ok(cps[5].clone()));

        let dir = std::env::temp_dir().join(format!("reetrace-monitor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        assert!(load(&path).unwrap().is_none());
        save(&path, &state).unwrap();
        assert_eq!(load(&path).unwrap(), Some(Ok(state.clone())));
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temp file left"
        );

        let edited = MonitorState {
            tree_size: 9,
            ..state.clone()
        };
        assert!(reopen(&edited).is_err());
        let other_key = reetrace_core::crypto::generate_signing_key().unwrap();
        let forged = MonitorState {
            verifier_key: checkpoint::verifier_key(ORIGIN, &other_key.verifying_key()).unwrap(),
            ..state
        };
        assert!(reopen(&forged).is_err());
        std::fs::write(&path, "{").unwrap();
        assert!(load(&path).unwrap().unwrap().is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
