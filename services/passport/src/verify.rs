//! Verifying credentials: the `eddsa-jcs-2022` proof (or proof set, [`proofs`]), the binding of
//! a key to the issuer, the validity period and the Bitstring Status List entries, as one report.
//!
//! The logic here does no I/O of its own: DID documents and status list credentials come from a
//! [`DidResolver`] and a [`StatusListSource`], so that the server (our store, allowlisted hosts:
//! `service::verification`) and the `reetrace verify` command (files, one reetrace instance)
//! run the same checks. `did:key` is resolved here, since it needs nothing but the identifier.
//! Both fetch from other hosts with [`crate::client::lookup`], within the limits they allow.

pub mod cache;
mod did_keys;
mod proofs;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::crypto::data_integrity::parse_date_time_stamp;
use reetrace_core::crypto::jose::{self, Jws};
use reetrace_core::crypto::{StatusList, VerifyingKey, parse_did_key};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub use cache::VerifyCache;
pub use did_keys::DidKeys;
pub use proofs::ProofReport;

use proofs::ProofCheck;

/// The check of the signature and its proof options.
pub const CHECK_PROOF: &str = "proof";
/// The check that the signing key is an assertion method of the issuer.
pub const CHECK_ISSUER: &str = "issuer";
/// The check of `validFrom` and `validUntil`.
pub const CHECK_VALIDITY: &str = "validity";
/// The check of the `credentialStatus` entries.
pub const CHECK_STATUS: &str = "status";

/// The status list entry type we understand.
const STATUS_ENTRY_TYPE: &str = "BitstringStatusListEntry";
/// Widest status entry we read (`statusSize` bits); the spec's messages need a handful.
const MAX_STATUS_SIZE: u64 = 16;

/// One finding of a check: what failed (or deserves a word) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Finding {
    /// The check: `proof`, `issuer`, `validity` or `status`.
    pub check: String,
    /// What was found, for people.
    pub message: String,
}

impl Finding {
    pub fn new(check: &str, message: impl Into<String>) -> Self {
        Self {
            check: check.to_owned(),
            message: message.into(),
        }
    }
}

/// The outcome of verifying a credential (VC-API `VerificationResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "verified": true,
    "checks": ["proof", "issuer", "validity", "status"],
    "warnings": [{"check": "status", "message": "superseded by a newer version"}],
    "errors": [],
    "proofs": [{
        "verificationMethod": "did:web:passports.example:orgs:0190c4d2-8a4e-7c1f-9a4b-2f6d1e0c3b5a#0190c4d2-8a4f-7000-8000-000000000001",
        "cryptosuite": "eddsa-jcs-2022",
        "issuer": true,
        "valid": true
    }]
}))]
pub struct VerificationResult {
    /// True when every check passed (warnings do not count against it).
    pub verified: bool,
    /// The checks that were made and passed.
    pub checks: Vec<String>,
    /// What a relying party should know although the credential verified (or what could not be
    /// checked, e.g. status offline).
    pub warnings: Vec<Finding>,
    /// Why the credential did not verify.
    pub errors: Vec<Finding>,
    /// The result of each Data Integrity proof, in the order of the credential's `proof` (one
    /// for a single proof; each member of a proof set or chain). Empty for a credential secured
    /// as a JWS, or one whose proof is too malformed to read.
    #[serde(default)]
    pub proofs: Vec<ProofReport>,
}

impl VerificationResult {
    fn passed(&mut self, check: &str) {
        self.checks.push(check.to_owned());
    }

    fn error(&mut self, check: &str, message: impl Into<String>) {
        self.errors.push(Finding::new(check, message));
    }

    fn warn(&mut self, check: &str, message: impl Into<String>) {
        self.warnings.push(Finding::new(check, message));
    }

    fn finish(mut self) -> Self {
        self.verified = self.errors.is_empty();
        self
    }
}

/// Where `did:web` DID documents come from.
#[async_trait]
pub trait DidResolver: Send + Sync {
    /// The asserting keys of `did` (a `did:web`), or why they cannot be had.
    async fn resolve(&self, did: &str) -> Result<DidKeys, String>;
}

/// Where status list credentials come from.
#[async_trait]
pub trait StatusListSource: Send + Sync {
    /// The status list credential at `url`: `Ok(None)` when this source cannot look it up at all
    /// (offline), an error when the lookup failed or is not allowed.
    async fn status_list(&self, url: &str) -> Result<Option<Value>, String>;
}

/// A status list credential whose proof checked out, decoded.
#[derive(Debug)]
pub struct VerifiedList {
    /// The list credential's issuer.
    pub issuer: String,
    /// Its `statusPurpose` values.
    pub purposes: Vec<String>,
    /// The decoded bitstring.
    pub bits: StatusList,
}

