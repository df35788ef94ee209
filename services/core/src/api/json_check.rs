//! What serde_json lets through silently, refused before a body is parsed: an object with the
//! same key twice (serde_json keeps the last for maps and `Value`s, so two readers of one
//! document could disagree), and a number with more digits than it can carry (serde_json rounds
//! it to the nearest double: a mass of 1.000…0001 g with 5,000 digits would become 1 g).
//!
//! A number passes when the double it parses to, written back in its shortest form, has the
//! same significant digits as the text (so nothing was rounded away); integers that fit 64 bits
//! are exact. Masses and shares then refuse what their own scale (10⁻⁶) cannot hold.
//!
//! One pass over the bytes (after one check that they are UTF-8), no allocation but the keys of
//! the objects being read; a body that is not JSON is left to the parser, which words its own
//! error.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::domain::FieldError;

/// The first duplicate key or lossy number in `bytes`, with its JSON pointer.
pub fn check_json(bytes: &[u8]) -> Result<(), FieldError> {
    // UTF-8 is checked once for the whole body; a string reaching past the first invalid byte
    // is not JSON (left to the parser, as when each string was checked on its own).
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    };
    let mut scanner = Scanner {
        bytes,
        text,
        at: 0,
        path: Vec::new(),
    };
    scanner.skip_ws();
    match scanner.value() {
        Ok(()) | Err(Stop::Syntax) => Ok(()),
        Err(Stop::Refused(error)) => Err(error),
    }
}

enum Stop {
    /// Not JSON: the parser reports it.
    Syntax,
    Refused(FieldError),
}

/// A reference token of the pointer to the value being read: an object's key (borrowed from
/// the body unless it had escapes) or an array's index.
enum Token<'a> {
    Key(Cow<'a, str>),
    Index(usize),
}

struct Scanner<'a> {
    bytes: &'a [u8],
    /// The longest prefix of `bytes` that is UTF-8 (all of them, for a body that is).
    text: &'a str,
    at: usize,
    /// The pointer's reference tokens down to the value being read (written out only for an
    /// error).
    path: Vec<Token<'a>>,
}

/// Nesting deeper than this is left to the parser (which has its own limit).
const MAX_DEPTH: usize = 128;

/// Objects with at most this many keys look for a duplicate by comparing with each key read
/// before (no hashing); larger ones use a set.
const SMALL_OBJECT: usize = 16;

