//! The pages people look at, served from the binary: the urban-mine dashboard at `/dashboard`,
//! the field page for recyclers at `/scan` (in [`field`], with its service worker), the
//! scenarios beside the baseline at `/dashboard/scenarios` and the static assets of the pages
//! under `/assets/` (the passport page's script, the lot page's script and style sheet, the
//! dashboard's script and style sheet). No CDN and no build step: the files are embedded with
//! `include_str!` and served as they are.
//!
//! The dashboard's HTML is rendered here (its filter vocabularies come from the domain types);
//! its figures are read by the script from the stock API with the key the user enters, so the
//! API's roles and disclosure control apply exactly as for any client. These routes are not
//! API operations and stay out of the OpenAPI document.

mod field;

use std::fmt::Write as _;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use reetrace_core::domain::{Category, Element, MAGNET_MATERIALS, TrackedElement};

/// The dashboard's script.
pub const DASHBOARD_JS: &str = include_str!("../assets/dashboard.js");
/// The dashboard's charts (SVG line, bar and Sankey charts), loaded before the script.
pub const CHARTS_JS: &str = include_str!("../assets/charts.js");
/// The scenarios page's script.
pub const SCENARIOS_JS: &str = include_str!("../assets/scenarios.js");
/// The dashboard's style sheet.
pub const DASHBOARD_CSS: &str = include_str!("../assets/dashboard.css");
/// The icon both pages name (so that browsers do not ask for a missing `/favicon.ico`).
pub const FAVICON_SVG: &str = include_str!("../assets/favicon.svg");
/// Where the server serves [`FAVICON_SVG`].
pub const FAVICON_PATH: &str = "/assets/favicon.svg";

/// The dashboard's `Content-Security-Policy`: scripts, styles and requests of this origin only;
/// downloads are made from `blob:` URLs the script creates.
pub const DASHBOARD_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The policy of the assets themselves (nothing they could load or run).
const ASSET_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The routes of the pages (any process serves them; the dashboard needs the stock API and
/// the passport script the passport and custody APIs at the same origin).
pub fn router() -> Router {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/dashboard/scenarios", get(scenarios_page))
        .route(
            "/assets/scenarios.js",
            get(|| async { asset(SCENARIOS_JS, JAVASCRIPT) }),
        )
        .route(
            reetrace_passport::api::page::SCRIPT_PATH,
            get(|| async { asset(reetrace_passport::api::page::SCRIPT, JAVASCRIPT) }),
        )
        .route(
            "/assets/dashboard.js",
            get(|| async { asset(DASHBOARD_JS, JAVASCRIPT) }),
        )
        .route(
            "/assets/charts.js",
            get(|| async { asset(CHARTS_JS, JAVASCRIPT) }),
        )
        .route(
            "/assets/dashboard.css",
            get(|| async { asset(DASHBOARD_CSS, CSS) }),
        )
        .route(FAVICON_PATH, get(|| async { asset(FAVICON_SVG, SVG) }))
        .route(
            reetrace_custody::api::lot_page::SCRIPT_PATH,
            get(|| async { asset(reetrace_custody::api::lot_page::SCRIPT, JAVASCRIPT) }),
        )
        .route(
            reetrace_custody::api::lot_page::STYLE_PATH,
            get(|| async { asset(reetrace_custody::api::lot_page::STYLE, CSS) }),
        )
        .merge(field::router())
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

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

async fn dashboard() -> Response {
    let mut response = with_headers(dashboard_html(), "text/html; charset=utf-8", DASHBOARD_CSP);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The scenarios page: the baseline and scenarios side by side (authorities' keys only).
async fn scenarios_page() -> Response {
    let mut response = with_headers(
        include_str!("../assets/scenarios.html"),
        "text/html; charset=utf-8",
        DASHBOARD_CSP,
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `<option>`s of the element filter: every rare-earth element, by name, then the other
/// magnet materials (B, Co, Ni) in their own group; "all" is all rare earths.
fn element_options() -> String {
    let mut out = String::from(
        "<option value=\"\">All rare-earth elements</option><optgroup label=\"Rare earths\">",
    );
    let option = |out: &mut String, e: TrackedElement| {
        let _ = write!(
            out,
            "<option value=\"{}\">{} ({})</option>",
            e.symbol(),
            e.name(),
            e.symbol()
        );
    };
    for e in Element::ALL {
        option(&mut out, e.into());
    }
    out.push_str("</optgroup><optgroup label=\"Magnet materials\">");
    for e in MAGNET_MATERIALS {
        option(&mut out, e);
    }
    out.push_str("</optgroup>");
    out
}

/// `<option>`s of the category filter: the whole vocabulary.
fn category_options() -> String {
    let mut out = String::from("<option value=\"\">All categories</option>");
    for c in Category::ALL {
        let _ = write!(
            out,
            "<option value=\"{}\">{}</option>",
            c.as_str(),
            c.label()
        );
    }
    out
}

/// The dashboard page. Static but for the vocabularies: no caller data is ever in it.
pub fn dashboard_html() -> String {
    include_str!("../assets/dashboard.html")
        .replace("{{elements}}", &element_options())
        .replace("{{categories}}", &category_options())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_lists_every_element_and_category_and_loads_only_local_assets() {
        let html = dashboard_html();
        assert!(!html.contains("{{"), "every placeholder is filled");
        for e in Element::ALL {
            assert!(html.contains(&format!("<option value=\"{}\">", e.symbol())));
        }
        let magnet = html
            .split("<optgroup label=\"Magnet materials\">")
            .nth(1)
            .unwrap();
        for e in MAGNET_MATERIALS {
            assert!(magnet.contains(&format!("<option value=\"{}\">", e.symbol())));
        }
        for c in Category::ALL {
            assert!(html.contains(&format!("<option value=\"{}\">", c.as_str())));
        }
        assert!(html.contains("<script src=\"/assets/charts.js\" defer></script>"));
        assert!(html.contains("<script src=\"/assets/dashboard.js\" defer></script>"));
        assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/dashboard.css\">"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script>"), "no inline script");
        assert!(!html.contains("style=\""), "no inline style");
    }
}
