//! The stable problem codes: what a client branches on. Every problem answered carries one of
//! the codes listed in a registry: core's [`CORE`] for the codes every service shares, and one
//! registry per service (`api::error::CODES` in each service crate) that extends it. An entry
//! fixes the code's HTTP status and title; [`Problem::new`](super::problem::Problem::new) takes
//! an entry, never a bare string.
//!
//! The OpenAPI document lists the codes each operation may answer in its `x-problem-codes`
//! extension (not a JSON Schema `enum`, which generated clients would close): each handler's
//! `#[utoipa::path]` says `extensions(("x-problem-codes" = json!(listed(&[...]))))`, from the
//! groups below ([`AUTHENTICATED`], [`JSON_BODY`], [`IDEMPOTENT`]...) and its own codes. The
//! codes any operation may answer ([`UNIVERSAL`]) are listed once, on the document's `info`.

use axum::http::StatusCode;

/// One stable problem code with the HTTP status and title it is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The machine-readable code (`urn:reetrace:problem:<code>` is the problem's `type`).
    pub code: &'static str,
    pub status: StatusCode,
    /// The short summary of the problem type (RFC 9457 `title`).
    pub title: &'static str,
}

impl Code {
    pub const fn new(code: &'static str, status: StatusCode, title: &'static str) -> Self {
        Self {
            code,
            status,
            title,
        }
    }
}

