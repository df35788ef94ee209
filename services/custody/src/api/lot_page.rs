//! A lot's own URL, `/lots/{lot_id}` (its EPC when it carries no GTIN, and where its GS1
//! Digital Link leads when no batch passport has that identity): the lot page for browsers,
//! the lot as `GET /api/v1/lots/{lot_id}` answers it for clients.
//!
//! The page holds no lot data: a browser following a label sends no key, so the page's script
//! ([`SCRIPT`]) asks for one and reads the lot from the JSON API, whose rules decide what the
//! key sees.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use reetrace_core::api::auth::MaybeAuth;
use reetrace_core::api::codes::{AUTHENTICATED, BAD_REQUEST, INVALID_ID, NOT_FOUND, listed};
use reetrace_core::api::extract::parse_uuid;
use reetrace_core::api::problem::Problem;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::CustodyState;
use crate::domain::lot::LotView;

/// The page's script.
pub const SCRIPT: &str = include_str!("../../assets/lot.js");
/// Where the server serves [`SCRIPT`].
pub const SCRIPT_PATH: &str = "/assets/lot.js";
/// The page's style sheet.
pub const STYLE: &str = include_str!("../../assets/lot.css");
/// Where the server serves [`STYLE`].
pub const STYLE_PATH: &str = "/assets/lot.css";

/// The page's policy: its script and style sheet, requests to this origin only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn router() -> OpenApiRouter<CustodyState> {
    OpenApiRouter::new().routes(routes!(resolve_lot))
}

/// Whether `Accept` prefers HTML: it names `text/html` (or XHTML), before any JSON type.
fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let position = |what: &str| accept.find(what);
    let html = position("text/html").or_else(|| position("application/xhtml+xml"));
    let json = position("json");
    match (html, json) {
        (Some(h), Some(j)) => h < j,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The lot page of `lot_id`: no data of the lot, only the shell its script fills in.
pub fn page_html(lot_id: uuid::Uuid) -> String {
    include_str!("../../assets/lot.html").replace("{{lot_id}}", &lot_id.to_string())
}

/// Resolves a lot's URL: the lot page, or the lot.
///
/// `text/html` (a browser following a label or the lot's EPC) gets the lot page, whose script
/// reads the lot with the key the reader enters; any other `Accept` the lot as
/// `GET /api/v1/lots/{lot_id}` answers it, for a valid key (401 without): everything recovered
/// and left, the claims the caller may see (all of them for the lot's holders, now and before,
/// regulators and admins; its own for anyone else), and the holder and chain for those who see
/// every claim, with the names of the organisations shown. No such lot: 404.
#[utoipa::path(
    get, path = "/lots/{lot_id}", tag = "custody", operation_id = "resolveLot",
    params(("lot_id" = String, Path, format = Uuid, description = "The lot id")),
    responses(
        (status = 200, description = "The lot page, or the lot",
            content((String = "text/html"), (LotView = "application/json"))),
        (status = 404, description = "No such lot", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, NOT_FOUND]])))),
)]
async fn resolve_lot(
    State(state): State<CustodyState>,
    MaybeAuth(caller): MaybeAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let id = parse_uuid("lot_id", &id)?;
    if wants_html(&headers) {
        // The lot must exist; what it holds is for the script to read with a key.
        state.service.load_lot(id).await?;
        let mut response = page_html(id).into_response();
        let h = response.headers_mut();
        for (name, value) in [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::VARY, "accept, authorization"),
        ] {
            h.insert(name, HeaderValue::from_static(value));
        }
        return Ok(response);
    }
    let caller = caller.ok_or_else(|| {
        Problem::unauthorized("A lot is read with an API key (Authorization: Bearer).")
    })?;
    let mut response = Json(state.service.lot(&caller, id).await?).into_response();
    response.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("accept, authorization"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(header::ACCEPT, value);
        }
        headers
    }

    #[test]
    fn browsers_get_the_page_clients_the_lot() {
        assert!(wants_html(&accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(!wants_html(&accept("application/json")));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&HeaderMap::new()));
        assert!(!wants_html(&accept("application/json, text/html")));
    }

    #[test]
    fn the_page_names_the_lot_and_loads_only_local_assets() {
        let id = uuid::Uuid::now_v7();
        let html = page_html(id);
        assert!(html.contains(&format!("data-lot-id=\"{id}\"")));
        assert!(!html.contains("{{"));
        assert!(html.contains(&format!("<script src=\"{SCRIPT_PATH}\" defer></script>")));
        assert!(html.contains(&format!("href=\"{STYLE_PATH}\"")));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script>") && !html.contains("style=\""));
    }
}
