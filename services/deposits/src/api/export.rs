//! The deposits as a GeoJSON FeatureCollection (RFC 7946) and their assays as CSV: every
//! deposit a list would hold with the same filters, in one answer.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use reetrace_core::api::codes::{INVALID_QUERY, PUBLIC, listed};
use reetrace_core::api::extract::ApiQuery;
use reetrace_core::api::problem::Problem;
use reetrace_core::csv;
use serde_json::json;

use super::{DepositExportQuery, DepositsState};
use crate::service::views::DepositView;
use crate::service::{DepositVersion, MAX_PAGE};

/// Every deposit matching the query's filters (pages of the list read one after the other).
async fn everything(
    state: &DepositsState,
    query: &DepositExportQuery,
) -> Result<Vec<DepositVersion>, Problem> {
    let filter = query.filter();
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = state.service.list(&filter, after, MAX_PAGE).await?;
        let full = page.len() == MAX_PAGE as usize;
        after = page.last().map(|v| v.stored.deposit_id);
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

/// The deposits as GeoJSON (RFC 7946): a FeatureCollection of one Feature per deposit, its
/// point or polygon in WGS84 (polygons by the right-hand rule), and as properties the record
/// without its assays (in `assays.csv`) and its content per element.
///
/// Filters as the list (`country`, `type`, `status`, `org_id`, `withdrawn`). Open data.
#[utoipa::path(
    get, path = "/api/v1/deposits.geojson", tag = "deposits", operation_id = "exportDepositsGeoJson",
    params(DepositExportQuery),
    responses((status = 200, description = "The deposits", content(
        (Object = "application/geo+json"),
    ))),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[INVALID_QUERY]])))),
)]
pub(super) async fn geojson(
    State(state): State<DepositsState>,
    ApiQuery(query): ApiQuery<DepositExportQuery>,
) -> Result<Response, Problem> {
    let features: Vec<_> = everything(&state, &query)
        .await?
        .iter()
        .map(|v| DepositView::of(v).feature())
        .collect();
    let body = json!({"type": "FeatureCollection", "features": features});
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        body.to_string(),
    )
        .into_response())
}

/// The columns of `assays.csv`.
pub const ASSAY_COLUMNS: &str = "deposit_id,version,deposit,type,country,sampled_on,method,\
     laboratory,sample_count,element,ppm,uncertainty_ppm";

/// The assays of the deposits as CSV: one row per assay and element, with the deposit's id,
/// version, name, type and country.
///
/// Filters as the list (`country`, `type`, `status`, `org_id`, `withdrawn`). Open data.
#[utoipa::path(
    get, path = "/api/v1/deposits/assays.csv", tag = "deposits", operation_id = "exportDepositAssays",
    params(DepositExportQuery),
    responses((status = 200, description = "The assays", content_type = "text/csv", body = String)),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[INVALID_QUERY]])))),
)]
pub(super) async fn assays_csv(
    State(state): State<DepositsState>,
    ApiQuery(query): ApiQuery<DepositExportQuery>,
) -> Result<Response, Problem> {
    let mut out = String::from(ASSAY_COLUMNS);
    out.push('\n');
    for v in everything(&state, &query).await? {
        let d = &v.deposit;
        for a in &d.assays {
            for c in &a.concentrations {
                // Writing to a String cannot fail.
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{},{},{},{}",
                    v.stored.deposit_id,
                    v.stored.version,
                    csv::text(&d.name),
                    d.deposit_type.as_str(),
                    d.country.code(),
                    a.sampled_on,
                    csv::text(&a.method),
                    csv::text(&a.laboratory),
                    a.sample_count,
                    c.element.symbol(),
                    c.ppm,
                    c.uncertainty_ppm,
                );
            }
        }
    }
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
}
