//! The pages people look at, served from the binary: the static assets of the pages under
//! `/assets/` (the passport page's script). No CDN and no build step: the files are embedded
//! with `include_str!` and served as they are. These routes are not API operations and stay
//! out of the OpenAPI document.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The policy of the assets themselves (nothing they could load or run).
const ASSET_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The routes of the pages (any process serves them; the passport script needs the passport
/// and custody APIs at the same origin).
pub fn router() -> Router {
    Router::new().route(
        reetrace_passport::page::SCRIPT_PATH,
        get(|| async { asset(reetrace_passport::page::SCRIPT, JAVASCRIPT) }),
    )
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

fn with_headers(
    body: impl IntoResponse,
    content_type: &'static str,
    csp: &'static str,
) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = with_headers(body, content_type, ASSET_CSP);
    // The assets change with the binary only; a short cache keeps upgrades visible.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
