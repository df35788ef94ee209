//! HTTP routes of the accounts service: organisations, API keys, and who the caller is.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::{Auth, Authenticator};
use super::codes::{
    AUTHENTICATED, BAD_REQUEST, FORBIDDEN, INVALID_CURSOR, INVALID_ID, INVALID_QUERY, JSON_BODY,
    NOT_FOUND, OPERATOR_ID_TAKEN, PREFIX_TAKEN, UNKNOWN_REFERENCE, UNREADABLE_BODY, listed,
};
use crate::api::extract::{ApiJson, ApiQuery, optional_json, parse_uuid};
use crate::api::pagination::{Page, PageQuery};
use crate::api::problem::{FieldError, Problem};
use crate::domain::account::DirectoryEntry;
use crate::domain::account::{ApiKeyInfo, CreatedKey, CreatedOrg, NewOrg, Org};
use crate::domain::gs1_prefix::{Gs1PrefixEntry, NewGs1Prefix};
use crate::domain::{Principal, Role};
use crate::service::accounts::Accounts;

/// What the accounts routes need.
#[derive(Clone)]
pub struct AccountsState {
    pub accounts: Accounts,
    pub auth: Arc<Authenticator>,
}

impl FromRef<AccountsState> for Arc<Authenticator> {
    fn from_ref(state: &AccountsState) -> Self {
        state.auth.clone()
    }
}

/// The accounts routes.
pub fn router() -> OpenApiRouter<AccountsState> {
    OpenApiRouter::new()
        .routes(routes!(create_org, list_orgs))
        .routes(routes!(get_org))
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
        .routes(routes!(add_gs1_prefix, list_gs1_prefixes))
        .routes(routes!(remove_gs1_prefix))
        .routes(routes!(whoami))
        .routes(routes!(directory))
}

/// Creates an organisation with its first API key.
///
/// Admin only. The key in the answer is shown this once; store it. A manufacturer
/// organisation also gets its Ed25519 signing key.
#[utoipa::path(
    post, path = "/api/v1/orgs", tag = "accounts", operation_id = "createOrg",
    request_body = NewOrg,
    responses(
        (status = 201, description = "The organisation and its first key", body = CreatedOrg),
        (status = 409, description = "The operator identifier is taken", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[
        AUTHENTICATED, JSON_BODY, &[UNREADABLE_BODY, FORBIDDEN, OPERATOR_ID_TAKEN],
    ])))),
)]
async fn create_org(
    State(state): State<AccountsState>,
    Auth(caller): Auth,
    ApiJson(new): ApiJson<NewOrg>,
) -> Result<(StatusCode, Json<CreatedOrg>), Problem> {
    caller.require(&[Role::Admin])?;
    let created = state.accounts.create_org(new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Filters of the organisation list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OrgListQuery {
    /// Only organisations with this role.
    role: Option<Role>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Lists organisations.
///
/// Admin only; ordered by creation, with cursor pagination.
#[utoipa::path(
    get, path = "/api/v1/orgs", tag = "accounts", operation_id = "listOrgs",
    params(OrgListQuery),
    responses((status = 200, description = "One page of organisations", body = Page<Org>)),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[
        AUTHENTICATED, &[FORBIDDEN, INVALID_QUERY, INVALID_CURSOR],
    ])))),
)]
async fn list_orgs(
    State(state): State<AccountsState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<OrgListQuery>,
) -> Result<Json<Page<Org>>, Problem> {
    caller.require(&[Role::Admin])?;
    let page = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    };
    let limit = page.limit()?;
    let after = page.cursor::<Uuid>()?;
    let orgs = state
        .accounts
        .list_orgs(query.role, after, limit + 1)
        .await?;
    Ok(Json(Page::from_overfetch(orgs, limit, |o| {
        o.id.to_string()
    })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct OrgPath {
    /// The organisation's id.
    #[param(format = Uuid)]
    org_id: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct KeyPath {
    /// The organisation's id.
    #[param(format = Uuid)]
    org_id: String,
    /// The key's id.
    #[param(format = Uuid)]
    key_id: String,
}

/// An admin may manage any organisation; any other caller only its own.
fn may_manage(caller: &Principal, org_id: Uuid) -> Result<(), Problem> {
    if caller.role == Role::Admin || caller.org_id == org_id {
        Ok(())
    } else {
        Err(Problem::forbidden(
            "Only an admin or the organisation itself may do this.",
        ))
    }
}

/// Reads one organisation.
///
/// An admin may read any organisation; others only their own.
#[utoipa::path(
    get, path = "/api/v1/orgs/{org_id}", tag = "accounts", operation_id = "getOrg",
    params(OrgPath),
    responses(
        (status = 200, description = "The organisation", body = Org),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[
        AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND],
    ])))),
)]
async fn get_org(
    State(state): State<AccountsState>,
    Auth(caller): Auth,
    Path(path): Path<OrgPath>,
) -> Result<Json<Org>, Problem> {
    let org_id = parse_uuid("org_id", &path.org_id)?;
    may_manage(&caller, org_id)?;
    Ok(Json(state.accounts.org(org_id).await?))
}

