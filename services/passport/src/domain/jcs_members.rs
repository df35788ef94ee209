//! The members of a canonical object read back from its bytes, so that a part of a document
//! canonicalized once can be reused as it stands (a value's canonical bytes are the same
//! wherever it sits) instead of being canonicalized a second time.

/// The members of the JCS object `canonical`, in its order: each key as written (the text
/// between its quotes, escapes kept) and the bytes of its value. `None` when `canonical` is not
/// an object written without whitespace, as
/// [`reetrace_core::crypto::jcs::canonicalize_serialize`] writes them.
pub fn members(canonical: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let body = match canonical {
        [b'{', body @ .., b'}'] => body,
        _ => return None,
    };
    let mut out = Vec::new();
    let mut at = 0;
    while at < body.len() {
        if !out.is_empty() {
            if body[at] != b',' {
                return None;
            }
            at += 1;
        }
        let key_end = string_end(body, at)?;
        if body.get(key_end) != Some(&b':') {
            return None;
        }
        let end = value_end(body, key_end + 1)?;
        out.push((&body[at + 1..key_end - 1], &body[key_end + 1..end]));
        at = end;
    }
    Some(out)
}

/// The value of member `key` (a plain key, no escapes) of the JCS object `canonical`.
pub fn member<'a>(canonical: &'a [u8], key: &str) -> Option<&'a [u8]> {
    members(canonical)?
        .into_iter()
        .find(|(k, _)| *k == key.as_bytes())
        .map(|(_, v)| v)
}

/// Just past the string whose opening quote is at `at`.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    loop {
        match *bytes.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// Just past the value that starts at `at`.
fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at)? {
        b'"' => string_end(bytes, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match *bytes.get(i)? {
                    b'"' => {
                        i = string_end(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        // A number or a literal.
        _ => {
            let rest = &bytes[at..];
            let len = rest
                .iter()
                .position(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'E' | b'+' | b'-' | b'.'))
                .unwrap_or(rest.len());
            (len > 0).then_some(at + len)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reetrace_core::crypto::jcs::canonicalize;
    use serde_json::json;

    #[test]
    fn each_member_is_the_canonical_bytes_of_its_value() {
        let value = json!({
            "z": [1, 2.5, {"b": "}]\"", "a": null}],
            "a\"b": "x\\\"y",
            "n": -1e-7,
            "t": true,
            "o": {"q": {"r": []}, "p": "{"},
            "e": {},
            "s": "\u{1f600}\n"
        });
        let bytes = canonicalize(&value).unwrap();
        let all = members(&bytes).unwrap();
        assert_eq!(all.len(), 7);
        for (key, bytes) in all {
            let key: String = serde_json::from_slice(&[b"\"", key, b"\""].concat()).unwrap();
            let expected = canonicalize(&value[key.as_str()]).unwrap();
            assert_eq!(bytes, expected.as_slice(), "{key}");
        }
        assert_eq!(member(&bytes, "t"), Some(&b"true"[..]));
        assert_eq!(member(&bytes, "missing"), None);
        assert_eq!(members(b"{}").unwrap(), Vec::<(&[u8], &[u8])>::new());
    }

    #[test]
    fn what_is_not_a_compact_object_is_refused() {
        for text in [
            &b"[1]"[..],
            b"{\"a\" :1}",
            b"{\"a\":1 }",
            b"{\"a\":}",
            b"{\"a\":\"open}",
            b"{\"a\":1\"b\":2}",
        ] {
            assert_eq!(members(text), None, "{}", String::from_utf8_lossy(text));
        }
    }
}
