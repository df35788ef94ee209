use super::*;
use crate::merkle::{empty_root, leaf_hash};

const ORIGIN: &str = "reetrace.example/custody";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn sample() -> Checkpoint {
    Checkpoint::new(ORIGIN, 20_852_163, leaf_hash(b"root"))
}

fn signed() -> (String, String) {
    let k = key(7);
    let note = sign(&sample(), ORIGIN, &k).unwrap();
    let vkey = verifier_key(ORIGIN, &k.verifying_key()).unwrap();
    (note, vkey)
}

#[test]
fn sign_then_open_round_trips() {
    let (note, vkey) = signed();
    assert_eq!(open(&note, &vkey).unwrap(), sample());
    let text = sample().to_text().unwrap();
    assert!(note.starts_with(&format!("{text}\n\u{2014} {ORIGIN} ")));
    assert!(note.ends_with('\n'));
    assert_eq!(note.matches('\n').count(), 5);
}

#[test]
fn text_has_the_c2sp_layout() {
    let cp = Checkpoint::new("example.com/log", 0, empty_root());
    assert_eq!(
        cp.to_text().unwrap(),
        "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    );
}

#[test]
fn signature_blob_is_key_id_then_ed25519_signature() {
    let (note, vkey) = signed();
    let line = note.lines().last().unwrap();
    let b64 = line.rsplit(' ').next().unwrap();
    let blob = STANDARD.decode(b64).unwrap();
    assert_eq!(blob.len(), 4 + 64);
    let k = key(7).verifying_key();
    assert_eq!(blob[..4], key_id(ORIGIN, &k).to_be_bytes());
    let id_hex = vkey.split('+').nth(1).unwrap();
    assert_eq!(id_hex, hex::encode(&blob[..4]));
    // The signature covers the text including its final newline, not the blank line.
    let text = sample().to_text().unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&blob[4..]).unwrap();
    assert!(k.verify_strict(text.as_bytes(), &sig).is_ok());
    assert!(k.verify_strict(text.trim_end().as_bytes(), &sig).is_err());
}

#[test]
fn any_tampering_with_the_text_is_detected() {
    let (note, vkey) = signed();
    let size_line = format!("\n{}\n", sample().size);
    for forged in [
        note.replacen(&size_line, "\n20852164\n", 1),
        note.replacen(ORIGIN, "reetrace.example/custodz", 1),
        note.replacen(
            &STANDARD.encode(sample().root),
            &STANDARD.encode(empty_root()),
            1,
        ),
        note.replacen("\n\n", "\nextension\n\n", 1),
    ] {
        assert_ne!(forged, note);
        assert_eq!(open(&forged, &vkey), Err(CheckpointError::BadSignature));
    }
}

#[test]
fn a_flipped_signature_bit_is_detected() {
    let (note, vkey) = signed();
    let (head, b64) = note.trim_end().rsplit_once(' ').unwrap();
    let mut blob = STANDARD.decode(b64).unwrap();
    blob[40] ^= 1;
    let forged = format!("{head} {}\n", STANDARD.encode(blob));
    assert_eq!(open(&forged, &vkey), Err(CheckpointError::BadSignature));
}

#[test]
fn notes_need_the_blank_line_and_a_final_newline() {
    let (note, vkey) = signed();
    let no_blank = note.replacen("\n\n", "\n", 1);
    assert!(matches!(
        open(&no_blank, &vkey),
        Err(CheckpointError::MalformedNote(_))
    ));
    let no_final_newline = note.trim_end();
    assert!(matches!(
        open(no_final_newline, &vkey),
        Err(CheckpointError::MalformedNote(_))
    ));
    let no_signatures = sample().to_text().unwrap() + "\n";
    assert!(matches!(
        open(&no_signatures, &vkey),
        Err(CheckpointError::MalformedNote(_))
    ));
    let hyphen = note.replacen('\u{2014}', "-", 1);
    assert!(matches!(
        open(&hyphen, &vkey),
        Err(CheckpointError::MalformedNote(_))
    ));
    let cr = note.replacen('\n', "\r\n", 1);
    assert!(matches!(
        open(&cr, &vkey),
        Err(CheckpointError::MalformedNote(_))
    ));
}

#[test]
fn signatures_by_other_keys_are_ignored_but_one_of_ours_is_required() {
    let (note, vkey) = signed();
    let other = sign(&sample(), "witness.example", &key(9)).unwrap();
    let other_line = other.lines().last().unwrap();
    let cosigned = format!("{note}{other_line}\n");
    assert_eq!(open(&cosigned, &vkey).unwrap(), sample());
    // Only the other key signed: unknown.
    assert_eq!(open(&other, &vkey), Err(CheckpointError::UnknownKey));
    // Same name, different key (hence different key ID): still unknown, not a failure.
    let impostor = sign(&sample(), ORIGIN, &key(8)).unwrap();
    assert_eq!(open(&impostor, &vkey), Err(CheckpointError::UnknownKey));
}

