//! The transparency log: signed checkpoints (C2SP signed-note / tlog-checkpoint), published
//! within a second of new leaves, and inclusion and consistency proofs (RFC 9162) that anyone
//! can check against them without trusting us.

use std::sync::Arc;

use base64::Engine;
use reetrace_core::checkpoint::{self, Checkpoint};
use reetrace_core::crypto::{MasterKey, SigningKey, generate_signing_key};
use reetrace_core::db::StoreError;
use reetrace_core::domain::{Principal, Role};
use reetrace_core::merkle::{self, Hash, consistency_plan, inclusion_plan, root_nodes};

use crate::domain::CustodyError;
use crate::domain::event::{ChainLink, EventRow};
use crate::domain::log_verifier::{leaf_data_of, served_record};
use crate::domain::transparency_log::{
    CheckpointView, ConsistencyProof, InclusionProof, LinkView, LogEntry,
};
use crate::store::CustodyStore;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Signs and serves checkpoints of the custody log.
pub struct TransparencyLog {
    store: Arc<dyn CustodyStore>,
    origin: String,
    key: SigningKey,
    verifier_key: String,
    /// Serialises publishing within the process.
    publishing: tokio::sync::Mutex<()>,
    /// The newest checkpoint this process published or read: proofs against it need no
    /// database round trip for the checkpoint.
    latest: std::sync::RwLock<Option<CheckpointView>>,
}

impl std::fmt::Debug for TransparencyLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransparencyLog")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Why the log does not open: each is a refusal to start, never a reason to make a new key
/// (a second key would sign checkpoints nobody can tie to the ones signed before).
#[derive(Debug, thiserror::Error)]
pub enum OpenLogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the custody log's key {name:?} does not open with the configured master key: start with \
         the master key that sealed it"
    )]
    DoesNotOpen { name: String },
    #[error(
        "the custody log's key is named {found}, but this instance's log is {expected}: the \
         database was served under another public base URL; configure that URL \
         (public_base_url) instead of making a second log"
    )]
    OtherName { expected: String, found: String },
    #[error("the custody log's key: {0}")]
    Key(String),
}

