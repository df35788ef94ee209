//! JCS straight from a `Serialize` value: `serde_json`'s serializer drives a formatter that
//! writes into one buffer and, when an object closes, sorts that object's members in place.
//!
//! Members are written in the order the value gives them, each starting where the previous one
//! ended (no commas yet); closing the object copies its body aside once and writes the members
//! back in JCS order with commas. Nested objects are already sorted by then, so each byte is
//! moved once per level of nesting. Strings use `serde_json`'s escaping (JCS's), numbers the
//! ECMAScript form, as on the `Value` path.

use std::cmp::Ordering;
use std::io::{self, Write as _};

use serde::Serialize;
use serde_json::Number;
use serde_json::ser::{CharEscape, Formatter, Serializer};

use super::super::CryptoError;
use super::{utf16_cmp, write_value};

/// Appends the canonical bytes of `value` to `out`.
pub(super) fn write<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), CryptoError> {
    let formatter = Canonical {
        out,
        members: Vec::new(),
        frames: Vec::new(),
        order: Vec::new(),
        scratch: Vec::new(),
        in_key: false,
    };
    let mut serializer = Serializer::with_formatter(Refuse, formatter);
    value
        .serialize(&mut serializer)
        .map_err(|e| CryptoError::Canonicalization(e.to_string()))
}

/// The writer `serde_json` is given: every byte goes through the formatter into its buffer,
/// so a byte written here would be one the formatter did not see.
struct Refuse;

impl io::Write for Refuse {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("JCS output bypassed the formatter"))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where one member of an open object starts (its key's opening quote) and its key ends.
struct Member {
    start: usize,
    key_end: usize,
    /// The key is ASCII without escapes: its bytes sort as JCS sorts it.
    plain: bool,
}

struct Canonical<'a> {
    out: &'a mut Vec<u8>,
    /// The members of every open object, innermost last.
    members: Vec<Member>,
    /// For each open object, the index in `members` of its first member.
    frames: Vec<usize>,
    /// Reused when an object closes: its members, then their order.
    order: Vec<Span>,
    scratch: Vec<u8>,
    /// Between `begin_object_key` and `end_object_key`.
    in_key: bool,
}

/// A member's bytes in the output, and its key's.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    key_end: usize,
    plain: bool,
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// The largest integer every JSON number (an IEEE double, in JCS) holds exactly.
const EXACT: u64 = 1 << 53;

impl Canonical<'_> {
    fn number(&mut self, n: Number) -> io::Result<()> {
        serde_json_canonicalizer::to_writer(&n, &mut *self.out).map_err(|e| invalid(&e.to_string()))
    }

    // A number inside a key (a map keyed by integers) is text, written as serde_json writes it.
    fn unsigned(&mut self, v: u64) -> io::Result<()> {
        if v <= EXACT || self.in_key {
            write!(self.out, "{v}")
        } else {
            self.number(Number::from(v))
        }
    }

    fn signed(&mut self, v: i64) -> io::Result<()> {
        if v.unsigned_abs() <= EXACT || self.in_key {
            write!(self.out, "{v}")
        } else {
            self.number(Number::from(v))
        }
    }

    /// The key of a member, unescaped when it has escapes.
    fn key(&self, start: usize, key_end: usize) -> io::Result<std::borrow::Cow<'_, str>> {
        let quoted = &self.out[start..key_end];
        let inner = &quoted[1..quoted.len() - 1];
        if inner.contains(&b'\\') {
            let key: String =
                serde_json::from_slice(quoted).map_err(|e| invalid(&e.to_string()))?;
            Ok(key.into())
        } else {
            std::str::from_utf8(inner)
                .map(Into::into)
                .map_err(|e| invalid(&e.to_string()))
        }
    }

    /// How two members' keys sort: by bytes when both are plain ASCII (almost always), else
    /// by UTF-16 code units of the unescaped keys.
    fn compare(&self, a: &Span, b: &Span) -> io::Result<Ordering> {
        if a.plain && b.plain {
            let x = &self.out[a.start + 1..a.key_end - 1];
            let y = &self.out[b.start + 1..b.key_end - 1];
            return Ok(x.cmp(y));
        }
        Ok(utf16_cmp(
            &self.key(a.start, a.key_end)?,
            &self.key(b.start, b.key_end)?,
        ))
    }

    fn close_object(&mut self) -> io::Result<()> {
        let first = self
            .frames
            .pop()
            .ok_or_else(|| invalid("unbalanced object"))?;
        let count = self.members.len() - first;
        if count > 1 {
            let end = self.out.len();
            let mut order = std::mem::take(&mut self.order);
            order.clear();
            for (i, m) in self.members[first..].iter().enumerate() {
                let next = self.members.get(first + i + 1).map_or(end, |n| n.start);
                order.push(Span {
                    start: m.start,
                    end: next,
                    key_end: m.key_end,
                    plain: m.plain,
                });
            }
            let mut failed = None;
            order.sort_unstable_by(|a, b| {
                self.compare(a, b).unwrap_or_else(|e| {
                    failed = Some(e);
                    Ordering::Equal
                })
            });
            if let Some(e) = failed {
                return Err(e);
            }
            for pair in order.windows(2) {
                if self.compare(&pair[0], &pair[1])? == Ordering::Equal {
                    return Err(invalid("an object has the same property twice"));
                }
            }
            let body = self.members[first].start;
            self.scratch.clear();
            self.scratch.extend_from_slice(&self.out[body..]);
            self.out.truncate(body);
            for (i, span) in order.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                self.out
                    .extend_from_slice(&self.scratch[span.start - body..span.end - body]);
            }
            self.order = order;
        }
        self.members.truncate(first);
        self.out.push(b'}');
        Ok(())
    }
}

