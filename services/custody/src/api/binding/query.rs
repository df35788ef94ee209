//! Queries as the EPCIS 2.0 REST binding has them: `GET /events` with the simple event query's
//! parameters, `GET /eventTypes`, and the events of one resource: `/eventTypes/{eventType}`,
//! `/epcs/{epc}`, `/bizSteps/{bizStep}`, `/dispositions/{disposition}`,
//! `/readPoints/{readPoint}` and `/bizLocations/{bizLocation}`, each `/events`. Visibility is that of `GET /api/v1/epcis/events`: a key reads the
//! events it is involved in, regulators and admins every event.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use reetrace_core::api::auth::Auth;
use reetrace_core::api::codes::{AUTHENTICATED, NOT_FOUND, listed};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::Principal;
use serde_json::json;

use super::super::CustodyState;
use super::super::epcis::{
    EpcisQueryDocument, answer_query, gs1_headers, query_problem, refuse_control_characters,
};
use super::super::error::{INVALID_QUERY_PARAMETER, QUERY_TOO_LARGE};
use super::BASE;
use crate::epcis::EventQuery;
use crate::epcis::query_binding::EVENT_TYPES;

/// The binding's problem type for a refused query parameter.
const QUERY_PARAMETER_EXCEPTION: &str = "epcisException:QueryParameterException";
/// The binding's problem type for a result over `maxEventCount` (413, as the binding's
/// OpenAPI document answers `QueryTooLargeException`).
const QUERY_TOO_LARGE_EXCEPTION: &str = "epcisException:QueryTooLargeException";

/// The longest value a path segment of the binding takes (characters).
const MAX_PATH_VALUE: usize = 2048;

/// Parses the binding's query string, `extra` (from the path) first; a refusal is the
/// binding's `QueryParameterException` naming the parameter.
fn parse(raw: &str, extra: Option<(&str, &str)>) -> Result<(String, EventQuery), Problem> {
    refuse_control_characters(raw).map_err(as_exception)?;
    let mut full = form_urlencoded::Serializer::new(String::new());
    if let Some((name, value)) = extra {
        full.append_pair(name, value);
    }
    let full = full.finish();
    let full = match (full.is_empty(), raw.is_empty()) {
        (true, _) => raw.to_owned(),
        (false, true) => full,
        (false, false) => format!("{full}&{raw}"),
    };
    let query = EventQuery::from_binding_query_string(&full)
        .map_err(|e| as_exception(query_problem(&e)))?;
    Ok((raw.to_owned(), query))
}

pub(super) fn as_exception(mut problem: Problem) -> Problem {
    problem.type_uri = QUERY_PARAMETER_EXCEPTION.to_owned();
    problem
}

async fn answer(
    state: &CustodyState,
    caller: &Principal,
    raw: &str,
    path: &str,
    query: &EventQuery,
) -> Result<Response, Problem> {
    // A cursor this server did not give is a refused parameter too.
    answer_query(state, caller, raw, path, query)
        .await
        .map_err(|problem| {
            if problem.code == INVALID_QUERY_PARAMETER.code {
                as_exception(problem)
            } else if problem.code == QUERY_TOO_LARGE.code {
                let mut problem = problem;
                problem.type_uri = QUERY_TOO_LARGE_EXCEPTION.to_owned();
                problem
            } else {
                problem
            }
        })
}

