//! The feed protocol between services: ordered, gap-free streams of CloudEvents 1.0, read by
//! cursor, through one trait whether the producing service runs in this process or elsewhere.
//!
//! A producer numbers its events 1, 2, 3... in commit order (every writer holds the stream's
//! head row until it commits, so a reader never sees event k+1 before event k). A consumer keeps
//! its cursor and an inbox of seen event ids in the same transaction as its projection, so a
//! replay changes nothing and a restart loses nothing.
//!
//! An event a consumer cannot apply (its projection refuses its data: a value that does not
//! parse, a constraint it breaks) is not retried forever: it goes to the quarantine
//! ([`QuarantineStore`]), with a WARN log and `reetrace_feed_quarantined_total`, and the consumer
//! moves on. Later events of the same subject wait in the quarantine with it, since they may
//! build on it. An admin replays them, in feed order, once the cause is fixed. Store errors that
//! may pass (the database unavailable, a write conflict, any other database error) are retried
//! as before, never quarantined.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use chrono::Utc;
use prometheus_client::metrics::counter::Counter;

use crate::db::StoreError;
pub use crate::domain::feed::{CloudEvent, FeedPage, SPEC_VERSION};
use crate::service::lease::LEASE_TTL;
use crate::store::lease::Leases;
use crate::store::quarantine::{QuarantineStore, QuarantinedEvent};

/// Why a feed could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("the feed is unavailable: {0}")]
    Unavailable(String),
    #[error("the feed answered something malformed: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads one stream, in order, after a cursor.
#[async_trait]
pub trait FeedSource: Send + Sync {
    /// The stream's name (`passport`, `custody`, `deposits`).
    fn stream(&self) -> &str;
    /// Events with sequence greater than `after`, at most `limit`, in order, with no gap.
    async fn read(&self, after: i64, limit: u32) -> Result<Vec<CloudEvent>, FeedError>;
}

/// A consumer's side: where it is, and how it applies events.
#[async_trait]
pub trait Projection: Send + Sync {
    /// A name for logs.
    fn name(&self) -> &str;
    /// The consumer's cursor for `stream` (0 before the first event).
    async fn cursor(&self, stream: &str) -> Result<i64, StoreError>;
    /// Applies `events` (in order) and moves the cursor past the last one, in one transaction;
    /// events whose id is in the inbox are skipped. An event it cannot apply fails the whole
    /// call with [`StoreError::Corrupt`] (or a constraint error), nothing written.
    async fn apply(&self, stream: &str, events: &[CloudEvent]) -> Result<(), StoreError>;
    /// Moves the cursor to `position` (past events kept in quarantine); never backwards.
    async fn advance(&self, stream: &str, position: i64) -> Result<(), StoreError>;
}

/// Whether a projection's error is about the event's data (quarantine it) rather than about
/// the database's state now (retry later).
fn is_poison(err: &StoreError) -> bool {
    matches!(
        err,
        StoreError::Corrupt(_)
            | StoreError::Conflict { .. }
            | StoreError::MissingReference
            | StoreError::InvalidText
    )
}

/// Where a consumer keeps what it cannot apply.
#[derive(Clone)]
pub struct Quarantine {
    pub store: Arc<dyn QuarantineStore>,
    /// `reetrace_feed_quarantined_total` for this consumer.
    pub counter: Counter,
}

/// The label of the quarantine counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct ConsumerLabel {
    pub consumer: String,
}

/// Makes each consumer's [`Quarantine`]: one store, one counter family.
#[derive(Clone)]
pub struct Quarantines {
    pub store: Arc<dyn QuarantineStore>,
    /// Register it as `feed_quarantined` (exposed as `reetrace_feed_quarantined_total`).
    pub counters: prometheus_client::metrics::family::Family<ConsumerLabel, Counter>,
}

impl std::fmt::Debug for Quarantines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quarantines").finish_non_exhaustive()
    }
}

impl Quarantines {
    pub fn new(store: Arc<dyn QuarantineStore>) -> Self {
        Self {
            store,
            counters: Default::default(),
        }
    }

    /// The quarantine of the consumer `name`.
    pub fn of(&self, name: &str) -> Quarantine {
        Quarantine {
            store: self.store.clone(),
            counter: self
                .counters
                .get_or_create(&ConsumerLabel {
                    consumer: name.to_owned(),
                })
                .clone(),
        }
    }
}

