//! The GS1 Digital Link resolver: `/01/{gtin}/21/{serial}` (an item), `/01/{gtin}/10/{lot}`
//! (a batch), `/01/{gtin}` (a model), and `/p/{id}` for products without a GTIN.
//!
//! One identifier, several answers: the passport page for browsers, the signed credential for
//! clients (`application/vc`, `application/ld+json`, `application/json`, and
//! `application/vc+ld+json`, the VC 1.1 era's type, as a legacy alias; `application/vc+jwt`,
//! its JOSE form, for a v2 passport), an RFC 9264 linkset
//! (`Accept: application/linkset+json` or `?linkType=linkset`), and a 307 redirect for the
//! other link types the product has.
//!
//! It answers as the GS1-Conformant Resolver Standard, release 1.2.0 (ratified January 2026,
//! <https://ref.gs1.org/standards/resolver/1.2.0>), says; section numbers are that release's,
//! "item n" the n-th statement of its conformance statement (section 5). The numbers were
//! taken from a clause-by-clause reading of release 1.2.1, whose numbering 1.2.0 shares as far
//! as could be checked here (the full text was not readable from this repository's build
//! machines): check them against the release you conform to.
//!
//! - no `linkType`: the default link unless the request says better (section 2.6.1; `Accept` is
//!   what it says, section 2.6.3): `text/html` the page, anything else the credential, which is
//!   the default link (`gs1:defaultLink`, title only, section 2.5.8). See [`choice`].
//! - `linkType=linkset` (or `all`), or `Accept: application/linkset+json`: the linkset
//!   (section 2.9), RFC 9264 JSON with a `Link` to GS1's JSON-LD context (section 2.10, item 13).
//! - a `linkType` the product has: that link (section 2.6.2, item 17), served here or 307 to it
//!   with the request's other query parameters passed on (section 2.12, item 19).
//! - a `linkType` it has no link of (an unknown type, a GS1 type we do not serve, a model
//!   passport link of a product without one): 404 (section 2.6.2, item 18; GS1's resolver test
//!   suite checks it as `specificLinkTypeNotFound`).
//! - link types: the GS1 Web Vocabulary's, recognised in any of its namespace spellings, ours
//!   only where GS1 has none (section 2.14, item 24). See [`linkset`].
//! - `GET`, `HEAD` and `OPTIONS` with CORS (section 2.2, items 2 and 4); a `Link` to the
//!   linkset on every answer about a found product, redirects included, as the conformance
//!   statement asks (and RFC 9264 section 6 defines), with `Vary: Accept`.

mod accept;
mod check;
mod choice;
mod credential;
mod linkset;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use reetrace_core::api::auth::MaybeAuth;
use reetrace_core::api::codes::{
    self, AUTHENTICATED, INVALID_ID, NOT_ACCEPTABLE, NOT_FOUND, listed,
};
use reetrace_core::api::extract::{self, parse_uuid};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::{DigitalLinkPath, Gtin, LotNumber, Principal, SerialNumber};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use accept::{Representation, negotiate};
pub use linkset::{LinkContext, LinkTarget, LinkType, Linkset, ree_namespace};

use choice::{Choice, choose, link_type};

use super::PassportState;
use super::page::{self, PageView, ProductLinks};
use crate::domain::passport::{Identity, Lookup, Passport};
use crate::domain::view::PassportView;
use crate::service::PassportService;

/// The methods every resolver path answers.
const ALLOWED: &str = "GET, HEAD, OPTIONS";

pub fn router() -> OpenApiRouter<PassportState> {
    OpenApiRouter::new()
        .routes(routes!(resolve_item))
        .routes(routes!(resolve_batch))
        .routes(routes!(resolve_model))
        .routes(routes!(resolve_own))
        .layer(axum::middleware::map_response(vary_accept))
}

/// Every resolver answer depends on `Accept`, errors included, and on `Authorization` (a key
/// sees more): a browser must not answer a request with a key from a page it cached without.
async fn vary_accept(mut response: Response) -> Response {
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static(VARY));
    response
}