/// Queries events (EPCIS 2.0 REST binding, simple event query).
///
/// Any key, for the events it is involved in (regulators and admins: every event). List
/// parameters may repeat or separate values with `|`; different parameters must all hold.
/// Supported: `eventType`, `GE_eventTime`, `LT_eventTime`, `GE_recordTime`, `LT_recordTime`,
/// `EQ_action`, `EQ_bizStep`, `EQ_disposition`, `EQ_persistentDisposition_set`,
/// `EQ_persistentDisposition_unset`, `EQ_readPoint`, `EQ_bizLocation`, `EQ_transformationID`,
/// `MATCH_epc`, `MATCH_parentID`, `MATCH_inputEPC`, `MATCH_outputEPC`, `MATCH_anyEPC`,
/// `MATCH_epcClass`, `MATCH_inputEPCClass`, `MATCH_outputEPCClass`, `MATCH_anyEPCClass`,
/// `EQ_quantity`, `GT_quantity`, `GE_quantity`, `LT_quantity`, `LE_quantity` (a quantity
/// element's quantity), `EQ_eventID`, `EXISTS_errorDeclaration`, `GE_errorDeclarationTime`,
/// `LT_errorDeclarationTime` (also `..._errorDeclaration_Time`, the query schema's spelling),
/// `EQ_errorReason`, `EQ_correctiveEventID`,
/// `EQ_bizTransaction_{type}`, `EQ_source_{type}`, `EQ_destination_{type}`, the quantity
/// in a unit (`GE_quantity_KGM`, converted within a kind of unit); the sensor parameters, all
/// holding on one sensor report: `EXISTS_sensorElementList`, `EQ_type`, `EQ_deviceID`,
/// `EQ_dataProcessingMethod`, `EQ_bizRules`, `EQ_microorganism`, `EQ_chemicalSubstance`,
/// `EQ_stringValue`, `EQ_booleanValue`, `EQ_hexBinaryValue`, `EQ_uriValue`, `GE_time`,
/// `LT_time`, `GE_startTime`, `LT_startTime`, `GE_endTime`, `LT_endTime`, `EQ_value_{uom}`,
/// `GT_`/`GE_`/`LT_`/`LE_` of `value_{uom}`, `minValue_{uom}`, `maxValue_{uom}`,
/// `meanValue_{uom}`, `sDev_{uom}`, `percValue_{uom}` (UN/CEFACT Rec 20 units, converted within
/// a kind: `GE_value_KEL` finds a temperature in `CEL`) and `percRank`; the extension fields
/// (`{field}` a CURIE resolved with each event's `@context`, or an IRI): `EQ_{field}` (values),
/// `GT_`/`GE_`/`LT_`/`LE_{field}` (a number or a time), `EXISTS_{field}`, each also as
/// `..._ILMD_{field}`, `..._ERROR_DECLARATION_{field}`, `..._SENSORELEMENT_{field}`,
/// `..._SENSORMETADATA_{field}`, `..._SENSORREPORT_{field}`, with `INNER_` for a field nested
/// in a top-level extension field (`EQ_INNER_ILMD_{field}`), and `EQ_readPoint_{field}`,
/// `EQ_bizLocation_{field}` (and their `EQ_INNER_`); `orderBy` (`eventTime`, `recordTime` or
/// a top-level extension field: events without it come last, equal values in log order),
/// `orderDirection` (`ASC` or `DESC`, default `DESC`; only with `orderBy`), `eventCountLimit`
/// (the first N events in that order, over all pages; only with `orderBy`), `maxEventCount`
/// (more matches than that: 413 `epcisException:QueryTooLargeException`; not with
/// `eventCountLimit`), `perPage` (1 to 1000, default 30) and `nextPageToken`. Parameters of
/// the standard that need master data (`WD_*`, `HASATTR_*`, `EQATTR_*`) are refused with 400
/// `epcisException:QueryParameterException` naming the parameter, as is any unknown one or a
/// malformed value. Without `orderBy` events come in log order;
/// `Link: <...>; rel="next"` gives the next page, its token valid for this query only.
#[utoipa::path(
    get, path = "/epcis/2.0/events", tag = "epcis-binding", operation_id = "bindingQueryEvents",
    summary = "Query events (EPCIS 2.0 REST binding)",
    params(
        ("eventType" = Option<String>, Query, pattern = "^(ObjectEvent|AggregationEvent|TransactionEvent|TransformationEvent|AssociationEvent)(\\|(ObjectEvent|AggregationEvent|TransactionEvent|TransformationEvent|AssociationEvent))*$", description = "Event types, `|`-separated"),
        ("GE_eventTime" = Option<String>, Query, format = DateTime, description = "Events at or after"),
        ("LT_eventTime" = Option<String>, Query, format = DateTime, description = "Events before"),
        ("GE_recordTime" = Option<String>, Query, format = DateTime, description = "Recorded at or after"),
        ("LT_recordTime" = Option<String>, Query, format = DateTime, description = "Recorded before"),
        ("EQ_action" = Option<String>, Query, pattern = "^(ADD|OBSERVE|DELETE)(\\|(ADD|OBSERVE|DELETE))*$", description = "Actions"),
        ("EQ_bizStep" = Option<String>, Query, min_length = 1, description = "Business steps"),
        ("EQ_disposition" = Option<String>, Query, min_length = 1, description = "Dispositions"),
        ("EQ_persistentDisposition_set" = Option<String>, Query, min_length = 1, description = "Persistent dispositions set"),
        ("EQ_persistentDisposition_unset" = Option<String>, Query, min_length = 1, description = "Persistent dispositions unset"),
        ("EQ_readPoint" = Option<String>, Query, min_length = 1, description = "Read points"),
        ("EQ_bizLocation" = Option<String>, Query, min_length = 1, description = "Business locations"),
        ("EQ_transformationID" = Option<String>, Query, min_length = 1, description = "Transformation ids"),
        ("MATCH_epc" = Option<String>, Query, min_length = 1, description = "EPCs (epcList, childEPCs) or patterns"),
        ("MATCH_parentID" = Option<String>, Query, min_length = 1, description = "Parent ids or patterns"),
        ("MATCH_inputEPC" = Option<String>, Query, min_length = 1, description = "Input EPCs or patterns"),
        ("MATCH_outputEPC" = Option<String>, Query, min_length = 1, description = "Output EPCs or patterns"),
        ("MATCH_anyEPC" = Option<String>, Query, min_length = 1, description = "EPCs anywhere, or patterns"),
        ("MATCH_epcClass" = Option<String>, Query, min_length = 1, description = "Classes of quantityList and childQuantityList"),
        ("MATCH_inputEPCClass" = Option<String>, Query, min_length = 1, description = "Input classes"),
        ("MATCH_outputEPCClass" = Option<String>, Query, min_length = 1, description = "Output classes"),
        ("MATCH_anyEPCClass" = Option<String>, Query, min_length = 1, description = "Classes in any quantity list"),
        ("EQ_quantity" = Option<f64>, Query, description = "A quantity element's quantity equals"),
        ("GT_quantity" = Option<f64>, Query, description = "... is greater than"),
        ("GE_quantity" = Option<f64>, Query, description = "... is at least"),
        ("LT_quantity" = Option<f64>, Query, description = "... is less than"),
        ("LE_quantity" = Option<f64>, Query, description = "... is at most"),
        ("EQ_eventID" = Option<String>, Query, min_length = 1, description = "Event ids"),
        ("EXISTS_errorDeclaration" = Option<String>, Query, pattern = "^(true)?$", description = "Only events declared erroneous (no value)"),
        ("GE_errorDeclarationTime" = Option<String>, Query, format = DateTime, description = "Declared erroneous at or after"),
        ("LT_errorDeclarationTime" = Option<String>, Query, format = DateTime, description = "Declared erroneous before"),
        ("EQ_errorReason" = Option<String>, Query, min_length = 1, description = "Error reasons"),
        ("EQ_correctiveEventID" = Option<String>, Query, min_length = 1, description = "Corrective event ids"),
        ("EXISTS_sensorElementList" = Option<String>, Query, pattern = "^(true)?$", description = "Only events with sensor data (no value)"),
        ("EQ_type" = Option<String>, Query, min_length = 1, description = "Measurement types of a sensor report (bare words are GS1 Web Vocabulary terms)"),
        ("EQ_deviceID" = Option<String>, Query, min_length = 1, description = "Devices of a sensor report or its metadata"),
        ("EQ_dataProcessingMethod" = Option<String>, Query, min_length = 1, description = "Data processing methods"),
        ("EQ_bizRules" = Option<String>, Query, min_length = 1, description = "Business rules"),
        ("EQ_microorganism" = Option<String>, Query, min_length = 1, description = "Microorganisms"),
        ("EQ_chemicalSubstance" = Option<String>, Query, min_length = 1, description = "Chemical substances"),
        ("EQ_stringValue" = Option<String>, Query, min_length = 1, description = "String values of a sensor report"),
        ("EQ_booleanValue" = Option<bool>, Query, description = "The boolean value of a sensor report"),
        ("EQ_hexBinaryValue" = Option<String>, Query, min_length = 1, description = "Hex binary values, octets in hexadecimal (any case)"),
        ("EQ_uriValue" = Option<String>, Query, min_length = 1, description = "URI values of a sensor report"),
        ("GE_time" = Option<String>, Query, format = DateTime, description = "A sensor report's (or its metadata's) time at or after"),
        ("LT_time" = Option<String>, Query, format = DateTime, description = "... before"),
        ("GE_startTime" = Option<String>, Query, format = DateTime, description = "Sensor metadata startTime at or after"),
        ("LT_startTime" = Option<String>, Query, format = DateTime, description = "... before"),
        ("GE_endTime" = Option<String>, Query, format = DateTime, description = "Sensor metadata endTime at or after"),
        ("LT_endTime" = Option<String>, Query, format = DateTime, description = "... before"),
        ("GT_percRank" = Option<f64>, Query, description = "A sensor report's percRank is greater than"),
        ("GE_percRank" = Option<f64>, Query, description = "... is at least"),
        ("LT_percRank" = Option<f64>, Query, description = "... is less than"),
        ("LE_percRank" = Option<f64>, Query, description = "... is at most"),
        ("orderBy" = Option<String>, Query, min_length = 1, description = "Order by eventTime, recordTime or a top-level extension field (a CURIE or an IRI; default: log order)"),
        ("orderDirection" = Option<String>, Query, pattern = "^(ASC|DESC)$", description = "ASC or DESC (default DESC); only with orderBy"),
        ("eventCountLimit" = Option<u32>, Query, minimum = 1, maximum = 2147483647, description = "At most this many events in all, the first in the order; only with orderBy"),
        ("maxEventCount" = Option<u32>, Query, minimum = 0, maximum = 2147483647, description = "More matching events than this is a QueryTooLargeException; not with eventCountLimit"),
        ("perPage" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Events per page (default 30)"),
        ("nextPageToken" = Option<String>, Query, min_length = 1, description = "The cursor from a previous page's Link"),
    ),
    responses(
        (status = 200, description = "One page of matching events", body = EpcisQueryDocument,
         headers(("Link" = String, description = "`<url>; rel=\"next\"` when there may be more"))),
        (status = 400, description = "QueryParameterException: a parameter is unknown, unsupported, repeated or invalid (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "QueryTooLargeException: more events than maxEventCount", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY_PARAMETER, QUERY_TOO_LARGE]])))),
)]
pub(super) async fn events(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let (raw, query) = parse(&raw.unwrap_or_default(), None)?;
    answer(&state, &caller, &raw, &format!("{BASE}/events"), &query).await
}

/// Lists the event types (EPCIS 2.0 REST binding).
///
/// The five event types of EPCIS 2.0, each queried at `/epcis/2.0/eventTypes/{eventType}/events`.
#[utoipa::path(
    get, path = "/epcis/2.0/eventTypes", tag = "epcis-binding", operation_id = "bindingEventTypes",
    summary = "List event types",
    responses(
        (status = 200, description = "The event types", body = Vec<String>),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[]])))),
)]
pub(super) async fn event_types(Auth(_caller): Auth) -> Response {
    (gs1_headers(), Json(json!(EVENT_TYPES))).into_response()
}

