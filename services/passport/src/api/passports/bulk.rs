//! Bulk registration: many registrations in one request (a JSON array or NDJSON), each line's
//! outcome worded here from the service's typed result.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reetrace_core::api::auth::Auth;
use reetrace_core::api::codes::{
    AUTHENTICATED, BAD_REQUEST, BODY_TOO_LARGE, FORBIDDEN, IDEMPOTENT, INVALID_QUERY,
    MALFORMED_JSON, UNSUPPORTED_MEDIA_TYPE, listed,
};
use reetrace_core::api::extract::{ApiQuery, ndjson_lines, unsupported_media_type};
use reetrace_core::api::idempotency::{Answer, Idempotency, of_fingerprint, replay};
use reetrace_core::api::problem::Problem;
use reetrace_core::domain::Principal;
use reetrace_core::domain::idempotency::Fingerprinting;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::super::PassportState;
use super::super::error::{
    BULK_REFUSED, CONCURRENT_REQUEST, EMPTY_BULK, NOT_COMMITTED, TOO_MANY_LINES,
};
use super::idempotency;
use super::parse::Parser;
use crate::domain::registration::Registration;
use crate::service::bulk::{BulkResult, LineFailure, LineOutcome, LineResult};
use crate::service::{PassportError, PassportService};

/// The most registrations one bulk request may carry.
pub const MAX_BULK_LINES: usize = 100_000;

/// One line's outcome in a bulk registration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BulkLine {
    /// 1-based position of the registration in the request.
    pub line: usize,
    /// 201 when created; otherwise the status of the problem.
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

/// The outcome of a bulk registration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BulkOutcome {
    pub created: usize,
    pub failed: usize,
    /// Whether the request asked for all or nothing.
    pub atomic: bool,
    pub results: Vec<BulkLine>,
}

impl BulkOutcome {
    /// One JSON object per line (for NDJSON answers).
    pub fn to_ndjson(&self) -> String {
        let mut out = String::with_capacity(self.results.len() * 96);
        for line in &self.results {
            if let Ok(text) = serde_json::to_string(line) {
                out.push_str(&text);
                out.push('\n');
            }
        }
        out
    }
}

/// The problem of a line that was not stored.
fn line_problem(error: LineFailure<Problem>) -> Problem {
    match error {
        LineFailure::Unreadable(problem) => problem,
        LineFailure::Invalid(errors) => PassportError::Invalid(errors).into(),
        LineFailure::NotYours(denied) => PassportError::Denied(denied).into(),
        LineFailure::DuplicateInRequest { first_line } => {
            PassportError::DuplicateInRequest { first_line }.into()
        }
        LineFailure::Claim(failure) => PassportError::from(failure).into(),
        LineFailure::Exists => PassportError::Exists.into(),
        LineFailure::LotIdentity { lot_id } => PassportError::LotIdentity { lot_id }.into(),
        LineFailure::NotCommitted => Problem::new(NOT_COMMITTED),
    }
}

fn bulk_line(result: LineResult<Problem>) -> BulkLine {
    match result.outcome {
        LineOutcome::Created { id, uri } => BulkLine {
            line: result.line,
            status: StatusCode::CREATED.as_u16(),
            id: Some(id),
            uri: Some(uri),
            problem: None,
        },
        LineOutcome::Failed(error) => {
            let problem = line_problem(error);
            BulkLine {
                line: result.line,
                status: problem.status,
                id: None,
                uri: None,
                problem: Some(problem),
            }
        }
    }
}

/// The answer's status and body: 200 when the request was processed (even with failed lines);
/// an atomic request that stored nothing is 409 when lines conflicted, 422 otherwise.
pub fn outcome(result: BulkResult<Problem>) -> (StatusCode, BulkOutcome) {
    let status = if result.conflicted {
        StatusCode::CONFLICT
    } else if result.refused() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let atomic = result.atomic;
    let results: Vec<BulkLine> = result.lines.into_iter().map(bulk_line).collect();
    let created = results
        .iter()
        .filter(|l| l.status == StatusCode::CREATED.as_u16())
        .count();
    let outcome = BulkOutcome {
        created,
        failed: results.len() - created,
        atomic,
        results,
    };
    (status, outcome)
}

