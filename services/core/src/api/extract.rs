//! Request extractors whose failures are problem+json naming the offending field.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::codes;
use crate::api::problem::{FieldError, Problem};

/// A JSON request body, parsed with errors that name the JSON pointer of the bad field.
///
/// Malformed JSON is 400; well-formed JSON of the wrong shape is 422; a body that is not
/// `application/json` (or `+json`) is 415; strings holding NUL are refused (422) before they
/// can reach a database that cannot store them.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json_content_type(req.headers())?;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Refuses a request whose Content-Type is not JSON.
pub fn require_json_content_type(headers: &axum::http::HeaderMap) -> Result<(), Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(unsupported_media_type(content_type, "application/json"))
    }
}

/// 415 naming what was sent and what is accepted.
pub fn unsupported_media_type(sent: &str, accepted: &str) -> Problem {
    let sent = if sent.is_empty() {
        "no Content-Type"
    } else {
        sent
    };
    Problem::new(codes::UNSUPPORTED_MEDIA_TYPE)
        .with_detail(format!("Expected a body of type {accepted}, got {sent}."))
}

/// Maps a failure to read the body (usually: over the size limit) to a problem.
pub fn body_rejection(rejection: axum::extract::rejection::BytesRejection) -> Problem {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(codes::BODY_TOO_LARGE)
            .with_detail("The request body exceeds the size limit of this route.")
    } else {
        Problem::bad_request(
            codes::UNREADABLE_BODY,
            "The request body could not be read.",
        )
    }
}

/// An optional JSON body: `None` when the body is empty or the JSON `null` (as an optional body
/// is documented: the object or null), otherwise parsed like [`ApiJson`].
pub fn optional_json<T: DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<Option<T>, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    require_json_content_type(headers)?;
    parse_json(body)
}

/// Parses a JSON document into `T`, with problems that name the offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    if has_nul_escape(bytes) {
        let pointer = serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|v| find_nul(&v, String::new()))
            .unwrap_or_default();
        return Err(Problem::validation(vec![FieldError::new(
            pointer,
            "strings must not contain the NUL character (\\u0000)",
        )]));
    }
    if let Err(error) = super::json_check::check_json(bytes) {
        return Err(Problem::validation(vec![error]));
    }
    // Most documents parse: the path is only tracked again for one that does not, to name
    // where it went wrong (the same document fails the same way).
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let mut pointer = to_pointer(err.path());
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let detail = clean_message(&inner);
                if let Some(field) = missing_field(&detail) {
                    pointer.push('/');
                    pointer.push_str(&field.replace('~', "~0").replace('/', "~1"));
                }
                Problem::validation(vec![FieldError::new(pointer, detail)])
            }
            _ => malformed(&inner),
        }
    })?;
    // Trailing data after the document is malformed JSON too.
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(err: &serde_json::Error) -> Problem {
    Problem::bad_request(
        codes::MALFORMED_JSON,
        format!("The body is not valid JSON: {err}"),
    )
}

/// serde's messages end with " at line 1 column 42"; the pointer says where already.
fn clean_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// The field a "missing field `name`" error names. serde reports it at the object that lacks
/// the field; the pointer then names the field itself, where the client has to add it.
fn missing_field(message: &str) -> Option<&str> {
    let name = message.strip_prefix("missing field `")?;
    name.strip_suffix('`')
}

/// Converts serde_path_to_error's path into an RFC 6901 JSON pointer.
pub fn to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                pointer.push('/');
                pointer.push_str(&index.to_string());
            }
            Segment::Map { key } => {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    pointer
}

/// True when the raw JSON text holds a `\u0000` escape (a real one, not an escaped backslash
/// followed by "u0000"). Raw NUL bytes are invalid JSON and fail parsing anyway.
fn has_nul_escape(bytes: &[u8]) -> bool {
    // A vectorised search, its searcher built once: this runs over every body and every line
    // of a bulk request, and most have no `u0000` at all.
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"u0000"));
    FINDER.find_iter(bytes).any(|at| {
        let backslashes = bytes[..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        backslashes % 2 == 1
    })
}

fn find_nul(value: &Value, at: String) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_nul(v, format!("{at}/{i}"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(at.clone());
            }
            find_nul(
                v,
                format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
            )
        }),
        _ => None,
    }
}

/// Parses a UUID path parameter, with a 400 problem naming it.
pub fn parse_uuid(name: &str, value: &str) -> Result<uuid::Uuid, Problem> {
    value.parse().map_err(|_| {
        Problem::bad_request(
            codes::INVALID_ID,
            format!("{name} must be a UUID, got {value:?}"),
        )
        .with_errors(vec![FieldError::new(name, "not a UUID")])
    })
}

