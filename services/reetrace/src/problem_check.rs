//! Every problem code answered is registered and documented.
//!
//! The registries ([`REGISTRIES`]: core's and each service's, and the binary's) list every code
//! a problem may carry; each operation of the OpenAPI document lists in `x-problem-codes` the
//! codes it may answer, and the document's `info` the codes any operation may answer
//! ([`codes::UNIVERSAL`]). Two checks hold the code to these lists:
//!
//! - in debug builds (so the whole test suite, and the contract run over the debug binary, go
//!   through it), the [`check`] middleware reads the `code` of every problem+json answer and
//!   turns an answer whose code is not registered, or not listed for the operation answered,
//!   into a 500 `internal` problem naming the code and the operation (and logs it), so that
//!   the test that provoked it fails on its status. Release builds do not have it.
//! - the tests of this module check the lists themselves: every listed code is registered, a
//!   code registered twice means the same thing, and every registered code is listed by an
//!   operation unless [`NOT_ANSWERED`] says why it never is a problem's own code.

use reetrace_core::api::codes::{self, Code};

/// Every registry of problem codes: core's shared ones, each service's, and the binary's.
pub static REGISTRIES: &[&[Code]] = &[
    codes::CORE,
    reetrace_passport::api::error::CODES,
    reetrace_custody::api::error::CODES,
    reetrace_stock::api::error::CODES,
    reetrace_deposits::api::error::CODES,
    crate::codes::CODES,
    crate::codes::SCAN_CODES,
];

/// Registered codes that no operation answers as a problem's own `code`, so that none lists
/// them: custody's per-event codes (inside a capture's `event_errors` and report), passport's
/// per-line code (inside a bulk answer's `results`), the lines `reetrace import` refuses, and
/// the service key's refusals at start-up.
pub static NOT_ANSWERED: &[&[Code]] = &[
    reetrace_custody::api::error::PER_EVENT,
    reetrace_passport::api::error::PER_LINE,
    crate::codes::CODES,
    codes::COMMAND_ONLY,
];

/// What a route that is no API operation may answer besides [`codes::UNIVERSAL`]: the pages,
/// `/docs`, `/openapi.json`, a method a path does not take, and the fallback's 404 (every
/// request without a key goes through the address rate limit).
pub static NOT_AN_OPERATION: &[Code] = &[codes::NOT_FOUND, codes::RATE_LIMITED];

/// The registered entry of `code`, if any.
pub fn registered(code: &str) -> Option<Code> {
    codes::find(REGISTRIES, code)
}

#[cfg(debug_assertions)]
pub use runtime::{Operations, check};

/// Adds the [`check`] middleware in debug builds; returns `router` as it is in release builds.
pub fn layer(router: axum::Router) -> axum::Router {
    #[cfg(debug_assertions)]
    let router = router.layer(axum::middleware::from_fn(check));
    router
}

#[cfg(debug_assertions)]
mod runtime {
    use std::collections::HashMap;
    use std::sync::LazyLock;

    use axum::body::Body;
    use axum::extract::{MatchedPath, Request};
    use axum::http::{Method, header};
    use axum::middleware::Next;
    use axum::response::{IntoResponse, Response};
    use reetrace_core::api::codes;
    use reetrace_core::api::problem::{PROBLEM_JSON, Problem};
    use serde_json::Value;

    use super::{NOT_AN_OPERATION, registered};

    /// The operations of a document: by method and path, the operation id and the codes it
    /// lists; and the codes the document lists for every operation.
    #[derive(Debug, Default)]
    pub struct Operations {
        by_route: HashMap<(String, String), (String, Vec<String>)>,
        universal: Vec<String>,
    }

    impl Operations {
        /// Reads the operations of `doc` (the OpenAPI document as JSON).
        pub fn of(doc: &Value) -> Self {
            let strings = |v: &Value| -> Vec<String> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            };
            let mut by_route = HashMap::new();
            for (path, item) in doc["paths"].as_object().into_iter().flatten() {
                for (method, operation) in item.as_object().into_iter().flatten() {
                    let Some(id) = operation["operationId"].as_str() else {
                        continue;
                    };
                    by_route.insert(
                        (method.to_ascii_uppercase(), path.clone()),
                        (id.to_owned(), strings(&operation[codes::EXTENSION])),
                    );
                }
            }
            Operations {
                by_route,
                universal: strings(&doc["info"][codes::EXTENSION]),
            }
        }