/// Checks credentials against a resolver and a status list source, remembering what they
/// answered for a while in `cache`.
pub struct CredentialVerifier<'a> {
    pub resolver: &'a dyn DidResolver,
    pub status: &'a dyn StatusListSource,
    pub cache: &'a VerifyCache,
}

impl CredentialVerifier<'_> {
    /// Verifies `credential` at time `now`: a credential with its embedded `eddsa-jcs-2022`
    /// proof, or an `EnvelopedVerifiableCredential` whose `id` carries the credential as a
    /// compact JWS (VC-JOSE-COSE).
    pub async fn verify(&self, credential: &Value, now: DateTime<Utc>) -> VerificationResult {
        if let Some(envelope) = jose::enveloped(credential) {
            return match envelope {
                Ok(compact) => self.verify_jws(compact, now).await,
                Err(malformed) => {
                    let mut result = VerificationResult::default();
                    result.error(CHECK_PROOF, malformed);
                    result.finish()
                }
            };
        }
        let check = match self.check_proof(credential).await {
            Ok(check) => check,
            Err(malformed) => {
                let mut result = VerificationResult::default();
                result.error(CHECK_PROOF, malformed);
                return result.finish();
            }
        };
        self.conclude(credential, check, now).await
    }

    /// Verifies a credential secured as a compact JWS (`vc+jwt`): the same four checks, on its
    /// payload, the signature being the JWS's.
    pub async fn verify_jws(&self, compact: &str, now: DateTime<Utc>) -> VerificationResult {
        let jws = match Jws::parse(compact) {
            Ok(jws) => jws,
            Err(malformed) => {
                let mut result = VerificationResult::default();
                result.error(CHECK_PROOF, malformed.to_string());
                return result.finish();
            }
        };
        let issuer = issuer_id(&jws.payload);
        let method = jws.kid.as_str();
        let mut issuer_bound = issuer_binding(issuer, method);
        let proof = match self.assertion_key(method).await {
            Ok(key) => jws.verify_with_key(&key).map_err(|e| e.to_string()),
            Err(e) => {
                if issuer_bound.is_ok() {
                    issuer_bound = Err(e);
                }
                Err("the signature could not be checked without the issuer's key".into())
            }
        };
        let check = ProofCheck {
            issuer,
            proof: proof.map_err(|e| vec![e]),
            issuer_bound,
            proofs: Vec::new(),
        };
        self.conclude(&jws.payload, check, now).await
    }

    /// The report of a credential whose proof was checked: the proof and issuer findings, then
    /// validity and, for an authentic credential, status.
    async fn conclude(
        &self,
        credential: &Value,
        check: ProofCheck<'_>,
        now: DateTime<Utc>,
    ) -> VerificationResult {
        let mut result = VerificationResult {
            proofs: check.proofs,
            ..VerificationResult::default()
        };
        let authentic = check.proof.is_ok() && check.issuer_bound.is_ok();
        match check.proof {
            Ok(()) => result.passed(CHECK_PROOF),
            Err(failures) => failures
                .into_iter()
                .for_each(|e| result.error(CHECK_PROOF, e)),
        }
        match check.issuer_bound {
            Ok(()) => result.passed(CHECK_ISSUER),
            Err(e) => result.error(CHECK_ISSUER, e),
        }
        let Some(document) = credential.as_object() else {
            return result.finish();
        };
        match validity(document, now) {
            Ok(()) => result.passed(CHECK_VALIDITY),
            Err(e) => result.error(CHECK_VALIDITY, e),
        }
        // The status of a credential whose signature or issuer failed says nothing, and
        // looking it up would only cost fetches.
        if authentic && let Some(issuer) = check.issuer {
            self.check_status(document, issuer, now, &mut result).await;
        }
        result.finish()
    }

    /// The key of `method`, which its DID must list under `assertionMethod`.
    async fn assertion_key(&self, method: &str) -> Result<VerifyingKey, String> {
        let did = method.split('#').next().unwrap_or(method);
        if did.starts_with("did:key:") {
            return parse_did_key(method)
                .map_err(|e| format!("the did:key {method} is not usable: {e}"));
        }
        if !did.starts_with("did:web:") {
            return Err(format!(
                "issuer not resolvable: {did} is neither a did:key nor a did:web"
            ));
        }
        if !method.contains('#') {
            return Err(format!("the verification method {method} names no key"));
        }
        let keys = self.did_keys(did, false).await?;
        if let Some(key) = keys.get(method) {
            return Ok(key);
        }
        // A key added since the answer was cached (a rotation) shows up on a fresh look.
        let keys = self.did_keys(did, true).await?;
        keys.get(method).ok_or_else(|| {
            format!("{method} is not an assertion method in the DID document of {did}")
        })
    }

    async fn did_keys(&self, did: &str, refresh: bool) -> Result<Arc<DidKeys>, String> {
        if let Some(cached) = self.cache.did(did, refresh) {
            return cached;
        }
        let generation = self.cache.generation();
        let answer = self.resolver.resolve(did).await.map(Arc::new);
        self.cache.keep_did(did, answer.clone(), generation);
        answer
    }

    async fn check_status(
        &self,
        document: &Map<String, Value>,
        issuer: &str,
        now: DateTime<Utc>,
        result: &mut VerificationResult,
    ) {
        let entries: Vec<&Value> = match document.get("credentialStatus") {
            None => return,
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one) => vec![one],
        };
        let mut failed = false;
        let mut unchecked = false;
        for entry in entries {
            match self.entry_status(entry, issuer, now).await {
                Ok(Outcome::Clear) => {}
                Ok(Outcome::Warn(message)) => result.warn(CHECK_STATUS, message),
                Ok(Outcome::Unchecked(message)) => {
                    unchecked = true;
                    result.warn(CHECK_STATUS, message);
                }
                Err(message) => {
                    failed = true;
                    result.error(CHECK_STATUS, message);
                }
            }
        }
        if !failed && !unchecked {
            result.passed(CHECK_STATUS);
        }
    }

    /// What one `credentialStatus` entry says.
    async fn entry_status(
        &self,
        entry: &Value,
        issuer: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, String> {
        let entry = entry
            .as_object()
            .ok_or("a credentialStatus entry is not an object")?;
        let kind = entry.get("type").and_then(Value::as_str).unwrap_or("");
        if kind != STATUS_ENTRY_TYPE {
            return Ok(Outcome::Unchecked(format!(
                "status entries of type {kind:?} are not checked"
            )));
        }
        let purpose = entry
            .get("statusPurpose")
            .and_then(Value::as_str)
            .ok_or("a status entry has no statusPurpose")?;
        let url = entry
            .get("statusListCredential")
            .and_then(Value::as_str)
            .ok_or("a status entry has no statusListCredential")?;
        let index = match entry.get("statusListIndex") {
            Some(Value::String(s)) => s.parse::<u64>().ok(),
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        }
        .ok_or("a status entry's statusListIndex is not a non-negative integer")?;
        let size = match entry.get("statusSize") {
            None => 1,
            Some(v) => v
                .as_u64()
                .filter(|s| (1..=MAX_STATUS_SIZE).contains(s))
                .ok_or("a status entry's statusSize is not an integer from 1 to 16")?,
        };
        let list = match self.status_list(url, now).await? {
            Some(list) => list,
            None => {
                return Ok(Outcome::Unchecked(format!(
                    "{purpose} status not checked: the status list {url} is not available offline"
                )));
            }
        };
        if !list.purposes.iter().any(|p| p == purpose) {
            return Err(format!(
                "the status list {url} is not a {purpose} list (it says {})",
                list.purposes.join(", ")
            ));
        }
        let value = read_entry(&list.bits, index, size)
            .ok_or_else(|| format!("status index {index} is outside the status list {url}"))?;
        // Anyone can sign a list; only the issuer's own list speaks for its credentials.
        if list.issuer != issuer {
            return Err(format!(
                "the status list {url} is issued by {}, not by the credential's issuer",
                list.issuer
            ));
        }
        Ok(match (purpose, value) {
            (_, 0) => Outcome::Clear,
            ("revocation", _) => return Err("revoked".into()),
            ("suspension", _) => return Err("suspended".into()),
            ("message", value) => Outcome::Warn(status_message(entry, value)),
            (other, value) => Outcome::Warn(format!("{other} status is {value:#x}")),
        })
    }

    /// The verified list at `url` (cached), `None` when the source is offline.
    async fn status_list(
        &self,
        url: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Arc<VerifiedList>>, String> {
        if let Some(cached) = self.cache.list(url) {
            return cached.map(Some);
        }
        let generation = self.cache.generation();
        let answer = match self.status.status_list(url).await {
            Ok(None) => return Ok(None),
            Ok(Some(credential)) => self.verify_list(url, &credential, now).await.map(Arc::new),
            Err(e) => Err(e),
        };
        self.cache.keep_list(url, answer.clone(), generation);
        answer.map(Some)
    }

    /// Checks a status list credential: its proof, issuer binding, shape and validity.
    async fn verify_list(
        &self,
        url: &str,
        credential: &Value,
        now: DateTime<Utc>,
    ) -> Result<VerifiedList, String> {
        let bad = |why: &str| format!("the status list {url} {why}");
        let check = self
            .check_proof(credential)
            .await
            .map_err(|e| bad(&format!("has no usable proof: {e}")))?;
        check
            .proof
            .map_err(|e| bad(&format!("does not verify: {}", e.join("; "))))?;
        check
            .issuer_bound
            .map_err(|e| bad(&format!("is not signed by its issuer: {e}")))?;
        let issuer = check.issuer.ok_or_else(|| bad("names no issuer"))?;
        let document = credential
            .as_object()
            .ok_or_else(|| bad("is not an object"))?;
        if let Some(id) = document.get("id")
            && id.as_str() != Some(url)
        {
            return Err(bad("has another id than its URL"));
        }
        if !has_type(document.get("type"), "BitstringStatusListCredential") {
            return Err(bad("is not a BitstringStatusListCredential"));
        }
        validity(document, now).map_err(|e| bad(&format!("is not valid: {e}")))?;
        let subject = document
            .get("credentialSubject")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("has no credentialSubject"))?;
        let purposes: Vec<String> = match subject.get("statusPurpose") {
            Some(Value::String(p)) => vec![p.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => return Err(bad("has no statusPurpose")),
        };
        let encoded = subject
            .get("encodedList")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("has no encodedList"))?;
        let bits =
            StatusList::decode(encoded).map_err(|e| bad(&format!("does not decode: {e}")))?;
        Ok(VerifiedList {
            issuer: issuer.to_owned(),
            purposes,
            bits,
        })
    }
}