/// Wakes consumers when a producer in this process committed new events.
#[derive(Debug, Default)]
pub struct FeedSignal(Notify);

impl FeedSignal {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn notify(&self) {
        self.0.notify_waiters();
    }

    pub async fn notified(&self) {
        self.0.notified().await;
    }
}

/// What a replay of quarantined events came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// Applied and out of the quarantine: their sequence numbers.
    Applied(Vec<i64>),
    /// The projection still refuses them: why.
    StillRefused(String),
    /// Nothing of this consumer in quarantine at that sequence.
    NotFound,
}

/// Feeds `source` into `projection`.
pub struct Consumer {
    source: Arc<dyn FeedSource>,
    projection: Arc<dyn Projection>,
    batch: u32,
    /// Serialises catch-ups of this consumer within the process.
    lock: tokio::sync::Mutex<()>,
    /// When set, background catch-ups run only while this process holds the lease (several
    /// instances share the work without doing it twice).
    lease: Option<(Arc<Leases>, String)>,
    /// When set, events the projection cannot apply are kept aside instead of retried.
    quarantine: Option<Quarantine>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("stream", &self.source.stream())
            .field("projection", &self.projection.name())
            .finish()
    }
}

impl Consumer {
    pub fn new(source: Arc<dyn FeedSource>, projection: Arc<dyn Projection>) -> Self {
        Self {
            source,
            projection,
            batch: 500,
            lock: tokio::sync::Mutex::new(()),
            lease: None,
            quarantine: None,
        }
    }

    /// Keeps events the projection cannot apply in `quarantine` and moves on.
    pub fn with_quarantine(mut self, quarantine: Quarantine) -> Self {
        self.quarantine = Some(quarantine);
        self
    }

    /// The consumer's name in the quarantine and in logs.
    pub fn name(&self) -> &str {
        self.projection.name()
    }

    /// The stream it reads.
    pub fn stream(&self) -> &str {
        self.source.stream()
    }

    /// Background catch-ups only while holding the lease `name` (renewed before every batch).
    pub fn with_lease(mut self, leases: Arc<Leases>, name: impl Into<String>) -> Self {
        self.lease = Some((leases, name.into()));
        self
    }

    /// Whether this process may do the background work now.
    async fn leading(&self) -> bool {
        match &self.lease {
            None => true,
            Some((leases, name)) => match leases.try_acquire(name, LEASE_TTL).await {
                Ok(held) => held,
                Err(err) => {
                    tracing::warn!(lease = %name, error = %err, "lease check failed");
                    false
                }
            },
        }
    }

    /// Reads and applies until the stream has nothing new; returns how many events applied.
    /// Safe to call from any instance at any time (for read-your-writes): the inbox skips what
    /// another applied meanwhile.
    pub async fn catch_up(&self) -> Result<usize, FeedError> {
        self.catch_up_while(|| async { true }).await
    }

