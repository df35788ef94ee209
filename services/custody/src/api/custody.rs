//! The custody routes: scanning a product, recording steps and transformations, lots and
//! recycled-content claims.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use reetrace_core::api::auth::Auth;
use reetrace_core::api::codes::INVALID_QUERY;
use reetrace_core::api::codes::{
    AUTHENTICATED, BAD_REQUEST, FORBIDDEN, GTIN_NOT_YOURS, IDEMPOTENT, INVALID_ID, JSON_BODY,
    NOT_FOUND, OVER_CLAIM, RESERVATION_CAP, UNKNOWN_REFERENCE, listed,
};
use reetrace_core::api::extract::{ApiQuery, parse_json, parse_uuid, require_json_content_type};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::{Gtin, LotNumber};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{
    CLAIM_ID_REUSED, CONCURRENT_REQUEST, DUPLICATE_EVENT, HANDOVER_PENDING, LOT_USED_UP,
    MASS_BALANCE, NOT_HOLDER, NOT_YOUR_PASSPORT, RESERVATION_NOT_RENEWABLE, STEP_NOT_ALLOWED,
    UNKNOWN_PASSPORT,
};
use super::{CustodyState, idempotency, respond};
use crate::domain::claim::{ClaimAnswer, ClaimRequest};
use crate::domain::lot::LotView;
use crate::domain::product::Scan;
use crate::domain::step::{StepRecorded, StepRequest};
use crate::domain::transformation::{TransformationRecorded, TransformationRequest};
use crate::service::RELEASERS;

pub fn router() -> OpenApiRouter<CustodyState> {
    OpenApiRouter::new()
        .routes(routes!(scan))
        .routes(routes!(record_step))
        .routes(routes!(transform))
        .routes(routes!(claim))
        .routes(routes!(release_claim))
        .routes(routes!(get_lot))
        .routes(routes!(find_lot))
        .routes(routes!(record_lot_step))
}

/// Scans a product: its custody state, holder, events so far and what the caller may do next.
///
/// For recyclers (and regulators, admins). The product is named by its passport id; the answer
/// links the passport itself (read it with the same key for the professional tier). Its holder,
/// pending recipient and events are shown to those involved in it (holder, recipient, anyone
/// who recorded an event in its chain), regulators and admins; other recyclers see its state
/// and next steps, with no events.
#[utoipa::path(
    get, path = "/api/v1/custody/{passport_id}", tag = "custody", operation_id = "scanProduct",
    params(("passport_id" = String, Path, format = Uuid, description = "The product's passport id")),
    responses(
        (status = 200, description = "The product's custody", body = Scan),
        (status = 404, description = "No such product (model passports have no custody)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND]])))),
)]
async fn scan(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Scan>, Problem> {
    let id = parse_uuid("passport_id", &id)?;
    Ok(Json(state.service.scan(&caller, id).await?))
}

/// Records one custody step on a product (as an EPCIS 2.0 ObjectEvent).
///
/// Recyclers only. `collect` takes a product in use; every other step is the current holder's;
/// a `handover` names the next holder (`to_org`, a recycler), who must `accept` it. A step the
/// state machine or the holder rule forbids is 409 with the allowed next steps. The event joins
/// the product's hash chain and the transparency log in the same transaction.
#[utoipa::path(
    post, path = "/api/v1/custody/{passport_id}/events", tag = "custody", operation_id = "recordCustodyStep",
    params(("passport_id" = String, Path, format = Uuid, description = "The product's passport id"),
           ("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = "^[!-~]{1,255}$", description = "Makes a retried request answer the first answer (1 to 255 visible ASCII characters)")),
    request_body = StepRequest,
    responses(
        (status = 201, description = "Recorded", body = StepRecorded),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed now (`allowed` lists what is)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, IDEMPOTENT, &[
        BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND, STEP_NOT_ALLOWED, DUPLICATE_EVENT,
        CONCURRENT_REQUEST,
    ]])))),
)]
async fn record_step(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = parse_uuid("passport_id", &id)?;
    require_json_content_type(&headers)?;
    let idem = idempotency(&format!("/api/v1/custody/{id}/events"), &headers, &body)?;
    let request: StepRequest = parse_json(&body)?;
    let answer = state
        .service
        .record_step(&caller, id, &request, &idem)
        .await?;
    respond(answer, StatusCode::CREATED, &idem)
}

