//! Signed checkpoints of the custody log: C2SP `tlog-checkpoint` bodies
//! (<https://c2sp.org/tlog-checkpoint>) in C2SP signed notes with Ed25519 keys.
//!
//! A checkpoint commits the log to a tree size and root; anyone holding the log's verifier key
//! can check it, then check inclusion and consistency proofs against its root
//! ([`crate::merkle`]) without trusting the server.
//!
//! ```text
//! reetrace.example/custody
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — reetrace.example/custody Az3grlgtzPIC…
//! ```

mod note;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::merkle::Hash;

pub use note::{VerifierKey, is_valid_key_name, key_id, open_note, sign_note};

/// Why a checkpoint or note could not be produced or was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Key names must be non-empty, without spaces or `+`.
    #[error("invalid key name {0:?}")]
    InvalidKeyName(String),
    /// The verifier key text is not `<name>+<hex id>+<base64 key>` for an Ed25519 key.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// The note does not follow the signed-note format.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// No signature in the note is by the trusted key.
    #[error("the note has no signature by the trusted key")]
    UnknownKey,
    /// A signature by the trusted key does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// The note text is not a well-formed checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
}

/// A tree head of the log: who issued it (`origin`), the tree size and the root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique identity of the log, conventionally a schema-less URL such as
    /// `reetrace.example/custody`; also used as the signing key name.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 root hash of the tree at `size`.
    pub root: Hash,
    /// Optional opaque extension lines (not recommended by the spec: monitors cannot audit
    /// them); kept so that a parsed checkpoint re-serialises to the signed text.
    pub extensions: Vec<String>,
}

fn is_valid_line(line: &str) -> bool {
    !line.is_empty() && !line.chars().any(char::is_control)
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: origin, decimal size, base64 root and extension lines, each ending in a
    /// newline. Fails when a line would be empty or contain a control character, since the text
    /// could then not be parsed back.
    pub fn to_text(&self) -> Result<String, CheckpointError> {
        if !is_valid_line(&self.origin) {
            return Err(CheckpointError::MalformedCheckpoint(
                "origin is empty or has a control character",
            ));
        }
        if !self.extensions.iter().all(|l| is_valid_line(l)) {
            return Err(CheckpointError::MalformedCheckpoint(
                "extension line is empty or has a control character",
            ));
        }
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        Ok(text)
    }

    /// Parses a note text strictly: at least three non-empty lines each ending in a newline; a
    /// decimal size without sign or leading zeros; a root in canonical padded standard base64
    /// of exactly 32 bytes.
    pub fn parse_text(text: &str) -> Result<Self, CheckpointError> {
        let bad = CheckpointError::MalformedCheckpoint;
        let body = text
            .strip_suffix('\n')
            .ok_or(bad("text does not end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size = lines.next().ok_or(bad("missing tree size"))?;
        let root = lines.next().ok_or(bad("missing root hash"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if !is_valid_line(origin) {
            return Err(bad("origin is empty or has a control character"));
        }
        if !extensions.iter().all(|l| is_valid_line(l)) {
            return Err(bad("extension line is empty or has a control character"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size: parse_size(size).ok_or(bad("tree size is not a canonical decimal"))?,
            root: note::decode_canonical(root)
                .and_then(|b| b.try_into().ok())
                .ok_or(bad("root hash is not canonical base64 of 32 bytes"))?,
            extensions,
        })
    }
}

fn parse_size(s: &str) -> Option<u64> {
    let digits_only = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = s.len() > 1 && s.starts_with('0');
    if !digits_only || leading_zero {
        return None;
    }
    s.parse().ok()
}

/// Signs a checkpoint with `key` under the key name `name` (which should be the origin) and
/// returns the signed note.
pub fn sign(
    checkpoint: &Checkpoint,
    name: &str,
    key: &SigningKey,
) -> Result<String, CheckpointError> {
    sign_note(&checkpoint.to_text()?, name, key)
}

/// The verifier key text `<name>+<hex key id>+<base64(0x01 || public key)>` to publish for
/// clients (the vkey format of golang.org/x/mod/sumdb/note).
pub fn verifier_key(name: &str, key: &VerifyingKey) -> Result<String, CheckpointError> {
    Ok(VerifierKey::new(name, *key)?.to_string())
}

/// Verifies a signed checkpoint against a verifier key text and parses it.
///
/// The caller still decides whether `origin` is the log it expects: the signature proves who
/// signed, the origin says which log the signer meant.
pub fn open(note: &str, verifier_key: &str) -> Result<Checkpoint, CheckpointError> {
    let verifier = VerifierKey::parse(verifier_key)?;
    Checkpoint::parse_text(open_note(note, &verifier)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