/// What every resolver answer varies on.
const VARY: &str = "accept, authorization";

/// Whether `path` is one the resolver answers.
fn is_resolver_path(path: &str) -> bool {
    path.starts_with("/01/") || path.starts_with("/p/")
}

/// The answer to `OPTIONS` on a resolver path: the methods, and what a CORS preflight needs.
pub fn options_response() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::ALLOW, ALLOWED),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        (header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED),
        (
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "accept, accept-language, authorization",
        ),
        (header::ACCESS_CONTROL_MAX_AGE, "86400"),
        (header::VARY, VARY),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Middleware for the outermost stack: answers `OPTIONS` on resolver paths with
/// [`options_response`] (a 204 with `Allow`, preflight or not), which a generic CORS layer
/// would otherwise answer without `Allow`.
pub async fn answer_options(request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS && is_resolver_path(request.uri().path()) {
        return options_response();
    }
    next.run(request).await
}

/// The `n`th segment of the request path, still percent-encoded (the router's own decoding
/// would let `%2F` and `/` mean the same).
fn raw_segment(uri: &Uri, n: usize) -> &str {
    uri.path().split('/').nth(n).unwrap_or("")
}

/// A 400 naming the part of the path that is wrong.
fn invalid(part: &str, error: impl std::fmt::Display) -> Problem {
    Problem::bad_request(
        crate::api::error::INVALID_IDENTIFIER,
        format!("The {part} in the path is not valid: {error}"),
    )
    .with_errors(vec![FieldError::new(part, error.to_string())])
}

fn gtin(uri: &Uri) -> Result<Gtin, Problem> {
    Gtin::parse(raw_segment(uri, 2)).map_err(|e| invalid("gtin", e))
}

fn unknown(what: impl std::fmt::Display) -> Problem {
    Problem::not_found(format!("No passport for {what}."))
}

/// Resolves a serialised item (an SGTIN).
///
/// GS1 Digital Link `/01/{gtin}/21/{serial}`. The GTIN may be given in its 8, 12, 13 or
/// 14-digit form; its check digit is verified. The serial is a percent-encoded GS1 AI 21 value.
///
/// The answer follows `Accept` (weights honoured): `text/html` gets the passport page (the
/// caller's API key, if any, shows its tier's detail), `application/vc`,
/// `application/ld+json` or `application/json` the signed credential byte for byte (also
/// for `*/*`), `application/vc+jwt` its compact JWS (VC-JOSE-COSE; a v1 passport has none:
/// 406), `application/linkset+json` the RFC 9264 linkset; `application/vc+ld+json` (VC 1.1)
/// gets the credential as `application/vc` does. Without a `linkType` that is the default link
/// (the credential) unless `Accept` names something better (GS1-Conformant Resolver Standard
/// 1.2.0, section 2.6.1). `linkType` overrides it: `linkset`/`all` (section 2.9), `gs1:pip`,
/// `gs1:dpp` (also `gs1:defaultLink`, and `gs1:certificationInfo`/`ree:verifiableCredential`
/// as earlier releases offered it) with the credential's content negotiation; the other types
/// the product has (`gs1:sustainabilityInfo`, `gs1:traceability`, `version-history`,
/// `ree:qrCode`, `ree:issuer`, `ree:modelPassport`) redirect (307) with the other query
/// parameters passed on (section 2.12); a type it has no link of is 404 (section 2.6.2).
/// Suspended and revoked passports still resolve. `HEAD` answers the same headers without a
/// body; `OPTIONS` answers 204 with `Allow` and the CORS preflight headers.
#[utoipa::path(
    get, path = "/01/{gtin}/21/{serial}", tag = "resolver", operation_id = "resolveItem",
    params(
        ("gtin" = String, Path, pattern = r"^(\d{8}|\d{12,14})$", example = "04012345000016", description = "GTIN-8, -12, -13 or -14 with a valid check digit"),
        ("serial" = String, Path, pattern = r#"^[!"%-?A-Z_a-z]{1,20}$"#, description = "Serial number (GS1 AI 21): 1 to 20 characters of the GS1 character set 82, percent-encoded in the path"),
        ResolveQuery,
    ),
    responses(
        (status = 200, description = "The passport in the negotiated representation",
            content(
                (String = "text/html"),
                (Object = "application/vc"),
                (Object = "application/ld+json"),
                (Object = "application/vc+ld+json"),
                (Object = "application/json"),
                (String = "application/vc+jwt"),
                (Linkset = "application/linkset+json"),
            ),
            headers(
                ("Link" = String, description = "The linkset (`rel=\"linkset\"`) and the canonical identifier (`rel=\"canonical\"`)"),
                ("Vary" = String, description = "`accept, authorization`"),
            )),
        (status = 307, description = "A link type served elsewhere", headers(("Location" = String, description = "The target, with the request's query parameters other than `linkType` passed on"))),
        (status = 400, description = "The GTIN or the serial is not valid; `errors` names the part", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No passport for this item, or no link of the requested `linkType`", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "`Accept` allows none of the representations, or asks for `application/vc+jwt` of a v1 passport (no JOSE form)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[crate::api::error::INVALID_IDENTIFIER, NOT_FOUND, NOT_ACCEPTABLE, codes::INVALID_QUERY]])))),
)]
async fn resolve_item(
    State(state): State<PassportState>,
    MaybeAuth(caller): MaybeAuth,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if let Some(response) = credential::from_cache(&state.service, caller.as_ref(), &uri, &headers)
    {
        return Ok(response);
    }
    let gtin = gtin(&uri)?;
    let serial = SerialNumber::from_percent_encoded(raw_segment(&uri, 4))
        .map_err(|e| invalid("serial", e))?;
    let identity = Identity::Item {
        gtin,
        serial: serial.clone(),
    };
    let path = DigitalLinkPath::new(gtin).with_serial(serial);
    resolve_identity(&state.service, caller, &uri, &headers, &identity, path).await
}