/// Query parameters, with a 400 problem naming the parameter on failure.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        parse_query(query).map(ApiQuery)
    }
}

/// Refuses a query string with a control character in a parameter's name or value (400 naming
/// the parameter), for routes that read their query string themselves.
pub fn refuse_control_characters(query: &str) -> Result<(), Problem> {
    match control_character_in(query) {
        None => Ok(()),
        Some(name) => Err(Problem::bad_request(
            codes::INVALID_QUERY,
            format!("Query parameter {name} holds a control character (such as NUL)."),
        )
        .with_errors(vec![FieldError::new(
            name,
            "must not contain control characters",
        )])),
    }
}

/// Parses a query string into `T`.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Problem> {
    refuse_control_characters(query)?;
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let param = err.path().to_string();
        let inner = err.into_inner();
        let mut problem = Problem::bad_request(
            codes::INVALID_QUERY,
            if param.is_empty() || param == "." {
                format!("Invalid query string: {inner}")
            } else {
                format!("Invalid query parameter {param}: {inner}")
            },
        );
        if !param.is_empty() && param != "." {
            problem = problem.with_errors(vec![FieldError::new(param, inner.to_string())]);
        }
        problem
    })
}

/// The name of the first query parameter whose name or value, decoded, holds a control
/// character: such text is refused the same way whichever backend would have stored or
/// compared it.
pub fn control_character_in(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find_map(|(name, value)| {
        let odd = |text: &str| text.chars().any(char::is_control);
        (odd(&name) || odd(&value)).then(|| name.chars().filter(|c| !c.is_control()).collect())
    })
}

