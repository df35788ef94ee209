//! Exact rational numbers for the central values of assays and contents.
//!
//! A deposit's content is tonnage × concentration and its concentration a sample-count-weighted
//! mean: with decimal inputs both are exact rationals, so they are computed as such (i128
//! numerator and denominator, reduced) and turned into a JSON number only when written. A
//! value whose decimal expansion ends within 15 significant digits is written exactly; a mean
//! that does not end (a third, say) is written to 15 significant digits, the most a JSON number
//! carries faithfully. Inputs follow the same rule as masses elsewhere: a JSON number with more
//! than 15 significant digits is refused rather than guessed.

use std::cmp::Ordering;
use std::fmt;

/// Significant digits an IEEE 754 double carries exactly from decimal and back.
const EXACT_DIGITS: usize = 15;

/// An exact rational: `num / den`, `den > 0`, reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Exact {
    num: i128,
    den: i128,
}

/// Why a number cannot be taken or computed exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExactError {
    #[error("must be a finite number")]
    NotFinite,
    #[error("has more than 15 significant digits, which a JSON number cannot carry exactly")]
    TooPrecise,
    #[error("is too large to compute with exactly")]
    Overflow,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Exact {
    pub const ZERO: Exact = Exact { num: 0, den: 1 };

    /// `num / den`, reduced; `None` when `den` is 0.
    pub fn ratio(num: i128, den: i128) -> Option<Exact> {
        if den == 0 {
            return None;
        }
        let g = gcd(num, den).max(1);
        let sign = if den < 0 { -1 } else { 1 };
        Some(Exact {
            num: sign * num / g,
            den: sign * den / g,
        })
    }

    pub fn integer(n: i128) -> Exact {
        Exact { num: n, den: 1 }
    }

    /// The decimal a JSON number stands for: the shortest text that reads back as the same
    /// double, taken exactly, if it has at most 15 significant digits.
    pub fn from_json_number(x: f64) -> Result<Exact, ExactError> {
        if !x.is_finite() {
            return Err(ExactError::NotFinite);
        }
        // Rust prints the shortest round-trip decimal, never in exponent form.
        let text = format!("{x}");
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all: String = format!("{whole}{frac}");
        let significant = all.trim_start_matches('0').trim_end_matches('0').len();
        if significant > EXACT_DIGITS {
            return Err(ExactError::TooPrecise);
        }
        let trimmed_frac = frac.trim_end_matches('0');
        let mut num: i128 = 0;
        for c in whole.chars().chain(trimmed_frac.chars()) {
            let d = i128::from(c.to_digit(10).ok_or(ExactError::NotFinite)?);
            num = num
                .checked_mul(10)
                .and_then(|n| n.checked_add(d))
                .ok_or(ExactError::Overflow)?;
        }
        let den = 10i128
            .checked_pow(u32::try_from(trimmed_frac.len()).map_err(|_| ExactError::Overflow)?)
            .ok_or(ExactError::Overflow)?;
        let num = if negative { -num } else { num };
        Exact::ratio(num, den).ok_or(ExactError::Overflow)
    }

    pub fn is_zero(self) -> bool {
        self.num == 0
    }

    pub fn is_negative(self) -> bool {
        self.num < 0
    }

    pub fn checked_add(self, other: Exact) -> Result<Exact, ExactError> {
        let g = gcd(self.den, other.den);
        let left = self.num.checked_mul(other.den / g);
        let right = other.num.checked_mul(self.den / g);
        let num = left
            .zip(right)
            .and_then(|(l, r)| l.checked_add(r))
            .ok_or(ExactError::Overflow)?;
        let den = (self.den / g)
            .checked_mul(other.den)
            .ok_or(ExactError::Overflow)?;
        Exact::ratio(num, den).ok_or(ExactError::Overflow)
    }

    pub fn checked_mul(self, other: Exact) -> Result<Exact, ExactError> {
        // Cross-reduce first so that products of reduced fractions stay small.
        let g1 = gcd(self.num, other.den).max(1);
        let g2 = gcd(other.num, self.den).max(1);
        let num = (self.num / g1)
            .checked_mul(other.num / g2)
            .ok_or(ExactError::Overflow)?;
        let den = (self.den / g2)
            .checked_mul(other.den / g1)
            .ok_or(ExactError::Overflow)?;
        Exact::ratio(num, den).ok_or(ExactError::Overflow)
    }

    /// `self / n` for a positive whole `n`.
    pub fn checked_div_int(self, n: i128) -> Result<Exact, ExactError> {
        let g = gcd(self.num, n).max(1);
        let den = self.den.checked_mul(n / g).ok_or(ExactError::Overflow)?;
        Exact::ratio(self.num / g, den).ok_or(ExactError::Overflow)
    }

    /// Whether the decimal expansion ends within 15 significant digits, so that the JSON
    /// number written is this value exactly.
    pub fn is_exact_in_json(self) -> bool {
        let mut den = self.den;
        for p in [2, 5] {
            while den % p == 0 {
                den /= p;
            }
        }
        // A terminating expansion of an i128 ratio has fewer than 80 digits in all.
        den == 1 && significant_digits(&self.decimal(80)) <= EXACT_DIGITS
    }

    /// The nearest double (through the decimal expansion to 17 significant digits, which is
    /// exact whenever the value has at most 15).
    pub fn to_f64(self) -> f64 {
        self.decimal(17).parse().unwrap_or(f64::NAN)
    }

    /// The decimal expansion to `sig` significant digits, truncated (not rounded) beyond them;
    /// trailing zeros of the fraction removed.
    fn decimal(self, sig: usize) -> String {
        let negative = self.num < 0;
        let num = self.num.unsigned_abs();
        let den = self.den.unsigned_abs();
        let whole = num / den;
        let mut rem = num % den;
        let mut out = String::new();
        if negative {
            out.push('-');
        }
        let whole_text = whole.to_string();
        let mut used = if whole == 0 { 0 } else { whole_text.len() };
        out.push_str(&whole_text);
        if rem != 0 && used < sig {
            out.push('.');
            while rem != 0 && used < sig {
                rem *= 10;
                let digit = rem / den;
                rem %= den;
                out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
                if used > 0 || digit != 0 {
                    used += 1;
                }
            }
            while out.ends_with('0') {
                out.pop();
            }
            if out.ends_with('.') {
                out.pop();
            }
        }
        out
    }
}

