//! Writing CSV fields (RFC 4180) that spreadsheets open safely.

/// A text field: quoted (quotes doubled) when it holds a comma, quote or line break; a text a
/// spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, carriage return first) gets a
/// `'` before it (OWASP's advice against CSV injection).
pub fn text(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_defuses_formulas() {
        assert_eq!(text("Lab A"), "Lab A");
        assert_eq!(text("Lab, \"B\""), "\"Lab, \"\"B\"\"\"");
        assert_eq!(text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(text("-5"), "'-5");
        assert_eq!(text("two\nlines"), "\"two\nlines\"");
    }
}
