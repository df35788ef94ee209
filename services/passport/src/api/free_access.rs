//! The free-access page of CRMA art. 29(1), without a key: a manufacturer's products to which
//! art. 29 applies, by model, with the recycled share of each of the eight elements. JSON or
//! CSV for machines (`/api/v1/orgs/{org_id}/recycled-content`), HTML for people
//! (`/crma/{org_id}`, rendered by `html`). The listing is `service::free_access`.

mod html;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reetrace_core::api::codes::{
    INVALID_CURSOR, INVALID_ID, INVALID_QUERY, NOT_FOUND, PUBLIC, listed,
};
use reetrace_core::api::extract::{ApiQuery, parse_uuid};
use reetrace_core::api::pagination::{Page, PageQuery};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::csv::text as csv_text;
use reetrace_core::domain::account::Org;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::PassportState;
use crate::service::free_access::PublishedProduct;

pub fn router() -> OpenApiRouter<PassportState> {
    OpenApiRouter::new()
        .routes(routes!(recycled_content))
        .routes(routes!(page))
}

/// Paging and format of the free-access listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListingQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Products per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// `json` or `csv`; overrides `Accept`.
    format: Option<String>,
}

/// Paging of the free-access page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PageOnlyQuery {
    /// The next page's cursor (the page links to it).
    cursor: Option<String>,
    /// Products per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A manufacturer's products under CRMA art. 29(1), one page of them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecycledContentListing {
    pub org_id: Uuid,
    /// The manufacturer's name (as its credentials state it).
    pub manufacturer: String,
    /// This listing for people (HTML).
    pub page: String,
    pub items: Vec<PublishedProduct>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The CSV header: one row per product and art. 29 element (a tidy long table).
pub const CSV_HEADER: &str = "passport_id,uri,granularity,gtin,lot,serial,model,name,\
                              product_group,status,element,share_status,share,credential,pointer";

/// One page of the listing, for `org_id` (a manufacturer, else 404).
async fn listing(
    state: &PassportState,
    org_id: &str,
    paging: PageQuery,
) -> Result<(Org, Page<PublishedProduct>), Problem> {
    let org_id = parse_uuid("org_id", org_id)?;
    let limit = paging.limit()?;
    let after = paging.cursor::<Uuid>()?;
    let org = state.service.manufacturer(org_id).await?;
    let items = state
        .service
        .recycled_content_page(&org, after, limit + 1)
        .await?;
    let page = Page::from_overfetch(items, limit, |p| p.passport_id.to_string());
    Ok((org, page))
}

/// Whether `Accept` prefers CSV to JSON (weights honoured; a tie goes to the one named
/// exactly, JSON when both are).
fn wants_csv(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let (mut csv, mut json, mut wild) = (0.0_f64, 0.0_f64, 0.0_f64);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").map(str::to_owned))
            .find_map(|q| q.trim().parse::<f64>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "text/csv" => csv = csv.max(q),
            "application/json" => json = json.max(q),
            "*/*" | "application/*" => wild = wild.max(q),
            _ => {}
        }
    }
    csv > 0.0 && csv > json && csv >= wild
}

/// `?format=`, or `Accept` when absent: whether to answer CSV.
fn csv_format(query: &ListingQuery, headers: &HeaderMap) -> Result<bool, Problem> {
    match query.format.as_deref() {
        None => Ok(wants_csv(headers)),
        Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(
            Problem::bad_request(INVALID_QUERY, "format must be json or csv.")
                .with_errors(vec![FieldError::new("format", "must be json or csv")]),
        ),
    }
}

/// The listing as CSV rows, header first.
pub fn to_csv(items: &[PublishedProduct]) -> String {
    let mut out = String::with_capacity(256 + items.len() * 8 * 200);
    out.push_str(CSV_HEADER);
    out.push('\n');
    let opt = |v: &Option<String>| v.as_deref().map(csv_text).unwrap_or_default();
    for p in items {
        let fixed = [
            p.passport_id.to_string(),
            csv_text(&p.uri),
            granularity(p),
            opt(&p.gtin),
            opt(&p.lot),
            opt(&p.serial),
            opt(&p.model),
            csv_text(&p.name),
            p.product_group.to_string(),
            p.status.as_str().to_owned(),
        ]
        .join(",");
        for s in &p.shares {
            let share = s.share.map(|v| v.to_string()).unwrap_or_default();
            out.push_str(&format!(
                "{fixed},{},{},{share},{},{}\n",
                s.element,
                s.status.as_str(),
                csv_text(&s.credential),
                s.pointer.as_deref().map(csv_text).unwrap_or_default()
            ));
        }
    }
    out
}

