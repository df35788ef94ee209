//! Calls to other hosts over HTTP: the DID documents and status lists of issuers elsewhere,
//! which the verifier may look up ([`lookup`]).

pub mod lookup;

/// Makes the `ring` rustls provider the process default (once; later calls do nothing).
///
/// reqwest is built without a provider of its own (no aws-lc), so every client in the process,
/// ours or a test's, needs this before it is built.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread installing it is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
