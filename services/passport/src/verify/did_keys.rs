//! The asserting keys of a DID, read out of its DID document.

use reetrace_core::crypto::{VerifyingKey, parse_public_key_jwk, parse_public_key_multibase};
use serde_json::{Map, Value};

/// The Ed25519 keys a DID lists under `assertionMethod`, by verification method id.
#[derive(Debug, Clone)]
pub struct DidKeys {
    did: String,
    methods: Vec<(String, VerifyingKey)>,
}

impl DidKeys {
    /// Keys of `did`; each method id is a full DID URL (`did#fragment`).
    pub fn new(did: impl Into<String>, methods: Vec<(String, VerifyingKey)>) -> Self {
        Self {
            did: did.into(),
            methods,
        }
    }

    /// The DID these keys belong to.
    pub fn did(&self) -> &str {
        &self.did
    }

    /// The key of verification method `method`, if it may assert.
    pub fn get(&self, method: &str) -> Option<VerifyingKey> {
        self.methods
            .iter()
            .find(|(id, _)| id == method)
            .map(|(_, key)| *key)
    }

    /// Reads the asserting Ed25519 keys out of a DID document of `did`: the methods referenced
    /// (or embedded) under `assertionMethod`, controlled by `did`, of type `Multikey` (or
    /// `Ed25519VerificationKey2020`) with `publicKeyMultibase`, or `JsonWebKey` (or
    /// `JsonWebKey2020`) with an Ed25519 `publicKeyJwk`. Other keys are left out.
    pub fn from_document(did: &str, document: &Value) -> Result<DidKeys, String> {
        let doc = document
            .as_object()
            .ok_or("the DID document is not a JSON object")?;
        if doc.get("id").and_then(Value::as_str) != Some(did) {
            return Err(format!("the DID document is not the document of {did}"));
        }
        let absolute = |id: &str| {
            if id.starts_with('#') {
                format!("{did}{id}")
            } else {
                id.to_owned()
            }
        };
        let declared: Vec<&Map<String, Value>> = doc
            .get("verificationMethod")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_object).collect())
            .unwrap_or_default();
        let mut methods = Vec::new();
        for entry in doc
            .get("assertionMethod")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let method = match entry {
                Value::String(reference) => {
                    let id = absolute(reference);
                    declared.iter().copied().find(|m| {
                        m.get("id")
                            .and_then(Value::as_str)
                            .is_some_and(|m| absolute(m) == id)
                    })
                }
                Value::Object(embedded) => Some(embedded),
                _ => None,
            };
            let Some(method) = method else { continue };
            let Some(id) = method.get("id").and_then(Value::as_str).map(absolute) else {
                continue;
            };
            let kind = method.get("type").and_then(Value::as_str);
            let controller = method.get("controller").and_then(Value::as_str);
            if controller != Some(did) || !id.starts_with(did) {
                continue;
            }
            let key = match kind {
                Some("Multikey" | "Ed25519VerificationKey2020") => method
                    .get("publicKeyMultibase")
                    .and_then(Value::as_str)
                    .and_then(|mb| parse_public_key_multibase(mb).ok()),
                Some("JsonWebKey" | "JsonWebKey2020") => method
                    .get("publicKeyJwk")
                    .and_then(Value::as_object)
                    .and_then(|jwk| parse_public_key_jwk(jwk).ok()),
                _ => None,
            };
            if let Some(key) = key {
                methods.push((id, key));
            }
        }
        Ok(DidKeys::new(did, methods))
    }
}
