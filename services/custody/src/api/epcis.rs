//! EPCIS 2.0: capture documents, query events, read one event.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use reetrace_core::api::auth::Auth;
use reetrace_core::api::codes::{
    AUTHENTICATED, BAD_REQUEST, BODY_TOO_LARGE, FORBIDDEN, INVALID_TEXT, MALFORMED_JSON, NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE, VALIDATION_FAILED, listed,
};
use reetrace_core::api::extract::{parse_json, require_json_content_type};
use reetrace_core::api::problem::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::CustodyState;
use super::error::{
    CAPTURE_LIMIT, CAPTURE_REFUSED, INVALID_HEADER, INVALID_QUERY_PARAMETER, event_error,
};
use crate::domain::capture::{CaptureOutcome, ErrorBehaviour, EventOutcome, EventStatus};
use crate::epcis::{EventQuery, QueryError};
use crate::service::CAPTURERS;

/// The request header choosing what a failing event does to its document, as the EPCIS 2.0
/// REST binding spells it.
pub const ERROR_BEHAVIOUR_HEADER: &str = "GS1-Capture-Error-Behaviour";

/// The spelling this service accepted first; still honoured so that existing clients keep
/// working.
pub const LEGACY_ERROR_BEHAVIOUR_HEADER: &str = "GS1-EPCIS-Capture-Error-Behaviour";

/// Reads the error behaviour header (absent: [`ErrorBehaviour::Rollback`]).
pub fn error_behaviour(value: Option<&str>) -> Result<ErrorBehaviour, Problem> {
    parse_behaviour(ERROR_BEHAVIOUR_HEADER, value)
}

fn parse_behaviour(header: &str, value: Option<&str>) -> Result<ErrorBehaviour, Problem> {
    match value.map(str::trim) {
        None => Ok(ErrorBehaviour::Rollback),
        Some(v) if v.eq_ignore_ascii_case("rollback") => Ok(ErrorBehaviour::Rollback),
        Some(v) if v.eq_ignore_ascii_case("proceed") => Ok(ErrorBehaviour::Proceed),
        Some(v) => Err(Problem::bad_request(
            INVALID_HEADER,
            format!("{header} is rollback or proceed, got {v:?}."),
        )
        .with_errors(vec![FieldError::new(
            header,
            "expected rollback or proceed",
        )])),
    }
}

/// The error behaviour of a capture request, from either spelling of the header. Both may be
/// sent when they agree; disagreeing values are refused rather than one silently winning.
pub fn error_behaviour_of(headers: &HeaderMap) -> Result<ErrorBehaviour, Problem> {
    let read = |name: &str| -> Result<Option<ErrorBehaviour>, Problem> {
        let mut values = headers.get_all(name).iter();
        let Some(first) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(Problem::bad_request(
                INVALID_HEADER,
                format!("{name} is given more than once."),
            )
            .with_errors(vec![FieldError::new(name, "given more than once")]));
        }
        parse_behaviour(name, Some(first.to_str().unwrap_or("(not text)"))).map(Some)
    };
    match (
        read(ERROR_BEHAVIOUR_HEADER)?,
        read(LEGACY_ERROR_BEHAVIOUR_HEADER)?,
    ) {
        (Some(a), Some(b)) if a != b => Err(Problem::bad_request(
            INVALID_HEADER,
            format!(
                "{ERROR_BEHAVIOUR_HEADER} and {LEGACY_ERROR_BEHAVIOUR_HEADER} disagree; send one."
            ),
        )
        .with_errors(vec![FieldError::new(
            ERROR_BEHAVIOUR_HEADER,
            format!("disagrees with {LEGACY_ERROR_BEHAVIOUR_HEADER}"),
        )])),
        (a, b) => Ok(a.or(b).unwrap_or(ErrorBehaviour::Rollback)),
    }
}

