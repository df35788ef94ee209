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

/// How often the instance holding a pruning lease prunes.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Whether a prune is due, the last one having run at `last` (never: at once).
pub(crate) fn prune_due(last: Option<std::time::Instant>, now: std::time::Instant) -> bool {
    last.is_none_or(|at| now.duration_since(at) >= PRUNE_EVERY)
}

/// Runs `prune` every [`PRUNE_EVERY`] while this process holds the lease `name`, until
/// `cancel`. The lease is renewed well within its lifetime, so one instance keeps it and
/// prunes; another takes over (and prunes at once) only when that one stops. `what` names what
/// is pruned in the log.
pub fn spawn_pruning<F, Fut, E>(
    leases: Arc<Leases>,
    name: &'static str,
    what: &'static str,
    cancel: CancellationToken,
    prune: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<u64, E>> + Send + 'static,
    E: std::fmt::Display,
{
    let mut last = None;
    tokio::spawn(run_leased(
        leases,
        name.into(),
        LEASE_TTL / 2,
        None,
        cancel,
        move || {
            let now = std::time::Instant::now();
            let due = prune_due(last, now);
            if due {
                last = Some(now);
            }
            let pruning = due.then(&prune);
            async move {
                match pruning {
                    None => {}
                    Some(pruning) => match pruning.await {
                        Ok(0) => {}
                        Ok(pruned) => tracing::info!(pruned, "{what} past the retention removed"),
                        Err(err) => {
                            tracing::warn!(error = %err, "pruning {what} failed; will retry")
                        }
                    },
                }
            }
        },
    ))
}
