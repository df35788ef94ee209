//! The field page for recyclers at `/scan`: find a product or a lot (camera, photo, typed code),
//! record the custody steps allowed now, and keep working offline. Its service worker is served
//! at `/scan-sw.js` for the scope `/scan` only; its scripts and style sheet under `/assets/`.
//! Like the other pages: embedded in the binary, no CDN, no build step, and no caller data in
//! what the server renders (the scripts read everything from the API with the user's key).

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use reetrace_core::domain::Country;

use super::{CSS, JAVASCRIPT, asset, with_headers};

pub const SCAN_HTML: &str = include_str!("../../assets/scan.html");
pub const SCAN_JS: &str = include_str!("../../assets/scan.js");
pub const SCAN_QUEUE_JS: &str = include_str!("../../assets/scan-queue.js");
pub const SCAN_FORMS_JS: &str = include_str!("../../assets/scan-forms.js");
pub const SCAN_CSS: &str = include_str!("../../assets/scan.css");
pub const SCAN_WORKER_JS: &str = include_str!("../../assets/scan-sw.js");

/// Where the service worker is served, and the only scope it may take.
pub const WORKER_PATH: &str = "/scan-sw.js";
pub const WORKER_SCOPE: &str = "/scan";

/// The page's policy: scripts, styles, requests and workers of this origin only; the camera's
/// stream and photos shown from `blob:` URLs.
pub const SCAN_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' blob:; media-src 'self' blob: mediastream:; \
     worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The worker's policy: it fetches the page and its assets from this origin, nothing else.
const WORKER_CSP: &str = "default-src 'none'; connect-src 'self'; frame-ancestors 'none'";

pub fn router() -> Router {
    Router::new()
        .route("/scan", get(page))
        .route(WORKER_PATH, get(worker))
        .route(
            "/assets/scan.js",
            get(|| async { asset(SCAN_JS, JAVASCRIPT) }),
        )
        .route(
            "/assets/scan-queue.js",
            get(|| async { asset(SCAN_QUEUE_JS, JAVASCRIPT) }),
        )
        .route(
            "/assets/scan-forms.js",
            get(|| async { asset(SCAN_FORMS_JS, JAVASCRIPT) }),
        )
        .route("/assets/scan.css", get(|| async { asset(SCAN_CSS, CSS) }))
}

async fn page() -> Response {
    let mut response = with_headers(scan_html(), "text/html; charset=utf-8", SCAN_CSP);
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(self), geolocation=(self)"),
    );
    response
}

/// The service worker, checked for updates on every visit (`no-cache`), allowed the scope
/// `/scan` and no wider.
async fn worker() -> Response {
    let mut response = with_headers(worker_js(), JAVASCRIPT, WORKER_CSP);
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        HeaderName::from_static("service-worker-allowed"),
        HeaderValue::from_static(WORKER_SCOPE),
    );
    response
}

/// The worker with its cache named after the page's files: a binary that changes any of them
/// makes devices drop their old copy.
pub fn worker_js() -> String {
    static VERSION: OnceLock<String> = OnceLock::new();
    let version = VERSION.get_or_init(|| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for file in [
            SCAN_HTML,
            SCAN_JS,
            SCAN_QUEUE_JS,
            SCAN_FORMS_JS,
            SCAN_CSS,
            SCAN_WORKER_JS,
        ] {
            file.hash(&mut hasher);
        }
        format!("{}-{:016x}", env!("CARGO_PKG_VERSION"), hasher.finish())
    });
    SCAN_WORKER_JS.replace("{{version}}", version)
}

/// The page: static but for the list of countries a step's location is chosen from.
pub fn scan_html() -> String {
    let mut countries = String::new();
    let mut all: Vec<Country> = Country::all().collect();
    all.sort_by_key(|c| c.name());
    for c in all {
        let name = c
            .name()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let _ = write!(countries, "<option value=\"{}\">{name}</option>", c.code());
    }
    SCAN_HTML.replace("{{countries}}", &countries)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_page_offers_every_country_and_loads_only_local_assets() {
        let html = scan_html();
        assert!(!html.contains("{{"), "every placeholder is filled");
        assert!(html.contains("<option value=\"FR\">France</option>"));
        assert_eq!(
            html.matches("<option value=").count(),
            Country::all().count()
        );
        for script in ["scan-queue.js", "scan-forms.js", "scan.js"] {
            assert!(html.contains(&format!("<script src=\"/assets/{script}\" defer></script>")));
        }
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script>") && !html.contains("style=\""));
        assert!(html.contains("capture=\"environment\""));
    }

    #[test]
    fn the_worker_caches_the_page_and_its_assets_under_a_versioned_name() {
        let js = worker_js();
        assert!(!js.contains("{{version}}"));
        assert!(js.contains(&format!("'reetrace-field-{}-", env!("CARGO_PKG_VERSION"))));
        for path in [
            "/scan",
            "/assets/scan.js",
            "/assets/scan-queue.js",
            "/assets/scan-forms.js",
            "/assets/scan.css",
        ] {
            assert!(js.contains(&format!("'{path}'")), "{path}");
        }
        assert!(SCAN_JS.contains(&format!(
            "register('{WORKER_PATH}', {{ scope: '{WORKER_SCOPE}' }})"
        )));
    }
}