/// Queries the events of one type (EPCIS 2.0 REST binding).
///
/// As `GET /epcis/2.0/events?eventType={eventType}`, with the same further parameters.
#[utoipa::path(
    get, path = "/epcis/2.0/eventTypes/{eventType}/events", tag = "epcis-binding",
    operation_id = "bindingEventsOfType", summary = "Query events of one type",
    params(("eventType" = String, Path, pattern = "^(ObjectEvent|AggregationEvent|TransactionEvent|TransformationEvent|AssociationEvent)$", description = "ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent or AssociationEvent")),
    responses(
        (status = 200, description = "One page of matching events", body = EpcisQueryDocument,
         headers(("Link" = String, description = "`<url>; rel=\"next\"` when there may be more"))),
        (status = 400, description = "QueryParameterException", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event type", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "QueryTooLargeException: more events than maxEventCount", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY_PARAMETER, NOT_FOUND, QUERY_TOO_LARGE]])))),
)]
pub(super) async fn events_of_type(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(event_type): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    if !EVENT_TYPES.contains(&event_type.as_str()) {
        return Err(Problem::not_found(format!(
            "No event type {event_type:?}: one of {}.",
            EVENT_TYPES.join(", ")
        )));
    }
    let (raw, query) = parse(&raw.unwrap_or_default(), Some(("eventType", &event_type)))?;
    let path = format!("{BASE}/eventTypes/{event_type}/events");
    answer(&state, &caller, &raw, &path, &query).await
}

