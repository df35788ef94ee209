//! How wide a line of Helvetica is, so that the layout can fit it: the advance widths of the
//! printable ASCII characters in the standard 14 fonts' Helvetica and Helvetica-Bold (thousandths
//! of an em). Other characters count as wide as a digit, and the writers draw them so (PDF) or
//! with a metric-compatible font (SVG); a little slack in the layout covers the difference.

/// Helvetica, characters 32 (space) to 126 (`~`).
const REGULAR: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // ' ' to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0 to 9
    278, 278, 584, 584, 584, 556, 1015, // : to @
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // A to Z
    278, 278, 278, 469, 556, 333, // [ to `
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500,
    278, 556, 500, 722, 500, 500, 500, // a to z
    334, 260, 334, 584, // { to ~
];

/// Helvetica-Bold, characters 32 to 126.
const BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278,
    278, // ' ' to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0 to 9
    333, 333, 584, 584, 584, 611, 975, // : to @
    722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // A to Z
    333, 278, 333, 584, 556, 333, // [ to `
    556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556,
    333, 611, 556, 778, 556, 556, 500, // a to z
    389, 280, 389, 584, // { to ~
];

/// The width of `text` in ems (its font size times this is its width).
pub fn width_em(text: &str, bold: bool) -> f64 {
    let table = if bold { &BOLD } else { &REGULAR };
    let thousandths: u32 = text
        .chars()
        .map(|c| match u32::from(c) {
            code @ 32..=126 => u32::from(table[(code - 32) as usize]),
            // The no-break space of the identifier, the bullet of the type list.
            0xa0 => 278,
            0x2022 => 350,
            _ => 556,
        })
        .sum();
    f64::from(thousandths) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_font_tables() {
        assert_eq!(width_em("", false), 0.0);
        assert!((width_em("Hi", false) - 0.944).abs() < 1e-9);
        assert!((width_em("Hi", true) - 1.0).abs() < 1e-9);
        assert!(width_em("W", false) > width_em("i", false));
        assert!((width_em("\u{e9}", false) - 0.556).abs() < 1e-9);
    }
}
