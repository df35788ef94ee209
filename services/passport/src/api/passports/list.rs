//! The passport list: filters parsed here (each bad one named), the list cut by the service to
//! what the caller may see.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use reetrace_core::api::auth::Auth;
use reetrace_core::api::codes::{AUTHENTICATED, FORBIDDEN, INVALID_CURSOR, INVALID_QUERY, listed};
use reetrace_core::api::extract::ApiQuery;
use reetrace_core::api::pagination::{Page, PageQuery};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::{Category, Country, Gtin};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::super::PassportState;
use crate::domain::passport::{ListFilter, PassportStatus};
use crate::domain::registration::Granularity;
use crate::service::PassportService;

/// Filters of the passport list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Only this product category.
    #[param(value_type = Option<Category>)]
    category: Option<String>,
    /// Only this GTIN (8, 12, 13 or 14 digits with a valid check digit).
    #[param(pattern = r"^(\d{8}|\d{12,14})$", example = "04012345000016")]
    gtin: Option<String>,
    /// Only products placed on the market in this country (ISO 3166-1 alpha-2).
    #[param(value_type = Option<Country>)]
    country: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A passport in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PassportSummary {
    pub id: Uuid,
    pub uri: String,
    pub version: u32,
    pub status: PassportStatus,
    pub granularity: Granularity,
    pub category: String,
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    pub org_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Lists passports.
///
/// A manufacturer sees its own passports; regulators and admins see all. Ordered by id (the
/// order of creation), with cursor pagination.
#[utoipa::path(
    get, path = "/api/v1/passports", tag = "passports", operation_id = "listPassports",
    params(ListQuery),
    responses((status = 200, description = "One page of passports", body = Page<PassportSummary>)),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN, INVALID_QUERY, INVALID_CURSOR]])))),
)]
pub(super) async fn list(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<PassportSummary>>, Problem> {
    PassportService::may_list(&caller)?;
    let page = PageQuery {
        cursor: query.cursor.clone(),
        limit: query.limit,
    };
    let limit = page.limit()?;
    let after = page.cursor::<Uuid>()?;
    let mut errors = Vec::new();
    let category = match &query.category {
        Some(c) => match c.parse::<Category>() {
            Ok(c) => Some(c),
            Err(_) => {
                errors.push(FieldError::new("category", "not a product category"));
                None
            }
        },
        None => None,
    };
    let gtin = match &query.gtin {
        Some(g) => match Gtin::parse(g) {
            Ok(g) => Some(g),
            Err(e) => {
                errors.push(FieldError::new("gtin", e.to_string()));
                None
            }
        },
        None => None,
    };
    let country = match &query.country {
        Some(c) => match Country::parse(c) {
            Ok(c) => Some(c),
            Err(_) => {
                errors.push(FieldError::new("country", "not an ISO 3166-1 alpha-2 code"));
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(Problem::bad_request(
            reetrace_core::api::codes::INVALID_QUERY,
            "Some filters are not valid.",
        )
        .with_errors(errors));
    }
    let filter = ListFilter {
        org_id: None,
        category,
        gtin,
        country,
    };
    let rows = state
        .service
        .list(&caller, filter, after, limit + 1)
        .await?;
    let items: Vec<PassportSummary> = rows
        .into_iter()
        .map(|r| PassportSummary {
            uri: state.service.product_uri(&r),
            id: r.id,
            version: r.version,
            status: r.status,
            granularity: r.granularity,
            category: r.category.as_str().to_owned(),
            country: r.country.code().to_owned(),
            gtin: r.gtin.map(|g| g.as_str().to_owned()),
            serial: r.serial.map(|s| s.as_str().to_owned()),
            lot: r.lot.map(|l| l.as_str().to_owned()),
            org_id: r.org_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect();
    Ok(Json(Page::from_overfetch(items, limit, |p| {
        p.id.to_string()
    })))
}
