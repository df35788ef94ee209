//! Exact decimals at a fixed scale of 10^-6, shared by [`Mass`](super::Mass) (micrograms) and
//! [`Share`](super::Share) (parts per million).
//!
//! JSON numbers reach us as `f64` (serde_json without `arbitrary_precision`). A decimal with at
//! most 15 significant digits survives the trip decimal -> f64 -> shortest round-trip decimal
//! unchanged, so we print the f64 with `ryu` and parse that text exactly. Past 15 digits two
//! different decimals can land on the same f64, so such input is refused rather than guessed.
//!
//! Writing is the mirror image: whole values as JSON integers, others as the f64 nearest to
//! the exact decimal, which JSON writers print as that decimal. Values with more than 15
//! significant digits (only possible above 10^9 units with a fractional part, e.g. sums in
//! aggregates) are written as the nearest f64, the best a JSON number can do (RFC 7493);
//! `micrograms()`/`ppm()` stay exact.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// Units of 10^-6 in one whole unit.
pub(crate) const MICROS_PER_UNIT: u64 = 1_000_000;
/// Significant digits that an IEEE 754 double carries exactly from decimal and back.
pub(crate) const F64_EXACT_DIGITS: usize = 15;

/// What is wrong with a decimal; each type words its own message from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    /// Not a decimal number at all.
    Syntax,
    /// Below zero.
    Negative,
    /// NaN or infinite.
    NotFinite,
    /// A non-zero digit past the sixth decimal place.
    TooPrecise,
    /// Above the type's maximum.
    TooLarge,
    /// A JSON number with more significant digits than an f64 carries exactly.
    TooManyDigits(usize),
}

/// A type stored as an exact count of 10^-6 units.
pub(crate) trait FixedDecimal: Sized {
    /// The largest value allowed, in 10^-6 units.
    const MAX_MICROS: u64;
    /// What `expecting` says when the input is not a number at all.
    const EXPECTING: &'static str;
    /// The type's own error, from what is wrong and the input as written.
    type Error: fmt::Display;
    /// Builds the value; only called with `0..=MAX_MICROS`.
    fn from_micros_checked(micros: u64) -> Self;
    /// Words the error for this type.
    fn error(kind: DecimalError, input: &str) -> Self::Error;
}

/// A decimal split into sign, significant digits (no leading or trailing zeros, values 0-9)
/// and the power of ten that the digits are multiplied by.
#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    negative: bool,
    digits: Vec<u8>,
    exponent: i64,
}

/// Parses `-?D+(.D+)?([eE][+-]?D+)?` without any rounding.
fn parse(s: &str) -> Result<Parsed, DecimalError> {
    let bytes = s.as_bytes();
    let (negative, rest) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let (mantissa, exp) = match rest.iter().position(|b| matches!(b, b'e' | b'E')) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let all_digits = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return Err(DecimalError::Syntax);
    }
    let frac = frac.unwrap_or_default();
    let mut exponent = match exp {
        Some(e) => parse_exponent(e)?,
        None => 0,
    };
    // Input length is bounded by memory, far below i64::MAX.
    exponent -= frac.len() as i64;

    // Trim zeros across the integer and fraction parts as if they were one digit string.
    let joined: Vec<u8> = int.iter().chain(frac).map(|b| b - b'0').collect();
    let start = joined.iter().position(|&d| d != 0).unwrap_or(joined.len());
    let end = joined
        .iter()
        .rposition(|&d| d != 0)
        .map_or(start, |i| i + 1);
    exponent += (joined.len() - end) as i64;
    Ok(Parsed {
        negative,
        digits: joined[start..end].to_vec(),
        exponent,
    })
}

/// Parses an exponent, saturating far outside any range we accept so that huge exponents
/// still give the right error (too large or too precise) instead of a syntax error.
fn parse_exponent(e: &[u8]) -> Result<i64, DecimalError> {
    let (negative, digits) = match e.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, e),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(DecimalError::Syntax);
    }
    let magnitude = digits.iter().fold(0i64, |acc, &d| {
        (acc * 10 + i64::from(d - b'0')).min(1_000_000_000)
    });
    Ok(if negative { -magnitude } else { magnitude })
}

