//! The binding's top-level collections: `GET /bizSteps`, `/dispositions`, `/readPoints`,
//! `/bizLocations` and `/epcs` list the values that occur in the events the caller may read
//! (the visibility of `GET /epcis/2.0/events`), each usable in the collection's
//! `/{value}/events`. Pages as for events: `perPage` (1 to 1000, default 30), `nextPageToken`
//! from `Link: <...>; rel="next"`; any other parameter is a `QueryParameterException`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use reetrace_core::api::auth::Auth;
use reetrace_core::api::codes::{AUTHENTICATED, listed};
use reetrace_core::api::problem::Problem;
use reetrace_core::domain::Principal;
use serde_json::json;

use super::super::CustodyState;
use super::super::epcis::{gs1_headers, query_problem, refuse_control_characters};
use super::super::error::INVALID_QUERY_PARAMETER;
use super::BASE;
use super::query::as_exception;
use crate::domain::event::EventValue;
use crate::epcis::QueryError;
use crate::epcis::query::{DEFAULT_PER_PAGE, MAX_PER_PAGE};

/// `perPage` and `nextPageToken`, nothing else.
fn page(raw: &str) -> Result<(u32, Option<String>), QueryError> {
    let mut per_page = None;
    let mut token = None;
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        match name.as_ref() {
            "perPage" => {
                let n = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                    .ok_or_else(|| QueryError::Invalid {
                        param: "perPage",
                        value: value.to_string(),
                        reason: "expected a whole number from 1 to 1000",
                    })?;
                if per_page.replace(n).is_some() {
                    return Err(QueryError::Repeated("perPage"));
                }
            }
            "nextPageToken" => {
                if value.is_empty() {
                    return Err(QueryError::Invalid {
                        param: "nextPageToken",
                        value: String::new(),
                        reason: "must not be empty",
                    });
                }
                if token.replace(value.into_owned()).is_some() {
                    return Err(QueryError::Repeated("nextPageToken"));
                }
            }
            other => return Err(QueryError::Unknown(other.to_owned())),
        }
    }
    Ok((per_page.unwrap_or(DEFAULT_PER_PAGE), token))
}

async fn listing(
    state: &CustodyState,
    caller: &Principal,
    raw: Option<String>,
    kind: EventValue,
) -> Result<Response, Problem> {
    let raw = raw.unwrap_or_default();
    refuse_control_characters(&raw).map_err(as_exception)?;
    let (per_page, token) = page(&raw).map_err(|e| as_exception(query_problem(&e)))?;
    let (values, next) = state
        .service
        .event_values(caller, kind, per_page, token.as_deref())
        .await
        .map_err(|e| {
            let problem = Problem::from(e);
            if problem.code == INVALID_QUERY_PARAMETER.code {
                as_exception(problem)
            } else {
                problem
            }
        })?;
    let mut response = (gs1_headers(), Json(json!(values))).into_response();
    if let Some(token) = next {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("perPage", &per_page.to_string());
        query.append_pair("nextPageToken", &token);
        let link = format!(
            "<{}{BASE}/{}?{}>; rel=\"next\"",
            state.service.base_url(),
            kind.name(),
            query.finish()
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

macro_rules! listing_route {
    ($name:ident, $kind:expr, $path:literal, $id:literal, $summary:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            get, path = $path, tag = "epcis-binding", operation_id = $id, summary = $summary,
            description = $doc,
            params(
                ("perPage" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Values per page (default 30)"),
                ("nextPageToken" = Option<String>, Query, min_length = 1, description = "The cursor from a previous page's Link"),
            ),
            responses(
                (status = 200, description = "One page of values", body = Vec<String>,
                 headers(("Link" = String, description = "`<url>; rel=\"next\"` when there may be more"))),
                (status = 400, description = "QueryParameterException: an unknown or invalid parameter (named in `errors`)", body = Problem, content_type = "application/problem+json"),
                (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
            ),
            security(("api_key" = [])),
            extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY_PARAMETER]])))),
        )]
        pub(super) async fn $name(
            State(state): State<CustodyState>,
            Auth(caller): Auth,
            RawQuery(raw): RawQuery,
        ) -> Result<Response, Problem> {
            listing(&state, &caller, raw, $kind).await
        }
    };
}

listing_route!(
    biz_steps,
    EventValue::BizStep,
    "/epcis/2.0/bizSteps",
    "bindingBizSteps",
    "List business steps",
    "Lists the business steps of the events the caller may read (EPCIS 2.0 REST binding).\n\nA CBV step as its bare word (`receiving`), our own as a `ree:` term, any other as its IRI."
);
listing_route!(
    dispositions,
    EventValue::Disposition,
    "/epcis/2.0/dispositions",
    "bindingDispositions",
    "List dispositions",
    "Lists the dispositions of the events the caller may read (EPCIS 2.0 REST binding).\n\nAs the events write them (a CBV word, a URN or an IRI)."
);
listing_route!(
    read_points,
    EventValue::ReadPoint,
    "/epcis/2.0/readPoints",
    "bindingReadPoints",
    "List read points",
    "Lists the read points of the events the caller may read (EPCIS 2.0 REST binding).\n\nAs the events write them."
);
listing_route!(
    biz_locations,
    EventValue::BizLocation,
    "/epcis/2.0/bizLocations",
    "bindingBizLocations",
    "List business locations",
    "Lists the business locations of the events the caller may read (EPCIS 2.0 REST binding).\n\nIn canonical form (a GS1 key as a Digital Link)."
);
listing_route!(
    epcs,
    EventValue::Epc,
    "/epcis/2.0/epcs",
    "bindingEpcs",
    "List EPCs",
    "Lists the EPCs of the events the caller may read (EPCIS 2.0 REST binding).\n\nThose of `epcList`, `childEPCs`, `parentID`, `inputEPCList` and `outputEPCList`, as the event index keeps them."
);