impl TransparencyLog {
    /// Opens the log named `origin` (the instance's recorded log origin). Its signing key is
    /// made (sealed under the master key) only when the log has no key at all; a stored key
    /// that does not open, or keys under other names only, are refusals.
    pub async fn open(
        store: Arc<dyn CustodyStore>,
        origin: &str,
        master: &MasterKey,
    ) -> Result<TransparencyLog, OpenLogError> {
        let origin = origin.to_owned();
        let name = origin.clone();
        let stored = match store.log_key(&name).await? {
            Some(stored) => stored,
            None => {
                let others = store.log_public_keys().await?;
                if !others.is_empty() {
                    let found: Vec<String> = others.into_iter().map(|(n, _)| n).collect();
                    return Err(OpenLogError::OtherName {
                        expected: name,
                        found: found.join(", "),
                    });
                }
                let key = generate_signing_key().map_err(|e| OpenLogError::Key(e.to_string()))?;
                let sealed = master
                    .seal_signing_key(&key, &name)
                    .map_err(|e| OpenLogError::Key(e.to_string()))?;
                store
                    .insert_log_key(
                        &name,
                        key.verifying_key().as_bytes(),
                        &sealed,
                        reetrace_core::domain::account::now(),
                    )
                    .await?
            }
        };
        let key = master
            .unseal_signing_key(&stored.1, &name)
            .map_err(|_| OpenLogError::DoesNotOpen { name: name.clone() })?;
        let verifier_key = checkpoint::verifier_key(&name, &key.verifying_key())
            .map_err(|e| OpenLogError::Key(e.to_string()))?;
        Ok(TransparencyLog {
            store,
            origin,
            key,
            verifier_key,
            publishing: tokio::sync::Mutex::new(()),
            latest: std::sync::RwLock::new(None),
        })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The root of the tree of `size` leaves, from the stored nodes.
    pub async fn root_at(&self, size: i64) -> Result<Hash, CustodyError> {
        let size_u = u64::try_from(size).map_err(|_| CustodyError::NegativeSize)?;
        if size_u == 0 {
            return Ok(merkle::empty_root());
        }
        let nodes = self.store.nodes(&root_nodes(size_u)).await?;
        merkle::root_at(size_u, &nodes).map_err(|e| CustodyError::internal("log root", e))
    }

    /// Publishes a checkpoint of the current tree if it grew; returns the newest checkpoint.
    pub async fn publish(&self) -> Result<Option<CheckpointView>, CustodyError> {
        let _guard = self.publishing.lock().await;
        let size = self.store.log_size().await?;
        let latest = self.store.latest_checkpoint().await?;
        if size == 0 {
            return Ok(None);
        }
        if let Some(latest) = &latest
            && latest.size >= size
        {
            return self.view(&latest.note).map(Some);
        }
        let root = self.root_at(size).await?;
        let note = checkpoint::sign(
            &Checkpoint::new(self.origin.clone(), u64::try_from(size).unwrap_or(0), root),
            &self.origin,
            &self.key,
        )
        .map_err(|e| CustodyError::internal("sign checkpoint", e))?;
        self.store
            .insert_checkpoint(size, &root, &note, reetrace_core::domain::account::now())
            .await?;
        self.view(&note).map(Some)
    }

    fn view(&self, note: &str) -> Result<CheckpointView, CustodyError> {
        let opened = checkpoint::open(note, &self.verifier_key)
            .map_err(|e| CustodyError::internal("stored checkpoint does not open", e))?;
        let view = CheckpointView {
            origin: opened.origin.clone(),
            tree_size: i64::try_from(opened.size).unwrap_or(i64::MAX),
            root_hash: b64(&opened.root),
            note: note.to_owned(),
            verifier_key: self.verifier_key.clone(),
        };
        if let Ok(mut latest) = self.latest.write()
            && latest.as_ref().is_none_or(|l| l.tree_size < view.tree_size)
        {
            *latest = Some(view.clone());
        }
        Ok(view)
    }

    /// The latest checkpoint, publishing one first if the tree grew since.
    pub async fn latest(&self) -> Result<CheckpointView, CustodyError> {
        self.publish().await?.ok_or(CustodyError::EmptyLog)
    }

    /// A recent checkpoint that covers leaf `index`: the remembered one when it does, else the
    /// latest (published now if needed).
    async fn covering(&self, index: i64) -> Result<CheckpointView, CustodyError> {
        let remembered = self.latest.read().ok().and_then(|l| l.clone());
        match remembered {
            Some(view) if view.tree_size > index => Ok(view),
            _ => self.latest().await,
        }
    }

    async fn checkpoint_of(&self, size: i64) -> Result<CheckpointView, CustodyError> {
        match self.store.checkpoint_at(size).await? {
            Some(stored) => self.view(&stored.note),
            None => Err(CustodyError::NoCheckpoint(size)),
        }
    }

    /// The inclusion proof of an event in the tree of `tree_size` (the latest checkpoint's by
    /// default).
    pub async fn inclusion(
        &self,
        event_id: &str,
        tree_size: Option<i64>,
    ) -> Result<InclusionProof, CustodyError> {
        let event = self
            .store
            .event(event_id)
            .await?
            .ok_or_else(|| CustodyError::NotInLog(event_id.to_owned()))?;
        let checkpoint = match tree_size {
            Some(size) => self.checkpoint_of(size).await?,
            None => self.covering(event.leaf_index).await?,
        };
        if event.leaf_index >= checkpoint.tree_size {
            return Err(CustodyError::NotYetInCheckpoint {
                event_id: event_id.to_owned(),
                leaf_index: event.leaf_index,
                tree_size: checkpoint.tree_size,
            });
        }
        let plan = inclusion_plan(event.leaf_index as u64, checkpoint.tree_size as u64)
            .map_err(|e| CustodyError::internal("plan", e))?;
        let nodes = self.store.nodes(&plan.node_ids()).await?;
        let hashes = plan
            .assemble(&nodes)
            .map_err(|e| CustodyError::internal("inclusion proof", e))?;
        let leaf_data = self.leaf_data(&event).await?;
        Ok(InclusionProof {
            event_id: event.event_id,
            leaf_index: event.leaf_index,
            tree_size: checkpoint.tree_size,
            leaf_hash: b64(&event.leaf_hash),
            leaf_data,
            hashes: hashes.iter().map(|h| b64(h)).collect(),
            checkpoint,
        })
    }

    /// The leaf data of a stored event, rebuilt from its chain links.
    async fn leaf_data(&self, event: &EventRow) -> Result<String, StoreError> {
        let links = self
            .store
            .links_between(event.leaf_index, event.leaf_index + 1)
            .await?;
        Ok(String::from_utf8_lossy(&leaf_data_of(event, &links)).into_owned())
    }

    /// The consistency proof between two published checkpoints (`to` defaults to the latest).
    pub async fn consistency(
        &self,
        from: i64,
        to: Option<i64>,
    ) -> Result<ConsistencyProof, CustodyError> {
        let second = match to {
            Some(size) => self.checkpoint_of(size).await?,
            None => self.latest().await?,
        };
        if from < 1 || from > second.tree_size {
            return Err(CustodyError::ConsistencyFrom {
                max: second.tree_size,
            });
        }
        let first = self.checkpoint_of(from).await?;
        let plan = consistency_plan(from as u64, second.tree_size as u64)
            .map_err(|e| CustodyError::internal("plan", e))?;
        let nodes = self.store.nodes(&plan.node_ids()).await?;
        let hashes = plan
            .assemble(&nodes)
            .map_err(|e| CustodyError::internal("consistency proof", e))?;
        Ok(ConsistencyProof {
            first: from,
            second: second.tree_size,
            hashes: hashes.iter().map(|h| b64(h)).collect(),
            first_checkpoint: first,
            checkpoint: second,
        })
    }

    /// The log's entries from leaf `from`, at most `limit`, in leaf order: every stored event
    /// with the chain links it made, enough to recompute every chain link, every leaf and the
    /// root of any checkpoint.
    pub async fn entries(
        &self,
        caller: &Principal,
        from: i64,
        limit: u32,
    ) -> Result<Vec<LogEntry>, CustodyError> {
        let events = self.store.events_from(from, limit).await?;
        let Some(last) = events.last().map(|e| e.leaf_index) else {
            return Ok(Vec::new());
        };
        // Those involved in an event, authorities and admins read it; anyone else its leaf.
        let shown = if matches!(caller.role, Role::Regulator | Role::Admin) {
            None
        } else {
            Some(
                self.store
                    .involved_leaves(from, last + 1, caller.org_id)
                    .await?,
            )
        };
        let links = self.store.links_between(from, last + 1).await?;
        let mut by_leaf: std::collections::HashMap<i64, Vec<ChainLink>> =
            std::collections::HashMap::new();
        for link in links {
            by_leaf.entry(link.leaf_index).or_default().push(link);
        }
        Ok(events
            .into_iter()
            .map(|e| {
                let own = by_leaf.remove(&e.leaf_index).unwrap_or_default();
                if shown.as_ref().is_some_and(|s| !s.contains(&e.leaf_index)) {
                    return LogEntry {
                        leaf_index: e.leaf_index,
                        event_id: None,
                        document: None,
                        links: Vec::new(),
                        record: None,
                        leaf_hash: b64(&e.leaf_hash),
                        recorded_at: e.recorded_at,
                        redacted: true,
                    };
                }
                LogEntry {
                    leaf_index: e.leaf_index,
                    record: served_record(&e, &own).map(hex::encode),
                    links: own
                        .iter()
                        .map(|l| LinkView {
                            subject: l.subject_id.to_string(),
                            seq: l.seq,
                            link: hex::encode(&l.link),
                        })
                        .collect(),
                    leaf_hash: b64(&e.leaf_hash),
                    recorded_at: e.recorded_at,
                    redacted: false,
                    event_id: Some(e.event_id),
                    document: Some(e.document),
                }
            })
            .collect())
    }
}