/// Records a dismantling or a recycling, checking the mass balance element by element.
///
/// Recyclers only, holding every input. Dismantling takes whole products (received or sorted)
/// and gives mass lots (e.g. magnets); recycling takes lots (all or part, by mass) or sorted or
/// dismantled products and gives oxide, metal or alloy lots, each with its assay. For every
/// element, outputs never exceed what the inputs brought (their passports' declared content, or
/// what was recovered into the lots, exactly); the difference is recorded as loss. Outputs get
/// lot ids (and a GS1 LGTIN when `gtin` and `lot_number` are given; an LGTIN a batch passport
/// has is refused, 409 `identity_taken` naming the `passport_id`).
#[utoipa::path(
    post, path = "/api/v1/custody/transformations", tag = "custody", operation_id = "recordTransformation",
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = "^[!-~]{1,255}$", description = "Makes a retried request answer the first answer (1 to 255 visible ASCII characters)")),
    request_body = TransformationRequest,
    responses(
        (status = 201, description = "Recorded", body = TransformationRecorded),
        (status = 409, description = "An input is not held by the caller or not in a state that allows it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, IDEMPOTENT, &[
        BAD_REQUEST, FORBIDDEN, GTIN_NOT_YOURS, reetrace_core::api::codes::IDENTITY_TAKEN, STEP_NOT_ALLOWED, LOT_USED_UP, HANDOVER_PENDING, NOT_HOLDER,
        MASS_BALANCE, DUPLICATE_EVENT, CONCURRENT_REQUEST,
    ]])))),
)]
async fn transform(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    require_json_content_type(&headers)?;
    let idem = idempotency("/api/v1/custody/transformations", &headers, &body)?;
    let request: TransformationRequest = parse_json(&body)?;
    let answer = state.service.transform(&caller, &request, &idem).await?;
    respond(answer, StatusCode::CREATED, &idem)
}

/// Checks and records recycled content a passport claims from recycled lots.
///
/// For manufacturers, for their own passports, and the passport service acting for one. A
/// manufacturer claims for a passport custody knows (from the passport feed) and that is its
/// own: another organisation's passport is 403 `not_your_passport`, one not known (not issued,
/// a model, or just issued and not yet seen: retry) 409 `unknown_passport`. Only the passport
/// service reserves for a passport before it is issued, bound to the manufacturer it names.
/// Per element, what all passports claim from a lot never exceeds what was recovered into it,
/// under any concurrency (409 `over_claim`, with what is still claimable). A passport's open
/// reservations add up, and count against its confirmed claims (a new version's replace
/// them): per element, the larger of the two.
/// Idempotent by `claim_id`: the same claim again answers 200 with the first answer. A claim is
/// `reserved` until its passport appears in the passport feed.
#[utoipa::path(
    post, path = "/api/v1/custody/claims", tag = "custody", operation_id = "claimRecycledContent",
    request_body = ClaimRequest,
    responses(
        (status = 201, description = "Claimed", body = ClaimAnswer),
        (status = 200, description = "The same claim was made before", body = ClaimAnswer),
        (status = 403, description = "The caller's role may not claim, or the passport is another organisation's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Over-claim, reservations over the cap, a reservation not renewed for a passport that never appeared, a passport custody does not know, or the claim id was used for another claim", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, &[
        BAD_REQUEST, FORBIDDEN, NOT_YOUR_PASSPORT, UNKNOWN_PASSPORT, CLAIM_ID_REUSED, OVER_CLAIM,
        RESERVATION_CAP, RESERVATION_NOT_RENEWABLE, UNKNOWN_REFERENCE,
    ]])))),
)]
async fn claim(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    require_json_content_type(&headers)?;
    let request: ClaimRequest = parse_json(&body)?;
    let (fresh, answer) = state.service.claim(&caller, &request).await?;
    let status = if fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(answer)).into_response())
}