/// Scales a parsed decimal to an exact count of 10^-6 units, at most `max`.
fn to_micros(p: &Parsed, max: u64) -> Result<u64, DecimalError> {
    if p.digits.is_empty() {
        return Ok(0); // zero, including "-0" and "-0.0"
    }
    if p.negative {
        return Err(DecimalError::Negative);
    }
    let scale = p.exponent + 6;
    if scale < 0 {
        return Err(DecimalError::TooPrecise);
    }
    // u64::MAX has 20 digits: anything with more integer digits cannot fit.
    if p.digits.len() as i64 + scale > 20 {
        return Err(DecimalError::TooLarge);
    }
    let mut value: u64 = 0;
    for &d in &p.digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(DecimalError::TooLarge)?;
    }
    for _ in 0..scale {
        value = value.checked_mul(10).ok_or(DecimalError::TooLarge)?;
    }
    if value > max {
        return Err(DecimalError::TooLarge);
    }
    Ok(value)
}

/// Parses a decimal string exactly into 10^-6 units, at most `max`.
pub(crate) fn parse_micros(s: &str, max: u64) -> Result<u64, DecimalError> {
    to_micros(&parse(s)?, max)
}

/// Converts an `f64` that came from a JSON number into 10^-6 units, at most `max`, through
/// its shortest round-trip decimal text. Returns that text too, for error messages.
pub(crate) fn f64_to_micros(f: f64, max: u64) -> Result<u64, (DecimalError, String)> {
    match exact_micros(f, max) {
        Some(micros) => Ok(micros),
        None => text_micros(f, max),
    }
}

/// [`f64_to_micros`] through the shortest decimal text of `f`.
fn text_micros(f: f64, max: u64) -> Result<u64, (DecimalError, String)> {
    if !f.is_finite() {
        return Err((DecimalError::NotFinite, f.to_string()));
    }
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(f);
    // ryu writes whole numbers below 1e16 as "1500.0"; messages read better without ".0".
    let shown = text.strip_suffix(".0").unwrap_or(text);
    let fail = |kind| Err((kind, shown.to_owned()));
    let parsed = match parse(text) {
        Ok(p) => p,
        Err(kind) => return fail(kind),
    };
    if parsed.negative && !parsed.digits.is_empty() {
        return fail(DecimalError::Negative);
    }
    // Checked before the digit count, so an absurdly large value gets the clearer message.
    if f > max as f64 / MICROS_PER_UNIT as f64 {
        return fail(DecimalError::TooLarge);
    }
    if parsed.digits.len() > F64_EXACT_DIGITS {
        return fail(DecimalError::TooManyDigits(parsed.digits.len()));
    }
    to_micros(&parsed, max).or_else(fail)
}

/// The common case of [`f64_to_micros`] without writing the number out: `f` is the double
/// nearest to a decimal `micros` / 10^6 of at most 15 significant digits (below 10^9 units).
/// No other decimal of at most 15 digits reads as the same double, so that decimal is the
/// shortest text of `f`, the one the text path reads: both give the same count. `None` sends
/// everything else (more digits, more decimal places, negatives, too large) down that path.
fn exact_micros(f: f64, max: u64) -> Option<u64> {
    const FIFTEEN_DIGITS: f64 = 1e15;
    // Within half a unit of the decimal's count: |micros × 2^-53| < 0.5 below 10^15.
    let scaled = (f * MICROS_PER_UNIT as f64).round();
    if !(0.0..FIFTEEN_DIGITS).contains(&scaled) {
        return None;
    }
    let micros = scaled as u64;
    (micros <= max && micros_to_f64(micros) == f).then_some(micros)
}

/// Writes 10^-6 units as the shortest exact decimal: `1500`, `337.5`, `0.000001`.
pub(crate) fn format_micros(micros: u64) -> String {
    let whole = micros / MICROS_PER_UNIT;
    let frac = micros % MICROS_PER_UNIT;
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:06}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// The f64 nearest to the exact decimal, for reports and JSON output.
pub(crate) fn micros_to_f64(micros: u64) -> f64 {
    // Below 2^53 `micros as f64` is exact and so is 1e6, and one IEEE division rounds
    // correctly: the double nearest to the decimal. Past 2^53 the conversion would round
    // first, so the decimal is parsed instead (Rust's float parsing rounds correctly).
    const EXACT: u64 = 1 << f64::MANTISSA_DIGITS;
    if micros < EXACT {
        return micros as f64 / MICROS_PER_UNIT as f64;
    }
    format_micros(micros)
        .parse()
        .expect("format_micros writes a plain decimal")
}