/// The keys of one object read so far.
enum Keys<'a> {
    Few(Vec<Cow<'a, str>>),
    Many(HashSet<Cow<'a, str>>),
}

impl<'a> Keys<'a> {
    /// Adds `key`; false when the object had it already.
    fn insert(&mut self, key: Cow<'a, str>) -> bool {
        match self {
            Keys::Few(keys) if keys.contains(&key) => false,
            Keys::Few(keys) if keys.len() < SMALL_OBJECT => {
                keys.push(key);
                true
            }
            Keys::Few(keys) => {
                let mut set: HashSet<Cow<'a, str>> = keys.drain(..).collect();
                set.insert(key);
                *self = Keys::Many(set);
                true
            }
            Keys::Many(keys) => keys.insert(key),
        }
    }
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn pointer(&self) -> String {
        self.path
            .iter()
            .map(|t| match t {
                Token::Key(key) => format!("/{}", key.replace('~', "~0").replace('/', "~1")),
                Token::Index(i) => format!("/{i}"),
            })
            .collect()
    }

    fn value(&mut self) -> Result<(), Stop> {
        if self.path.len() > MAX_DEPTH {
            return Err(Stop::Syntax);
        }
        match self.peek().ok_or(Stop::Syntax)? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string().map(|_| ()),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => Err(Stop::Syntax),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Stop> {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(Stop::Syntax)
        }
    }

    fn object(&mut self) -> Result<(), Stop> {
        self.at += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        let mut keys = Keys::Few(Vec::new());
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(Stop::Syntax);
            }
            let key = self.string()?;
            let fresh = keys.insert(key.clone());
            self.path.push(Token::Key(key));
            if !fresh {
                return Err(Stop::Refused(FieldError::new(
                    self.pointer(),
                    "this key appears more than once in its object",
                )));
            }
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(Stop::Syntax);
            }
            self.at += 1;
            self.skip_ws();
            self.value()?;
            self.path.pop();
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(Stop::Syntax),
            }
        }
    }

    fn array(&mut self) -> Result<(), Stop> {
        self.at += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        let mut index = 0usize;
        loop {
            self.skip_ws();
            self.path.push(Token::Index(index));
            self.value()?;
            self.path.pop();
            index += 1;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(Stop::Syntax),
            }
        }
    }

    /// Reads a string, decoding escapes (keys are compared decoded): borrowed from the body
    /// unless it has escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, Stop> {
        self.at += 1;
        let start = self.at;
        // The common case: no escape, the text borrowed from the body.
        let end = start
            + self.bytes[start..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .ok_or(Stop::Syntax)?;
        let text = self.text.get(start..end).ok_or(Stop::Syntax)?;
        match self.bytes[end] {
            b'"' => {
                self.at = end + 1;
                return Ok(Cow::Borrowed(text));
            }
            b'\\' => self.at = end,
            _ => return Err(Stop::Syntax),
        }
        let mut out = text.to_owned();
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let b = self.peek().ok_or(Stop::Syntax)?;
            self.at += 1;
            match b {
                b'"' => {
                    out.push_str(std::str::from_utf8(&pending).map_err(|_| Stop::Syntax)?);
                    return Ok(Cow::Owned(out));
                }
                b'\\' => {
                    out.push_str(std::str::from_utf8(&pending).map_err(|_| Stop::Syntax)?);
                    pending.clear();
                    let escaped = self.peek().ok_or(Stop::Syntax)?;
                    self.at += 1;
                    match escaped {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let unit = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&unit) {
                                // A surrogate pair: the low half must follow.
                                if !self.bytes[self.at..].starts_with(b"\\u") {
                                    return Err(Stop::Syntax);
                                }
                                self.at += 2;
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(Stop::Syntax);
                                }
                                char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                            } else {
                                char::from_u32(unit)
                            };
                            out.push(c.ok_or(Stop::Syntax)?);
                        }
                        _ => return Err(Stop::Syntax),
                    }
                }
                0..=0x1f => return Err(Stop::Syntax),
                other => pending.push(other),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, Stop> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or(Stop::Syntax)?;
        let text = std::str::from_utf8(digits).map_err(|_| Stop::Syntax)?;
        let value = u32::from_str_radix(text, 16).map_err(|_| Stop::Syntax)?;
        self.at += 4;
        Ok(value)
    }

    fn number(&mut self) -> Result<(), Stop> {
        let start = self.at;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.at += 1;
        }
        let text = self.text.get(start..self.at).ok_or(Stop::Syntax)?;
        if exact(text) {
            Ok(())
        } else {
            Err(Stop::Refused(FieldError::new(
                self.pointer(),
                format!(
                    "{} has more significant digits than a JSON number carries here; send at \
                     most 15 significant digits",
                    abbreviate(text)
                ),
            )))
        }
    }
}

/// Whether the number as written is the number serde_json reads.
fn exact(text: &str) -> bool {
    let integer = !text.contains(['.', 'e', 'E']);
    if integer && (text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok()) {
        return true;
    }
    if short(text) {
        return true;
    }
    let Ok(value) = text.parse::<f64>() else {
        // Not a number at all: the parser says so.
        return true;
    };
    if !value.is_finite() {
        return false;
    }
    significant_digits(text) == significant_digits(ryu::Buffer::new().format(value))
}

/// Whether `text` has at most 15 significant digits (a double carries 15 decimal digits
/// exactly: `f64::DIGITS`) and a magnitude well inside the normal range of a double, so that it
/// reads back as written; without allocating (the common case of every mass and share).
fn short(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => match text[i + 1..].parse::<i32>() {
            Ok(exponent) => (&text[..i], exponent),
            Err(_) => return false,
        },
        None => (text, 0),
    };
    if exponent.abs() > 200 || mantissa.len() > 60 {
        return false;
    }
    let digits = mantissa.bytes().filter(u8::is_ascii_digit);
    let significant = digits.skip_while(|d| *d == b'0');
    let mut count = 0;
    let mut last_nonzero = 0;
    for d in significant {
        count += 1;
        if d != b'0' {
            last_nonzero = count;
        }
    }
    last_nonzero <= f64::DIGITS as usize
}