/// Resolves a batch (an LGTIN).
///
/// GS1 Digital Link `/01/{gtin}/10/{lot}`; the lot is a percent-encoded GS1 AI 10 value.
/// Answers as `resolveItem` does. When no batch passport has this identity but a recycled lot
/// carries it (a transformation's output named with a GTIN and a lot number), the answer is a
/// 307 to the lot's own URL, `/lots/{lot_id}` (its page for browsers, the lot for clients with
/// a key).
#[utoipa::path(
    get, path = "/01/{gtin}/10/{lot}", tag = "resolver", operation_id = "resolveBatch",
    params(
        ("gtin" = String, Path, pattern = r"^(\d{8}|\d{12,14})$", example = "04012345000016", description = "GTIN-8, -12, -13 or -14 with a valid check digit"),
        ("lot" = String, Path, pattern = r#"^[!"%-?A-Z_a-z]{1,20}$"#, description = "Lot number (GS1 AI 10): 1 to 20 characters of the GS1 character set 82, percent-encoded in the path"),
        ResolveQuery,
    ),
    responses(
        (status = 200, description = "The passport in the negotiated representation",
            content(
                (String = "text/html"),
                (Object = "application/vc"),
                (Object = "application/ld+json"),
                (Object = "application/vc+ld+json"),
                (Object = "application/json"),
                (String = "application/vc+jwt"),
                (Linkset = "application/linkset+json"),
            ),
            headers(("Link" = String, description = "The linkset and the canonical identifier"), ("Vary" = String, description = "`accept, authorization`"))),
        (status = 307, description = "A link type served elsewhere, or the recycled lot that carries this identity when no batch passport has it", headers(("Location" = String, description = "The target, with the request's query parameters other than `linkType` passed on; or the lot's URL"))),
        (status = 400, description = "The GTIN or the lot is not valid; `errors` names the part", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No passport for this batch, or no link of the requested `linkType`", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "`Accept` allows none of the representations, or asks for `application/vc+jwt` of a v1 passport (no JOSE form)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[crate::api::error::INVALID_IDENTIFIER, NOT_FOUND, NOT_ACCEPTABLE, codes::INVALID_QUERY]])))),
)]
async fn resolve_batch(
    State(state): State<PassportState>,
    MaybeAuth(caller): MaybeAuth,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if let Some(response) = credential::from_cache(&state.service, caller.as_ref(), &uri, &headers)
    {
        return Ok(response);
    }
    let gtin = gtin(&uri)?;
    let lot =
        LotNumber::from_percent_encoded(raw_segment(&uri, 4)).map_err(|e| invalid("lot", e))?;
    let identity = Identity::Batch {
        gtin,
        lot: lot.clone(),
    };
    // A batch no passport has may be a recycled lot's: its Digital Link leads to the lot.
    if state
        .service
        .resolve(Lookup::Identity(&identity))
        .await?
        .is_none()
        && let Some(lot_id) = state.service.lot_with_identity(&gtin, &lot).await?
    {
        let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
        let target = format!("{}/lots/{lot_id}", state.service.base_url());
        set(response.headers_mut(), header::LOCATION, &target);
        set(response.headers_mut(), header::CACHE_CONTROL, "no-cache");
        return Ok(response);
    }
    let path = DigitalLinkPath::new(gtin).with_lot(lot);
    resolve_identity(&state.service, caller, &uri, &headers, &identity, path).await
}

