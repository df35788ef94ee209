//! The server-wide bound on bulk requests in flight (bulk registration, EPCIS capture).
//!
//! A bulk request holds its registrations or events, their signatures and its answer in memory
//! until it is stored: tens of MiB for a 16 MiB body. Without a bound, a client within its rate
//! limit can send as many at once as it has connections. The gate admits at most `permits` at
//! a time across every bulk route and answers the rest at once with 503 and `Retry-After`,
//! before their bodies are read.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::problem::Problem;

/// Seconds a client is told to wait when every permit is taken.
const RETRY_AFTER_SECS: u64 = 1;

/// A counting gate shared by every bulk route of one process.
#[derive(Clone, Debug)]
pub struct BulkGate {
    permits: Arc<Semaphore>,
    size: usize,
}

impl BulkGate {
    /// A gate admitting `permits` bulk requests at once (at least one).
    pub fn new(permits: usize) -> Self {
        let size = permits.max(1);
        Self {
            permits: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// How many bulk requests may be in flight at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many more would be admitted now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// Middleware for the bulk routes: runs the request while holding a permit (released when the
/// answer is produced), or answers 503 with `Retry-After` without reading the body.
pub async fn admit(State(gate): State<BulkGate>, request: Request, next: Next) -> Response {
    match gate.permits.clone().try_acquire_owned() {
        Ok(permit) => {
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Err(_) => Problem::service_unavailable(format!(
            "{} bulk requests are in flight, as many as this server takes at once; \
             retry in {RETRY_AFTER_SECS} s.",
            gate.size
        ))
        .with("retry_after", RETRY_AFTER_SECS)
        .into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::{StatusCode, header};
    use axum::routing::post;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_full_gate_answers_503_with_retry_after_and_frees_on_completion() {
        let gate = BulkGate::new(1);
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let slots = std::sync::Mutex::new(Some((entered_tx, release_rx)));
        let slots = Arc::new(slots);
        let app = Router::new()
            .route(
                "/bulk",
                post(move || {
                    let slots = slots.clone();
                    async move {
                        let taken = slots.lock().map(|mut s| s.take()).ok().flatten();
                        if let Some((entered, release)) = taken {
                            let _ = entered.send(());
                            let _ = release.await;
                        }
                        "done"
                    }
                }),
            )
            .layer(axum::middleware::from_fn_with_state(gate.clone(), admit));
        let first = tokio::spawn(
            app.clone()
                .oneshot(Request::post("/bulk").body(Body::empty()).unwrap()),
        );
        entered_rx.await.unwrap();
        assert_eq!(gate.available(), 0);
        let refused = app
            .clone()
            .oneshot(Request::post("/bulk").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        assert_eq!(
            refused.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        release_tx.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
        assert_eq!(gate.available(), 1);
        let again = app
            .oneshot(Request::post("/bulk").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::OK);
    }
}
