//! A wrapper for secret material: never printed, wiped from memory on drop.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// Secret material (key bytes, an encoded private key) whose `Debug` prints `[REDACTED]` and
/// whose memory is zeroed when dropped, so secrets do not leak into logs or freed heap pages.
///
/// Reading the value is explicit through [`Secret::expose`], which makes uses easy to audit.
pub struct Secret<T: Zeroize>(Zeroizing<T>);

/// Secret bytes, e.g. an unsealed private key.
pub type SecretBytes = Secret<Vec<u8>>;

/// A secret string, e.g. a `privateKeyMultibase` or an encoded master key.
pub type SecretString = Secret<String>;

impl<T: Zeroize> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(Zeroizing::new(value))
    }

    /// Borrows the secret value.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Mutably borrows the secret value (to decrypt into it in place, for instance).
    pub fn expose_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = SecretString::new("z3u2en7t5LR2WtQH".to_owned());
        let printed = format!("{s:?} {s:#?}");
        assert!(!printed.contains("z3u2"), "{printed}");
        assert!(printed.contains("REDACTED"));
        assert_eq!(s.expose(), "z3u2en7t5LR2WtQH");
    }

    #[test]
    fn bytes_are_exposed_unchanged() {
        let s = SecretBytes::from(vec![1, 2, 3]);
        assert_eq!(s.expose().as_slice(), &[1, 2, 3]);
    }
}