fn granularity(p: &PublishedProduct) -> String {
    serde_json::to_value(p.granularity)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The `Link` header to the next page of `base`, if any.
fn next_link(response: &mut Response, base: &str, next: Option<&String>) {
    if let Some(cursor) = next
        && let Ok(value) = HeaderValue::from_str(&format!("<{base}?cursor={cursor}>; rel=\"next\""))
    {
        response.headers_mut().insert(header::LINK, value);
    }
}

/// A manufacturer's recycled content under CRMA art. 29(1), for machines.
///
/// Public, no key. The manufacturer's products to which art. 29(1) applies by substance (in
/// the scope of art. 28(1), not exempt, more than 0.2 kg of NdFeB, SmCo and AlNiCo magnets,
/// whatever the application date), by model: a model passport, a batch, and an item passport
/// whose model passport is not listed. Revoked passports are left out; suspended ones stay,
/// with their status. Each product has the eight shares of art. 29(1) (Nd, Dy, Pr, Tb, B, Sm,
/// Ni, Co) as its signed credential states them (`not_applicable` where the magnets hold none
/// of the element), each linking to that credential and the JSON pointer of the share. No
/// placement fact (market country, date, units). JSON by default; CSV (`text/csv`, or
/// `?format=csv`) is a tidy table, one row per product and element. Paginated by passport id
/// (`next_cursor`, also as `Link: rel="next"`).
#[utoipa::path(
    get, path = "/api/v1/orgs/{org_id}/recycled-content", tag = "passports", operation_id = "getRecycledContent",
    params(("org_id" = String, Path, format = Uuid, description = "The manufacturer"), ListingQuery),
    responses(
        (status = 200, description = "One page of products with their shares",
         content(
            (RecycledContentListing = "application/json"),
            (String = "text/csv", example = "passport_id,uri,granularity,gtin,lot,serial,model,name,product_group,status,element,share_status,share,credential,pointer\n"),
         ),
         headers(("Link" = String, description = "The next page, when there is one"), ("Vary" = String, description = "`accept`"))),
        (status = 400, description = "The id, the cursor, the limit or the format is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No manufacturer with this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[INVALID_ID, INVALID_CURSOR, INVALID_QUERY, NOT_FOUND]])))),
)]
async fn recycled_content(
    State(state): State<PassportState>,
    Path(org_id): Path<String>,
    ApiQuery(query): ApiQuery<ListingQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let csv = csv_format(&query, &headers)?;
    let paging = PageQuery {
        cursor: query.cursor.clone(),
        limit: query.limit,
    };
    let (org, page) = listing(&state, &org_id, paging).await?;
    let base = state.service.base_url();
    let path = format!("{base}/api/v1/orgs/{}/recycled-content", org.id);
    let mut response = if csv {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            to_csv(&page.items),
        )
            .into_response()
    } else {
        Json(RecycledContentListing {
            org_id: org.id,
            manufacturer: org.name.clone(),
            page: format!("{base}/crma/{}", org.id),
            items: page.items,
            next_cursor: page.next_cursor.clone(),
        })
        .into_response()
    };
    next_link(&mut response, &path, page.next_cursor.as_ref());
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    Ok(response)
}

/// A manufacturer's free-access page of CRMA art. 29(1), for people.
///
/// Public, no key: the products and shares of `getRecycledContent` as an HTML page readable
/// on a phone, with no external resource. An unknown organisation or one that is not a
/// manufacturer gets a 404 page; a bad id, cursor or limit a 400 page naming it (a client
/// whose `Accept` does not name `text/html` gets them as problem+json).
#[utoipa::path(
    get, path = "/crma/{org_id}", tag = "resolver", operation_id = "getRecycledContentPage",
    params(("org_id" = String, Path, format = Uuid, description = "The manufacturer"), PageOnlyQuery),
    responses(
        (status = 200, description = "The page", content((String = "text/html"))),
        (status = 400, description = "The id, the cursor or the limit is not valid: a page naming it for a browser (`Accept` naming `text/html`), problem+json otherwise",
         content((String = "text/html"), (Problem = "application/problem+json"))),
        (status = 404, description = "No manufacturer with this id: a page for a browser, problem+json otherwise",
         content((String = "text/html"), (Problem = "application/problem+json"))),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[INVALID_ID, INVALID_CURSOR, INVALID_QUERY, NOT_FOUND]])))),
)]
async fn page(
    State(state): State<PassportState>,
    Path(org_id): Path<String>,
    ApiQuery(query): ApiQuery<PageOnlyQuery>,
    headers: HeaderMap,
) -> Response {
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.to_ascii_lowercase().contains("text/html"));
    let paging = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    };
    let mut response = match listing(&state, &org_id, paging).await {
        Ok((org, page)) => html_response(StatusCode::OK, html::render(&state.service, &org, &page)),
        Err(problem) if browser && (problem.status == 400 || problem.status == 404) => {
            let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
            html_response(status, html::error(&problem))
        }
        Err(problem) => problem.into_response(),
    };
    // Errors follow `Accept` (a page for a browser, problem+json otherwise).
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// An HTML answer with the passport page's security headers.
fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(policy) = HeaderValue::from_str(super::page::content_security_policy()) {
        h.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn csv_text_quotes_and_defuses_formulas() {
        assert_eq!(csv_text("plain"), "plain");
        assert_eq!(csv_text("a,b"), "\"a,b\"");
        assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_text("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_text("-1,2"), "\"'-1,2\"");
    }

    #[test]
    fn accept_weights_decide_between_csv_and_json() {
        let with = |accept: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
            wants_csv(&h)
        };
        assert!(with("text/csv"));
        assert!(with("text/csv, */*;q=0.5"));
        assert!(with("text/csv, */*"));
        assert!(!with("application/json, text/csv"));
        assert!(!with("text/csv;q=0.4, application/json"));
        assert!(!with("text/csv;q=0"));
        assert!(!with("*/*"));
        assert!(!wants_csv(&HeaderMap::new()));
    }
}