/// Queries the events naming one EPC (EPCIS 2.0 REST binding).
///
/// As `GET /epcis/2.0/events?MATCH_anyEPC={epc}` (the EPC URL-encoded: an EPC URN, a GS1
/// Digital Link or a pattern), with the same further parameters.
#[utoipa::path(
    get, path = "/epcis/2.0/epcs/{epc}/events", tag = "epcis-binding",
    operation_id = "bindingEventsOfEpc", summary = "Query events naming one EPC",
    params(("epc" = String, Path, min_length = 1, max_length = 2048, description = "The EPC, URL-encoded")),
    responses(
        (status = 200, description = "One page of matching events", body = EpcisQueryDocument,
         headers(("Link" = String, description = "`<url>; rel=\"next\"` when there may be more"))),
        (status = 400, description = "QueryParameterException", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "QueryTooLargeException: more events than maxEventCount", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY_PARAMETER, QUERY_TOO_LARGE]])))),
)]
pub(super) async fn events_of_epc(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(epc): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    events_of(&state, &caller, raw, "epcs", "MATCH_anyEPC", &epc).await
}

/// The events of one resource of the binding: `parameter={value}` before the query string.
async fn events_of(
    state: &CustodyState,
    caller: &Principal,
    raw: Option<String>,
    resource: &str,
    parameter: &str,
    value: &str,
) -> Result<Response, Problem> {
    // The path segment's bound, as the document gives it (`maxLength`).
    if value.chars().count() > MAX_PATH_VALUE {
        let detail = format!(
            "the {resource} segment (for {parameter}) is longer than {MAX_PATH_VALUE} characters"
        );
        return Err(as_exception(
            Problem::bad_request(INVALID_QUERY_PARAMETER, detail.clone())
                .with_errors(vec![FieldError::new(parameter, detail)]),
        ));
    }
    let (raw, query) = parse(&raw.unwrap_or_default(), Some((parameter, value)))?;
    let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let path = format!("{BASE}/{resource}/{encoded}/events");
    answer(state, caller, &raw, &path, &query).await
}

