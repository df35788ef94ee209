//! The HTTP server: an accept loop that keeps the process on its feet under hostile clients.
//!
//! - **Header read timeout**: a connection that does not finish a request head in time is
//!   closed (hyper's timer; it also runs while an HTTP/1 keep-alive connection waits for its
//!   next request, so an idle keep-alive connection lasts at most this long).
//! - **Idle timeout**: a connection that moves no byte either way for this long is closed
//!   (slow bodies, stalled clients, idle HTTP/2).
//! - **Connection cap and file-descriptor budget**: at start the soft `RLIMIT_NOFILE` is raised
//!   to the hard limit where it may; the cap is the configured maximum or what the descriptor
//!   budget leaves (the limit minus a reserve for the database pools, files and the listener),
//!   whichever is smaller. At the cap the loop stops accepting until a connection closes (new
//!   clients wait in the kernel's backlog), so `accept` never fails with "Too many open files".
//! - **Request line and header limits**: hyper's own limits are set above the application's,
//!   which [`limits_layer`] enforces with problem+json answers (414, 431) carrying the request id.
//!   hyper still answers a bare 414 for a request target over 65,534 bytes, its hard limit.
//! - **TLS** (`--tls-cert`/`--tls-key`, [`crate::tls`]): the same loop and limits; the idle
//!   timeout counts the encrypted bytes, and the handshake must finish within the header read
//!   timeout.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use reetrace_core::api::codes;
use reetrace_core::api::problem::Problem;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How connections are limited (configuration table `[connections]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionLimits {
    /// Most connections open at once (lowered to what the file-descriptor budget allows).
    pub max: usize,
    /// A request head must arrive within this time (ms).
    pub header_read_timeout_ms: u64,
    /// A connection that moves no byte for this long is closed (ms).
    pub idle_timeout_ms: u64,
    /// Longest request target (path and query), in bytes: 414 beyond.
    pub max_uri_bytes: usize,
    /// Largest request head (header names and values), in bytes: 431 beyond.
    pub max_header_bytes: usize,
    /// Most header fields in a request: 431 beyond.
    pub max_headers: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max: 10_000,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_uri_bytes: 8 * 1024,
            max_header_bytes: 32 * 1024,
            max_headers: 100,
        }
    }
}

/// Descriptors kept for everything but client connections: the database pools (each
/// connection one), the SQLite files and WAL, the listener, logs, outbound HTTP.
fn reserved_descriptors(db_connections: u32) -> u64 {
    64 + 4 * u64::from(db_connections)
}

/// Raises the soft descriptor limit to the hard one where allowed; returns the soft limit in
/// force afterwards.
pub fn raise_descriptor_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(err) => {
            tracing::warn!(error = %err, "could not read or raise the file-descriptor limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1024)
        }
    }
}

/// The connection cap: the configured maximum, or what the descriptor budget leaves.
pub fn connection_cap(limits: &ConnectionLimits, descriptors: u64, db_connections: u32) -> usize {
    let budget = descriptors.saturating_sub(reserved_descriptors(db_connections));
    let budget = usize::try_from(budget).unwrap_or(usize::MAX).max(1);
    limits.max.clamp(1, budget)
}

/// Serves `router` on `listener` until `shutdown`, then lets open requests finish. With `tls`,
/// every connection is HTTPS: the handshake runs in the connection's task (a slow client never
/// holds up the accept loop), within the header read timeout, and the same limits apply after.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: ConnectionLimits,
    cap: usize,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(cap));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        // Above the application's limits, which answer problem+json (see `limits_layer`).
        .max_headers(limits.max_headers.saturating_mul(4).max(100))
        .max_buf_size(
            limits
                .max_header_bytes
                .saturating_add(limits.max_uri_bytes)
                .saturating_mul(4)
                .max(64 * 1024),
        );
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(
            u32::try_from(limits.max_header_bytes.saturating_mul(4)).unwrap_or(u32::MAX),
        );
    let idle = Duration::from_millis(limits.idle_timeout_ms);
    let handshake_limit = Duration::from_millis(limits.header_read_timeout_ms);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors despite the budget (another part of the process), or a
                    // connection reset before accept: wait a moment instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let service =
            router
                .clone()
                .map_request(move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request.map(axum::body::Body::new)
                });
        let service = TowerToHyperService::new(service);
        let stream = IdleTimeout::new(stream, idle);
        // Taken before any await: a shutdown waits for this connection, handshake included.
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let served = match tls {
                None => {
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(connection.into_owned()).await
                }
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_limit, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let connection = builder
                                .serve_connection_with_upgrades(TokioIo::new(stream), service);
                            watcher.watch(connection.into_owned()).await
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(%peer, error = %err, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake not finished in time");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(err) = served {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    // Open requests get the request timeout to finish.
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(120)) => {
            tracing::warn!("connections still open after 120 s; closing them");
        }
    }
    Ok(())
}

/// A stream closed when no byte moves either way for `limit`.
struct IdleTimeout {
    stream: TcpStream,
    limit: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl IdleTimeout {
    fn new(stream: TcpStream, limit: Duration) -> Self {
        Self {
            stream,
            limit,
            deadline: Box::pin(tokio::time::sleep(limit)),
        }
    }

    fn moved(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.limit);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "connection idle too long")
}

impl AsyncRead for IdleTimeout {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(result)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for IdleTimeout {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Middleware: the application's request-line and header limits, answered as problem+json.
pub async fn limits_layer(
    axum::extract::State(limits): axum::extract::State<ConnectionLimits>,
    request: Request,
    next: Next,
) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if target > limits.max_uri_bytes {
        return Problem::new(codes::URI_TOO_LONG)
            .with_detail(format!(
                "The request target is {target} bytes; this server takes at most {}.",
                limits.max_uri_bytes
            ))
            .into_response();
    }
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers.len() > limits.max_headers || bytes > limits.max_header_bytes {
        return Problem::new(codes::HEADERS_TOO_LARGE)
            .with_detail(format!(
                "The request has {} header fields in {bytes} bytes; this server takes at most {} \
                 fields in {} bytes.",
                headers.len(),
                limits.max_headers,
                limits.max_header_bytes
            ))
            .into_response();
    }
    next.run(request).await
}

/// Cancels `token` on SIGINT or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!("SIGINT received, shutting down"),
            _ = term => tracing::info!("SIGTERM received, shutting down"),
        }
        token.cancel();
    });
}

/// Browsers may call the API from any origin: authentication is by bearer key, never cookies.
pub(crate) fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            header::LINK,
            header::RETRY_AFTER,
            header::LOCATION,
        ])
        .max_age(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_respects_the_descriptor_budget() {
        let limits = ConnectionLimits::default();
        assert_eq!(connection_cap(&limits, 1_000_000, 16), 10_000);
        // 1,024 descriptors, 16 pool connections: 1,024 - (64 + 64) = 896.
        assert_eq!(connection_cap(&limits, 1024, 16), 896);
        assert_eq!(connection_cap(&limits, 10, 16), 1);
    }
}