/// What a new key may carry.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "warehouse scanner"}))]
struct NewKey {
    /// A note to tell keys apart: 1 to 100 characters, not all blank, no control characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    label: Option<String>,
}

/// Creates an API key for an organisation.
///
/// Admins for any organisation, others for their own. The key is shown this once. The body
/// is optional.
#[utoipa::path(
    post, path = "/api/v1/orgs/{org_id}/api-keys", tag = "accounts", operation_id = "createApiKey",
    params(OrgPath),
    request_body(content = Option<NewKey>, description = "An optional label"),
    responses(
        (status = 201, description = "The new key", body = CreatedKey),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[
        AUTHENTICATED, JSON_BODY, &[BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND, UNKNOWN_REFERENCE],
    ])))),
)]
async fn create_key(
    State(state): State<AccountsState>,
    Auth(caller): Auth,
    Path(path): Path<OrgPath>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<CreatedKey>), Problem> {
    let org_id = parse_uuid("org_id", &path.org_id)?;
    may_manage(&caller, org_id)?;
    let label = optional_json::<NewKey>(&headers, &body)?.and_then(|b| b.label);
    if let Some(label) = &label
        && (label.trim().is_empty()
            || label.chars().count() > 100
            || label.chars().any(char::is_control))
    {
        return Err(Problem::validation(vec![FieldError::new(
            "/label",
            "the label must be 1 to 100 printable characters",
        )]));
    }
    let created = state.accounts.create_key(org_id, label).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Lists an organisation's API keys (prefixes only, never secrets).
///
/// Admins for any organisation, others for their own. Revoked keys are listed too, with the
/// time they were revoked; a key's secret is never shown again after its creation.
#[utoipa::path(
    get, path = "/api/v1/orgs/{org_id}/api-keys", tag = "accounts", operation_id = "listApiKeys",
    params(OrgPath),
    responses(
        (status = 200, description = "The keys, revoked ones included", body = Vec<ApiKeyInfo>),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[
        AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND],
    ])))),
)]
async fn list_keys(
    State(state): State<AccountsState>,
    Auth(caller): Auth,
    Path(path): Path<OrgPath>,
) -> Result<Json<Vec<ApiKeyInfo>>, Problem> {
    let org_id = parse_uuid("org_id", &path.org_id)?;
    may_manage(&caller, org_id)?;
    Ok(Json(state.accounts.list_keys(org_id).await?))
}

/// Revokes an API key.
///
/// Admins for any organisation, others for their own. Revoking twice is harmless.
#[utoipa::path(
    delete, path = "/api/v1/orgs/{org_id}/api-keys/{key_id}", tag = "accounts", operation_id = "revokeApiKey",
    params(KeyPath),
    responses(
        (status = 200, description = "The revoked key", body = ApiKeyInfo),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[
        AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND],
    ])))),
)]
async fn revoke_key(
    State(state): State<AccountsState>,
    Auth(caller): Auth,
    Path(path): Path<KeyPath>,
) -> Result<Json<ApiKeyInfo>, Problem> {
    let org_id = parse_uuid("org_id", &path.org_id)?;
    let key_id = parse_uuid("key_id", &path.key_id)?;
    may_manage(&caller, org_id)?;
    Ok(Json(state.accounts.revoke_key(org_id, key_id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct Gs1PrefixPath {
    /// The organisation's id.
    #[param(format = Uuid)]
    org_id: String,
    /// The entry's canonical digits (its `prefix`).
    #[param(pattern = r"^\d{4,12}$", example = "4012345")]
    prefix: String,
}

/// Gives an organisation a GS1 prefix or GTIN.
///
/// Admin only, for manufacturers and recyclers. Exactly one of `prefix` (a GS1 Company Prefix
/// as in a GTIN-13), `upc_prefix` (a U.P.C. Company Prefix as in a GTIN-12) or `gtin` (one
/// GTIN: a GTIN-8, or a GTIN held on its own). A manufacturer registers passports, and a
/// recycler names output lots, only with GTINs under what it holds. Restricted circulation
/// numbers (GS1 Prefixes 02, 04, 20 to 29; RCN-8s) and the GTIN-8 space of company prefixes are
/// refused (422). A prefix belongs to one organisation: one overlapping another organisation's
/// (one starting the other), or one the organisation holds already, is refused (409).
#[utoipa::path(
    post, path = "/api/v1/orgs/{org_id}/gs1-prefixes", tag = "accounts", operation_id = "addGs1Prefix",
    params(OrgPath),
    request_body = NewGs1Prefix,
    responses(
        (status = 201, description = "The entry, in its canonical form", body = Gs1PrefixEntry),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The prefix overlaps one held already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[
        AUTHENTICATED, JSON_BODY, &[UNREADABLE_BODY, BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND, PREFIX_TAKEN],
    ])))),
)]
async fn add_gs1_prefix(
    State(state): State<AccountsState>,
    Auth(caller): Auth,
    Path(path): Path<OrgPath>,
    ApiJson(new): ApiJson<NewGs1Prefix>,
) -> Result<(StatusCode, Json<Gs1PrefixEntry>), Problem> {
    caller.require(&[Role::Admin])?;
    let org_id = parse_uuid("org_id", &path.org_id)?;
    let entry = state.accounts.add_gs1_prefix(org_id, &new).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// Lists the GS1 prefixes and GTINs an organisation holds.
///
/// Admins for any organisation, others for their own; ordered by digits. Entries marked
/// `grandfathered` were recorded from what the organisation registered before it held prefixes.
#[utoipa::path(
    get, path = "/api/v1/orgs/{org_id}/gs1-prefixes", tag = "accounts", operation_id = "listGs1Prefixes",
    params(OrgPath),
    responses(
        (status = 200, description = "The entries", body = Vec<Gs1PrefixEntry>),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[
        AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND],
    ])))),
)]
async fn list_gs1_prefixes(
    State(state): State<AccountsState>,
    Auth(caller): Auth,
    Path(path): Path<OrgPath>,
) -> Result<Json<Vec<Gs1PrefixEntry>>, Problem> {
    let org_id = parse_uuid("org_id", &path.org_id)?;
    may_manage(&caller, org_id)?;
    Ok(Json(state.accounts.gs1_prefixes(org_id).await?))
}