/// Serializes as a JSON number: an integer when whole (`1500`, not `1500.0`), otherwise the
/// f64 nearest to the exact decimal, which prints as that decimal for up to 15 digits.
pub(crate) fn serialize_micros<S: Serializer>(
    micros: u64,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    if micros.is_multiple_of(MICROS_PER_UNIT) {
        serializer.serialize_u64(micros / MICROS_PER_UNIT)
    } else {
        serializer.serialize_f64(micros_to_f64(micros))
    }
}

/// Deserializes a JSON number exactly (see the module docs) into `T`; a decimal string is
/// accepted too and parsed exactly.
pub(crate) fn deserialize_micros<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FixedDecimal,
{
    struct MicrosVisitor<T>(std::marker::PhantomData<T>);

    impl<T: FixedDecimal> MicrosVisitor<T> {
        fn fail<E: de::Error>(kind: DecimalError, input: &str) -> E {
            E::custom(T::error(kind, input))
        }
    }

    impl<T: FixedDecimal> Visitor<'_> for MicrosVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::EXPECTING)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            match v.checked_mul(MICROS_PER_UNIT) {
                Some(micros) if micros <= T::MAX_MICROS => Ok(T::from_micros_checked(micros)),
                _ => Err(Self::fail(DecimalError::TooLarge, &v.to_string())),
            }
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(Self::fail(DecimalError::Negative, &v.to_string())),
            }
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
            f64_to_micros(v, T::MAX_MICROS)
                .map(T::from_micros_checked)
                .map_err(|(kind, text)| Self::fail(kind, &text))
        }

        // Query strings and CSV carry numbers as text; a decimal string is exact as it is.
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            parse_micros(v, T::MAX_MICROS)
                .map(T::from_micros_checked)
                .map_err(|kind| Self::fail(kind, v))
        }
    }

    deserializer.deserialize_any(MicrosVisitor(std::marker::PhantomData))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MAX: u64 = 1_000_000_000_000 * MICROS_PER_UNIT;

    #[test]
    fn the_exact_path_agrees_with_the_text_path() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut samples: Vec<f64> = vec![
            0.0,
            -0.0,
            1.5,
            0.1,
            0.1 + 0.2,
            26.4,
            10.575,
            0.000001,
            0.0000015,
            1e-7,
            -1.5,
            999_999_999.999_999,
            123_456_789.123_456,
            1e9,
            1e15,
            f64::NAN,
            f64::INFINITY,
        ];
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push((x % 10_000_000_000_000) as f64 / 1e6);
            samples.push((x % 1_000_000) as f64 / 1e3);
            samples.push(f64::from_bits(x >> 2));
        }
        for max in [MAX, MICROS_PER_UNIT] {
            for &f in &samples {
                assert_eq!(f64_to_micros(f, max), text_micros(f, max), "{f:?}");
            }
        }
    }

    #[test]
    fn micros_to_f64_is_the_double_nearest_to_the_decimal() {
        // The division below 2^53 against Rust's correctly rounded parse of the decimal.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut samples: Vec<u64> = vec![1, 5, 100_001, 337_500_000, (1 << 53) - 1, 1 << 53];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(x % (1 << 54));
            samples.push(x % 10_000_000_000);
        }
        for micros in samples {
            let parsed: f64 = format_micros(micros).parse().unwrap();
            assert_eq!(micros_to_f64(micros), parsed, "{micros}");
        }
    }

    #[test]
    fn parses_plain_and_exponent_forms_exactly() {
        assert_eq!(parse_micros("337.5", MAX), Ok(337_500_000));
        assert_eq!(parse_micros("1500", MAX), Ok(1_500_000_000));
        assert_eq!(parse_micros("0.000001", MAX), Ok(1));
        assert_eq!(parse_micros("1e-6", MAX), Ok(1));
        assert_eq!(parse_micros("1.5E3", MAX), Ok(1_500_000_000));
        assert_eq!(parse_micros("2.50000000000", MAX), Ok(2_500_000));
        assert_eq!(parse_micros("007.10", MAX), Ok(7_100_000));
        assert_eq!(parse_micros("-0.0", MAX), Ok(0));
        assert_eq!(parse_micros("1000000000000", MAX), Ok(MAX));
    }

    #[test]
    fn rejects_what_it_cannot_hold_exactly() {
        assert_eq!(
            parse_micros("0.0000001", MAX),
            Err(DecimalError::TooPrecise)
        );
        assert_eq!(parse_micros("1e-7", MAX), Err(DecimalError::TooPrecise));
        assert_eq!(
            parse_micros("1e-1000000000000", MAX),
            Err(DecimalError::TooPrecise)
        );
        assert_eq!(parse_micros("-1", MAX), Err(DecimalError::Negative));
        assert_eq!(
            parse_micros("1000000000000.000001", MAX),
            Err(DecimalError::TooLarge)
        );
        assert_eq!(parse_micros("1e400", MAX), Err(DecimalError::TooLarge));
        assert_eq!(
            parse_micros("99999999999999999999999", MAX),
            Err(DecimalError::TooLarge)
        );
        for bad in [
            "", "-", ".5", "5.", "1e", "1e+", "0x10", "1,5", " 1", "+1", "NaN", "1.2.3",
        ] {
            assert_eq!(parse_micros(bad, MAX), Err(DecimalError::Syntax), "{bad:?}");
        }
    }

    #[test]
    fn f64_goes_through_its_shortest_decimal() {
        // 0.1 + 0.2 is the f64 printed 0.30000000000000004: 17 digits, refused, where a naive
        // `(f * 1e6).round()` would silently accept it as 0.3.
        let sum = 0.1_f64 + 0.2;
        assert_eq!(
            f64_to_micros(sum, MAX).unwrap_err().0,
            DecimalError::TooManyDigits(17)
        );
        assert_eq!(f64_to_micros(0.3, MAX), Ok(300_000));
        assert_eq!(f64_to_micros(337.5, MAX), Ok(337_500_000));
        assert_eq!(f64_to_micros(1e-6, MAX), Ok(1));
        assert_eq!(
            f64_to_micros(123_456_789.123_456, MAX),
            Ok(123_456_789_123_456)
        );
        assert_eq!(f64_to_micros(-0.0, MAX), Ok(0));
        assert_eq!(
            f64_to_micros(1e-7, MAX).unwrap_err(),
            (DecimalError::TooPrecise, "1e-7".into())
        );
        assert_eq!(
            f64_to_micros(-2.5, MAX).unwrap_err().0,
            DecimalError::Negative
        );
        assert_eq!(
            f64_to_micros(f64::NAN, MAX).unwrap_err().0,
            DecimalError::NotFinite
        );
        assert_eq!(
            f64_to_micros(f64::INFINITY, MAX).unwrap_err().0,
            DecimalError::NotFinite
        );
        assert_eq!(
            f64_to_micros(1e13, MAX).unwrap_err().0,
            DecimalError::TooLarge
        );
    }

    #[test]
    fn formats_the_shortest_exact_decimal() {
        assert_eq!(format_micros(0), "0");
        assert_eq!(format_micros(1), "0.000001");
        assert_eq!(format_micros(337_500_000), "337.5");
        assert_eq!(format_micros(1_500_000_000), "1500");
        assert_eq!(format_micros(MAX), "1000000000000");
        assert_eq!(micros_to_f64(337_500_000), 337.5);
    }

    #[test]
    fn values_of_up_to_15_digits_round_trip_through_f64() {
        // Pseudo-random values (xorshift, fixed seed) of every magnitude up to 15 digits of
        // micro units: writing as an f64 and reading it back gives the same value.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for i in 0..60_000u64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let m = state % 10u64.pow(1 + (i % 15) as u32);
            assert_eq!(f64_to_micros(micros_to_f64(m), MAX), Ok(m), "{m}");
        }
    }
}