/// Registers `lines` as the bulk route does (the `reetrace import` command goes this way too):
/// the fresh outcome with its status, or the replay of a stored one.
pub async fn register_bulk(
    service: &PassportService,
    caller: &Principal,
    lines: Vec<Result<Registration, Problem>>,
    atomic: bool,
    idem: &Idempotency,
) -> Result<Answer<(StatusCode, BulkOutcome)>, Problem> {
    let kept = idem.clone();
    let keep = Box::new(move |result: &BulkResult<Problem>| {
        let (status, body) = outcome(result.clone());
        kept.response(
            status.as_u16(),
            serde_json::to_string(&body).unwrap_or_default(),
        )
    });
    Ok(
        match service
            .issue_bulk(caller, lines, atomic, idem, keep)
            .await?
        {
            Answer::Fresh(result) => Answer::Fresh(outcome(result)),
            Answer::Replay(stored) => Answer::Replay(stored),
        },
    )
}

/// Options of a bulk registration.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct BulkQuery {
    /// All or nothing: if any line fails, nothing is stored.
    #[serde(default)]
    atomic: bool,
}

/// Registers many products at once (a JSON array or NDJSON).
///
/// Manufacturer only. Up to 100,000 registrations per call, as a JSON array
/// (`application/json`) or one per line (`application/x-ndjson`). Each line succeeds or fails on
/// its own (`results` gives one entry per line: 201 with the id, or the problem), unless
/// `atomic=true`, which stores all or nothing. Answers NDJSON (one result per line) when the
/// request was NDJSON or `Accept: application/x-ndjson`. An NDJSON body is read as it
/// arrives. The server runs a bounded number of bulk requests at once (`bulk_in_flight`); one
/// over the bound is answered 503 with `Retry-After` (its body is discarded, or never sent by a client that asked `Expect: 100-continue`).
#[utoipa::path(
    post, path = "/api/v1/passports/bulk", tag = "passports", operation_id = "bulkCreatePassports",
    params(BulkQuery, ("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = "^[!-~]{1,255}$", description = "Makes a retried request answer the first answer (1 to 255 visible ASCII characters)")),
    request_body(content(
        (BulkRegistrations = "application/json", example = json!([
            {"granularity": "item",
             "product": {"gtin": "04012345000016", "serial": "EVM-2026-000002", "name": "Traction motor PMSM 150 kW",
               "category": "ev_traction_motor", "net_mass_g": 48000,
               "placed_on_market": {"date": "2026-04-15", "country": "FR"}},
             "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
               "elements": [{"element": "Nd", "mass_g": 337.5}, {"element": "Pr", "mass_g": 105}]}]}},
            {"granularity": "item",
             "product": {"gtin": "04012345000016", "serial": "EVM-2026-000003", "name": "Traction motor PMSM 150 kW",
               "category": "ev_traction_motor", "net_mass_g": 48000,
               "placed_on_market": {"date": "2026-04-15", "country": "FR"}},
             "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
               "elements": [{"element": "Nd", "mass_g": 337.5}, {"element": "Pr", "mass_g": 105}]}]}}
        ])),
        (String = "application/x-ndjson"),
    )),
    responses(
        (status = 200, description = "Every line was processed; see each result", body = BulkOutcome),
        (status = 409, description = "Atomic request refused, nothing stored: a line conflicts with an existing passport (`results` gives each line)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Atomic request refused, nothing stored: some lines are invalid (`results` gives each line)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, IDEMPOTENT, &[
        INVALID_QUERY, BAD_REQUEST, UNSUPPORTED_MEDIA_TYPE, BODY_TOO_LARGE, MALFORMED_JSON, EMPTY_BULK,
        TOO_MANY_LINES, FORBIDDEN, CONCURRENT_REQUEST, BULK_REFUSED,
    ]])))),
)]
pub(super) async fn bulk_create(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<BulkQuery>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ndjson = matches!(
        content_type.as_str(),
        "application/x-ndjson" | "application/jsonl" | "application/ndjson"
    );
    let path = format!("/api/v1/passports/bulk?atomic={}", query.atomic);
    let limit = state.bulk_body_limit;
    let (lines, idem) = if ndjson {
        let mut fingerprint = Fingerprinting::start(method.as_str(), &path);
        let lines = read_ndjson(body, limit, &mut fingerprint).await?;
        (lines, of_fingerprint(&headers, fingerprint.finish())?)
    } else if content_type == "application/json" {
        let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
            Problem::new(BODY_TOO_LARGE).with_detail(format!(
                "The request body exceeds the size limit of this route ({limit} bytes)."
            ))
        })?;
        (
            parse_array(&body).await?,
            idempotency(&method, &path, &headers, &body)?,
        )
    } else {
        return Err(unsupported_media_type(
            &content_type,
            "application/json or application/x-ndjson",
        ));
    };
    let wants_ndjson = ndjson
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/x-ndjson"));
    match register_bulk(&state.service, &caller, lines, query.atomic, &idem).await? {
        Answer::Replay(stored) => replay(stored, &idem.fingerprint),
        Answer::Fresh((status, outcome)) if status.is_client_error() => {
            Err(refused(status, outcome))
        }
        Answer::Fresh((status, outcome)) if wants_ndjson => Ok((
            status,
            [(header::CONTENT_TYPE, "application/x-ndjson")],
            outcome.to_ndjson(),
        )
            .into_response()),
        Answer::Fresh((status, outcome)) => Ok((status, Json(outcome)).into_response()),
    }
}