impl Formatter for Canonical<'_> {
    fn write_null<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn write_bool<W: ?Sized + io::Write>(&mut self, _: &mut W, value: bool) -> io::Result<()> {
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    fn write_i8<W: ?Sized + io::Write>(&mut self, _: &mut W, value: i8) -> io::Result<()> {
        self.signed(value.into())
    }

    fn write_i16<W: ?Sized + io::Write>(&mut self, _: &mut W, value: i16) -> io::Result<()> {
        self.signed(value.into())
    }

    fn write_i32<W: ?Sized + io::Write>(&mut self, _: &mut W, value: i32) -> io::Result<()> {
        self.signed(value.into())
    }

    fn write_i64<W: ?Sized + io::Write>(&mut self, _: &mut W, value: i64) -> io::Result<()> {
        self.signed(value)
    }

    fn write_i128<W: ?Sized + io::Write>(&mut self, _: &mut W, value: i128) -> io::Result<()> {
        let value = i64::try_from(value).map_err(|_| invalid("an integer beyond 64 bits"))?;
        self.signed(value)
    }

    fn write_u8<W: ?Sized + io::Write>(&mut self, _: &mut W, value: u8) -> io::Result<()> {
        self.unsigned(value.into())
    }

    fn write_u16<W: ?Sized + io::Write>(&mut self, _: &mut W, value: u16) -> io::Result<()> {
        self.unsigned(value.into())
    }

    fn write_u32<W: ?Sized + io::Write>(&mut self, _: &mut W, value: u32) -> io::Result<()> {
        self.unsigned(value.into())
    }

    fn write_u64<W: ?Sized + io::Write>(&mut self, _: &mut W, value: u64) -> io::Result<()> {
        self.unsigned(value)
    }

    fn write_u128<W: ?Sized + io::Write>(&mut self, _: &mut W, value: u128) -> io::Result<()> {
        let value = u64::try_from(value).map_err(|_| invalid("an integer beyond 64 bits"))?;
        self.unsigned(value)
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(w, value.into())
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, _: &mut W, value: f64) -> io::Result<()> {
        if self.in_key {
            return serde_json::ser::CompactFormatter.write_f64(&mut *self.out, value);
        }
        match Number::from_f64(value) {
            Some(n) => self.number(n),
            None => {
                self.out.extend_from_slice(b"null");
                Ok(())
            }
        }
    }

    fn write_number_str<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        value: &str,
    ) -> io::Result<()> {
        let value: serde_json::Value =
            serde_json::from_str(value).map_err(|e| invalid(&e.to_string()))?;
        write_value(&value, self.out).map_err(|e| invalid(&e.to_string()))
    }

    fn begin_string<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.push(b'"');
        Ok(())
    }

    fn end_string<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.push(b'"');
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        self.out.extend_from_slice(fragment.as_bytes());
        Ok(())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        // serde_json's defaults are JCS's (lowercase hex for other controls).
        serde_json::ser::CompactFormatter.write_char_escape(&mut *self.out, char_escape)
    }

    fn write_byte_array<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        value: &[u8],
    ) -> io::Result<()> {
        self.begin_array(w)?;
        for (i, byte) in value.iter().enumerate() {
            self.begin_array_value(w, i == 0)?;
            self.write_u8(w, *byte)?;
        }
        self.end_array(w)
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.push(b'[');
        Ok(())
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.push(b']');
        Ok(())
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if !first {
            self.out.push(b',');
        }
        Ok(())
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.push(b'{');
        self.frames.push(self.members.len());
        Ok(())
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.close_object()
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        _: &mut W,
        _first: bool,
    ) -> io::Result<()> {
        self.members.push(Member {
            start: self.out.len(),
            key_end: 0,
            plain: false,
        });
        self.in_key = true;
        Ok(())
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        let end = self.out.len();
        let member = self
            .members
            .last_mut()
            .ok_or_else(|| invalid("a key outside an object"))?;
        member.key_end = end;
        let key = &self.out[member.start + 1..end - 1];
        member.plain = key.is_ascii() && !key.contains(&b'\\');
        self.in_key = false;
        Ok(())
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.out.push(b':');
        Ok(())
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        self.write_number_str(w, fragment)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde::Serialize;
    use serde_json::{Value, json};

    use super::super::canonicalize;

    fn direct<T: Serialize>(value: &T) -> String {
        let mut out = Vec::new();
        super::write(value, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The direct writer, the `Value` path and the reference crate agree.
    fn agree<T: Serialize>(value: &T) -> String {
        let ours = direct(value);
        let tree = serde_json::to_value(value).unwrap();
        assert_eq!(
            ours,
            String::from_utf8(canonicalize(&tree).unwrap()).unwrap()
        );
        assert_eq!(
            ours,
            String::from_utf8(serde_json_canonicalizer::to_vec(&tree).unwrap()).unwrap()
        );
        ours
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    enum Kind {
        Plain,
        Tuple(u8, String),
        Shape { zeta: bool, alpha: Option<u8> },
    }

    #[derive(Serialize)]
    struct Unsorted<'a> {
        #[serde(rename = "type")]
        kind: Vec<&'a str>,
        id: &'a str,
        #[serde(rename = "@context")]
        context: [&'a str; 2],
        #[serde(skip_serializing_if = "Option::is_none")]
        absent: Option<u8>,
        nested: Vec<Inner>,
        kinds: Vec<Kind>,
        bytes: &'a [u8],
    }

    #[derive(Serialize)]
    struct Inner {
        z: f64,
        y: i64,
        x: u64,
        w: Option<f32>,
        v: (),
    }

    #[test]
    fn structs_come_out_sorted_at_every_level() {
        let value = Unsorted {
            kind: vec!["VerifiableCredential", "DigitalProductPassport"],
            id: "urn:uuid:1",
            context: [
                "https://www.w3.org/ns/credentials/v2",
                "https://example.com/v2",
            ],
            absent: None,
            nested: vec![
                Inner {
                    z: 0.0312,
                    y: -7,
                    x: 1 << 60,
                    w: Some(0.1),
                    v: (),
                },
                Inner {
                    z: 1e21,
                    y: i64::MIN,
                    x: 9_007_199_254_740_993,
                    w: None,
                    v: (),
                },
                Inner {
                    z: 5e-7,
                    y: 0,
                    x: 0,
                    w: Some(f32::NAN),
                    v: (),
                },
            ],
            kinds: vec![
                Kind::Plain,
                Kind::Tuple(3, "t".into()),
                Kind::Shape {
                    zeta: true,
                    alpha: None,
                },
            ],
            bytes: &[0, 255],
        };
        let out = agree(&value);
        assert!(out.starts_with(r#"{"@context":["#), "{out}");
        assert!(
            out.contains(
                r#"{"v":null,"w":0.10000000149011612,"x":1152921504606847000,"y":-7,"z":0.0312}"#
            ),
            "{out}"
        );
        assert!(out.contains(r#""z":1e+21"#), "{out}");
        assert!(
            out.contains(r#"{"shape":{"alpha":null,"zeta":true}}"#),
            "{out}"
        );
    }

    #[test]
    fn keys_sort_by_utf16_code_units_and_escapes_are_jcs() {
        let map: HashMap<&str, &str> = [
            ("\u{20ac}", "Euro Sign"),
            ("\r", "Carriage Return"),
            ("\u{fb33}", "Hebrew Letter Dalet With Dagesh"),
            ("1", "One"),
            ("\u{1f600}", "Emoji: Grinning Face"),
            ("\u{0080}", "Control"),
            ("\u{00f6}", "Latin Small Letter O With Diaeresis"),
            ("ctl", "\u{0}\u{1f}\u{7f}\t\n\u{8}\u{c}/\\\"'"),
        ]
        .into();
        let out = agree(&map);
        assert!(
            out.starts_with("{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"ctl\""),
            "{out}"
        );
        assert!(out.ends_with("\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"), "{out}");
    }

    #[test]
    fn maps_keyed_by_numbers_and_values_agree() {
        let by_number: BTreeMap<u64, Vec<u8>> =
            [(10, vec![1]), (9, vec![]), (u64::MAX, vec![2, 3])].into();
        agree(&by_number);
        let tree = json!({"b": [{"d": 1, "c": {}}], "a": "x", "": null});
        assert_eq!(direct(&tree), r#"{"":null,"a":"x","b":[{"c":{},"d":1}]}"#);
        agree(&tree);
        agree(&Value::Null);
        agree(&json!([[], {}, [{}], "\u{10ffff}"]));
    }

    #[test]
    fn duplicate_properties_are_refused() {
        #[derive(Serialize)]
        struct Twice {
            a: u8,
            #[serde(flatten)]
            more: BTreeMap<&'static str, u8>,
        }
        let twice = Twice {
            a: 1,
            more: [("a", 2)].into(),
        };
        let mut out = Vec::new();
        assert!(super::write(&twice, &mut out).is_err());
    }
}