    async fn catch_up_while<F, Fut>(&self, mut may_go_on: F) -> Result<usize, FeedError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let _guard = self.lock.lock().await;
        let stream = self.source.stream().to_owned();
        let mut applied = 0;
        loop {
            if !may_go_on().await {
                return Ok(applied);
            }
            let after = self.projection.cursor(&stream).await?;
            let events = self.source.read(after, self.batch).await?;
            let Some(first) = events.first() else {
                return Ok(applied);
            };
            if first.seq().map_err(FeedError::Malformed)? != after + 1 {
                return Err(FeedError::Malformed(format!(
                    "{stream} feed skipped from {after} to {}",
                    first.sequence
                )));
            }
            applied += self.apply_batch(&stream, &events).await?;
            if events.len() < self.batch as usize {
                return Ok(applied);
            }
        }
    }

    /// Applies one batch; with a quarantine, keeps aside what cannot be applied (and what
    /// waits with it) and moves the cursor past the batch. Returns how many events were
    /// applied.
    async fn apply_batch(&self, stream: &str, events: &[CloudEvent]) -> Result<usize, FeedError> {
        let Some(quarantine) = &self.quarantine else {
            self.projection.apply(stream, events).await?;
            return Ok(events.len());
        };
        let Some(last) = events.last() else {
            return Ok(0);
        };
        let last = last.seq().map_err(FeedError::Malformed)?;
        let subjects: Vec<&str> = events.iter().filter_map(|e| e.subject.as_deref()).collect();
        let mut held = quarantine
            .store
            .held_subjects(self.name(), &subjects)
            .await?;
        let waiting = |e: &CloudEvent, held: &std::collections::HashSet<String>| {
            e.subject.as_ref().is_some_and(|s| held.contains(s))
        };
        if held.is_empty() {
            match self.projection.apply(stream, events).await {
                Ok(()) => return Ok(events.len()),
                Err(err) if !is_poison(&err) => return Err(err.into()),
                // Somewhere in the batch: find it event by event below.
                Err(_) => {}
            }
        }
        let mut applied = 0;
        let mut kept = Vec::new();
        for event in events {
            let reason = if waiting(event, &held) {
                "waits for an earlier quarantined event of the same subject".to_owned()
            } else {
                match self
                    .projection
                    .apply(stream, std::slice::from_ref(event))
                    .await
                {
                    Ok(()) => {
                        applied += 1;
                        continue;
                    }
                    Err(err) if !is_poison(&err) => {
                        self.keep(stream, &kept).await?;
                        return Err(err.into());
                    }
                    Err(err) => err.to_string(),
                }
            };
            if let Some(subject) = &event.subject {
                held.insert(subject.clone());
            }
            kept.push(QuarantinedEvent {
                consumer: self.name().to_owned(),
                stream: stream.to_owned(),
                seq: event.seq().map_err(FeedError::Malformed)?,
                subject: event.subject.clone(),
                event: event.clone(),
                reason,
                quarantined_at: Utc::now(),
            });
        }
        self.keep(stream, &kept).await?;
        self.projection.advance(stream, last).await?;
        Ok(applied)
    }

    /// Puts events in the quarantine, with a WARN each and the counter.
    async fn keep(&self, stream: &str, kept: &[QuarantinedEvent]) -> Result<(), FeedError> {
        let Some(quarantine) = &self.quarantine else {
            return Ok(());
        };
        quarantine.store.quarantine(kept).await?;
        for event in kept {
            tracing::warn!(
                consumer = %self.name(),
                %stream,
                seq = event.seq,
                event_id = %event.event.id,
                subject = ?event.subject,
                reason = %event.reason,
                "feed event quarantined; the consumer moves on"
            );
            quarantine.counter.inc();
        }
        Ok(())
    }

    /// Applies the quarantined event at `seq` and those waiting with it, in feed order, and
    /// takes them out of the quarantine. When one still fails, nothing is taken out and the
    /// answer says why.
    pub async fn replay(&self, seq: i64) -> Result<ReplayOutcome, FeedError> {
        let Some(quarantine) = &self.quarantine else {
            return Ok(ReplayOutcome::NotFound);
        };
        let _guard = self.lock.lock().await;
        let events = quarantine.store.waiting_with(self.name(), seq).await?;
        if events.is_empty() {
            return Ok(ReplayOutcome::NotFound);
        }
        let stream = self.source.stream().to_owned();
        let list: Vec<CloudEvent> = events.iter().map(|e| e.event.clone()).collect();
        match self.projection.apply(&stream, &list).await {
            Ok(()) => {
                let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
                quarantine.store.release(self.name(), &seqs).await?;
                Ok(ReplayOutcome::Applied(seqs))
            }
            Err(err) if is_poison(&err) => Ok(ReplayOutcome::StillRefused(err.to_string())),
            Err(err) => Err(err.into()),
        }
    }

    /// Keeps catching up until cancelled: on every signal, and at least every `interval`.
    pub async fn run(
        self: Arc<Self>,
        signal: Option<Arc<FeedSignal>>,
        interval: Duration,
        cancel: CancellationToken,
    ) {
        loop {
            if let Err(err) = self.catch_up_while(|| self.leading()).await {
                tracing::warn!(consumer = %self.projection.name(), stream = %self.source.stream(), error = %err, "feed catch-up failed; will retry");
            }
            let wake = async {
                match &signal {
                    Some(signal) => signal.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => {
                    if let Some((leases, name)) = &self.lease {
                        let _ = leases.release(name).await;
                    }
                    return;
                }
                _ = wake => {}
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}
