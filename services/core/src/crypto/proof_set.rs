//! Proof sets and proof chains (W3C VC Data Integrity 1.0, "Proof Sets", "Proof Chains" and the
//! algorithms "Add Proof Set/Chain" and "Verify Proof Sets and Chains").
//!
//! A `proof` array holds several proofs of one document, e.g. the issuer's and a
//! countersignature. A member without `previousProof` signs the document without `proof`, as a
//! lone proof does. A member with `previousProof` (one id, or a list of them) is a link of a
//! chain: it signs the document with `proof` set to the list of the proofs it names, in the
//! order of the set and with their `proofValue`s, so it vouches for them as well. The same bytes
//! are hashed here for `eddsa-jcs-2022` as the W3C `vc-di-eddsa` test vectors
//! (`TestVectors/proof-set-chain`) show for the RDF cryptosuite: the temporary document with
//! the matching proofs as its `proof`.
//!
//! Reading a set yields one [`SetMember`] per proof, each checked on its own: a member that is
//! malformed, or names a previous proof the set lacks, is a failed member, not a failed set, so
//! a verifier can say which proof is wrong.

use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Map, Value};

use super::data_integrity::{
    EmbeddedProof, ProofOptions, encode_proof_value, hash_data, proof_configuration,
};
use super::error::ProofError;
use super::jcs;

/// The most proofs a set may have here. Data Integrity sets no bound; a verifier needs one, as
/// each member costs a key lookup and a signature check, and a chain link a scan of the set.
pub const MAX_PROOFS: usize = 32;

/// One proof of a secured document.
#[derive(Debug)]
pub struct SetMember<'a> {
    /// The proof as found (any JSON value: a member of an array need not be an object).
    pub raw: &'a Value,
    /// The proof, checked and ready for its key, or why it cannot be verified.
    pub proof: Result<EmbeddedProof<'a>, ProofError>,
}

impl SetMember<'_> {
    /// A string property of the raw proof (`verificationMethod`, `cryptosuite`, `id`), for
    /// reporting a member whether or not it parsed.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.raw.get(name).and_then(Value::as_str)
    }

    /// The ids the proof names in `previousProof` (empty when it names none or is malformed).
    pub fn previous_proof(&self) -> Vec<&str> {
        match self.raw.get("previousProof") {
            Some(Value::String(id)) => vec![id.as_str()],
            Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// The proofs of `secured`: one for a single proof object, one per member of a `proof` array.
/// `Err` when there is nothing to verify at all (not an object, no proof, an empty list, a
/// `proof` that is neither an object nor an array) or too much (over [`MAX_PROOFS`] proofs).
pub fn members(secured: &Value) -> Result<Vec<SetMember<'_>>, ProofError> {
    let document = secured.as_object().ok_or(ProofError::DocumentNotObject)?;
    let all = match document.get("proof") {
        None => return Err(ProofError::MissingProof),
        Some(Value::Array(all)) if all.is_empty() => return Err(ProofError::EmptyProofSet),
        Some(Value::Array(all)) if all.len() > MAX_PROOFS => {
            return Err(ProofError::TooManyProofs(all.len()));
        }
        Some(Value::Array(all)) => all.as_slice(),
        Some(one @ Value::Object(_)) => std::slice::from_ref(one),
        Some(_) => return Err(ProofError::ProofNotObject),
    };
    Ok(all
        .iter()
        .map(|raw| SetMember {
            raw,
            proof: member(document, all, raw),
        })
        .collect())
}

fn member<'a>(
    document: &'a Map<String, Value>,
    all: &'a [Value],
    raw: &'a Value,
) -> Result<EmbeddedProof<'a>, ProofError> {
    let proof = raw.as_object().ok_or(ProofError::ProofNotObject)?;
    let previous = match proof.get("previousProof") {
        None => None,
        Some(named) => {
            let own = proof.get("id").and_then(Value::as_str);
            Some(Value::Array(matching(all, &previous_ids(named)?, own)?))
        }
    };
    EmbeddedProof::member(document, proof, previous)
}