/// Declares problem codes and the registry that lists them all:
///
/// ```ignore
/// problem_codes! {
///     /// The codes of the passport service.
///     pub static CODES;
///     /// The passport is at another version than the request names.
///     STALE_VERSION = ("stale_version", CONFLICT, "The request conflicts with the current state");
/// }
/// ```
#[macro_export]
macro_rules! problem_codes {
    (
        $(#[$registry_meta:meta])*
        $vis:vis static $registry:ident;
        $(
            $(#[$meta:meta])*
            $name:ident = ($code:literal, $status:ident, $title:expr);
        )*
    ) => {
        $(
            $(#[$meta])*
            pub const $name: $crate::api::codes::Code = $crate::api::codes::Code::new(
                $code,
                ::axum::http::StatusCode::$status,
                $title,
            );
        )*
        $(#[$registry_meta])*
        $vis static $registry: &[$crate::api::codes::Code] = &[$($name),*];
    };
}

/// Titles shared by several codes.
const MALFORMED: &str = "The request is malformed";
const INVALID: &str = "The request is not valid";
const CONFLICTS: &str = "The request conflicts with the current state";

problem_codes! {
    /// The codes every service shares.
    pub static CORE;
    /// No valid API key (missing, malformed, unknown or revoked).
    UNAUTHORIZED = ("unauthorized", UNAUTHORIZED, "Authentication is required");
    /// The caller's role or organisation may not do this.
    FORBIDDEN = ("forbidden", FORBIDDEN, "The caller may not do this");
    /// Nothing at this path, or no such record (also for records the caller may not see).
    NOT_FOUND = ("not_found", NOT_FOUND, "Not found");
    /// A body or field that does not pass validation; `errors` names each field's pointer.
    VALIDATION_FAILED = ("validation_failed", UNPROCESSABLE_ENTITY, INVALID);
    /// The body is not JSON.
    MALFORMED_JSON = ("malformed_json", BAD_REQUEST, MALFORMED);
    /// The body could not be read.
    UNREADABLE_BODY = ("unreadable_body", BAD_REQUEST, MALFORMED);
    /// A malformed request axum refused before any handler ran.
    BAD_REQUEST = ("bad_request", BAD_REQUEST, MALFORMED);
    /// A query parameter that is not valid (its name is in the detail).
    INVALID_QUERY = ("invalid_query", BAD_REQUEST, MALFORMED);
    /// A path parameter that is not a UUID.
    INVALID_ID = ("invalid_id", BAD_REQUEST, MALFORMED);
    /// A pagination cursor that this server did not hand out.
    INVALID_CURSOR = ("invalid_cursor", BAD_REQUEST, MALFORMED);
    /// An `Idempotency-Key` that is not 1 to 255 visible ASCII characters.
    INVALID_IDEMPOTENCY_KEY = ("invalid_idempotency_key", BAD_REQUEST, MALFORMED);
    /// The same `Idempotency-Key` with another request.
    IDEMPOTENCY_KEY_REUSED = ("idempotency_key_reused", UNPROCESSABLE_ENTITY, "Idempotency-Key reused");
    /// A key given to a command or service is not an API key.
    INVALID_KEY = ("invalid_key", BAD_REQUEST, MALFORMED);
    /// The path does not support this method.
    METHOD_NOT_ALLOWED = ("method_not_allowed", METHOD_NOT_ALLOWED, "Method not allowed");
    /// The request target (path and query) is longer than the server takes.
    URI_TOO_LONG = ("uri_too_long", URI_TOO_LONG, "Request target too long");
    /// The request's header fields are too many or too large.
    HEADERS_TOO_LARGE = ("headers_too_large", REQUEST_HEADER_FIELDS_TOO_LARGE, "Request header fields too large");
    /// The body exceeds the route's size limit.
    BODY_TOO_LARGE = ("body_too_large", PAYLOAD_TOO_LARGE, "Request body too large");
    /// The body has a Content-Type the route does not take.
    UNSUPPORTED_MEDIA_TYPE = ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type");
    /// No representation matches the Accept header.
    NOT_ACCEPTABLE = ("not_acceptable", NOT_ACCEPTABLE, "Not acceptable");
    /// The request took longer than the server allows.
    TIMEOUT = ("timeout", REQUEST_TIMEOUT, "Request timeout");
    /// Any other client error status axum answered.
    CLIENT_ERROR = ("client_error", BAD_REQUEST, "Client error");
    /// The write conflicts with an existing record (a uniqueness constraint).
    CONFLICT = ("conflict", CONFLICT, CONFLICTS);
    /// The request refers to a record that does not exist.
    UNKNOWN_REFERENCE = ("unknown_reference", UNPROCESSABLE_ENTITY, "The request refers to something that does not exist");
    /// Text with a NUL character, which the databases cannot store.
    INVALID_TEXT = ("invalid_text", UNPROCESSABLE_ENTITY, INVALID);
    /// Too many requests for the caller's rate limit; `Retry-After` says when to retry.
    RATE_LIMITED = ("rate_limited", TOO_MANY_REQUESTS, "Too many requests");
    /// The database, or a service this answer depends on, is unavailable; retry.
    UNAVAILABLE = ("unavailable", SERVICE_UNAVAILABLE, "Service unavailable");
    /// The server failed; the cause is logged, never echoed.
    INTERNAL = ("internal", INTERNAL_SERVER_ERROR, "Internal server error");
    /// A replayed feed event that its consumer still cannot apply.
    STILL_REFUSED = ("still_refused", CONFLICT, CONFLICTS);
    /// Another organisation has this operator identifier.
    OPERATOR_ID_TAKEN = ("operator_id_taken", CONFLICT, CONFLICTS);
    /// A GS1 prefix or GTIN that overlaps one another organisation holds (or one the
    /// organisation holds already): a GS1 prefix belongs to one organisation.
    PREFIX_TAKEN = ("prefix_taken", CONFLICT, CONFLICTS);
    /// A GTIN outside the GS1 prefixes and GTINs the caller's organisation holds. The passport
    /// service (registrations) and custody (output lots) answer it, so it is shared.
    GTIN_NOT_YOURS = ("gtin_not_yours", FORBIDDEN, "The GTIN belongs to another organisation");
    /// A GS1 identity (GTIN with lot number) a lot and a batch passport would share: the
    /// passport service refuses a batch passport a lot's identity, custody an output lot a
    /// batch passport's. The problem names the other record (`lot_id` or `passport_id`).
    IDENTITY_TAKEN = ("identity_taken", CONFLICT, CONFLICTS);
    /// The service key clashes with another key's prefix (registering the service key at
    /// start-up; no operation answers it).
    SERVICE_KEY_CLASH = ("service_key_clash", CONFLICT, CONFLICTS);
    /// Recycled-content claims would exceed what the lot recovered. Custody answers it, and the
    /// passport service passes it on when a registration's claim is refused, so it is shared.
    OVER_CLAIM = ("over_claim", CONFLICT, CONFLICTS);
    /// One organisation's open reservations on a lot would hold more than the cap allows
    /// (half of what the lot still offers it by default). Shared like `over_claim`.
    RESERVATION_CAP = ("reservation_cap", CONFLICT, CONFLICTS);
}

/// The name of the OpenAPI extension that lists the codes an operation may answer (on each
/// operation), and the codes any operation may answer (on the document's `info`).
pub const EXTENSION: &str = "x-problem-codes";

/// The codes any route may answer, whatever it does: a failure of the server or of what it
/// depends on, the request's time limit, the limits on the request target and head, a method
/// the path does not take, and any other client error status axum answered. Listed once, on
/// the document's `info`, never on an operation.
pub static UNIVERSAL: &[Code] = &[
    INTERNAL,
    UNAVAILABLE,
    TIMEOUT,
    URI_TOO_LONG,
    HEADERS_TOO_LARGE,
    METHOD_NOT_ALLOWED,
    CLIENT_ERROR,
];

/// The codes of core's registry that no operation answers: the service key's, refused when
/// the process registers it at start-up (a command's error, not an HTTP answer).
pub static COMMAND_ONLY: &[Code] = &[INVALID_KEY, SERVICE_KEY_CLASH];

/// What an operation that reads an API key may answer before it runs: a key that is missing
/// (where one is needed), malformed, unknown or revoked, and the rate limits (per organisation,
/// per address for failed keys and for requests without one).
pub const AUTHENTICATED: &[Code] = &[UNAUTHORIZED, RATE_LIMITED];

/// What a public operation may answer before it runs: the rate limit of requests without a key.
pub const PUBLIC: &[Code] = &[RATE_LIMITED];

/// What an operation that takes a JSON body may answer about it: not JSON by its Content-Type,
/// over the size limit, not well-formed, or not of the expected shape.
pub const JSON_BODY: &[Code] = &[
    UNSUPPORTED_MEDIA_TYPE,
    BODY_TOO_LARGE,
    MALFORMED_JSON,
    VALIDATION_FAILED,
];

/// What an operation that takes an `Idempotency-Key` may answer about it.
pub const IDEMPOTENT: &[Code] = &[INVALID_IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_REUSED];

/// The codes of `groups` as an operation's `x-problem-codes` lists them: each once, sorted.
pub fn listed(groups: &[&[Code]]) -> Vec<&'static str> {
    let mut listed: Vec<&'static str> = groups
        .iter()
        .flat_map(|group| group.iter().map(|c| c.code))
        .collect();
    listed.sort_unstable();
    listed.dedup();
    listed
}

/// The entry of `code` among `registries`, if any.
pub fn find(registries: &[&[Code]], code: &str) -> Option<Code> {
    registries
        .iter()
        .flat_map(|r| r.iter())
        .find(|c| c.code == code)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_codes_are_unique_and_errors() {
        let mut seen = std::collections::HashSet::new();
        for code in CORE {
            assert!(seen.insert(code.code), "{} twice", code.code);
            assert!(
                code.status.is_client_error() || code.status.is_server_error(),
                "{}",
                code.code
            );
            assert!(
                code.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                code.code
            );
        }
    }
}
