//! Private keys encrypted at rest under a 32-byte master key.
//!
//! XChaCha20-Poly1305 with a random 24-byte nonce (large enough that random nonces never
//! collide in practice); a sealed value is `nonce || ciphertext || tag`. The associated data
//! (the key id, say) is authenticated but not stored, so a sealed key copied into another row
//! fails to open there.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::{
    STANDARD, STANDARD_NO_PAD_INDIFFERENT, URL_SAFE_NO_PAD_INDIFFERENT,
};
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use ed25519_dalek::SigningKey;
use rand::TryRng;
use rand::rngs::SysRng;
use zeroize::{Zeroize, Zeroizing};

use super::{CryptoError, SecretBytes, SecretString};

/// One stored secret to move to a new master key: its id (the associated data it is sealed
/// under), the bytes stored now, and the bytes to store instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reseal {
    pub id: String,
    pub from: Vec<u8>,
    pub to: Vec<u8>,
}

/// What [`MasterKey::plan_reseal`] found.
#[derive(Debug, Clone, Default)]
pub struct ResealPlan {
    /// The secrets to rewrite (compare-and-set on `from`).
    pub changes: Vec<Reseal>,
    /// Secrets already sealed under the new key.
    pub already: usize,
}

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The 32-byte key that seals private keys. `Debug` never prints it; it is zeroed on drop.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; KEY_LEN]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

impl FromStr for MasterKey {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl MasterKey {
    /// A master key from raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A fresh master key from the operating system's random number generator.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(key.as_mut())?;
        Ok(Self(key))
    }