/// The ids of a `previousProof` value.
fn previous_ids(value: &Value) -> Result<Vec<&str>, ProofError> {
    match value {
        Value::String(id) => Ok(vec![id.as_str()]),
        Value::Array(ids) if !ids.is_empty() => ids
            .iter()
            .map(|id| id.as_str().ok_or(ProofError::InvalidPreviousProof))
            .collect(),
        _ => Err(ProofError::InvalidPreviousProof),
    }
}

/// The proofs of `all` whose `id` is one of `ids`, in the order of the set; each id must name
/// exactly one proof, and not the proof (`own`) that names them.
fn matching(all: &[Value], ids: &[&str], own: Option<&str>) -> Result<Vec<Value>, ProofError> {
    fn id_of(proof: &Value) -> Option<&str> {
        proof.get("id").and_then(Value::as_str)
    }
    for &id in ids {
        if own == Some(id) {
            return Err(ProofError::SelfReferencingProof(id.to_owned()));
        }
        match all.iter().filter(|p| id_of(p) == Some(id)).count() {
            0 => return Err(ProofError::UnknownPreviousProof(id.to_owned())),
            1 => {}
            _ => return Err(ProofError::AmbiguousPreviousProof(id.to_owned())),
        }
    }
    Ok(all
        .iter()
        .filter(|p| id_of(p).is_some_and(|id| ids.contains(&id)))
        .cloned()
        .collect())
}

/// What a proof added to a set states beyond [`ProofOptions`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetOptions<'a> {
    /// The new proof's `id`, so that later proofs can chain to it.
    pub id: Option<&'a str>,
    /// The ids of the proofs the new one chains to (empty: a proof set member).
    pub previous_proof: &'a [&'a str],
}

/// Adds an `eddsa-jcs-2022` proof to `secured` (which has a proof or a proof set already):
/// the "Add Proof Set/Chain" algorithm. Returns the document with `proof` as a list, the new
/// proof last.
pub fn add_proof(
    mut secured: Value,
    options: &ProofOptions<'_>,
    set: &SetOptions<'_>,
    key: &SigningKey,
) -> Result<Value, ProofError> {
    let document = secured
        .as_object_mut()
        .ok_or(ProofError::DocumentNotObject)?;
    let mut all = match document.remove("proof") {
        None => return Err(ProofError::MissingProof),
        Some(Value::Array(all)) => all,
        Some(one @ Value::Object(_)) => vec![one],
        Some(_) => return Err(ProofError::ProofNotObject),
    };
    let mut input = document.clone();
    if !set.previous_proof.is_empty() {
        input.insert(
            "proof".to_owned(),
            Value::Array(matching(&all, set.previous_proof, set.id)?),
        );
    }
    let mut proof = proof_configuration(&secured, options)?;
    if let Some(id) = set.id {
        proof.insert("id".to_owned(), id.into());
    }
    match set.previous_proof {
        [] => {}
        [one] => {
            proof.insert("previousProof".to_owned(), (*one).into());
        }
        many => {
            proof.insert("previousProof".to_owned(), many.to_vec().into());
        }
    }
    let canonicalization = |e: super::CryptoError| ProofError::Canonicalization(e.to_string());
    let config = jcs::canonicalize_map(&proof).map_err(canonicalization)?;
    let canonical_input = jcs::canonicalize_map(&input).map_err(canonicalization)?;
    let signature = key.sign(&hash_data(&config, &canonical_input));
    proof.insert(
        "proofValue".to_owned(),
        encode_proof_value(&signature).into(),
    );
    all.push(Value::Object(proof));
    secured
        .as_object_mut()
        .ok_or(ProofError::DocumentNotObject)?
        .insert("proof".to_owned(), Value::Array(all));
    Ok(secured)
}

#[cfg(test)]
#[path = "proof_set_tests.rs"]
mod tests;
