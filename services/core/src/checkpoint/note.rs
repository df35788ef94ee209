//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys, in the text formats of
//! golang.org/x/mod/sumdb/note so that Go tooling and witnesses can read what we publish.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::CheckpointError;

/// Signature type byte of Ed25519 in key IDs and verifier keys.
const ED25519_TYPE: u8 = 0x01;

/// Every signature line starts with an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// More signatures than this make the note malformed (the spec asks verifiers to accept at
/// least 16 and to bound the work).
const MAX_SIGNATURES: usize = 100;

/// Key names are non-empty and contain neither Unicode spaces nor `+` (which separates the
/// fields of a verifier key).
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c.is_control())
}

fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(CheckpointError::InvalidKeyName(name.to_owned()))
    }
}

/// Key ID of an Ed25519 key: the first 4 bytes, big-endian, of
/// `SHA-256(name || "\n" || 0x01 || public key)`.
pub fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519_TYPE]);
    h.update(key.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Decodes standard padded base64, refusing every non-canonical spelling (so that a signed
/// value has exactly one textual form).
pub(super) fn decode_canonical(text: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(text).ok()?;
    (STANDARD.encode(&bytes) == text).then_some(bytes)
}

/// A trusted Ed25519 note key: name, key ID and public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    /// The verifier for `key` under `name`.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, CheckpointError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, &key),
            key,
        })
    }

    /// Parses `<name>+<8 hex digit key ID>+<base64(0x01 || 32-byte public key)>`.
    ///
    /// The key ID must be the one computed from name and key, and the key must be a canonical
    /// encoding of a point that is not of small order.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let bad = |why: &'static str| CheckpointError::MalformedVerifierKey(why);
        let (name, rest) = text.split_once('+').ok_or(bad("missing '+'"))?;
        // The base64 part may itself contain '+', so split only once more.
        let (id_hex, key_b64) = rest.split_once('+').ok_or(bad("missing second '+'"))?;
        check_key_name(name)?;
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("key ID is not 8 hex digits"));
        }
        let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad("key ID is not hex"))?;
        let raw = decode_canonical(key_b64).ok_or(bad("key is not canonical base64"))?;
        let (&ty, pk) = raw.split_first().ok_or(bad("key is empty"))?;
        if ty != ED25519_TYPE {
            return Err(bad("not an Ed25519 key"));
        }
        let pk: [u8; 32] = pk.try_into().map_err(|_| bad("key is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&pk).map_err(|_| bad("key is not a curve point"))?;
        if key.to_bytes() != pk || key.is_weak() {
            return Err(bad("key is non-canonical or of small order"));
        }
        if key_id(name, &key) != id {
            return Err(bad("key ID does not match name and key"));
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The public key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(ED25519_TYPE);
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, STANDARD.encode(raw))
    }
}

/// Signed notes are UTF-8 without ASCII control characters other than newline.
fn has_forbidden_control(text: &str) -> bool {
    text.chars().any(|c| c < ' ' && c != '\n')
}

/// Signs `text` (which must end in a newline) with `key` under `name`; returns the note: the
/// text, a blank line and one signature line.
pub fn sign_note(text: &str, name: &str, key: &SigningKey) -> Result<String, CheckpointError> {
    check_key_name(name)?;
    if !text.ends_with('\n') {
        return Err(CheckpointError::MalformedNote(
            "text does not end in a newline",
        ));
    }
    if has_forbidden_control(text) {
        return Err(CheckpointError::MalformedNote("control character in text"));
    }
    let id = key_id(name, &key.verifying_key());
    let signature: Signature = key.sign(text.as_bytes());
    let mut blob = Vec::with_capacity(4 + 64);
    blob.extend_from_slice(&id.to_be_bytes());
    blob.extend_from_slice(&signature.to_bytes());
    Ok(format!(
        "{text}\n{SIG_PREFIX}{name} {}\n",
        STANDARD.encode(blob)
    ))
}

/// Verifies a signed note against one trusted key and returns its text (up to and including
/// the newline before the blank line).
///
/// Signatures by other keys are ignored, as the spec requires; the note is rejected when no
/// signature is by `verifier`, when any signature by `verifier` fails, and when the note is
/// malformed in any way.
pub fn open_note<'a>(note: &'a str, verifier: &VerifierKey) -> Result<&'a str, CheckpointError> {
    let bad = CheckpointError::MalformedNote;
    if has_forbidden_control(note) {
        return Err(bad("control character in note"));
    }
    // The text ends at the last blank line: the text itself may contain blank lines.
    let split = note
        .rfind("\n\n")
        .ok_or(bad("no blank line before signatures"))?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    let sigs = sigs
        .strip_suffix('\n')
        .ok_or(bad("signatures do not end in a newline"))?;

    let mut verified = 0usize;
    for (count, line) in sigs.split('\n').enumerate() {
        if count >= MAX_SIGNATURES {
            return Err(bad("too many signatures"));
        }
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(bad("signature line does not start with an em dash"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(bad("signature line has no signature"))?;
        check_key_name(name)?;
        let blob = decode_canonical(b64).ok_or(bad("signature is not canonical base64"))?;
        if blob.len() < 5 {
            return Err(bad("signature is too short"));
        }
        let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
        if name != verifier.name || id != verifier.id {
            continue;
        }
        let signature =
            Signature::from_slice(&blob[4..]).map_err(|_| CheckpointError::BadSignature)?;
        verifier
            .key
            .verify_strict(text.as_bytes(), &signature)
            .map_err(|_| CheckpointError::BadSignature)?;
        verified += 1;
    }
    if verified == 0 {
        return Err(CheckpointError::UnknownKey);
    }
    Ok(text)
}