/// Queries the events of one business step (EPCIS 2.0 REST binding).
///
/// As `GET /epcis/2.0/events?EQ_bizStep={bizStep}` (a CBV word such as `receiving`, a CURIE or
/// a full IRI, URL-encoded), with the same further parameters.
#[utoipa::path(
    get, path = "/epcis/2.0/bizSteps/{bizStep}/events", tag = "epcis-binding",
    operation_id = "bindingEventsOfBizStep", summary = "Query events of one business step",
    params(("bizStep" = String, Path, min_length = 1, max_length = 2048, description = "The business step, URL-encoded")),
    responses(
        (status = 200, description = "One page of matching events", body = EpcisQueryDocument,
         headers(("Link" = String, description = "`<url>; rel=\"next\"` when there may be more"))),
        (status = 400, description = "QueryParameterException", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "QueryTooLargeException: more events than maxEventCount", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY_PARAMETER, QUERY_TOO_LARGE]])))),
)]
pub(super) async fn events_of_biz_step(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(step): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    events_of(&state, &caller, raw, "bizSteps", "EQ_bizStep", &step).await
}

/// Queries the events of one disposition (EPCIS 2.0 REST binding).
///
/// As `GET /epcis/2.0/events?EQ_disposition={disposition}`, with the same further parameters.
#[utoipa::path(
    get, path = "/epcis/2.0/dispositions/{disposition}/events", tag = "epcis-binding",
    operation_id = "bindingEventsOfDisposition", summary = "Query events of one disposition",
    params(("disposition" = String, Path, min_length = 1, max_length = 2048, description = "The disposition, URL-encoded")),
    responses(
        (status = 200, description = "One page of matching events", body = EpcisQueryDocument,
         headers(("Link" = String, description = "`<url>; rel=\"next\"` when there may be more"))),
        (status = 400, description = "QueryParameterException", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "QueryTooLargeException: more events than maxEventCount", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY_PARAMETER, QUERY_TOO_LARGE]])))),
)]
pub(super) async fn events_of_disposition(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(disposition): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    events_of(
        &state,
        &caller,
        raw,
        "dispositions",
        "EQ_disposition",
        &disposition,
    )
    .await
}