/// The significant digits of a decimal and its power of ten, as (digits, exponent).
fn significant_digits(text: &str) -> (String, i64) {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (text, 0),
    };
    let mantissa = mantissa.trim_start_matches('-');
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let joined: String = int.chars().chain(frac.chars()).collect();
    let exponent = exponent - frac.len() as i64;
    let trimmed_end = joined.trim_end_matches('0');
    let exponent = exponent + (joined.len() - trimmed_end.len()) as i64;
    let digits = trimmed_end.trim_start_matches('0');
    if digits.is_empty() {
        return (String::new(), 0);
    }
    (digits.to_owned(), exponent)
}

/// A long number shortened for a message.
fn abbreviate(text: &str) -> String {
    if text.len() <= 40 {
        text.to_owned()
    } else {
        format!(
            "{}…{} ({} characters)",
            &text[..20],
            &text[text.len() - 10..],
            text.len()
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn refused(json: &str) -> Option<String> {
        check_json(json.as_bytes()).err().map(|e| e.pointer)
    }

    #[test]
    fn duplicate_keys_are_named() {
        assert_eq!(
            refused(r#"{"a": 1, "b": {"c": 2, "c": 3}}"#).as_deref(),
            Some("/b/c")
        );
        assert_eq!(
            refused(r#"[{"x": 1}, {"x": 1, "x": 2}]"#).as_deref(),
            Some("/1/x")
        );
        // The same key decoded from an escape is the same key.
        assert_eq!(refused(r#"{"a": 1, "\u0061": 2}"#).as_deref(), Some("/a"));
        // Pointer escapes (RFC 6901).
        assert_eq!(
            refused(r#"{"a/b": {"~": 1, "~": 2}}"#).as_deref(),
            Some("/a~1b/~0")
        );
        assert_eq!(refused(r#"{"a": 1, "b": 1, "A": 1}"#), None);
    }

    #[test]
    fn numbers_that_lose_digits_are_named() {
        let long = format!("{{\"mass_g\": 1.{}1}}", "0".repeat(5_000));
        assert_eq!(refused(&long).as_deref(), Some("/mass_g"));
        assert_eq!(
            refused(r#"{"m": [1, 1.0000000000000001]}"#).as_deref(),
            Some("/m/1")
        );
        assert_eq!(refused(r#"{"m": 1e400}"#).as_deref(), Some("/m"));
        assert_eq!(
            refused(r#"{"m": 123456789012345678901234567890}"#).as_deref(),
            Some("/m")
        );
    }

    #[test]
    fn numbers_that_survive_pass() {
        for ok in [
            "0",
            "-0",
            "1.5",
            "0.30000000000000004",
            "1e-7",
            "1E+3",
            "100.000",
            "18446744073709551615",
            "-9223372036854775808",
            "2.5e-300",
            "0.000001",
        ] {
            assert_eq!(refused(&format!("{{\"n\": {ok}}}")), None, "{ok}");
        }
    }

    #[test]
    fn the_short_path_agrees_with_the_round_trip() {
        for text in [
            "1.5",
            "0.000001",
            "123456789012345",
            "1234567890.12345",
            "0.00000000000000000000123456789012345",
            "-98765.4321e-7",
            "100.000",
            "1e200",
            "2.5e-199",
        ] {
            assert!(short(text), "{text}");
            let value: f64 = text.parse().unwrap();
            assert_eq!(
                significant_digits(text),
                significant_digits(ryu::Buffer::new().format(value)),
                "{text}"
            );
        }
        for text in [
            "1.0000000000000001",
            "1234567890123456",
            "1e201",
            "0.1e-300",
        ] {
            assert!(!short(text), "{text}");
        }
    }

    #[test]
    fn what_is_not_json_is_left_to_the_parser() {
        for text in ["", "{", r#"{"a" 1}"#, "[1,,2]", "nul", r#""\x""#] {
            assert!(check_json(text.as_bytes()).is_ok(), "{text}");
        }
        // Bytes that are not UTF-8: a string that holds them is not JSON; what comes before
        // them is still checked, whatever comes after is not.
        assert!(check_json(b"{\"a\": \"\xff\", \"a\": 1}").is_ok());
        let before = check_json(b"{\"a\": 1, \"a\": \"\xc3\"}").unwrap_err();
        assert_eq!(before.pointer, "/a");
        assert!(check_json("{\"é\": \"ü\", \"n\": 1.5}".as_bytes()).is_ok());
    }
}