/// Resolves a product model.
///
/// GS1 Digital Link `/01/{gtin}`: the model passport of this GTIN. Answers as `resolveItem`
/// does.
#[utoipa::path(
    get, path = "/01/{gtin}", tag = "resolver", operation_id = "resolveModel",
    params(
        ("gtin" = String, Path, pattern = r"^(\d{8}|\d{12,14})$", example = "04012345000016", description = "GTIN-8, -12, -13 or -14 with a valid check digit"),
        ResolveQuery,
    ),
    responses(
        (status = 200, description = "The passport in the negotiated representation",
            content(
                (String = "text/html"),
                (Object = "application/vc"),
                (Object = "application/ld+json"),
                (Object = "application/vc+ld+json"),
                (Object = "application/json"),
                (String = "application/vc+jwt"),
                (Linkset = "application/linkset+json"),
            ),
            headers(("Link" = String, description = "The linkset and the canonical identifier"), ("Vary" = String, description = "`accept, authorization`"))),
        (status = 307, description = "A link type served elsewhere", headers(("Location" = String, description = "The target, with the request's query parameters other than `linkType` passed on"))),
        (status = 400, description = "The GTIN is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No model passport for this GTIN, or no link of the requested `linkType`", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "`Accept` allows none of the representations, or asks for `application/vc+jwt` of a v1 passport (no JOSE form)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[crate::api::error::INVALID_IDENTIFIER, NOT_FOUND, NOT_ACCEPTABLE, codes::INVALID_QUERY]])))),
)]
async fn resolve_model(
    State(state): State<PassportState>,
    MaybeAuth(caller): MaybeAuth,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if let Some(response) = credential::from_cache(&state.service, caller.as_ref(), &uri, &headers)
    {
        return Ok(response);
    }
    let gtin = gtin(&uri)?;
    let identity = Identity::Model { gtin };
    let path = DigitalLinkPath::new(gtin);
    resolve_identity(&state.service, caller, &uri, &headers, &identity, path).await
}

