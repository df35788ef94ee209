//! The one rounding rule for numbers that leave our exact integers for a standard that wants a
//! JSON number (UNTP's `Measure.value`, `massFraction`, `recycledMassFraction`): the exact
//! ratio of two integers, rounded half to even at the sixth significant digit, computed in
//! integers and written as the shortest JSON number of that decimal.
//!
//! Six significant digits are a relative step of at most 10^-5 (finer than any assay) and well
//! inside what an `f64` carries exactly from decimal and back (15 digits), so the number a JSON
//! writer prints is the rounded decimal itself. Nobody should add such numbers up: the exact
//! integers travel beside them (see `docs/credential.md`, "From exact masses to UNTP numbers").

/// Significant digits kept.
pub const DIGITS: u32 = 6;

/// `numerator / denominator` rounded half to even at [`DIGITS`] significant digits.
///
/// Returns `None` when the denominator is not positive or the numerator is negative (masses and
/// shares here are never negative). Zero is `Some(0.0)`.
pub fn ratio(numerator: i128, denominator: i128) -> Option<f64> {
    if denominator <= 0 || numerator < 0 {
        return None;
    }
    if numerator == 0 {
        return Some(0.0);
    }
    let (digits, exponent) = six_digits(numerator, denominator)?;
    // `digits` × 10^exponent, written as a decimal and read back: the nearest f64, which the
    // shortest round-trip printer writes as that same decimal.
    format!("{digits}e{exponent}").parse().ok()
}

/// Micrograms as kilograms (`KGM`), by the rule of [`ratio`].
pub fn kilograms_of_micrograms(micrograms: i64) -> Option<f64> {
    ratio(i128::from(micrograms), 1_000_000_000)
}

/// The six-digit integer `q` (10^5 <= q < 10^6) and the exponent `e` with `q × 10^e` the rounded
/// ratio.
fn six_digits(n: i128, d: i128) -> Option<(i128, i32)> {
    let low = 10i128.pow(DIGITS - 1);
    let high = 10i128.pow(DIGITS);
    // Scale so that the quotient has six digits: q = n × 10^k / d in [10^5, 10^6).
    let mut k = (DIGITS as i32 - 1) + decimal_digits(d) - decimal_digits(n);
    let (mut q, mut r, mut divisor) = scaled_division(n, d, k)?;
    if q < low {
        k += 1;
        (q, r, divisor) = scaled_division(n, d, k)?;
    } else if q >= high {
        k -= 1;
        (q, r, divisor) = scaled_division(n, d, k)?;
    }
    // Half to even on the remainder.
    let twice = r.checked_mul(2)?;
    if twice > divisor || (twice == divisor && q % 2 == 1) {
        q += 1;
    }
    if q == high {
        q = low;
        k -= 1;
    }
    Some((q, -k))
}

/// `(n × 10^k) / d` as quotient, remainder and the divisor used (`d`, or `d × 10^-k`).
fn scaled_division(n: i128, d: i128, k: i32) -> Option<(i128, i128, i128)> {
    let (dividend, divisor) = if k >= 0 {
        (n.checked_mul(10i128.checked_pow(k.unsigned_abs())?)?, d)
    } else {
        (n, d.checked_mul(10i128.checked_pow(k.unsigned_abs())?)?)
    };
    Some((dividend / divisor, dividend % divisor, divisor))
}

fn decimal_digits(mut v: i128) -> i32 {
    let mut digits = 0;
    while v > 0 {
        v /= 10;
        digits += 1;
    }
    digits
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The vectors of `docs/credential.md`, section 4.
    #[test]
    fn the_documented_vectors() {
        // Nd 380.4 g as KGM, and as a fraction of 48 kg.
        assert_eq!(kilograms_of_micrograms(380_400_000), Some(0.3804));
        assert_eq!(ratio(380_400_000, 48_000_000_000), Some(0.007925));
        // Ni 5.6 g in 48 kg: 0.000116666... -> 0.000116667.
        assert_eq!(ratio(5_600_000, 48_000_000_000), Some(0.000116667));
        // 21.12 g recovered of 380.4 g: 0.0555205047... -> 0.0555205.
        assert_eq!(ratio(21_120_000, 380_400_000), Some(0.0555205));
        // Ties: 1.000015 kg goes up (1 is odd), 1.000025 kg stays (2 is even).
        assert_eq!(kilograms_of_micrograms(1_000_015_000), Some(1.00002));
        assert_eq!(kilograms_of_micrograms(1_000_025_000), Some(1.00002));
    }

    #[test]
    fn what_a_json_writer_prints_is_the_rounded_decimal() {
        for (n, d, text) in [
            (5_600_000, 48_000_000_000, "0.000116667"),
            (48_000_000_000, 1_000_000_000, "48.0"),
            (1, 3, "0.333333"),
            (2, 3, "0.666667"),
            (1, 1_000_000_000_000_000_000, "1e-18"),
            (9_999_995, 10, "1000000.0"),
            (9_999_985, 10, "999998.0"),
        ] {
            let value = ratio(n, d).unwrap();
            assert_eq!(serde_json::to_string(&value).unwrap(), text, "{n}/{d}");
        }
    }

    #[test]
    fn carries_into_a_new_digit() {
        // 9.999995 -> 10.0000 (six digits), 0.9999995 -> 1.00000.
        assert_eq!(ratio(9_999_995, 1_000_000), Some(10.0));
        assert_eq!(ratio(9_999_995, 10_000_000), Some(1.0));
    }

    #[test]
    fn large_and_small_masses_keep_six_digits() {
        // 10^12 g, the largest mass we keep, in kg.
        assert_eq!(
            kilograms_of_micrograms(1_000_000_000_000_000_000),
            Some(1e9)
        );
        assert_eq!(
            kilograms_of_micrograms(123_456_789_012_345_678),
            Some(123_457_000.0)
        );
        assert_eq!(kilograms_of_micrograms(1), Some(1e-9));
    }

    #[test]
    fn refuses_what_has_no_ratio() {
        assert_eq!(ratio(1, 0), None);
        assert_eq!(ratio(-1, 3), None);
        assert_eq!(ratio(0, 7), Some(0.0));
    }
}