/// A refused query parameter (EPCIS `QueryParameterException`) as problem+json naming it.
pub fn query_problem(error: &QueryError) -> Problem {
    let param = match error {
        QueryError::Unknown(name)
        | QueryError::Unsupported(name)
        | QueryError::Malformed { param: name, .. } => name.clone(),
        QueryError::Repeated(name) => (*name).to_owned(),
        QueryError::Invalid { param, .. } => (*param).to_owned(),
    };
    Problem::bad_request(INVALID_QUERY_PARAMETER, error.to_string())
        .with_errors(vec![FieldError::new(param, error.to_string())])
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventError {
    /// The event's position in `epcisBody.eventList`.
    pub index: usize,
    /// JSON pointer into the captured document.
    pub pointer: String,
    pub detail: String,
    /// A stable machine code (`schema`, `step_not_allowed`, `event_id_reused`, ...).
    pub code: String,
    /// The HTTP status this error alone would have.
    pub status: u16,
}

/// The outcome of one event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventResult {
    /// The event's position in `epcisBody.eventList`.
    pub index: usize,
    /// Its `eventID` (its event hash when it had none).
    #[serde(rename = "eventID", default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Its EPCIS event hash (`ni:///sha-256;...?ver=CBV2.0`).
    #[serde(rename = "eventHash", default, skip_serializing_if = "Option::is_none")]
    pub event_hash: Option<String>,
    /// Its leaf in the transparency log (the original's for a duplicate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_index: Option<i64>,
    pub status: EventStatus,
    /// The custody step it applied (`collect`, `handover`, ...), `error_declaration`, or the
    /// event type when it was stored as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The products and lots (passport and lot ids) whose chains it joined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<Uuid>,
    /// An error declaration's own id (`<eventID>#error-declaration-1`), to read it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declaration_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<EventError>,
}

/// The answer to a capture.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaptureReport {
    /// Events stored now.
    pub captured: usize,
    /// Events stored before (same `eventID`, same hash).
    pub duplicates: usize,
    /// Events not stored (only with `GS1-Capture-Error-Behaviour: proceed`).
    pub refused: usize,
    /// One result per event, in document order.
    pub events: Vec<EventResult>,
}

impl From<CaptureOutcome> for CaptureReport {
    fn from(outcome: CaptureOutcome) -> Self {
        CaptureReport {
            captured: outcome.captured,
            duplicates: outcome.duplicates,
            refused: outcome.refused,
            events: outcome.events.into_iter().map(EventResult::from).collect(),
        }
    }
}

impl From<EventOutcome> for EventResult {
    fn from(outcome: EventOutcome) -> Self {
        EventResult {
            index: outcome.index,
            event_id: outcome.event_id,
            event_hash: outcome.event_hash,
            leaf_index: outcome.leaf_index,
            status: outcome.status,
            action: outcome.action,
            subjects: outcome.subjects,
            declaration_id: outcome.declaration_id,
            errors: outcome.errors.iter().map(event_error).collect(),
        }
    }
}

/// The capture route takes `bulk_body_limit` bytes (a document of thousands of events) and is
/// admitted by the server-wide bulk `gate`.
pub fn router(
    bulk_body_limit: usize,
    gate: reetrace_core::api::bulk_gate::BulkGate,
) -> OpenApiRouter<CustodyState> {
    let (schemas, paths, capture_route) = routes!(capture);
    OpenApiRouter::new()
        .routes((
            schemas,
            paths,
            capture_route
                .layer(DefaultBodyLimit::max(bulk_body_limit))
                .layer(axum::middleware::from_fn_with_state(
                    gate,
                    reetrace_core::api::bulk_gate::admit,
                )),
        ))
        .routes(routes!(query_events))
        .routes(routes!(get_event))
}

/// An EPCIS 2.0 `EPCISDocument` (JSON-LD), as the GS1 EPCIS JSON Schema defines it.
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct EpcisDocument(pub(super) Value);

