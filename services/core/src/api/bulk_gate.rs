//! The server-wide bound on bulk requests in flight (bulk registration, EPCIS capture).
//!
//! A bulk request holds its registrations or events, their signatures and its answer in memory
//! until it is stored: tens of MiB for a 16 MiB body. Without a bound, a client within its rate
//! limit can send as many at once as it has connections. The gate admits at most `permits` at
//! a time across every bulk route and answers the rest at once with 503 and `Retry-After`,
//! without keeping their bodies: a client that sent `Expect: 100-continue` is answered before
//! it sends the body; any other body is read and discarded first (up to the bulk body limit),
//! because most clients send the whole body before they read an answer and would otherwise see
//! a broken connection instead of the 503.
//!
//! A request that declares a body no larger than an ordinary route takes (`Content-Length` up
//! to the ordinary body limit) costs no more than any other request and is not gated: a
//! recycler's scanners capturing small EPCIS documents at once are not bulk traffic.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Semaphore;

use super::problem::Problem;

/// Seconds a client is told to wait when every permit is taken.
const RETRY_AFTER_SECS: u64 = 1;

/// A counting gate shared by every bulk route of one process.
#[derive(Clone, Debug)]
pub struct BulkGate {
    permits: Arc<Semaphore>,
    size: usize,
    /// The most bytes of a refused body read and discarded before the answer.
    drain_limit: usize,
    /// Requests declaring at most this many bytes pass without a permit.
    small_body: usize,
    /// Bulk requests running now (`reetrace_bulk_in_flight`).
    pub in_flight: Gauge,
    /// Bulk requests answered 503 (`reetrace_bulk_refused_total`).
    pub refused: Counter,
}

impl BulkGate {
    /// A gate admitting `permits` bulk requests at once (at least one), on routes that take at
    /// most `body_limit` bytes; requests declaring at most `small_body` bytes pass ungated.
    pub fn new(permits: usize, body_limit: usize, small_body: usize) -> Self {
        let size = permits.max(1);
        Self {
            permits: Arc::new(Semaphore::new(size)),
            size,
            drain_limit: body_limit,
            small_body,
            in_flight: Gauge::default(),
            refused: Counter::default(),
        }
    }

    /// Exposes `reetrace_bulk_in_flight` and `reetrace_bulk_refused_total`.
    pub fn register_metrics(&self, metrics: &crate::metrics::Metrics) {
        metrics.register(
            "bulk_in_flight",
            "Bulk requests (bulk registration, EPCIS capture) running now",
            self.in_flight.clone(),
        );
        metrics.register(
            "bulk_refused",
            "Bulk requests answered 503 because bulk_in_flight were running",
            self.refused.clone(),
        );
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
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length <= gate.small_body) {
        return next.run(request).await;
    }
    match gate.permits.clone().try_acquire_owned() {
        Ok(permit) => {
            // Counted down when the request ends, also when its client goes away and the
            // future is dropped mid-way.
            let _running = Running::start(&gate.in_flight, permit);
            next.run(request).await
        }
        Err(_) => {
            gate.refused.inc();
            drain(request, gate.drain_limit).await;
            busy(&gate)
        }
    }
}

/// A running bulk request: holds its permit and counts in `reetrace_bulk_in_flight` until
/// dropped.
struct Running {
    gauge: Gauge,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Running {
    fn start(gauge: &Gauge, permit: tokio::sync::OwnedSemaphorePermit) -> Self {
        gauge.inc();
        Self {
            gauge: gauge.clone(),
            _permit: permit,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// Reads and drops the body of a refused request (see the module's note), unless the client
/// waits for `100 Continue` before sending it.
async fn drain(request: Request, limit: usize) {
    use http_body_util::BodyExt;
    let expects_continue = request
        .headers()
        .get(axum::http::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if expects_continue {
        return;
    }
    let mut body = request.into_body();
    let mut read = 0usize;
    while read <= limit {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len()),
            _ => return,
        }
    }
}

fn busy(gate: &BulkGate) -> Response {
    Problem::service_unavailable(format!(
        "{} bulk requests are in flight, as many as this server takes at once; \
             retry in {RETRY_AFTER_SECS} s.",
        gate.size
    ))
    .with("retry_after", RETRY_AFTER_SECS)
    .into_response()
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
        let gate = BulkGate::new(1, 1024, 0);
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
        assert_eq!(gate.in_flight.get(), 0);
    }

    #[tokio::test]
    async fn a_request_dropped_mid_way_gives_its_permit_back() {
        let gate = BulkGate::new(1, 1024, 0);
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
        let entered = Arc::new(std::sync::Mutex::new(Some(entered_tx)));
        let app = Router::new()
            .route(
                "/bulk",
                post(move || {
                    let entered = entered.clone();
                    async move {
                        if let Some(tx) = entered.lock().ok().and_then(|mut e| e.take()) {
                            let _ = tx.send(());
                        }
                        std::future::pending::<()>().await;
                    }
                }),
            )
            .layer(axum::middleware::from_fn_with_state(gate.clone(), admit));
        let running =
            tokio::spawn(app.oneshot(Request::post("/bulk").body(Body::empty()).unwrap()));
        entered_rx.await.unwrap();
        assert_eq!((gate.available(), gate.in_flight.get()), (0, 1));
        // The client goes away: the server drops the request's future.
        running.abort();
        let _ = running.await;
        assert_eq!((gate.available(), gate.in_flight.get()), (1, 0));
    }
}