fn significant_digits(text: &str) -> usize {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let trimmed = digits.trim_start_matches('0');
    if text.contains('.') {
        trimmed.len()
    } else {
        trimmed.trim_end_matches('0').len()
    }
}

impl PartialOrd for Exact {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Exact {
    fn cmp(&self, other: &Self) -> Ordering {
        // Both denominators are positive; compare a/b with c/d as a·d with c·b, falling back to
        // doubles only if the products overflow (values beyond 10^19 on both sides).
        match (
            self.num.checked_mul(other.den),
            other.num.checked_mul(self.den),
        ) {
            (Some(l), Some(r)) => l.cmp(&r),
            _ => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

impl fmt::Display for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.decimal(EXACT_DIGITS))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn x(v: f64) -> Exact {
        Exact::from_json_number(v).unwrap()
    }

    #[test]
    fn json_numbers_are_taken_as_the_decimals_they_spell() {
        assert_eq!(x(0.1), Exact::ratio(1, 10).unwrap());
        assert_eq!(x(850.25), Exact::ratio(85025, 100).unwrap());
        assert_eq!(x(-3.0), Exact::integer(-3));
        assert_eq!(x(1.5e12), Exact::integer(1_500_000_000_000));
        assert_eq!(
            Exact::from_json_number(0.123_456_789_012_345_68),
            Err(ExactError::TooPrecise)
        );
        assert_eq!(
            Exact::from_json_number(f64::NAN),
            Err(ExactError::NotFinite)
        );
    }

    #[test]
    fn sums_and_products_are_exact_where_doubles_are_not() {
        // 0.1 + 0.2 is 0.30000000000000004 in doubles.
        let sum = x(0.1).checked_add(x(0.2)).unwrap();
        assert_eq!(sum, x(0.3));
        assert_eq!(sum.to_f64(), 0.3);
        // 1,234,567.891 t at 812.37 ppm (g/t): 1,002,925,904.61... g exactly.
        let content = x(1_234_567.891).checked_mul(x(812.37)).unwrap();
        assert_eq!(content, Exact::ratio(100_292_591_761_167, 100_000).unwrap());
        assert_eq!(content.to_string(), "1002925917.61167");
        assert!(content.is_exact_in_json());
        assert_eq!(content.to_f64(), 1_002_925_917.611_67);
        // Sixteen significant digits: exact as a rational, not as a JSON number.
        let finer = x(1_234_567.891).checked_mul(x(812.373)).unwrap();
        assert_eq!(
            finer,
            Exact::ratio(1_002_929_621_315_343, 1_000_000).unwrap()
        );
        assert!(!finer.is_exact_in_json());
    }

    #[test]
    fn a_mean_that_does_not_end_is_written_to_15_digits() {
        let third = Exact::integer(1).checked_div_int(3).unwrap();
        assert_eq!(third.to_string(), "0.333333333333333");
        assert!(!third.is_exact_in_json());
        assert_eq!(third.to_f64(), 1.0 / 3.0);
        let half = Exact::integer(1).checked_div_int(2).unwrap();
        assert!(half.is_exact_in_json());
        assert!(third < half && half > Exact::ZERO);
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let big = Exact::integer(i128::MAX / 2);
        assert_eq!(big.checked_add(big), Ok(Exact::integer(i128::MAX - 1)));
        assert_eq!(
            big.checked_mul(Exact::integer(3)),
            Err(ExactError::Overflow)
        );
    }
}