/// An EPCIS 2.0 `EPCISQueryDocument`: the events of one page in `epcisBody.queryResults`.
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct EpcisQueryDocument(pub(super) Value);

/// One stored EPCIS 2.0 event (JSON-LD, with its `@context` and `recordTime`).
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct EpcisEvent(Value);

/// A document collecting one motor, for the API description.
pub(super) fn capture_example() -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                     {"ree": "https://w3id.org/reetrace/vocab#"}],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-09-02T08:00:00Z",
        "epcisBody": {"eventList": [{
            "type": "ObjectEvent", "eventTime": "2026-09-02T09:30:00.000+02:00",
            "eventTimeZoneOffset": "+02:00",
            "epcList": ["https://id.gs1.org/01/04012345000016/21/EVM-2026-000001"],
            "action": "OBSERVE", "bizStep": "collecting", "disposition": "in_progress",
            "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.0"}}]}
    })
}

/// The versions the REST binding of EPCIS 2.0 announces on every answer.
pub(super) fn gs1_headers() -> [(HeaderName, HeaderValue); 2] {
    [
        (
            HeaderName::from_static("gs1-epcis-version"),
            HeaderValue::from_static("2.0.0"),
        ),
        (
            HeaderName::from_static("gs1-cbv-version"),
            HeaderValue::from_static("2.0.0"),
        ),
    ]
}

/// Captures an EPCIS 2.0 document.
///
/// Recyclers only. Up to 10,000 events per `EPCISDocument` (`application/json` or
/// `application/ld+json`), each checked against the GS1 EPCIS 2.0 JSON Schema and given its
/// event hash. An `ObjectEvent` whose `bizStep` is one of our custody steps (`collecting`,
/// `receiving`, `ree:sorting`, `departing` with the next holder in `ree:toHolder` or a
/// `possessing_party` destination, `accepting`, `destroying`, `ree:exporting`) naming products
/// (SGTIN, as Digital Link or EPC URN, or `/p/{id}`) or lots we follow is applied as
/// `POST /api/v1/custody/{id}/events` would: state machine, holder rule, hash chains.
/// Dismantling and recycling transformations are refused (use
/// `POST /api/v1/custody/transformations`, which takes the assays). Every other event is
/// stored as it is. Capture is idempotent: an `eventID` stored with the same hash answers
/// `duplicate` with the original leaf; with another hash it is refused (409). Corrections are
/// error declarations (the same event with `errorDeclaration`), stored as new leaves.
///
/// By default the document is captured whole or not at all: a failing event refuses it (422,
/// or 409 when every error is a conflict) with `event_errors` (`index`, `pointer`, `detail`).
/// With `GS1-Capture-Error-Behaviour: proceed` (the EPCIS 2.0 spelling; the older
/// `GS1-EPCIS-Capture-Error-Behaviour` is accepted too) the valid events are stored and the answer
/// lists each event's outcome. 201 when something new was stored, 200 when every event was a
/// duplicate. Capture counts against the server's bound on bulk requests in flight
/// (`bulk_in_flight`): over it, 503 with `Retry-After`, the body discarded.
#[utoipa::path(
    post, path = "/api/v1/epcis/capture", tag = "epcis", operation_id = "captureEpcis",
    summary = "Capture an EPCIS 2.0 document",
    params(
        ("GS1-Capture-Error-Behaviour" = Option<String>, Header, nullable = false,
            pattern = "^(rollback|proceed)$",
            description = "`rollback` (default: all or nothing) or `proceed` (store the valid events)"),
        ("GS1-EPCIS-Capture-Error-Behaviour" = Option<String>, Header, nullable = false,
            pattern = "^(rollback|proceed)$",
            description = "The same, as this service spelled it first; if both are sent they must agree"),
    ),
    request_body(content(
        (EpcisDocument = "application/ld+json", example = capture_example),
        (EpcisDocument = "application/json", example = capture_example),
    )),
    responses(
        (status = 201, description = "Captured; one result per event", body = CaptureReport),
        (status = 200, description = "Every event was stored before (same eventID, same hash)", body = CaptureReport),
        (status = 400, description = "Not JSON, or a bad header", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a recycler", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused, nothing stored: every failing event conflicts (a step not allowed now, an event that is no step naming a product or lot the caller does not hold, an eventID reused with other content); `event_errors` lists them", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "More than 10,000 events, or a body over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JSON body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an EPCISDocument, or refused with nothing stored: `event_errors` lists each failing event with the JSON pointer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[
        BAD_REQUEST, BODY_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, INVALID_HEADER, FORBIDDEN, MALFORMED_JSON,
        VALIDATION_FAILED, CAPTURE_LIMIT, CAPTURE_REFUSED,
    ]])))),
)]
async fn capture(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    require_json_content_type(&headers)?;
    let behaviour = error_behaviour_of(&headers)?;
    // Who may capture is known before the body is read.
    caller.require(CAPTURERS)?;
    let document: Value = parse_json(&body)?;
    let report = CaptureReport::from(state.service.capture(&caller, document, behaviour).await?);
    let status = if report.captured > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, gs1_headers(), Json(report)).into_response())
}