/// Releases a reserved claim whose passport was not issued.
///
/// For the passport service (role `service`) and admins. Releasing twice, or a confirmed claim,
/// changes nothing.
#[utoipa::path(
    post, path = "/api/v1/custody/claims/{claim_id}/release", tag = "custody", operation_id = "releaseClaim",
    params(("claim_id" = String, Path, format = Uuid, description = "The claim id")),
    responses((status = 204, description = "Released (or nothing to release)")),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, FORBIDDEN]])))),
)]
async fn release_claim(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    // Who may release is known before the claim id is read.
    caller.require(RELEASERS)?;
    let id = parse_uuid("claim_id", &id)?;
    state.service.release_claim(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads a lot: what was recovered into it, what is left, what passports claim from it, its
/// holder and its chain of events.
///
/// Any caller with a key: manufacturers read the lots they source recycled content from,
/// recyclers the lots they make and hand over, regulators all of them. The claims themselves
/// (passports, organisations, masses) are shown to the lot's holders, now and before,
/// regulators and admins; any other caller sees only its own claims (`claims_shown: own`).
/// `claimed` and `claimable` total every claim for everyone.
#[utoipa::path(
    get, path = "/api/v1/lots/{lot_id}", tag = "custody", operation_id = "getLot",
    params(("lot_id" = String, Path, format = Uuid, description = "The lot id")),
    responses(
        (status = 200, description = "The lot", body = LotView),
        (status = 404, description = "No such lot", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, NOT_FOUND]])))),
)]
async fn get_lot(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<LotView>, Problem> {
    let id = parse_uuid("lot_id", &id)?;
    Ok(Json(state.service.lot(&caller, id).await?))
}

/// A lot's GS1 identity.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LotIdentityQuery {
    /// The lot's GTIN (8, 12, 13 or 14 digits, with a valid check digit).
    #[param(pattern = "^([0-9]{8}|[0-9]{12,14})$")]
    gtin: String,
    /// Its lot number (GS1 AI 10, 1 to 20 characters of the GS1 character set 82).
    #[param(min_length = 1, max_length = 20)]
    lot_number: String,
}

/// Finds a lot by its GS1 identity (GTIN and lot number), as `getLot` shows it.
///
/// Any caller with a key, with what `getLot` shows it. A lot carries a GTIN and a lot number
/// when its transformation gave them; its GS1 Digital Link (`/01/{gtin}/10/{lot}`) resolves to
/// its page unless a batch passport has that identity. No lot with it: 404.
#[utoipa::path(
    get, path = "/api/v1/lots", tag = "custody", operation_id = "findLotByIdentity",
    params(LotIdentityQuery),
    responses(
        (status = 200, description = "The lot", body = LotView),
        (status = 400, description = "The GTIN or the lot number is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No lot with this identity", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY, NOT_FOUND]])))),
)]
async fn find_lot(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<LotIdentityQuery>,
) -> Result<Json<LotView>, Problem> {
    let invalid = |name: &str, error: String| {
        Problem::bad_request(INVALID_QUERY, format!("{name} is not valid: {error}"))
            .with_errors(vec![FieldError::new(name, error)])
    };
    let gtin = Gtin::parse(&query.gtin).map_err(|e| invalid("gtin", e.to_string()))?;
    let lot =
        LotNumber::parse(&query.lot_number).map_err(|e| invalid("lot_number", e.to_string()))?;
    let id = state
        .service
        .lot_by_identity(&gtin, &lot)
        .await?
        .ok_or_else(|| {
            Problem::not_found(format!(
                "No lot with GTIN {} and lot number {}.",
                gtin.as_str(),
                lot.as_str()
            ))
        })?;
    Ok(Json(state.service.lot(&caller, id).await?))
}

/// Records a step on a lot: handover, accept, destroy or export.
///
/// Recyclers only; the holder rule applies as for products.
#[utoipa::path(
    post, path = "/api/v1/lots/{lot_id}/events", tag = "custody", operation_id = "recordLotStep",
    params(("lot_id" = String, Path, format = Uuid, description = "The lot id"),
           ("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = "^[!-~]{1,255}$", description = "Makes a retried request answer the first answer (1 to 255 visible ASCII characters)")),
    request_body = StepRequest,
    responses(
        (status = 201, description = "Recorded", body = StepRecorded),
        (status = 404, description = "No such lot", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed now", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, IDEMPOTENT, &[
        BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND, STEP_NOT_ALLOWED, DUPLICATE_EVENT,
        CONCURRENT_REQUEST,
    ]])))),
)]
async fn record_lot_step(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = parse_uuid("lot_id", &id)?;
    require_json_content_type(&headers)?;
    let idem = idempotency(&format!("/api/v1/lots/{id}/events"), &headers, &body)?;
    let request: StepRequest = parse_json(&body)?;
    let answer = state
        .service
        .record_lot_step(&caller, id, &request, &idem)
        .await?;
    respond(answer, StatusCode::CREATED, &idem)
}
