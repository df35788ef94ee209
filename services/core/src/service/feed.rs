//! The feed protocol between services: ordered, gap-free streams of CloudEvents 1.0, read by
//! cursor, through one trait whether the producing service runs in this process or elsewhere.
//!
//! A producer numbers its events 1, 2, 3... in commit order (every writer holds the stream's
//! head row until it commits, so a reader never sees event k+1 before event k). A consumer keeps
//! its cursor and an inbox of seen event ids in the same transaction as its projection, so a
//! replay changes nothing and a restart loses nothing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db::StoreError;
pub use crate::domain::feed::{CloudEvent, FeedPage, SPEC_VERSION};
use crate::service::lease::LEASE_TTL;
use crate::store::lease::Leases;

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
    /// The stream's name (`passport`, `custody`).
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
    /// events whose id is in the inbox are skipped.
    async fn apply(&self, stream: &str, events: &[CloudEvent]) -> Result<(), StoreError>;
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
        }
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
            self.projection.apply(&stream, &events).await?;
            applied += events.len();
            if events.len() < self.batch as usize {
                return Ok(applied);
            }
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