/// Queries the events of one read point (EPCIS 2.0 REST binding).
///
/// As `GET /epcis/2.0/events?EQ_readPoint={readPoint}` (URL-encoded), with the same further
/// parameters.
#[utoipa::path(
    get, path = "/epcis/2.0/readPoints/{readPoint}/events", tag = "epcis-binding",
    operation_id = "bindingEventsOfReadPoint", summary = "Query events of one read point",
    params(("readPoint" = String, Path, min_length = 1, max_length = 2048, description = "The read point, URL-encoded")),
    responses(
        (status = 200, description = "One page of matching events", body = EpcisQueryDocument,
         headers(("Link" = String, description = "`<url>; rel=\"next\"` when there may be more"))),
        (status = 400, description = "QueryParameterException", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "QueryTooLargeException: more events than maxEventCount", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY_PARAMETER, QUERY_TOO_LARGE]])))),
)]
pub(super) async fn events_of_read_point(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(read_point): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    events_of(
        &state,
        &caller,
        raw,
        "readPoints",
        "EQ_readPoint",
        &read_point,
    )
    .await
}

/// Queries the events of one business location (EPCIS 2.0 REST binding).
///
/// As `GET /epcis/2.0/events?EQ_bizLocation={bizLocation}` (URL-encoded), with the same
/// further parameters.
#[utoipa::path(
    get, path = "/epcis/2.0/bizLocations/{bizLocation}/events", tag = "epcis-binding",
    operation_id = "bindingEventsOfBizLocation", summary = "Query events of one business location",
    params(("bizLocation" = String, Path, min_length = 1, max_length = 2048, description = "The business location, URL-encoded")),
    responses(
        (status = 200, description = "One page of matching events", body = EpcisQueryDocument,
         headers(("Link" = String, description = "`<url>; rel=\"next\"` when there may be more"))),
        (status = 400, description = "QueryParameterException", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "QueryTooLargeException: more events than maxEventCount", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY_PARAMETER, QUERY_TOO_LARGE]])))),
)]
pub(super) async fn events_of_biz_location(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    Path(location): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    events_of(
        &state,
        &caller,
        raw,
        "bizLocations",
        "EQ_bizLocation",
        &location,
    )
    .await
}
