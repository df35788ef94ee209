//! The audit trail of authority reads: what is written for each request made with an
//! authority's key, listings for admins, and the pruning of entries past the retention (by one
//! instance at a time, under a lease).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::StoreError;
use crate::domain::audit::{AuditEntry, AuditFilter};
pub use crate::service::lease::PRUNE_EVERY;
use crate::service::lease::spawn_pruning;
use crate::store::audit::AuditStore;
use crate::store::lease::Leases;

/// How long entries are kept when the configuration says nothing: two years.
pub const DEFAULT_RETENTION_DAYS: u32 = 730;

/// The lease under which one instance prunes.
const PRUNE_LEASE: &str = "audit.prune";

/// The audit trail and its retention.
#[derive(Clone)]
pub struct AuditTrail {
    store: Arc<dyn AuditStore>,
    retention_days: u32,
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditTrail")
            .field("retention_days", &self.retention_days)
            .finish_non_exhaustive()
    }
}

impl AuditTrail {
    /// The trail kept in `store` for `retention_days` days.
    pub fn new(store: Arc<dyn AuditStore>, retention_days: u32) -> Self {
        Self {
            store,
            retention_days,
        }
    }

    pub fn retention_days(&self) -> u32 {
        self.retention_days
    }

    /// Writes one entry (before the answer it records is sent).
    pub async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.store.append(entry).await
    }

    /// One page of entries, newest first, before the entry `before`.
    pub async fn list(
        &self,
        filter: &AuditFilter,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.store.list(filter, before, limit).await
    }

    /// The time before which entries are past the retention, seen from `now` (a retention
    /// longer than the calendar reaches keeps everything).
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        chrono::TimeDelta::try_days(i64::from(self.retention_days))
            .and_then(|retention| now.checked_sub_signed(retention))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Removes the entries past the retention; returns how many.
    pub async fn prune(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.prune(self.cutoff(now)).await
    }

    /// Prunes every [`PRUNE_EVERY`] while this process holds the lease, until `cancel` (see
    /// [`spawn_pruning`]).
    pub fn spawn_pruning(
        &self,
        leases: Arc<Leases>,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let trail = self.clone();
        spawn_pruning(leases, PRUNE_LEASE, "audit entries", cancel, move || {
            let trail = trail.clone();
            async move { trail.prune(Utc::now()).await }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::service::lease::prune_due;

    /// Remembers the cutoff it was asked to prune before.
    #[derive(Default)]
    struct Cutoffs(Mutex<Vec<DateTime<Utc>>>);

    #[async_trait]
    impl AuditStore for Cutoffs {
        async fn append(&self, _entry: &AuditEntry) -> Result<(), StoreError> {
            Ok(())
        }

        async fn list(
            &self,
            _filter: &AuditFilter,
            _before: Option<Uuid>,
            _limit: u32,
        ) -> Result<Vec<AuditEntry>, StoreError> {
            Ok(Vec::new())
        }

        async fn prune(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
            self.0.lock().unwrap().push(cutoff);
            Ok(0)
        }
    }

    #[test]
    fn a_prune_is_due_at_once_then_hourly() {
        let start = std::time::Instant::now();
        assert!(prune_due(None, start));
        assert!(!prune_due(Some(start), start + PRUNE_EVERY / 2));
        assert!(prune_due(Some(start), start + PRUNE_EVERY));
    }

    #[tokio::test]
    async fn pruning_removes_what_is_older_than_the_retention() {
        let store = Arc::new(Cutoffs::default());
        let trail = AuditTrail::new(store.clone(), DEFAULT_RETENTION_DAYS);
        let now = DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        trail.prune(now).await.unwrap();
        let expected = DateTime::parse_from_rfc3339("2024-12-06T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(*store.0.lock().unwrap(), vec![expected]);
        let forever = AuditTrail::new(store, u32::MAX);
        assert_eq!(forever.cutoff(now), DateTime::<Utc>::MIN_UTC);
    }
}
