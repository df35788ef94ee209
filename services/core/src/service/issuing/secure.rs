//! Securing a credential with an organisation's key: a Data Integrity proof
//! (`eddsa-jcs-2022`), a compact JWS (`vc+jwt`), or both over one JCS pass.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::ActiveKey;
use crate::crypto::jose::{self, JoseError};
use crate::crypto::{ProofError, ProofOptions, data_integrity, jcs};

/// Why a credential could not be secured.
#[derive(Debug, thiserror::Error)]
pub enum SecureError {
    /// The credential has no RFC 8785 form (a number JCS cannot write, ...).
    #[error("canonicalization failed: {0}")]
    Canonicalization(String),
    #[error("JWS signing failed: {0}")]
    Jws(#[from] JoseError),
    #[error("signing failed: {0}")]
    Proof(#[from] ProofError),
}

/// An organisation's active key and the DID it signs as: its verification method is
/// `<did>#<key id>`, a Multikey of the organisation's DID document.
#[derive(Debug, Clone)]
pub struct IssuerKey {
    issuer: String,
    method: String,
    key: Arc<ActiveKey>,
}

/// A credential secured twice: the text of it with its Data Integrity proof, and the detached
/// JWS of the same JCS bytes (`<header>..<signature>`, made whole with `crypto::jose::attach`).
#[derive(Debug, Clone)]
pub struct SecuredCredential {
    pub credential: String,
    pub detached_jws: String,
}

impl IssuerKey {
    /// `key` as used by `issuer` (the organisation's DID under the base URL it issues at).
    pub fn new(issuer: String, key: Arc<ActiveKey>) -> Self {
        let method = format!("{issuer}#{}", key.key_id);
        Self {
            issuer,
            method,
            key,
        }
    }

    /// The DID the credentials name as their `issuer`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The verification method: `<did>#<key id>`.
    pub fn verification_method(&self) -> &str {
        &self.method
    }

    /// The key itself (its id and the signing key).
    pub fn key(&self) -> &Arc<ActiveKey> {
        &self.key
    }

    /// `unsigned` with a Data Integrity `assertionMethod` proof created at `created`.
    pub fn sign(&self, unsigned: Value, created: DateTime<Utc>) -> Result<Value, ProofError> {
        data_integrity::sign(
            unsigned,
            &ProofOptions::assertion(&self.method, created),
            &self.key.signing,
        )
    }

    /// The compact JWS (`vc+jwt`) of `unsigned`.
    pub fn jws(&self, unsigned: &Value) -> Result<String, JoseError> {
        jose::sign(unsigned, &self.method, &self.key.signing)
    }

    /// The text of `unsigned` with a Data Integrity `assertionMethod` proof created at
    /// `created`; `unsigned` is any serializable document (a typed one is canonicalized without
    /// a `Value` tree).
    pub fn sign_text<T: Serialize + ?Sized>(
        &self,
        unsigned: &T,
        created: DateTime<Utc>,
    ) -> Result<String, SecureError> {
        let canonical = canonical(unsigned)?;
        self.proof_text(&canonical, created)
    }

    /// `unsigned` with its Data Integrity proof (as text) and its detached JWS, canonicalized
    /// once for both (Ed25519 is deterministic: the JWS is rebuilt from the credential when
    /// asked for).
    pub fn secure<T: Serialize + ?Sized>(
        &self,
        unsigned: &T,
        created: DateTime<Utc>,
    ) -> Result<SecuredCredential, SecureError> {
        let canonical = canonical(unsigned)?;
        let detached_jws = jose::sign_detached(&canonical, &self.method, &self.key.signing)?;
        Ok(SecuredCredential {
            credential: self.proof_text(&canonical, created)?,
            detached_jws,
        })
    }

    fn proof_text(&self, canonical: &[u8], created: DateTime<Utc>) -> Result<String, SecureError> {
        let options = ProofOptions::assertion(&self.method, created);
        let text = data_integrity::secure_canonical(canonical, &options, &self.key.signing)?;
        String::from_utf8(text).map_err(|e| SecureError::Canonicalization(e.to_string()))
    }
}

fn canonical<T: Serialize + ?Sized>(unsigned: &T) -> Result<Vec<u8>, SecureError> {
    jcs::canonicalize_serialize(unsigned).map_err(|e| SecureError::Canonicalization(e.to_string()))
}
