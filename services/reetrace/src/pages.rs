//! The pages people look at, served from the binary: the urban-mine dashboard at `/dashboard`,
//! the field page for recyclers at `/scan` (in [`field`], with its service worker), the
//! scenarios beside the baseline at `/dashboard/scenarios` and the static assets of the pages
//! under `/assets/` (the passport page's script, the lot page's script and style sheet, the
//! dashboard's scripts, style sheet and map data). No CDN and no build step: the files are
//! embedded with `include_str!` and served as they are.
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
/// The dashboard's map: TopoJSON decoding, the projection and the SVG drawing.
pub const MAP_JS: &str = include_str!("../assets/map.js");
/// The dashboard's secondary resources: the map of deposits and the chart per element.
pub const SECONDARY_JS: &str = include_str!("../assets/secondary.js");
/// Natural Earth's country boundaries at 1:110m, from the `world-atlas` package, unchanged
/// (public domain; see `assets/world-atlas/PROVENANCE.md`).
pub const COUNTRIES_110M: &str = include_str!("../assets/world-atlas/countries-110m.json");
/// Where the server serves [`COUNTRIES_110M`]: the path names the package's version, so the
/// file behind it never changes and browsers may keep it.
pub const COUNTRIES_110M_PATH: &str = "/assets/world-atlas-2.0.2/countries-110m.json";
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
            "/assets/map.js",
            get(|| async { asset(MAP_JS, JAVASCRIPT) }),
        )
        .route(
            "/assets/secondary.js",
            get(|| async { asset(SECONDARY_JS, JAVASCRIPT) }),
        )
        .route(COUNTRIES_110M_PATH, get(countries_110m))
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

/// The map's boundaries: a versioned path, so cached for a year as immutable.
async fn countries_110m() -> Response {
    let mut response = with_headers(COUNTRIES_110M, "application/json", ASSET_CSP);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
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
    use reetrace_core::domain::Country;

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
        assert!(html.contains("<script src=\"/assets/map.js\" defer></script>"));
        assert!(html.contains("<script src=\"/assets/secondary.js\" defer></script>"));
        assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/dashboard.css\">"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script>"), "no inline script");
        assert!(!html.contains("style=\""), "no inline style");
    }

    #[test]
    fn the_map_script_loads_the_boundaries_from_the_path_they_are_served_at() {
        assert!(MAP_JS.contains(&format!("'{COUNTRIES_110M_PATH}'")));
        let topology: serde_json::Value = serde_json::from_str(COUNTRIES_110M).unwrap();
        assert_eq!(topology["type"], "Topology");
        let countries = topology["objects"]["countries"]["geometries"]
            .as_array()
            .unwrap();
        assert_eq!(countries.len(), 177);
        // Every country with a numeric code has its alpha-2 code in the script's table.
        let table = MAP_JS
            .split("const ISO_NUMERIC = ")
            .nth(1)
            .and_then(|t| t.split(';').next())
            .unwrap()
            .replace(['\'', '+', ' ', '\n'], "");
        let codes: Vec<(&str, &str)> = table
            .as_bytes()
            .chunks(5)
            .map(|c| std::str::from_utf8(c).unwrap().split_at(3))
            .collect();
        assert!(
            codes
                .iter()
                .all(|(n, a)| n.len() == 3 && Country::parse(a).is_ok())
        );
        for c in countries {
            if let Some(id) = c["id"].as_str() {
                assert!(
                    codes.iter().any(|(n, _)| n == &id),
                    "{id} ({}) is in the table",
                    c["properties"]["name"]
                );
            }
        }
        for (numeric, alpha2) in [("250", "FR"), ("276", "DE"), ("300", "GR"), ("826", "GB")] {
            assert!(codes.contains(&(numeric, alpha2)), "{numeric} is {alpha2}");
        }
    }
}