/// The JSON form of a bulk request, for the document only (the body is parsed line by line).
pub(super) struct BulkRegistrations;

impl utoipa::PartialSchema for BulkRegistrations {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(utoipa::openapi::Ref::from_schema_name("Registration"))
            .min_items(Some(1))
            .max_items(Some(MAX_BULK_LINES))
            .description(Some("1 to 100,000 registrations."))
            .into()
    }
}

impl ToSchema for BulkRegistrations {}

/// An atomic request that stored nothing, as a problem listing every line's outcome.
fn refused(status: StatusCode, outcome: BulkOutcome) -> Problem {
    Problem::new(BULK_REFUSED)
        .with_status(status)
        .with_detail(format!(
            "{} of {} lines failed, so nothing was stored; `results` gives each line.",
            outcome.failed,
            outcome.results.len()
        ))
        .with("created", 0)
        .with("failed", outcome.failed)
        .with("results", outcome.results)
}

fn too_many() -> Problem {
    Problem::new(TOO_MANY_LINES).with_detail(format!(
        "A bulk request carries at most {MAX_BULK_LINES} registrations."
    ))
}

/// Reads NDJSON as it arrives: one registration per non-blank line, parsed off the async
/// runtime, each line's problem kept on its own; the body is never held whole.
async fn read_ndjson(
    body: Body,
    limit: usize,
    fingerprint: &mut Fingerprinting,
) -> Result<Vec<Result<Registration, Problem>>, Problem> {
    let mut parser = Parser::start();
    ndjson_lines(body, limit, fingerprint, |line| {
        if parser.lines() == MAX_BULK_LINES {
            return Err(too_many());
        }
        parser.push(line);
        Ok(())
    })
    .await?;
    if parser.lines() == 0 {
        return Err(Problem::bad_request(
            EMPTY_BULK,
            "The request holds no registrations.",
        ));
    }
    parser.finish().await
}

/// Parses a JSON array of registrations, each element's problem kept on its own.
async fn parse_array(body: &[u8]) -> Result<Vec<Result<Registration, Problem>>, Problem> {
    let items: Vec<&serde_json::value::RawValue> = serde_json::from_slice(body).map_err(|e| {
        Problem::bad_request(
            reetrace_core::api::codes::MALFORMED_JSON,
            format!("The body must be a JSON array of registrations: {e}"),
        )
    })?;
    if items.len() > MAX_BULK_LINES {
        return Err(too_many());
    }
    if items.is_empty() {
        return Err(Problem::bad_request(
            EMPTY_BULK,
            "The request holds no registrations.",
        ));
    }
    let mut parser = Parser::start();
    for raw in items {
        parser.push(raw.get().as_bytes());
    }
    parser.finish().await
}