/// Reads an NDJSON body as it arrives, without holding it whole: every chunk goes into
/// `fingerprint`, and each complete line that is not blank is handed to `line` (without its
/// `\n` or `\r\n`) as soon as it is in. More than `limit` bytes in all is 413; a body that
/// breaks off is 400. `line` may refuse the request (too many lines, say).
pub async fn ndjson_lines(
    body: axum::body::Body,
    limit: usize,
    fingerprint: &mut crate::domain::idempotency::Fingerprinting,
    mut line: impl FnMut(&[u8]) -> Result<(), Problem>,
) -> Result<(), Problem> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut partial: Vec<u8> = Vec::new();
    let mut read = 0usize;
    let mut hand_over = |text: &[u8]| -> Result<(), Problem> {
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            line(text)
        }
    };
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            Problem::bad_request(
                codes::UNREADABLE_BODY,
                "The request body could not be read.",
            )
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        read = read.saturating_add(chunk.len());
        if read > limit {
            return Err(Problem::new(codes::BODY_TOO_LARGE).with_detail(format!(
                "The request body exceeds the size limit of this route ({limit} bytes)."
            )));
        }
        fingerprint.update(&chunk);
        let mut rest: &[u8] = &chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if partial.is_empty() {
                hand_over(&rest[..end])?;
            } else {
                partial.extend_from_slice(&rest[..end]);
                hand_over(&partial)?;
                partial.clear();
            }
            rest = &rest[end + 1..];
        }
        partial.extend_from_slice(rest);
    }
    hand_over(&partial)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::idempotency::{Fingerprinting, fingerprint};
    use serde::Deserialize;

    /// Feeds `text` to [`ndjson_lines`] in chunks of `size` bytes.
    async fn lines_of(text: &str, size: usize, limit: usize) -> Result<Vec<String>, Problem> {
        let chunks: Vec<Result<Bytes, std::convert::Infallible>> = text
            .as_bytes()
            .chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let body = axum::body::Body::from_stream(futures::stream::iter(chunks));
        let mut hash = Fingerprinting::start("POST", "/bulk");
        let mut out = Vec::new();
        ndjson_lines(body, limit, &mut hash, |line| {
            out.push(String::from_utf8_lossy(line).into_owned());
            Ok(())
        })
        .await?;
        assert_eq!(hash.finish(), fingerprint("POST", "/bulk", text.as_bytes()));
        Ok(out)
    }

    #[tokio::test]
    async fn ndjson_lines_are_the_same_whatever_the_chunks() {
        let text = "{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}";
        for size in [1, 2, 3, 5, 7, 64] {
            assert_eq!(
                lines_of(text, size, 1024).await.unwrap(),
                ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"],
                "chunks of {size}"
            );
        }
        let over = lines_of(text, 4, text.len() - 1).await.unwrap_err();
        assert_eq!(over.code, "body_too_large");
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        parts: Vec<Part>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Part {
        mass_g: u32,
    }

    #[test]
    fn wrong_type_names_the_pointer() {
        let err = parse_json::<Item>(br#"{"name":"m","parts":[{"mass_g":1},{"mass_g":"x"}]}"#)
            .unwrap_err();
        assert_eq!(err.status, 422);
        assert_eq!(err.errors[0].pointer, "/parts/1/mass_g");
    }

    #[test]
    fn missing_field_is_422_and_malformed_is_400() {
        let missing = parse_json::<Item>(br#"{"parts":[]}"#).unwrap_err();
        assert_eq!(missing.status, 422);
        assert_eq!(missing.errors[0].pointer, "/name");
        assert_eq!(missing.errors[0].detail, "missing field `name`");
        // Deeper down, the pointer names the missing field inside its object.
        let missing = parse_json::<Item>(br#"{"name":"m","parts":[{"mass_g":1},{}]}"#).unwrap_err();
        assert_eq!(missing.status, 422);
        assert_eq!(missing.errors[0].pointer, "/parts/1/mass_g");
        let malformed = parse_json::<Item>(br#"{"name": "#).unwrap_err();
        assert_eq!(malformed.status, 400);
        assert_eq!(malformed.code, "malformed_json");
        let trailing = parse_json::<Item>(br#"{"name":"m","parts":[]} x"#).unwrap_err();
        assert_eq!(trailing.status, 400);
    }

    #[test]
    fn unknown_fields_and_variants_name_themselves() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Step {
            action: Action,
        }
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Action {
            Unscrew,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Steps {
            steps: Vec<Step>,
        }
        let err = parse_json::<Steps>(br#"{"steps":[{"action":"unscrew"},{"action":"twist"}]}"#)
            .unwrap_err();
        assert_eq!(err.status, 422);
        assert_eq!(err.errors[0].pointer, "/steps/1/action");
        assert!(err.errors[0].detail.contains("twist"), "{:?}", err.errors);
        let err =
            parse_json::<Steps>(br#"{"steps":[{"action":"unscrew","share":1}]}"#).unwrap_err();
        assert_eq!(err.status, 422);
        assert_eq!(err.errors[0].pointer, "/steps/0/share");
        assert!(err.errors[0].detail.contains("unknown field `share`"));
    }

    #[test]
    fn nul_is_refused_with_its_pointer() {
        let err = parse_json::<Item>(br#"{"name":"a\u0000b","parts":[]}"#).unwrap_err();
        assert_eq!(err.status, 422);
        assert_eq!(err.errors[0].pointer, "/name");
        // An escaped backslash followed by "u0000" is ordinary text.
        let ok = parse_json::<Item>(br#"{"name":"a\\u0000b","parts":[]}"#).unwrap();
        assert_eq!(ok.name, "a\\u0000b");
    }

    #[test]
    fn pointer_escapes_slash_and_tilde() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct M {
            m: std::collections::BTreeMap<String, u8>,
        }
        let err = parse_json::<M>(br#"{"m":{"a/b~c":"x"}}"#).unwrap_err();
        assert_eq!(err.errors[0].pointer, "/m/a~1b~0c");
    }

    #[test]
    fn an_optional_body_may_be_empty_or_null() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Reason {
            reason: Option<String>,
        }
        let mut json = axum::http::HeaderMap::new();
        json.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        let none = axum::http::HeaderMap::new();
        assert!(optional_json::<Reason>(&none, b"  ").unwrap().is_none());
        assert!(optional_json::<Reason>(&json, b"null").unwrap().is_none());
        let some = optional_json::<Reason>(&json, br#"{"reason":"x"}"#).unwrap();
        assert_eq!(some.unwrap().reason.as_deref(), Some("x"));
        assert_eq!(
            optional_json::<Reason>(&json, br#"{"other":1}"#)
                .unwrap_err()
                .status,
            422
        );
        assert_eq!(
            optional_json::<Reason>(&none, b"null").unwrap_err().status,
            415
        );
    }

    #[test]
    fn control_characters_in_queries_name_the_parameter() {
        assert_eq!(
            control_character_in("a=1&category=x%00y").as_deref(),
            Some("category")
        );
        assert_eq!(control_character_in("gtin=%0A").as_deref(), Some("gtin"));
        assert_eq!(control_character_in("a=1&b=%C3%A9t%C3%A9"), None);
        let err = parse_query::<std::collections::HashMap<String, String>>("x=%01").unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.errors[0].pointer, "x");
    }

    #[test]
    fn query_errors_name_the_parameter() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Q {
            limit: Option<u32>,
        }
        let err = parse_query::<Q>("limit=abc").unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.errors[0].pointer, "limit");
        assert!(parse_query::<Q>("").unwrap().limit.is_none());
    }
}
