#![allow(clippy::unwrap_used)]

use super::*;
use crate::crypto::multikey::generate_signing_key;

fn key() -> MasterKey {
    MasterKey::generate().unwrap()
}

#[test]
fn seal_unseal_roundtrip_with_random_nonces() {
    let mk = key();
    let a = mk.seal(b"secret seed", b"key-1").unwrap();
    let b = mk.seal(b"secret seed", b"key-1").unwrap();
    assert_eq!(a.len(), NONCE_LEN + 11 + TAG_LEN);
    assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN], "nonces must differ");
    assert_ne!(a, b);
    assert_eq!(mk.unseal(&a, b"key-1").unwrap().expose(), b"secret seed");
    assert_eq!(mk.unseal(&b, b"key-1").unwrap().expose(), b"secret seed");
    // The plaintext does not appear in the sealed bytes.
    assert!(!a.windows(11).any(|w| w == b"secret seed"));
}

#[test]
fn unseal_fails_on_wrong_key_associated_data_or_tampering() {
    let mk = key();
    let sealed = mk.seal(b"secret seed", b"key-1").unwrap();
    assert!(matches!(
        key().unseal(&sealed, b"key-1"),
        Err(CryptoError::Unseal)
    ));
    assert!(matches!(
        mk.unseal(&sealed, b"key-2"),
        Err(CryptoError::Unseal)
    ));
    for i in [0, NONCE_LEN, sealed.len() - 1] {
        let mut bad = sealed.clone();
        bad[i] ^= 1;
        assert!(
            matches!(mk.unseal(&bad, b"key-1"), Err(CryptoError::Unseal)),
            "byte {i}"
        );
    }
    assert!(matches!(
        mk.unseal(&sealed[..NONCE_LEN + TAG_LEN - 1], b"key-1"),
        Err(CryptoError::SealedTooShort(_))
    ));
    // Empty plaintexts seal and open too.
    let empty = mk.seal(b"", b"").unwrap();
    assert!(mk.unseal(&empty, b"").unwrap().expose().is_empty());
}

#[test]
fn signing_keys_are_bound_to_their_id() {
    let mk = key();
    let sk = generate_signing_key().unwrap();
    let sealed = mk.seal_signing_key(&sk, "org-1/key-1").unwrap();
    assert_eq!(
        mk.unseal_signing_key(&sealed, "org-1/key-1")
            .unwrap()
            .to_bytes(),
        sk.to_bytes()
    );
    assert!(mk.unseal_signing_key(&sealed, "org-2/key-1").is_err());
}

#[test]
fn parses_hex_and_base64_of_exactly_32_bytes() {
    let bytes: [u8; 32] = std::array::from_fn(|i| (i * 7 + 250) as u8);
    let hex = hex::encode(bytes);
    let b64 = STANDARD.encode(bytes);
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    for text in [
        hex.clone(),
        hex.to_uppercase(),
        b64.clone(),
        format!(" {b64}\n"),
        url,
    ] {
        let mk = MasterKey::parse(&text).unwrap();
        assert_eq!(*mk.0, bytes, "{text}");
    }
    assert_eq!(MasterKey::parse(&b64).unwrap().to_base64().expose(), &b64);
    assert_eq!(hex.parse::<MasterKey>().unwrap().to_base64().expose(), &b64);
    let (short, long) = (STANDARD.encode([1u8; 31]), STANDARD.encode([1u8; 33]));
    for bad in [&hex[2..], short.as_str(), long.as_str(), "not a key!", ""] {
        assert!(
            matches!(MasterKey::parse(bad), Err(CryptoError::MasterKeyFormat(_))),
            "{bad}"
        );
    }
}

#[test]
fn debug_does_not_print_the_key() {
    let mk = MasterKey::from_bytes([0xab; 32]);
    let printed = format!("{mk:?} {mk:#?}");
    assert_eq!(printed, "MasterKey([REDACTED]) MasterKey([REDACTED])");
}

#[test]
fn load_or_create_persists_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys").join("master.key");
    let created = MasterKey::load_or_create(&path).unwrap();
    let loaded = MasterKey::load_or_create(&path).unwrap();
    assert_eq!(*created.0, *loaded.0);
    let sealed = created.seal(b"x", b"id").unwrap();
    assert_eq!(loaded.unseal(&sealed, b"id").unwrap().expose(), b"x");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn load_or_create_reports_a_corrupt_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    fs::write(&path, "too short").unwrap();
    assert!(matches!(
        MasterKey::load_or_create(&path),
        Err(CryptoError::MasterKeyFormat(_))
    ));
}

#[test]
fn a_reseal_plan_moves_secrets_and_can_be_run_again() {
    let (old, new) = (key(), key());
    assert!(old.same_as(&old.clone()));
    assert!(!old.same_as(&new));
    let stored = vec![
        ("key-1".to_owned(), old.seal(b"seed one", b"key-1").unwrap()),
        ("key-2".to_owned(), new.seal(b"seed two", b"key-2").unwrap()),
    ];
    let plan = old.plan_reseal(&new, stored.clone()).unwrap();
    assert_eq!(plan.already, 1, "key-2 is under the new key already");
    assert_eq!(plan.changes.len(), 1);
    let change = &plan.changes[0];
    assert_eq!((change.id.as_str(), &change.from), ("key-1", &stored[0].1));
    assert_eq!(
        new.unseal(&change.to, b"key-1")
            .unwrap()
            .expose()
            .as_slice(),
        b"seed one"
    );
    assert!(old.unseal(&change.to, b"key-1").is_err());

    // After the rewrite, planning again changes nothing.
    let after = vec![("key-1".to_owned(), change.to.clone()), stored[1].clone()];
    let again = old.plan_reseal(&new, after).unwrap();
    assert_eq!((again.changes.len(), again.already), (0, 2));

    // A secret under a third key (or bound to another id) stops the plan and is named.
    let stray = vec![
        stored[0].clone(),
        (
            "key-3".to_owned(),
            key().seal(b"seed three", b"key-3").unwrap(),
        ),
    ];
    match old.plan_reseal(&new, stray) {
        Err(CryptoError::ResealUnopenable(id)) => assert_eq!(id, "key-3"),
        other => panic!("{other:?}"),
    }
    let moved = vec![("key-9".to_owned(), stored[0].1.clone())];
    assert!(matches!(
        old.plan_reseal(&new, moved),
        Err(CryptoError::ResealUnopenable(_))
    ));
}