/// Queries EPCIS events (an EPCIS 2.0 simple event query).
///
/// Any caller with a key, for the events it is involved in (it recorded them, or they are in
/// the chain of a product it made, or of a product or lot it holds or held); regulators and
/// admins read every event. Parameters as the EPCIS REST binding puts them in the URL; a list
/// parameter may repeat or separate values with `|`: `EQ_bizStep` (`receiving`, `ree:sorting`
/// or full CBV URIs), `MATCH_anyEPC` (EPC URNs, Digital Links or `urn:epc:idpat:` patterns),
/// `MATCH_epcClass`, `GE_eventTime`, `LT_eventTime`, `EQ_bizLocation`, `EQ_action` (`ADD`,
/// `OBSERVE`, `DELETE`), `perPage` (1 to 1000, default 30) and `nextPageToken`. The answer is
/// an `EPCISQueryDocument` in log order; when there may be more, the `Link` header gives the
/// next page (`rel="next"`, its `nextPageToken` an opaque cursor).
#[utoipa::path(
    get, path = "/api/v1/epcis/events", tag = "epcis", operation_id = "queryEpcisEvents",
    summary = "Query EPCIS events",
    params(
        ("EQ_bizStep" = Option<String>, Query, min_length = 1, description = "Business steps, `|`-separated"),
        ("MATCH_anyEPC" = Option<String>, Query, min_length = 1, description = "EPCs or EPC patterns, `|`-separated"),
        ("MATCH_epcClass" = Option<String>, Query, min_length = 1, description = "EPC classes (LGTIN...), `|`-separated"),
        ("GE_eventTime" = Option<String>, Query, format = DateTime, description = "Events at or after (RFC 3339)"),
        ("LT_eventTime" = Option<String>, Query, format = DateTime, description = "Events before (RFC 3339)"),
        ("EQ_bizLocation" = Option<String>, Query, min_length = 1, description = "Business locations, `|`-separated"),
        ("EQ_action" = Option<String>, Query, pattern = "^(ADD|OBSERVE|DELETE)(\\|(ADD|OBSERVE|DELETE))*$", description = "ADD, OBSERVE or DELETE, `|`-separated"),
        ("perPage" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Events per page, 1 to 1000 (default 30)"),
        ("nextPageToken" = Option<String>, Query, min_length = 1, description = "The cursor of the page to read, from a previous answer"),
    ),
    responses(
        (status = 200, description = "One page of matching events", body = EpcisQueryDocument,
         headers(("Link" = String, description = "`<url>; rel=\"next\"` when there may be more"))),
        (status = 400, description = "A parameter is unknown, repeated or invalid (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY_PARAMETER]])))),
)]
async fn query_events(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let raw = raw.unwrap_or_default();
    refuse_control_characters(&raw)?;
    let query = EventQuery::from_query_string(&raw).map_err(|e| query_problem(&e))?;
    answer_query(&state, &caller, &raw, "/api/v1/epcis/events", &query).await
}

/// Control characters (NUL included) are refused before any backend sees them, so both
/// backends answer alike.
pub(super) fn refuse_control_characters(raw: &str) -> Result<(), Problem> {
    match reetrace_core::api::extract::control_character_in(raw) {
        Some(param) => Err(Problem::bad_request(
            INVALID_QUERY_PARAMETER,
            format!("Query parameter {param} holds a control character (such as NUL)."),
        )
        .with_errors(vec![FieldError::new(
            param,
            "must not contain control characters",
        )])),
        None => Ok(()),
    }
}

/// One page of `query` as an `EPCISQueryDocument`, with `Link: <path?...>; rel="next"` (the
/// query string `raw` with the next cursor) when there may be more.
pub(super) async fn answer_query(
    state: &CustodyState,
    caller: &reetrace_core::domain::Principal,
    raw: &str,
    path: &str,
    query: &EventQuery,
) -> Result<Response, Problem> {
    let page = state.service.query_events(caller, query).await?;
    let mut response = (gs1_headers(), Json(EpcisQueryDocument(page.document))).into_response();
    if let Some(token) = page.next_page_token {
        let mut next = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
            if name != "nextPageToken" {
                next.append_pair(&name, &value);
            }
        }
        next.append_pair("nextPageToken", &token);
        let link = format!(
            "<{}{path}?{}>; rel=\"next\"",
            state.service.base_url(),
            next.finish()
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// Reads one stored EPCIS event by its `eventID` (URL-encoded).
///
/// Any caller with a key involved in the event (as for queries; 404 to anyone else), regulators
/// and admins. The event as captured, with its `@context` and `recordTime`. An event
/// declared erroneous stays as it was; its error declaration is another event, linked with
/// `Link: <...>; rel="related"` (read it by the id given there, `<eventID>#error-declaration-1`).
#[utoipa::path(
    get, path = "/api/v1/epcis/events/{eventID}", tag = "epcis", operation_id = "getEpcisEvent",
    summary = "Read one EPCIS event",
    params(("eventID" = String, Path, min_length = 1, max_length = 2048,
        example = "ni:///sha-256;0b1f0c5d9a8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a?ver=CBV2.0",
        description = "The event's eventID, URL-encoded (e.g. `ni%3A%2F%2F%2Fsha-256%3B...`)")),
    responses(
        (status = 200, description = "The event", body = EpcisEvent),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[BAD_REQUEST, NOT_FOUND, INVALID_TEXT]])))),
)]
async fn get_event(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(event_id): Path<String>,
) -> Result<Response, Problem> {
    let (event, declaration) = state.service.epcis_event(&caller, &event_id).await?;
    let mut response = (gs1_headers(), Json(EpcisEvent(event))).into_response();
    if let Some(declaration) = declaration {
        let encoded: String = form_urlencoded::byte_serialize(declaration.as_bytes()).collect();
        let link = format!(
            "<{}/api/v1/epcis/events/{encoded}>; rel=\"related\"",
            state.service.base_url()
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_is_a_valid_document() {
        crate::epcis::validate_document(&capture_example()).unwrap();
    }

    fn object_event(biz_step: &str, epc: &str) -> Value {
        json!({
            "type": "ObjectEvent",
            "eventTime": "2026-09-02T09:30:00.000+02:00",
            "eventTimeZoneOffset": "+02:00",
            "epcList": [epc],
            "action": "OBSERVE",
            "bizStep": biz_step,
            "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.0"},
            "recordTime": "2026-09-02T10:00:00Z"
        })
    }

    /// What capture answers for a body that cannot be captured as a whole, before any event is
    /// looked at: the body read as JSON, then the document checked.
    fn refused_whole(body: &[u8]) -> Problem {
        let document: Value = match parse_json(body) {
            Ok(document) => document,
            Err(problem) => return problem,
        };
        let prepared = crate::domain::capture::prepare(
            document,
            &["https://reetrace.example".to_owned()],
            chrono::Utc::now(),
        );
        Problem::from(prepared.unwrap_err())
    }

    #[test]
    fn malformed_documents_are_refused_whole() {
        let not_json = refused_whole(b"{\"type\": ");
        assert_eq!(not_json.status, 400);
        assert_eq!(not_json.code, "malformed_json");
        let event_alone =
            refused_whole(&serde_json::to_vec(&object_event("collecting", "x:y")).unwrap());
        assert_eq!(event_alone.status, 422);
        assert_eq!(event_alone.errors[0].pointer, "/type");
        let document = |events: Vec<Value>| {
            json!({
                "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                             {"ree": "https://w3id.org/reetrace/vocab#"}],
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": "2026-09-02T08:00:00Z",
                "epcisBody": {"eventList": events}
            })
        };
        let mut no_date = document(vec![object_event("collecting", "x:y")]);
        no_date.as_object_mut().unwrap().remove("creationDate");
        let missing = refused_whole(&serde_json::to_vec(&no_date).unwrap());
        assert_eq!(missing.status, 422);
        assert!(
            missing
                .errors
                .iter()
                .any(|e| e.detail.contains("creationDate")),
            "{missing:?}"
        );
        let empty = refused_whole(&serde_json::to_vec(&document(Vec::new())).unwrap());
        assert_eq!(empty.errors[0].pointer, "/epcisBody/eventList");
    }

    #[test]
    fn the_error_behaviour_header() {
        assert_eq!(error_behaviour(None).unwrap(), ErrorBehaviour::Rollback);
        assert_eq!(
            error_behaviour(Some("proceed")).unwrap(),
            ErrorBehaviour::Proceed
        );
        assert_eq!(
            error_behaviour(Some("ROLLBACK")).unwrap(),
            ErrorBehaviour::Rollback
        );
        let bad = error_behaviour(Some("maybe")).unwrap_err();
        assert_eq!(bad.status, 400);
        assert_eq!(bad.errors[0].pointer, ERROR_BEHAVIOUR_HEADER);
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn both_spellings_of_the_error_behaviour_header() {
        let of = |pairs| error_behaviour_of(&headers(pairs));
        assert_eq!(of(&[]).unwrap(), ErrorBehaviour::Rollback);
        assert_eq!(
            of(&[("gs1-capture-error-behaviour", "proceed")]).unwrap(),
            ErrorBehaviour::Proceed
        );
        assert_eq!(
            of(&[("gs1-epcis-capture-error-behaviour", "proceed")]).unwrap(),
            ErrorBehaviour::Proceed
        );
        assert_eq!(
            of(&[
                ("gs1-capture-error-behaviour", "proceed"),
                ("gs1-epcis-capture-error-behaviour", "PROCEED")
            ])
            .unwrap(),
            ErrorBehaviour::Proceed
        );
        let disagree = of(&[
            ("gs1-capture-error-behaviour", "rollback"),
            ("gs1-epcis-capture-error-behaviour", "proceed"),
        ])
        .unwrap_err();
        assert_eq!(disagree.status, 400);
        let twice = of(&[
            ("gs1-capture-error-behaviour", "proceed"),
            ("gs1-capture-error-behaviour", "proceed"),
        ])
        .unwrap_err();
        assert_eq!(twice.errors[0].pointer, ERROR_BEHAVIOUR_HEADER);
        let legacy_bad = of(&[("gs1-epcis-capture-error-behaviour", "maybe")]).unwrap_err();
        assert_eq!(legacy_bad.errors[0].pointer, LEGACY_ERROR_BEHAVIOUR_HEADER);
    }
}