/// Resolves a product by its passport id.
///
/// `/p/{id}` identifies products without a GTIN; it also resolves GS1 products (their
/// `Link: rel="canonical"` gives the Digital Link). Answers as `resolveItem` does.
#[utoipa::path(
    get, path = "/p/{id}", tag = "resolver", operation_id = "resolveOwn",
    params(
        ("id" = String, Path, format = Uuid, description = "The passport id"),
        ResolveQuery,
    ),
    responses(
        (status = 200, description = "The passport in the negotiated representation",
            content(
                (String = "text/html"),
                (Object = "application/vc"),
                (Object = "application/ld+json"),
                (Object = "application/vc+ld+json"),
                (Object = "application/json"),
                (String = "application/vc+jwt"),
                (Linkset = "application/linkset+json"),
            ),
            headers(("Link" = String, description = "The linkset and the canonical identifier"), ("Vary" = String, description = "`accept, authorization`"))),
        (status = 307, description = "A link type served elsewhere", headers(("Location" = String, description = "The target, with the request's query parameters other than `linkType` passed on"))),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passport, or no link of the requested `linkType`", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "`Accept` allows none of the representations, or asks for `application/vc+jwt` of a v1 passport (no JOSE form)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_ID, NOT_FOUND, NOT_ACCEPTABLE, codes::INVALID_QUERY]])))),
)]
async fn resolve_own(
    State(state): State<PassportState>,
    MaybeAuth(caller): MaybeAuth,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if let Some(response) = credential::from_cache(&state.service, caller.as_ref(), &uri, &headers)
    {
        return Ok(response);
    }
    let id = parse_uuid("id", raw_segment(&uri, 2))?;
    resolve(
        &state.service,
        caller,
        &uri,
        &headers,
        Lookup::Id(id),
        || Problem::not_found(format!("No passport {id}.")),
    )
    .await
}

/// Answers for the passport a GS1 identity names; 404 naming the Digital Link path otherwise.
async fn resolve_identity(
    service: &PassportService,
    caller: Option<Principal>,
    uri: &Uri,
    headers: &HeaderMap,
    identity: &Identity,
    path: DigitalLinkPath,
) -> Result<Response, Problem> {
    resolve(
        service,
        caller,
        uri,
        headers,
        Lookup::Identity(identity),
        || unknown(path),
    )
    .await
}

/// Answers for the passport `lookup` names: the credential (most reads; see [`credential`]),
/// or [`answer`] for the other representations and link types.
async fn resolve(
    service: &PassportService,
    caller: Option<Principal>,
    uri: &Uri,
    headers: &HeaderMap,
    lookup: Lookup<'_>,
    missing: impl FnOnce() -> Problem,
) -> Result<Response, Problem> {
    // The resolver reads its query string itself: refuse control characters as `ApiQuery` does.
    extract::refuse_control_characters(uri.query().unwrap_or(""))?;
    let private = caller.is_some();
    match credential::wanted(uri, headers, &ree_namespace(service.base_url())) {
        Some(Representation::Jwt) => credential::jose(service, private, lookup, missing).await,
        Some(stored) => credential::stored(service, private, uri, stored, lookup, missing).await,
        None => {
            let row = service.resolve(lookup).await?.ok_or_else(missing)?;
            answer(service, caller, row, uri, headers).await
        }
    }
}

/// The query of a resolver request.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, non_snake_case)]
struct ResolveQuery {
    /// A link type: `linkset` or `all` (the linkset), `gs1:pip` (the page), `gs1:dpp` or
    /// `gs1:defaultLink` (the credential; `gs1:certificationInfo` and `ree:verifiableCredential`
    /// too, as earlier releases offered it), `gs1:sustainabilityInfo`, `gs1:traceability`,
    /// `version-history`, `ree:qrCode`, `ree:issuer`, `ree:modelPassport` (redirects, passing
    /// the other query parameters on). Full URIs work too. A type the product has no link of is
    /// 404 (GS1-Conformant Resolver Standard 1.2.0, section 2.6.2); an empty value is no
    /// `linkType`.
    linkType: Option<String>,
}

/// Where a product's page and its linkset point to.
fn product_links(service: &PassportService, view: &PassportView) -> ProductLinks {
    let base = service.base_url();
    let id = view.id;
    let product = view.uri.clone();
    ProductLinks {
        page: format!("{product}?linkType=gs1:pip"),
        linkset: format!("{product}?linkType=linkset"),
        credential: view.links.credential.clone(),
        versions: view.links.versions.clone(),
        qr_svg: view.links.qr_svg.clone(),
        qr_png: format!("{base}/api/v1/passports/{id}/qr.png"),
        label_svg: format!("{base}/api/v1/passports/{id}/label.svg"),
        label_pdf: format!("{base}/api/v1/passports/{id}/label.pdf"),
        did_document: view.links.did_document.clone(),
        custody: format!("{base}/api/v1/custody/{id}"),
        model: view.subject.product.model_passport.clone(),
        product,
    }
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            headers.insert(name, value);
        }
        Err(_) => tracing::warn!(header = %name, "header value is not valid; left out"),
    }
}