/// Takes a GS1 prefix or GTIN from an organisation.
///
/// Admin only. The organisation's passports and lots under it stay and still resolve; it only
/// registers no new ones under it.
#[utoipa::path(
    delete, path = "/api/v1/orgs/{org_id}/gs1-prefixes/{prefix}", tag = "accounts", operation_id = "removeGs1Prefix",
    params(Gs1PrefixPath),
    responses(
        (status = 200, description = "The removed entry", body = Gs1PrefixEntry),
        (status = 404, description = "No such organisation or entry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[
        AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND],
    ])))),
)]
async fn remove_gs1_prefix(
    State(state): State<AccountsState>,
    Auth(caller): Auth,
    Path(path): Path<Gs1PrefixPath>,
) -> Result<Json<Gs1PrefixEntry>, Problem> {
    caller.require(&[Role::Admin])?;
    let org_id = parse_uuid("org_id", &path.org_id)?;
    Ok(Json(
        state
            .accounts
            .remove_gs1_prefix(org_id, &path.prefix)
            .await?,
    ))
}

/// Who the caller is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WhoAmI {
    pub org_id: Uuid,
    pub org_name: String,
    pub role: Role,
    pub key_id: Uuid,
}

/// Names the caller's organisation and role.
///
/// Any valid key: the organisation, its role and the id of the key used, so that a client can
/// check which key it holds before acting.
#[utoipa::path(
    get, path = "/api/v1/whoami", tag = "accounts", operation_id = "whoami",
    responses((status = 200, description = "The caller", body = WhoAmI)),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED])))),
)]
async fn whoami(Auth(caller): Auth) -> Json<WhoAmI> {
    Json(WhoAmI {
        org_id: caller.org_id,
        org_name: caller.org_name,
        role: caller.role,
        key_id: caller.key_id,
    })
}

/// Filters of the directory.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DirectoryQuery {
    /// Only organisations with this role (`recycler` for the organisations a handover may
    /// name).
    role: Option<Role>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1 to 100 (default 100).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// The organisations a caller may name: manufacturers, recyclers and regulators.
const LISTED: [Role; 3] = [Role::Manufacturer, Role::Recycler, Role::Regulator];

/// Lists organisations by name: the directory.
///
/// Any valid key: each manufacturer, recycler and regulator with its id, name, role and the
/// identifiers it holds (operator identifier, GS1 prefixes and GTINs), so that a client can
/// show people instead of ids and name an organisation to hand a product over to. It says who
/// exists, never what an organisation did: which organisation holds or recorded what is shown
/// only in the records the caller may read (their `names`). Admin and service organisations
/// are not listed. Ordered by creation, with cursor pagination.
#[utoipa::path(
    get, path = "/api/v1/directory/orgs", tag = "accounts", operation_id = "listDirectory",
    params(DirectoryQuery),
    responses((status = 200, description = "One page of the directory", body = Page<DirectoryEntry>)),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[
        AUTHENTICATED, &[INVALID_QUERY, INVALID_CURSOR],
    ])))),
)]
async fn directory(
    State(state): State<AccountsState>,
    Auth(_caller): Auth,
    ApiQuery(query): ApiQuery<DirectoryQuery>,
) -> Result<Json<Page<DirectoryEntry>>, Problem> {
    let page = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    };
    let limit = page.limit()?;
    if limit > 100 {
        return Err(Problem::bad_request(
            INVALID_QUERY,
            "limit must be 1 to 100 for the directory.",
        )
        .with_errors(vec![FieldError::new("limit", "at most 100")]));
    }
    let after = page.cursor::<Uuid>()?;
    let roles: Vec<Role> = match query.role {
        Some(role) if LISTED.contains(&role) => vec![role],
        Some(_) => Vec::new(),
        None => LISTED.to_vec(),
    };
    let entries = state.accounts.directory(&roles, after, limit + 1).await?;
    Ok(Json(Page::from_overfetch(entries, limit, |e| {
        e.id.to_string()
    })))
}
