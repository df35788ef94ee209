//! How long the answers to idempotent requests (`Idempotency-Key`) are kept: a client that
//! retries within the retention gets the first answer back and records nothing twice; past it
//! the answers are pruned (hourly, by one instance at a time, under a lease). The field page
//! queues steps on a phone that may be offline for a day, so the retention never goes below
//! [`MIN_RETENTION_HOURS`].

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::db::StoreError;
use crate::service::lease::spawn_pruning;
use crate::store::lease::Leases;

/// How long answers are kept when the configuration says nothing: three days (a day offline,
/// a weekend, with room to spare).
pub const DEFAULT_RETENTION_HOURS: u32 = 72;

/// The shortest retention allowed: a day offline.
pub const MIN_RETENTION_HOURS: u32 = 24;

/// The lease under which one instance prunes.
const PRUNE_LEASE: &str = "idempotency.prune";

/// A service's stored idempotent answers (each service keeps its own table).
#[async_trait]
pub trait IdempotentAnswers: Send + Sync {
    /// Removes the answers stored before `cutoff`; returns how many.
    async fn prune_answers(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// The retention of every service's idempotent answers.
#[derive(Clone)]
pub struct IdempotencyRetention {
    answers: Vec<(&'static str, Arc<dyn IdempotentAnswers>)>,
    hours: u32,
}

impl std::fmt::Debug for IdempotencyRetention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyRetention")
            .field("hours", &self.hours)
            .field(
                "services",
                &self.answers.iter().map(|a| a.0).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl IdempotencyRetention {
    /// Keeps the answers of the named services for `hours` hours.
    pub fn new(hours: u32, answers: Vec<(&'static str, Arc<dyn IdempotentAnswers>)>) -> Self {
        Self { answers, hours }
    }

    pub fn hours(&self) -> u32 {
        self.hours
    }

    /// The time before which answers are past the retention, seen from `now`.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(chrono::TimeDelta::hours(i64::from(self.hours)))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Removes the answers past the retention in every service; returns how many. A service
    /// that fails does not keep the others from being pruned; its error is returned after.
    pub async fn prune(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = self.cutoff(now);
        let mut pruned = 0;
        let mut failed = None;
        for (name, answers) in &self.answers {
            match answers.prune_answers(cutoff).await {
                Ok(n) => pruned += n,
                Err(err) => {
                    tracing::warn!(service = name, error = %err, "pruning idempotent answers failed");
                    failed = Some(err);
                }
            }
        }
        failed.map_or(Ok(pruned), Err)
    }

    /// Prunes every [`PRUNE_EVERY`](crate::service::lease::PRUNE_EVERY) while this process
    /// holds the lease, until `cancel` (see [`spawn_pruning`]).
    pub fn spawn_pruning(
        &self,
        leases: Arc<Leases>,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let retention = self.clone();
        spawn_pruning(
            leases,
            PRUNE_LEASE,
            "idempotent answers",
            cancel,
            move || {
                let retention = retention.clone();
                async move { retention.prune(Utc::now()).await }
            },
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Remembers the cutoffs it was asked to prune before; fails when told to.
    struct Answers {
        cutoffs: Mutex<Vec<DateTime<Utc>>>,
        fail: bool,
    }

    #[async_trait]
    impl IdempotentAnswers for Answers {
        async fn prune_answers(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
            self.cutoffs.lock().unwrap().push(cutoff);
            if self.fail {
                return Err(StoreError::Corrupt("a test failure".into()));
            }
            Ok(2)
        }
    }

    #[tokio::test]
    async fn every_service_is_pruned_at_the_retention_even_when_one_fails() {
        let ok = Arc::new(Answers {
            cutoffs: Mutex::default(),
            fail: false,
        });
        let failing = Arc::new(Answers {
            cutoffs: Mutex::default(),
            fail: true,
        });
        let retention =
            IdempotencyRetention::new(30, vec![("failing", failing.clone()), ("ok", ok.clone())]);
        let now = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z")
            .unwrap()
            .to_utc();
        assert!(retention.prune(now).await.is_err());
        let expected = DateTime::parse_from_rfc3339("2026-12-06T06:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(*ok.cutoffs.lock().unwrap(), vec![expected]);
        assert_eq!(*failing.cutoffs.lock().unwrap(), vec![expected]);
        let only_ok = IdempotencyRetention::new(30, vec![("ok", ok.clone())]);
        assert_eq!(only_ok.prune(now).await.unwrap(), 2);
    }

    #[test]
    fn the_default_covers_more_than_a_day_offline() {
        const { assert!(DEFAULT_RETENTION_HOURS >= MIN_RETENTION_HOURS) };
        assert_eq!(MIN_RETENTION_HOURS, 24);
    }
}