#[test]
fn a_failing_signature_by_our_key_rejects_the_whole_note() {
    let (note, vkey) = signed();
    let good_line = note.lines().last().unwrap().to_owned();
    let (head, b64) = good_line.rsplit_once(' ').unwrap();
    let mut blob = STANDARD.decode(b64).unwrap();
    blob[10] ^= 0x80;
    let bad_line = format!("{head} {}", STANDARD.encode(blob));
    let both = format!("{note}{bad_line}\n");
    assert_eq!(open(&both, &vkey), Err(CheckpointError::BadSignature));
}

#[test]
fn malformed_sizes_and_roots_are_rejected() {
    let root = STANDARD.encode(sample().root);
    let k = key(7);
    let vkey = verifier_key(ORIGIN, &k.verifying_key()).unwrap();
    let cases = [
        format!("{ORIGIN}\n+5\n{root}\n"),
        format!("{ORIGIN}\n05\n{root}\n"),
        format!("{ORIGIN}\n-1\n{root}\n"),
        format!("{ORIGIN}\n 5\n{root}\n"),
        format!("{ORIGIN}\n5 \n{root}\n"),
        format!("{ORIGIN}\n18446744073709551616\n{root}\n"),
        format!("{ORIGIN}\n0x10\n{root}\n"),
        format!("{ORIGIN}\n\n{root}\n"),
        format!("{ORIGIN}\n5\n{}\n", root.trim_end_matches('=')),
        format!("{ORIGIN}\n5\n{}\n", STANDARD.encode([1u8; 31])),
        format!("{ORIGIN}\n5\n{}\n", STANDARD.encode([1u8; 33])),
        format!(
            "{ORIGIN}\n5\n{}\n",
            root.replace('/', "_").replace('+', "-")
        ),
        format!(
            "{ORIGIN}\n5\n{}\n",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="
        ),
        format!("{ORIGIN}\n5\n"),
        format!("\n5\n{root}\n"),
        format!("{ORIGIN}\n5\n{root}\n\nextension\n"),
    ];
    for text in cases {
        assert!(
            matches!(
                Checkpoint::parse_text(&text),
                Err(CheckpointError::MalformedCheckpoint(_))
            ),
            "accepted {text:?}"
        );
        // Correctly signed but malformed: the signature does not rescue it.
        if let Ok(note) = sign_note(&text, ORIGIN, &k) {
            assert!(open(&note, &vkey).is_err(), "opened {text:?}");
        }
    }
    let ok = format!("{ORIGIN}\n18446744073709551615\n{root}\nx: 1\n");
    let cp = Checkpoint::parse_text(&ok).unwrap();
    assert_eq!(cp.size, u64::MAX);
    assert_eq!(cp.extensions, ["x: 1"]);
    assert_eq!(cp.to_text().unwrap(), ok);
}

#[test]
fn key_names_with_spaces_or_plus_are_refused() {
    let k = key(7);
    for name in ["", "a b", "a+b", "a\u{00a0}b", "tab\there", "a\u{2003}b"] {
        assert!(!is_valid_key_name(name));
        assert!(matches!(
            sign(&sample(), name, &k),
            Err(CheckpointError::InvalidKeyName(_))
        ));
        assert!(matches!(
            verifier_key(name, &k.verifying_key()),
            Err(CheckpointError::InvalidKeyName(_))
        ));
    }
    // A signature line whose name has a space no longer parses as name + signature.
    let (note, vkey) = signed();
    let spaced = note.replacen(
        &format!("\u{2014} {ORIGIN} "),
        "\u{2014} reetrace custody ",
        1,
    );
    assert!(open(&spaced, &vkey).is_err());
}

#[test]
fn verifier_keys_parse_strictly() {
    let (_, vkey) = signed();
    let parsed = VerifierKey::parse(&vkey).unwrap();
    assert_eq!(parsed.name(), ORIGIN);
    assert_eq!(parsed.to_string(), vkey);
    // Every proper substring and every single-byte change is refused.
    let b = vkey.as_bytes();
    for i in 0..=b.len() {
        for j in i..=b.len() {
            if (i, j) != (0, b.len())
                && let Ok(s) = std::str::from_utf8(&b[i..j])
            {
                assert!(VerifierKey::parse(s).is_err(), "accepted {s:?}");
            }
        }
    }
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] = m[i].wrapping_add(1);
        if let Ok(s) = std::str::from_utf8(&m) {
            assert!(VerifierKey::parse(s).is_err(), "accepted {s:?}");
        }
    }
    // A small-order point is not a usable key, whatever its ID.
    let weak = VerifyingKey::from_bytes(&[0u8; 32]);
    if let Ok(weak) = weak {
        let mut raw = vec![0x01];
        raw.extend_from_slice(weak.as_bytes());
        let text = format!(
            "weak+{:08x}+{}",
            key_id("weak", &weak),
            STANDARD.encode(raw)
        );
        assert!(VerifierKey::parse(&text).is_err());
    }
}

#[test]
fn sign_refuses_texts_that_could_not_be_opened() {
    let k = key(7);
    let mut cp = sample();
    cp.origin = "two\nlines".into();
    assert!(sign(&cp, ORIGIN, &k).is_err());
    let mut cp = sample();
    cp.extensions = vec![String::new()];
    assert!(sign(&cp, ORIGIN, &k).is_err());
    assert!(sign_note("no newline", ORIGIN, &k).is_err());
    assert!(sign_note("bell\u{7}\n", ORIGIN, &k).is_err());
}