        /// Whether a request of `method` to the route `route` (the router's matched path, if
        /// any) may answer a problem of `code`; the reason when not.
        pub fn verdict(
            &self,
            method: &Method,
            route: Option<&str>,
            code: &str,
        ) -> Result<(), String> {
            let operation = route.and_then(|route| {
                let at = |m: &str| self.by_route.get(&(m.to_owned(), route.to_owned()));
                at(method.as_str())
                    .or_else(|| (method == Method::HEAD).then(|| at("GET")).flatten())
            });
            let what = match (operation, route) {
                (Some((id, _)), Some(route)) => format!("operation {id} ({method} {route})"),
                (None, Some(route)) => format!("{method} {route} (no operation)"),
                (_, None) => format!("{method} on no route"),
            };
            if registered(code).is_none() {
                return Err(format!(
                    "{what} answered a problem of code {code:?}, which no registry lists"
                ));
            }
            if self.universal.iter().any(|c| c == code) {
                return Ok(());
            }
            let listed = match operation {
                Some((_, listed)) => listed.iter().any(|c| c == code),
                None => NOT_AN_OPERATION.iter().any(|c| c.code == code),
            };
            if listed {
                Ok(())
            } else {
                Err(format!(
                    "{what} answered a problem of code {code:?}, which its x-problem-codes do \
                     not list"
                ))
            }
        }
    }

    /// The operations of the application's document, read once.
    static OPERATIONS: LazyLock<Operations> = LazyLock::new(|| {
        let doc = serde_json::to_value(crate::app::openapi()).unwrap_or_default();
        Operations::of(&doc)
    });

    fn is_problem(response: &Response) -> bool {
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().unwrap_or("").trim() == PROBLEM_JSON)
    }

    /// Middleware (debug builds only): a problem+json answer whose `code` no registry lists,
    /// or that the operation answered does not list, becomes a 500 `internal` problem naming
    /// the code and the operation.
    pub async fn check(request: Request, next: Next) -> Response {
        let method = request.method().clone();
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned());
        let response = next.run(request).await;
        if !is_problem(&response) {
            return response;
        }
        let (parts, body) = response.into_parts();
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::error!(error = %err, "a problem body could not be read");
                return Problem::internal().into_response();
            }
        };
        // A HEAD answer has no body to read.
        if bytes.is_empty() {
            return Response::from_parts(parts, Body::empty());
        }
        let code = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        match OPERATIONS.verdict(&method, route.as_deref(), &code) {
            Ok(()) => Response::from_parts(parts, Body::from(bytes)),
            Err(why) => {
                tracing::error!(%why, "a problem code is not documented");
                Problem::internal().with_detail(why).into_response()
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn document() -> serde_json::Value {
        serde_json::from_str(&crate::cli::openapi_json().unwrap()).unwrap()
    }

    /// Every operation's `x-problem-codes`: (operation id, codes).
    fn operation_lists(doc: &serde_json::Value) -> Vec<(String, Vec<String>)> {
        let mut lists = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                let id = operation["operationId"].as_str().unwrap().to_owned();
                let listed = operation[codes::EXTENSION].as_array().unwrap_or_else(|| {
                    panic!("{id} ({method} {path}) has no {}", codes::EXTENSION)
                });
                let listed = listed
                    .iter()
                    .map(|c| c.as_str().unwrap().to_owned())
                    .collect();
                lists.push((id, listed));
            }
        }
        lists
    }

    #[test]
    fn every_listed_code_is_registered() {
        let doc = document();
        let universal = doc["info"][codes::EXTENSION].as_array().unwrap();
        let universal: BTreeSet<&str> = universal.iter().map(|c| c.as_str().unwrap()).collect();
        let wanted: BTreeSet<&str> = codes::UNIVERSAL.iter().map(|c| c.code).collect();
        assert_eq!(universal, wanted);
        for (id, listed) in operation_lists(&doc) {
            for code in &listed {
                assert!(
                    registered(code).is_some(),
                    "{id} lists {code:?}, which no registry lists"
                );
                // The universal codes are listed once, on the document, never on an operation.
                assert!(
                    !universal.contains(code.as_str()),
                    "{id} lists the universal {code:?}"
                );
                let not_answered = NOT_ANSWERED
                    .iter()
                    .flat_map(|r| r.iter())
                    .any(|c| c.code == code);
                assert!(
                    !not_answered,
                    "{id} lists {code:?}, which is never a problem's own code"
                );
            }
            let mut sorted = listed.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(listed, sorted, "{id} lists its codes sorted, each once");
        }
    }

    #[test]
    fn a_code_registered_twice_means_the_same() {
        let mut seen: BTreeMap<&str, Code> = BTreeMap::new();
        for code in REGISTRIES.iter().flat_map(|r| r.iter()) {
            assert!(
                code.status.is_client_error() || code.status.is_server_error(),
                "{} is not an error status",
                code.code
            );
            assert!(
                code.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{} is not snake_case",
                code.code
            );
            if let Some(first) = seen.insert(code.code, *code) {
                assert_eq!(
                    first, *code,
                    "{} is registered twice, differently",
                    code.code
                );
            }
        }
        // Core's codes are core's alone: a service extends the shared registry, never redefines it.
        for registry in &REGISTRIES[1..] {
            for code in registry.iter() {
                assert!(
                    codes::find(&[codes::CORE], code.code).is_none(),
                    "{} is core's and a service's",
                    code.code
                );
            }
        }
    }

    #[test]
    fn every_registered_code_is_answered_somewhere() {
        let doc = document();
        let listed: BTreeSet<String> = operation_lists(&doc)
            .into_iter()
            .flat_map(|(_, listed)| listed)
            .chain(codes::UNIVERSAL.iter().map(|c| c.code.to_owned()))
            .chain(NOT_AN_OPERATION.iter().map(|c| c.code.to_owned()))
            .collect();
        let not_answered: BTreeSet<&str> = NOT_ANSWERED
            .iter()
            .flat_map(|r| r.iter())
            .map(|c| c.code)
            .collect();
        let dead: Vec<&str> = REGISTRIES
            .iter()
            .flat_map(|r| r.iter())
            .map(|c| c.code)
            .filter(|c| !listed.contains(*c) && !not_answered.contains(c))
            .collect();
        assert!(
            dead.is_empty(),
            "registered codes no operation answers: {dead:?}"
        );
    }

    #[cfg(debug_assertions)]
    #[test]
    fn the_runtime_check_knows_each_operations_codes() {
        use axum::http::Method;
        let operations = Operations::of(&document());
        let get = Method::GET;
        assert!(
            operations
                .verdict(&get, Some("/api/v1/passports/{id}"), "not_found")
                .is_ok()
        );
        // HEAD is answered by the GET operation.
        assert!(
            operations
                .verdict(&Method::HEAD, Some("/api/v1/passports/{id}"), "invalid_id")
                .is_ok()
        );
        assert!(
            operations
                .verdict(&get, Some("/healthz"), "internal")
                .is_ok()
        );
        let unlisted = operations
            .verdict(&get, Some("/api/v1/passports/{id}"), "over_claim")
            .unwrap_err();
        assert!(
            unlisted.contains("getPassport") && unlisted.contains("over_claim"),
            "{unlisted}"
        );
        let unknown = operations
            .verdict(&get, Some("/healthz"), "no_such_code")
            .unwrap_err();
        assert!(unknown.contains("no registry"), "{unknown}");
        assert!(operations.verdict(&get, None, "not_found").is_ok());
        assert!(
            operations
                .verdict(&get, Some("/dashboard"), "not_found")
                .is_ok()
        );
        assert!(operations.verdict(&get, None, "validation_failed").is_err());
    }

    #[cfg(debug_assertions)]
    #[tokio::test]
    async fn an_unlisted_code_becomes_a_500_naming_it() {
        use axum::routing::get;
        use reetrace_core::api::problem::Problem;
        use tower::ServiceExt;
        let router = axum::Router::new()
            .route(
                "/api/v1/passports/{id}",
                get(|| async { Problem::new(codes::OVER_CLAIM) }),
            )
            .route(
                "/healthz",
                get(|| async { Problem::service_unavailable("down") }),
            )
            .layer(axum::middleware::from_fn(check));
        let call = |uri: &str| {
            let request = axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap();
            router.clone().oneshot(request)
        };
        let response = call("/api/v1/passports/x").await.unwrap();
        assert_eq!(response.status(), 500);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "internal");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("over_claim") && detail.contains("getPassport"),
            "{detail}"
        );
        // A listed code passes untouched.
        assert_eq!(call("/healthz").await.unwrap().status(), 503);
    }
}
