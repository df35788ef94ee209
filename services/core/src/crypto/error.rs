//! Typed errors of the crypto kernel.
//!
//! [`CryptoError`] covers every module; [`ProofError`] is the Data Integrity part, kept separate
//! so that a verifier can match exhaustively on *why* a credential was rejected and report it.

use std::path::PathBuf;

use thiserror::Error;

/// Errors a key resolver may return: whatever the resolver's own failure type is.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in [`crate::crypto`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// RFC 8785 serialization failed (a value that JSON cannot represent).
    #[error("JSON canonicalization failed: {0}")]
    Canonicalization(String),

    /// A multibase string did not start with the expected base prefix.
    #[error("multibase value must start with '{expected}'")]
    MultibasePrefix {
        /// The expected multibase prefix (`z` for base58btc, `u` for base64url).
        expected: char,
    },
    /// The base58btc payload could not be decoded.
    #[error("invalid base58btc: {0}")]
    Base58(String),
    /// The multicodec header is not the one this key type uses.
    #[error("wrong multicodec header: expected {expected}, found {found}")]
    Multicodec {
        /// Expected header, e.g. `ed25519-pub (0xed01)`.
        expected: &'static str,
        /// Hex of the header bytes that were found.
        found: String,
    },
    /// Decoded key material has the wrong length.
    #[error("wrong key length: expected {expected} bytes, found {found}")]
    KeyLength {
        /// Expected length in bytes.
        expected: usize,
        /// Actual length in bytes.
        found: usize,
    },
    /// The bytes are not a usable Ed25519 public key (not on the curve, or of small order).
    #[error("invalid Ed25519 public key: {0}")]
    InvalidPublicKey(&'static str),
    /// The identifier is not a `did:key`.
    #[error("not a did:key identifier: {0}")]
    NotDidKey(String),
    /// A `did:key` URL whose fragment is not the key's own multibase value.
    #[error("did:key fragment does not name the key itself: {0}")]
    DidKeyFragment(String),

    /// A Data Integrity proof could not be created or verified.
    #[error(transparent)]
    Proof(#[from] ProofError),

    /// A stored secret that neither the current nor the new master key opens.
    #[error("the sealed secret {0:?} opens with neither the current nor the new master key")]
    ResealUnopenable(String),

    /// A status list shorter than the Bitstring Status List minimum (herd privacy).
    #[error("status list has {bits} bits, the minimum is {min}")]
    StatusListTooShort {
        /// Length found, in bits.
        bits: usize,
        /// Minimum length, in bits.
        min: usize,
    },
    /// A status list index past the end of the list.
    #[error("status index {index} is out of range for a list of {len} bits")]
    StatusIndexOutOfRange {
        /// Requested index.
        index: usize,
        /// List length in bits.
        len: usize,
    },
    /// `encodedList` is not multibase base64url of a GZIP stream.
    #[error("invalid encodedList: {0}")]
    StatusListEncoding(String),
    /// The decompressed list is larger than the caller's limit (decompression bomb guard).
    #[error("decompressed status list exceeds {limit} bytes")]
    StatusListTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// No free index is left in a status list.
    #[error("status list is full")]
    StatusListFull,

    /// A master key string is neither 32 bytes of hex nor of base64.
    #[error("invalid master key: {0}")]
    MasterKeyFormat(&'static str),
    /// Sealing failed (only for absurdly long inputs).
    #[error("sealing failed")]
    Seal,
    /// A sealed blob could not be opened: wrong master key, wrong associated data, or tampering.
    #[error("cannot unseal: wrong master key, wrong associated data, or corrupted data")]
    Unseal,
    /// A sealed blob too short to hold a nonce and a tag.
    #[error("sealed value is truncated ({0} bytes)")]
    SealedTooShort(usize),
    /// Reading or writing a key file failed.
    #[error("key file {path}: {source}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The operating system random number generator failed.
    #[error("OS random number generator failed: {0}")]
    Rng(String),
}

/// Why an `eddsa-jcs-2022` proof could not be created or did not verify.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The document to sign or verify is not a JSON object.
    #[error("the document is not a JSON object")]
    DocumentNotObject,
    /// Signing a document that already carries a proof (`proof_set::add_proof` adds one to a
    /// set).
    #[error("the document already has a proof")]
    ProofAlreadyPresent,
    /// The secured document has no `proof`.
    #[error("the document has no proof")]
    MissingProof,
    /// `proof` is an array (a proof set or chain) where a single proof was expected; the
    /// members of a set are read by `proof_set::members`.
    #[error("`proof` is an array (a proof set or chain) where a single proof object was expected")]
    ProofSet,
    /// `proof` is an empty array.
    #[error("`proof` is an empty list")]
    EmptyProofSet,
    /// `proof` lists more proofs than a verifier here checks (`proof_set::MAX_PROOFS`).
    #[error(
        "`proof` lists {0} proofs, more than the {max} checked here",
        max = super::proof_set::MAX_PROOFS
    )]
    TooManyProofs(usize),
    /// `previousProof` is neither a string nor a non-empty array of strings.
    #[error("`previousProof` must be a proof id or a non-empty list of proof ids")]
    InvalidPreviousProof,
    /// `previousProof` names an id that no proof of the set has.
    #[error("`previousProof` names `{0}`, which no proof of the set has as its id")]
    UnknownPreviousProof(String),
    /// `previousProof` names an id that several proofs of the set share.
    #[error("`previousProof` names `{0}`, which more than one proof of the set has as its id")]
    AmbiguousPreviousProof(String),
    /// A proof names itself in `previousProof`.
    #[error("the proof names its own id `{0}` in `previousProof`")]
    SelfReferencingProof(String),
    /// `proof` is neither an object nor an array.
    #[error("`proof` is not an object")]
    ProofNotObject,
    /// A required proof property is absent.
    #[error("proof property `{0}` is missing")]
    MissingProperty(&'static str),
    /// A proof property that must be a string is not one.
    #[error("proof property `{0}` must be a string")]
    PropertyNotString(&'static str),
    /// `type` is not `DataIntegrityProof`.
    #[error("unsupported proof type `{0}`, expected `DataIntegrityProof`")]
    UnsupportedProofType(String),
    /// `cryptosuite` is not `eddsa-jcs-2022`.
    #[error("unsupported cryptosuite `{0}`, expected `eddsa-jcs-2022`")]
    UnsupportedCryptosuite(String),
    /// `proofPurpose` is not the one the verifier expects.
    #[error("proof purpose is `{found}`, expected `{expected}`")]
    ProofPurposeMismatch {
        /// Purpose the verifier asked for.
        expected: String,
        /// Purpose stated in the proof.
        found: String,
    },
    /// `created` is not an XML Schema dateTimeStamp.
    #[error("`created` is not an XML Schema dateTimeStamp: {0}")]
    InvalidCreated(String),
    /// The proof's `@context` is not a prefix of the document's `@context`.
    #[error("the document @context does not start with the proof @context")]
    ContextMismatch,
    /// `proofValue` is not a base58btc multibase Ed25519 signature.
    #[error("invalid proofValue: {0}")]
    InvalidProofValue(String),
    /// The verification method could not be resolved to a key.
    #[error("cannot resolve verification method `{verification_method}`: {source}")]
    KeyResolution {
        /// The `verificationMethod` of the proof.
        verification_method: String,
        /// The resolver's error.
        #[source]
        source: BoxError,
    },
    /// The signature does not match the document and proof options under the resolved key.
    #[error("signature does not match")]
    SignatureMismatch,
    /// Canonicalization of the document or proof configuration failed.
    #[error("JSON canonicalization failed: {0}")]
    Canonicalization(String),
}

impl ProofError {
    /// A stable, machine-readable code for problem+json answers and metrics labels.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DocumentNotObject => "document_not_object",
            Self::ProofAlreadyPresent => "proof_already_present",
            Self::MissingProof => "missing_proof",
            Self::ProofSet => "proof_set_unexpected",
            Self::EmptyProofSet => "empty_proof_set",
            Self::TooManyProofs(_) => "too_many_proofs",
            Self::InvalidPreviousProof => "invalid_previous_proof",
            Self::UnknownPreviousProof(_) => "unknown_previous_proof",
            Self::AmbiguousPreviousProof(_) => "ambiguous_previous_proof",
            Self::SelfReferencingProof(_) => "self_referencing_proof",
            Self::ProofNotObject => "proof_not_object",
            Self::MissingProperty(_) => "missing_proof_property",
            Self::PropertyNotString(_) => "proof_property_not_string",
            Self::UnsupportedProofType(_) => "unsupported_proof_type",
            Self::UnsupportedCryptosuite(_) => "unsupported_cryptosuite",
            Self::ProofPurposeMismatch { .. } => "proof_purpose_mismatch",
            Self::InvalidCreated(_) => "invalid_created",
            Self::ContextMismatch => "context_mismatch",
            Self::InvalidProofValue(_) => "invalid_proof_value",
            Self::KeyResolution { .. } => "key_resolution_failed",
            Self::SignatureMismatch => "signature_mismatch",
            Self::Canonicalization(_) => "canonicalization_failed",
        }
    }
}
