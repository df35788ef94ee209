//! `POST /api/v1/scan/decode`: a photo of a label in, the QR code or GS1 Data Matrix in it out,
//! with where on this server to open what it names. For phones whose browser has no
//! `BarcodeDetector`: the field page sends the photo and opens the answer's `target`.
//!
//! The route is the binary's, not a service's: what a code names may be a passport (the
//! passport service) or a lot (custody), and this process composes both.

pub mod image;
pub mod target;

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, header};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http_body_util::BodyExt;
use reetrace_core::api::auth::{Auth, Authenticator, RateLimit};
use reetrace_core::api::codes::{self, AUTHENTICATED, listed};
use reetrace_core::api::extract::unsupported_media_type;
use reetrace_core::api::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use self::image::{ImageError, MediaType, Symbology};
use crate::app::Services;
use crate::codes::{NO_CODE_FOUND, UNREADABLE_IMAGE};

/// The largest photo taken, in bytes (8 MiB).
pub const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;

/// What the decode route needs.
#[derive(Clone)]
pub struct ScanState {
    pub services: Services,
    pub auth: Arc<Authenticator>,
    pub limiter: Arc<ScanLimiter>,
}

impl FromRef<ScanState> for Arc<Authenticator> {
    fn from_ref(state: &ScanState) -> Self {
        state.auth.clone()
    }
}

/// The rate limit of decoding, per API key: decoding a photo costs far more than any read, so
/// it has its own budget beside the organisation's.
pub struct ScanLimiter(Option<DefaultKeyedRateLimiter<Uuid>>);

impl ScanLimiter {
    /// `limit.per_second` 0 disables it.
    pub fn new(limit: RateLimit) -> Self {
        Self(NonZeroU32::new(limit.per_second).map(|per_second| {
            let burst = NonZeroU32::new(limit.burst.max(limit.per_second)).unwrap_or(per_second);
            RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
        }))
    }

    /// 429 with `Retry-After` when the key's budget is spent.
    fn check(&self, key_id: Uuid) -> Result<(), Problem> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        limiter.check_key(&key_id).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            Problem::too_many_requests(wait.as_secs().max(1))
        })
    }
}

/// The routes of scanning.
pub fn router() -> OpenApiRouter<ScanState> {
    OpenApiRouter::new().routes(routes!(decode))
}

/// The routes of scanning on `services`, as every process serves them (they read no table of
/// their own), with decoding limited to `limit` per key.
pub fn served(services: &Services, auth: &Arc<Authenticator>, limit: RateLimit) -> OpenApiRouter {
    router().with_state(ScanState {
        services: services.clone(),
        auth: auth.clone(),
        limiter: Arc::new(ScanLimiter::new(limit)),
    })
}

/// The kind of symbol found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeFormat {
    /// A QR code (the passport's label, a GS1 QR code).
    QrCode,
    /// A Data Matrix (ECC 200), GS1 or plain.
    DataMatrix,
}

/// A code found in a photo.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"format": "qr_code",
    "text": "https://reetrace.example/01/04012345000016/21/SN-0001",
    "target": "/01/04012345000016/21/SN-0001"}))]
pub struct DecodedCode {
    pub format: CodeFormat,
    /// The code's text as it is (a GS1 Data Matrix's element string keeps its group
    /// separators, ASCII 29).
    pub text: String,
    /// The path on this server to open, when this server knows what the code names: the
    /// passport page (its resolver path) for a Digital Link, GS1 element string or passport
    /// URL of a passport here; the lot page (`/lots/{id}`) for a lot's URL, EPC or Digital
    /// Link. `null` otherwise.
    pub target: Option<String>,
}

/// A photo, as the request body.
pub struct Photo;

impl utoipa::PartialSchema for Photo {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some(
                "The image's bytes (PNG, JPEG or WebP), at most 8 MiB.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Photo {}

/// Decodes the QR code or Data Matrix in a photo.
///
/// Any valid key. The body is the image itself, `image/png`, `image/jpeg` or `image/webp`
/// (anything else 415), at most 8 MiB (413, refused from `Content-Length` before the body is
/// read, or as soon as a body without one grows past it) and 48 megapixels. The first QR code
/// or Data Matrix (GS1 or plain) found is answered with its text and, when this server knows
/// what it names, the `target` to open: the passport page for a Digital Link, a GS1 element
/// string or a passport URL; the lot page for a lot's URL, EPC or Digital Link. An image with
/// no code that decodes, or one that is not an image of its type, is 422. Decoding is rate
/// limited per key (`scan_rate_limit`, 1 a second with bursts of 10 by default; 429 with
/// `Retry-After`).
#[utoipa::path(
    post, path = "/api/v1/scan/decode", tag = "scan", operation_id = "decodeScan",
    request_body(description = "The photo", content(
        (Photo = "image/png"),
        (Photo = "image/jpeg"),
        (Photo = "image/webp"),
    )),
    responses(
        (status = 200, description = "The code found", body = DecodedCode),
        (status = 413, description = "Over 8 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a PNG, JPEG or WebP image", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No code found, or not a readable image", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The key's decoding budget is spent; `Retry-After` says when to retry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[
        codes::UNSUPPORTED_MEDIA_TYPE, codes::BODY_TOO_LARGE, codes::UNREADABLE_BODY,
        NO_CODE_FOUND, UNREADABLE_IMAGE,
    ]])))),
)]
async fn decode(
    State(state): State<ScanState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<DecodedCode>, Problem> {
    state.limiter.check(caller.key_id)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = MediaType::of(content_type)
        .ok_or_else(|| unsupported_media_type(content_type, MediaType::ACCEPTED))?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_IMAGE_BYTES as u64) {
        return Err(too_large());
    }
    let bytes = http_body_util::Limited::new(body, MAX_IMAGE_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                too_large()
            } else {
                Problem::bad_request(
                    codes::UNREADABLE_BODY,
                    "The request body could not be read.",
                )
            }
        })?
        .to_bytes();
    let found = tokio::task::spawn_blocking(move || {
        let luma = image::decode(media, &bytes)?;
        Ok::<_, ImageError>(image::find_code(luma))
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "decoding a photo failed");
        Problem::internal()
    })?
    .map_err(|e| Problem::new(UNREADABLE_IMAGE).with_detail(format!("{e}.")))?;
    let Some((symbology, text)) = found else {
        return Err(Problem::new(NO_CODE_FOUND).with_detail(
            "No QR code or Data Matrix was found in the image: take the photo closer, sharper, \
             with the whole code in the frame, or type the identifier.",
        ));
    };
    let bases: Vec<&str> = state.services.identity.base_urls().collect();
    let target = match target::named(&text, &bases) {
        Some(named) => target::target(&state.services, &named).await.map_err(|e| {
            tracing::error!(error = %e, "looking up a decoded code failed");
            Problem::internal()
        })?,
        None => None,
    };
    Ok(Json(DecodedCode {
        format: match symbology {
            Symbology::QrCode => CodeFormat::QrCode,
            Symbology::DataMatrix => CodeFormat::DataMatrix,
        },
        text,
        target,
    }))
}

fn too_large() -> Problem {
    Problem::new(codes::BODY_TOO_LARGE).with_detail(format!(
        "The image is larger than {} MiB.",
        MAX_IMAGE_BYTES / (1024 * 1024)
    ))
}