/// Answers for a found passport in a representation other than the bare credential.
async fn answer(
    service: &PassportService,
    caller: Option<Principal>,
    row: Passport,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    let version = service.current_version(&row).await?;
    let namespace = ree_namespace(service.base_url());
    let view = service.view(caller.as_ref(), &row, &version)?;
    let links = product_links(service, &view);
    let mut response = match choose(uri, headers, &links, &namespace)? {
        Choice::Redirect(target) => {
            let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
            set(response.headers_mut(), header::LOCATION, &target);
            response
        }
        Choice::Answer(Representation::Html) => {
            let conformity = service.page_conformity(caller.as_ref(), &row, &version);
            let link = service.free_access_link(&row, conformity.as_ref());
            let html = page::render(&PageView {
                passport: &view,
                verification: &check::verification(service, &row, &version).await?,
                links: &links,
                free_access: link.as_deref(),
                conformity: conformity.as_ref(),
            });
            let mut response = html.into_response();
            let h = response.headers_mut();
            set(h, header::CONTENT_TYPE, "text/html; charset=utf-8");
            set(
                h,
                header::CONTENT_SECURITY_POLICY,
                page::content_security_policy(),
            );
            set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
            set(h, header::REFERRER_POLICY, "no-referrer");
            response
        }
        Choice::Answer(Representation::Linkset) => {
            let set_body = linkset::linkset(&links, &view.subject.product.name, &namespace);
            let body = serde_json::to_string(&set_body).map_err(|e| {
                tracing::error!(error = %e, "linkset does not serialise");
                Problem::internal()
            })?;
            let mut response = body.into_response();
            set(
                response.headers_mut(),
                header::CONTENT_TYPE,
                Representation::Linkset.media_type(),
            );
            response
        }
        Choice::Answer(Representation::Jwt) => crate::api::passports::jwt_response(&version)?,
        Choice::Answer(credential) => {
            let mut response = version.credential.into_response();
            set(
                response.headers_mut(),
                header::CONTENT_TYPE,
                credential.media_type(),
            );
            response
        }
    };
    common_headers(
        &mut response,
        &links.linkset,
        &links.product,
        caller.is_some(),
    );
    Ok(response)
}

/// `Accept`, if the request has a readable one.
fn accept(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCEPT)
        .map(|v| v.to_str().unwrap_or("*/*"))
}

/// The `Link` and `Cache-Control` headers of every answer about a found passport: the linkset
/// (RFC 9264 section 6; the GS1-Conformant Resolver Standard's conformance statement asks for
/// it on every answer, redirects included), the canonical identifier, and on a linkset GS1's
/// JSON-LD context for it (release 1.2.0, section 2.10, item 13).
fn common_headers(response: &mut Response, linkset: &str, product: &str, private: bool) {
    let h = response.headers_mut();
    let mut link = format!(
        "<{linkset}>; rel=\"linkset\"; type=\"application/linkset+json\", <{product}>; rel=\"canonical\""
    );
    if h.get(header::CONTENT_TYPE)
        .is_some_and(|v| v == Representation::Linkset.media_type())
    {
        link.push_str(&format!(
            ", <{}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"",
            linkset::GS1_LINKSET_CONTEXT
        ));
    }
    set(h, header::LINK, &link);
    // The tier decides what a page shows: keep pages cut for a key out of shared caches.
    let cache = if private {
        "private, no-cache"
    } else {
        "public, max-age=60"
    };
    set(h, header::CACHE_CONTROL, cache);
}
