//! VC-API: verify any credential (public), issue a generic credential (manufacturers).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use reetrace_core::api::auth::Auth;
use reetrace_core::api::codes::{AUTHENTICATED, BAD_REQUEST, FORBIDDEN, JSON_BODY, PUBLIC, listed};
use reetrace_core::api::extract::{parse_json, require_json_content_type};
use reetrace_core::api::problem::Problem;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PassportState;
use crate::domain::vc_api::IssuerForm;
use crate::verify::VerificationResult;

pub fn router() -> OpenApiRouter<PassportState> {
    OpenApiRouter::new()
        .routes(routes!(verify))
        .routes(routes!(issue))
}

/// Options of `POST /credentials/issue`.
///
/// The VC-API leaves the choice of issuer identifier to the issuer instance; `issuer` is ours.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueOptions {
    /// `did:web` (default) or `did:key`.
    #[serde(default)]
    pub issuer: IssuerForm,
    /// VC-API: the caller's name for the credential. Accepted for compatibility; generic
    /// credentials are not kept, so nothing refers to it later.
    #[serde(default)]
    #[allow(dead_code)]
    // accepted (and checked to be a string) for VC-API clients that send it
    pub credential_id: Option<String>,
}

/// The body of `POST /credentials/issue`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// The unsigned credential: `@context` starting with the VC 2.0 context, `type` with
    /// `VerifiableCredential`, a `credentialSubject`. `issuer` may be left out (it is set to the
    /// caller's organisation), `validFrom` too (it is set to now).
    #[schema(value_type = Object)]
    pub credential: Value,
    #[serde(default)]
    pub options: Option<IssueOptions>,
}

/// The answer of `POST /credentials/issue`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssueResponse {
    /// The credential with its `eddsa-jcs-2022` proof.
    #[schema(value_type = Object)]
    pub verifiable_credential: Value,
}

/// The body of `POST /credentials/verify`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyRequest {
    /// The credential to verify: with its embedded `eddsa-jcs-2022` proof, or an
    /// `EnvelopedVerifiableCredential` whose `id` is `data:application/vc+jwt,<compact JWS>`.
    #[serde(rename = "verifiableCredential")]
    #[schema(value_type = Object)]
    pub verifiable_credential: Value,
    /// VC-API verification options; none changes what is checked yet.
    #[serde(default)]
    #[allow(dead_code)] // accepted (and checked to be an object) for VC-API clients that send it
    #[schema(value_type = Option<Object>)]
    pub options: Option<serde_json::Map<String, Value>>,
}

/// Verifies a credential (VC-API).
///
/// Checks the `eddsa-jcs-2022` proof (purpose `assertionMethod`), or, for an
/// `EnvelopedVerifiableCredential` (VC Data Model 2.0; VC-JOSE-COSE), the compact JWS in its
/// `data:application/vc+jwt,` id (`alg` `EdDSA`, `typ` `vc+jwt`, `kid` the verification method);
/// that the signing key is an assertion method of the `issuer`'s DID document and the DID is the
/// issuer; the validity
/// period (`validFrom`, `validUntil`); and each `BitstringStatusListEntry` (its status list
/// credential verified the same way): revocation and suspension fail verification, a set
/// `message` bit (a newer version superseded this one) is a warning.
///
/// `did:key` is resolved locally, our own organisations' `did:web` from our database, other
/// `did:web` only for hosts on the configured allowlist; nothing else is fetched. Answers 200
/// with the result when verified, 400 with the same result object (`verified: false`, `errors`
/// naming each failed check) when not. A body that is not a JSON request is a problem.
#[utoipa::path(
    post, path = "/credentials/verify", tag = "credentials", operation_id = "verifyCredential",
    request_body(
        content = VerifyRequest,
        description = "The credential and, optionally, VC-API options",
        example = json!({"verifiableCredential": {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "urn:uuid:0196a6f2-5a1b-7cc3-9a53-5b0f5b1c9e21",
            "type": ["VerifiableCredential", "DigitalProductPassport"],
            "issuer": "did:web:passports.example.eu:orgs:0196a6f2-0000-7000-8000-000000000001",
            "validFrom": "2026-04-15T10:00:00Z",
            "credentialSubject": {"id": "https://passports.example.eu/01/04012345000016/21/EVM-1"},
            "proof": {
                "type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
                "created": "2026-04-15T10:00:00Z",
                "verificationMethod": "did:web:passports.example.eu:orgs:0196a6f2-0000-7000-8000-000000000001#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                "proofPurpose": "assertionMethod",
                "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a22gkfUKKTgHtiA4GHsv25Dp5"
            }
        }})
    ),
    responses(
        (status = 200, description = "The credential verified (warnings may still say something)", body = VerificationResult),
        (status = 400, description = "The credential did not verify: the VC-API result object with `verified: false` and the failed checks in `errors` (application/json); or the request body is not JSON (problem+json)",
            content(
                (VerificationResult = "application/json"),
                (Problem = "application/problem+json"),
            )),
        (status = 415, description = "The body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is JSON but not a verify request (e.g. no `verifiableCredential`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, JSON_BODY, &[BAD_REQUEST]])))),
)]
async fn verify(
    State(state): State<PassportState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    require_json_content_type(&headers)?;
    // serde_json directly on the hot path; the slower, pointer-naming parser only explains
    // a body that failed.
    let request: VerifyRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => parse_json(&body)?,
    };
    let result = state
        .service
        .verify_credential(&request.verifiable_credential)
        .await;
    let status = if result.verified {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = serde_json::to_vec(&result).map_err(|_| Problem::internal())?;
    Ok((status, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Issues a generic credential (VC-API).
///
/// Manufacturer only. Signs any W3C VC 2.0 credential for the caller's organisation with its
/// active key: `@context` must start with the VC 2.0 context, `type` contain
/// `VerifiableCredential`, and a `credentialSubject` be there. `issuer` is set to the
/// organisation (a different issuer is refused, 422 naming `/credential/issuer`), `validFrom` to
/// now when absent. `options.issuer: "did:key"` expresses the key as a `did:key` (issuer and
/// verification method), for tools that cannot resolve `did:web`. These credentials are not
/// stored and get no status entry from us.
#[utoipa::path(
    post, path = "/credentials/issue", tag = "credentials", operation_id = "issueCredential",
    request_body(
        content = IssueRequest,
        description = "The unsigned credential and the options",
        example = json!({
            "credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential", "MagnetRecoveryCertificate"],
                "credentialSubject": {"id": "urn:uuid:0196a6f2-5a1b-7cc3-9a53-5b0f5b1c9e21", "ndfeb_recovered_kg": 12.5}
            },
            "options": {"issuer": "did:key"}
        })
    ),
    responses(
        (status = 201, description = "The signed credential", body = IssueResponse),
        (status = 422, description = "The credential is not an unsigned VC 2.0 credential of the caller (`errors` name the fields, e.g. `/credential/issuer`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, &[BAD_REQUEST, FORBIDDEN]])))),
)]
async fn issue(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    require_json_content_type(&headers)?;
    let request: IssueRequest = parse_json(&body)?;
    let form = request.options.unwrap_or_default().issuer;
    let signed = state
        .service
        .issue_credential(&caller, request.credential, form)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(IssueResponse {
            verifiable_credential: signed,
        }),
    )
        .into_response())
}