/// What a status entry says, short of a failure.
enum Outcome {
    Clear,
    Warn(String),
    Unchecked(String),
}

/// Whether the key `method` belongs to `issuer` (its DID is the issuer's).
fn issuer_binding(issuer: Option<&str>, method: &str) -> Result<(), String> {
    let controller = method.split('#').next().unwrap_or(method);
    match issuer {
        None => Err("the credential names no issuer".to_owned()),
        Some(issuer) if issuer != controller => Err(format!(
            "the signing key {method} is controlled by {controller}, not by the issuer {issuer}"
        )),
        Some(_) => Ok(()),
    }
}

/// The issuer's id: the `issuer` string, or the `id` of an issuer object.
pub fn issuer_id(document: &Value) -> Option<&str> {
    match document.get("issuer")? {
        Value::String(id) => Some(id),
        Value::Object(issuer) => issuer.get("id").and_then(Value::as_str),
        _ => None,
    }
}

fn has_type(types: Option<&Value>, wanted: &str) -> bool {
    match types {
        Some(Value::String(t)) => t == wanted,
        Some(Value::Array(list)) => list.iter().any(|t| t.as_str() == Some(wanted)),
        _ => false,
    }
}

/// `validFrom <= now < validUntil`, each when present.
fn validity(document: &Map<String, Value>, now: DateTime<Utc>) -> Result<(), String> {
    let at = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
        match document.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => parse_date_time_stamp(s)
                .map(|t| Some(t.with_timezone(&Utc)))
                .ok_or_else(|| format!("{name} {s:?} is not an XML Schema dateTimeStamp")),
            Some(_) => Err(format!("{name} is not a string")),
        }
    };
    if let Some(from) = at("validFrom")?
        && from > now
    {
        return Err(format!("not valid before {}", from.to_rfc3339()));
    }
    if let Some(until) = at("validUntil")?
        && until <= now
    {
        return Err(format!("expired at {}", until.to_rfc3339()));
    }
    Ok(())
}

/// The `size`-bit value of entry `index` (most significant bit first), if inside the list.
fn read_entry(bits: &StatusList, index: u64, size: u64) -> Option<u64> {
    let first = index.checked_mul(size)?;
    let mut value = 0u64;
    for offset in 0..size {
        let position = usize::try_from(first.checked_add(offset)?).ok()?;
        value = (value << 1) | u64::from(bits.get(position).ok()?);
    }
    Some(value)
}

/// The warning for a set `message` status: ours says a newer version superseded the credential.
fn status_message(entry: &Map<String, Value>, value: u64) -> String {
    let wanted = format!("{value:#x}");
    let message = entry
        .get("statusMessage")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|m| {
            m.get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case(&wanted))
        })
        .and_then(|m| m.get("message").and_then(Value::as_str));
    match message {
        Some("superseded") => "superseded by a newer version".to_owned(),
        Some(message) => format!("status message: {message}"),
        None => format!("status value {wanted} (no statusMessage for it)"),
    }
}
