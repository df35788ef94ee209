//! Background work done by one instance at a time, under a lease (see [`Leases`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::lease::Leases;

/// How long a lease lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(10);

/// Runs `work` every `interval` (or when `wake` fires) while this process holds `name`; other
/// instances wait for the lease to lapse. Gives the lease back on cancellation.
pub async fn run_leased<F, Fut>(
    leases: Arc<Leases>,
    name: String,
    interval: Duration,
    wake: Option<Arc<tokio::sync::Notify>>,
    cancel: CancellationToken,
    mut work: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        match leases.try_acquire(&name, LEASE_TTL).await {
            Ok(true) => work().await,
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(lease = %name, error = %err, "lease check failed; will retry")
            }
        }
        let woken = async {
            match &wake {
                Some(notify) => notify.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => {
                let _ = leases.release(&name).await;
                return;
            }
            _ = woken => {}
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
