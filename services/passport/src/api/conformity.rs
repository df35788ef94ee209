//! The CRMA art. 28/29 conformity of a passport, and the summary of an organisation's
//! passports. The rules are in `domain::crma`; the reading of a stored version in
//! `service::conformity`.

use axum::Json;
use axum::extract::{Path, State};
use chrono::NaiveDate;
use reetrace_core::api::auth::{Auth, MaybeAuth};
use reetrace_core::api::codes::{
    AUTHENTICATED, BAD_REQUEST, FORBIDDEN, INVALID_CURSOR, INVALID_ID, INVALID_QUERY, NOT_FOUND,
    listed,
};
use reetrace_core::api::extract::{ApiQuery, parse_uuid};
use reetrace_core::api::pagination::{Page, PageQuery};
use reetrace_core::api::problem::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::PassportState;
use crate::domain::crma::ConformityTotals;
use crate::service::conformity::{ConformityItem, PassportConformity};

pub fn router() -> OpenApiRouter<PassportState> {
    OpenApiRouter::new()
        .routes(routes!(get_conformity))
        .routes(routes!(summary))
}

/// Checks a passport against CRMA art. 28(1), 28(4)(a), (b), (c) and 29(1).
///
/// Whoever may read the passport. Each rule is `met`, `missing` (with the JSON pointers, into
/// the registration, of what is missing), `not_applicable` or `not_yet_applicable` (with the
/// date from which it applies, absent while the implementing act is not adopted), with the
/// reason. The scope says the product group of art. 28(1) (declared, or mapped from the
/// category) and the exemptions. A caller who may not read the details document (the public,
/// when the manufacturer keeps it restricted) gets the rules on public content only: 28(4)(b)
/// and (c) are listed in `withheld`.
#[utoipa::path(
    get, path = "/api/v1/passports/{id}/conformity", tag = "passports", operation_id = "getPassportConformity",
    params(("id" = String, Path, format = Uuid, description = "The passport id")),
    responses(
        (status = 200, description = "The passport's conformity", body = PassportConformity),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, NOT_FOUND]])))),
)]
async fn get_conformity(
    State(state): State<PassportState>,
    MaybeAuth(caller): MaybeAuth,
    Path(id): Path<String>,
) -> Result<Json<PassportConformity>, Problem> {
    let id = parse_uuid("id", &id)?;
    Ok(Json(state.service.conformity(caller.as_ref(), id).await?))
}

/// Filters of the conformity summary.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SummaryQuery {
    /// The organisation (regulators and admins; every organisation when absent). A
    /// manufacturer may name only its own.
    #[param(format = Uuid)]
    org: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Passports per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The conformity of an organisation's passports.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConformitySummary {
    /// The organisation summed (absent: every organisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<Uuid>,
    /// The day the application dates were compared with.
    pub evaluated_on: NaiveDate,
    /// Over all the organisation's passports that are not revoked.
    pub totals: ConformityTotals,
    /// One page of passports, by id, with each rule's answer.
    pub items: Vec<ConformityItem>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Summarises the CRMA conformity of an organisation's passports.
///
/// A manufacturer reads its own; regulators and admins any organisation's (`?org=`), or all,
/// and get the coverage by product group, market country and year of placement: the share of
/// the in-scope units placed on the market (a batch counts its units) whose passports meet
/// each rule, of those to which it applies today. Revoked passports are left out. The
/// passports are listed by id, paginated; the totals cover them all.
#[utoipa::path(
    get, path = "/api/v1/conformity", tag = "passports", operation_id = "getConformitySummary",
    params(SummaryQuery),
    responses(
        (status = 200, description = "The totals, the coverage (authorities) and one page of passports", body = ConformitySummary),
        (status = 400, description = "A query parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a manufacturer, regulator or admin, or another manufacturer's organisation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN, INVALID_QUERY, INVALID_CURSOR]])))),
)]
async fn summary(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<SummaryQuery>,
) -> Result<Json<ConformitySummary>, Problem> {
    let page = PageQuery {
        cursor: query.cursor.clone(),
        limit: query.limit,
    };
    let limit = page.limit()?;
    let after = page.cursor::<Uuid>()?;
    let org = match &query.org {
        Some(org) => Some(org.parse::<Uuid>().map_err(|_| {
            Problem::bad_request(INVALID_QUERY, "Some filters are not valid.").with_errors(vec![
                FieldError::new("org", "not an organisation id (a UUID)"),
            ])
        })?),
        None => None,
    };
    let (totals, items) = state
        .service
        .conformity_summary(&caller, org, after, limit + 1)
        .await?;
    let page = Page::from_overfetch(items, limit, |i| i.passport_id.to_string());
    Ok(Json(ConformitySummary {
        org_id:
            org.or(
                (caller.role == reetrace_core::domain::Role::Manufacturer).then_some(caller.org_id)
            ),
        evaluated_on: reetrace_core::domain::account::now().date_naive(),
        totals,
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}