    /// Parses 32 bytes written as 64 hex digits or as base64 (standard or URL-safe alphabet,
    /// padded or not). Surrounding whitespace, such as a key file's final newline, is ignored.
    pub fn parse(s: &str) -> Result<Self, CryptoError> {
        let s = s.trim();
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if s.len() == 2 * KEY_LEN && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode_to_slice(s, key.as_mut())
                .map_err(|_| CryptoError::MasterKeyFormat("invalid hex"))?;
            return Ok(Self(key));
        }
        let decoded = Zeroizing::new(
            STANDARD_NO_PAD_INDIFFERENT
                .decode(s)
                .or_else(|_| URL_SAFE_NO_PAD_INDIFFERENT.decode(s))
                .map_err(|_| CryptoError::MasterKeyFormat("neither 64 hex digits nor base64"))?,
        );
        if decoded.len() != KEY_LEN {
            return Err(CryptoError::MasterKeyFormat("must be exactly 32 bytes"));
        }
        key.copy_from_slice(&decoded);
        Ok(Self(key))
    }

    /// The key in standard base64, the form [`MasterKey::load_or_create`] writes.
    pub fn to_base64(&self) -> SecretString {
        SecretString::new(STANDARD.encode(self.0.as_ref()))
    }

    /// Reads the master key from `path`; `None` when there is no such file. Never writes: a
    /// missing key is for the caller to judge (a database with sealed keys needs the one that
    /// sealed them, not a fresh one).
    pub fn load(path: &Path) -> Result<Option<Self>, CryptoError> {
        match fs::read_to_string(path) {
            Ok(text) => {
                warn_if_readable_by_others(path);
                Self::parse(&Zeroizing::new(text)).map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(CryptoError::KeyFile {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Reads the master key from `path`, or creates it there (mode 0600 on Unix) when absent.
    ///
    /// Creation uses `create_new`, so two processes starting together cannot both write a key:
    /// the loser reads the winner's.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let file_error = |source| CryptoError::KeyFile {
            path: path.to_owned(),
            source,
        };
        match fs::read_to_string(path) {
            Ok(text) => {
                warn_if_readable_by_others(path);
                return Self::parse(&Zeroizing::new(text));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(file_error(e)),
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(file_error)?;
        }
        let key = Self::generate()?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = match options.open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = Zeroizing::new(fs::read_to_string(path).map_err(file_error)?);
                return Self::parse(&text);
            }
            Err(e) => return Err(file_error(e)),
        };
        let mut line = Zeroizing::new(key.to_base64().expose().clone());
        line.push('\n');
        if let Err(e) = file
            .write_all(line.as_bytes())
            .and_then(|()| file.sync_all())
        {
            // Leave no half-written key behind for the next start to choke on.
            let _ = fs::remove_file(path);
            return Err(file_error(e));
        }
        tracing::info!(path = %path.display(), "created a new master key");
        Ok(key)
    }

    /// Encrypts `plaintext` bound to `associated_data`; returns `nonce || ciphertext || tag`.
    pub fn seal(&self, plaintext: &[u8], associated_data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = match self.cipher().encrypt_inout_detached(
            &XNonce::from(nonce),
            associated_data,
            (&mut out[NONCE_LEN..]).into(),
        ) {
            Ok(tag) => tag,
            Err(_) => {
                // The buffer still holds the plaintext.
                out.zeroize();
                return Err(CryptoError::Seal);
            }
        };
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Decrypts a value from [`MasterKey::seal`]; fails unless the master key and the associated
    /// data are the ones it was sealed with and the bytes are untouched.
    pub fn unseal(
        &self,
        sealed: &[u8],
        associated_data: &[u8],
    ) -> Result<SecretBytes, CryptoError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::SealedTooShort(sealed.len()));
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Unseal)?;
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| CryptoError::Unseal)?;
        let mut plaintext = SecretBytes::new(ciphertext.to_vec());
        let buffer = plaintext.expose_mut().as_mut_slice();
        self.cipher()
            .decrypt_inout_detached(
                &XNonce::from(nonce),
                associated_data,
                buffer.into(),
                &tag.into(),
            )
            .map_err(|_| CryptoError::Unseal)?;
        Ok(plaintext)
    }

    /// Seals an Ed25519 signing key (its 32-byte seed) under `key_id`.
    pub fn seal_signing_key(&self, key: &SigningKey, key_id: &str) -> Result<Vec<u8>, CryptoError> {
        self.seal(key.as_bytes(), key_id.as_bytes())
    }

    /// Opens a signing key sealed by [`MasterKey::seal_signing_key`] under the same `key_id`.
    pub fn unseal_signing_key(
        &self,
        sealed: &[u8],
        key_id: &str,
    ) -> Result<SigningKey, CryptoError> {
        let seed = self.unseal(sealed, key_id.as_bytes())?;
        let seed: &[u8; KEY_LEN] =
            seed.expose()
                .as_slice()
                .try_into()
                .map_err(|_| CryptoError::KeyLength {
                    expected: KEY_LEN,
                    found: seed.expose().len(),
                })?;
        Ok(SigningKey::from_bytes(seed))
    }

    /// Plans moving stored secrets, each `(id, sealed bytes)` sealed under its id as associated
    /// data, from this master key to `new`. A secret that `new` opens already is counted, not
    /// changed, so a rotation interrupted half-way (or a key sealed meanwhile by a process
    /// still on this master key) is finished by planning again. A secret that opens with
    /// neither key fails the whole plan, naming it.
    pub fn plan_reseal(
        &self,
        new: &MasterKey,
        sealed: Vec<(String, Vec<u8>)>,
    ) -> Result<ResealPlan, CryptoError> {
        let mut plan = ResealPlan::default();
        for (id, from) in sealed {
            if new.unseal(&from, id.as_bytes()).is_ok() {
                plan.already += 1;
                continue;
            }
            let secret = self
                .unseal(&from, id.as_bytes())
                .map_err(|_| CryptoError::ResealUnopenable(id.clone()))?;
            let to = new.seal(secret.expose(), id.as_bytes())?;
            plan.changes.push(Reseal { id, from, to });
        }
        Ok(plan)
    }

    /// Whether two master keys are the same key (for the operator's rotation command; no
    /// request from the network ever reaches it, so the comparison need not be constant-time).
    pub fn same_as(&self, other: &MasterKey) -> bool {
        self.0.as_ref() == other.0.as_ref()
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&*self.0).into())
    }
}

fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    SysRng
        .try_fill_bytes(buf)
        .map_err(|e| CryptoError::Rng(e.to_string()))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // Mounted secrets (Kubernetes defaults to 0644) are common, so warn rather than refuse.
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), mode = format!("{:o}", meta.permissions().mode() & 0o777), "master key file is readable by group or others");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
#[path = "sealed_tests.rs"]
mod tests;
