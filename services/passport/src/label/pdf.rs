//! Laid-out labels as a PDF 1.4 document, written here: pages of the size asked for, the
//! rectangles as filled vector paths, the text in Helvetica and Helvetica-Bold (two of the
//! standard 14 fonts every reader has, so nothing is embedded) with WinAnsiEncoding, each page's
//! content stream deflated, and a cross-reference table with each object's byte offset.

use std::fmt::Write as _;
use std::io::Write as _;

use super::{LabelDrawing, Mark, fmt};

/// Points per millimetre (a point is 1/72 inch).
pub const PT_PER_MM: f64 = 72.0 / 25.4;

/// One page: its size, and the labels on it with the offset of each one's top-left corner from
/// the page's top-left corner, in millimetres.
#[derive(Debug, Clone)]
pub struct PdfPage<'a> {
    pub width_mm: f64,
    pub height_mm: f64,
    pub labels: Vec<(f64, f64, &'a LabelDrawing)>,
}

/// A character in WinAnsiEncoding (the Latin-1 range, and the few typographic characters the
/// encoding places in 0x80..0x9F); `?` for what it cannot show.
fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' | '\u{a0}'..='\u{ff}' => u8::try_from(u32::from(c)).unwrap_or(b'?'),
        '\u{20ac}' => 0x80,
        '\u{2026}' => 0x85,
        '\u{2018}' => 0x91,
        '\u{2019}' => 0x92,
        '\u{201c}' => 0x93,
        '\u{201d}' => 0x94,
        '\u{2022}' => 0x95,
        '\u{2013}' => 0x96,
        '\u{2014}' => 0x97,
        _ => b'?',
    }
}

/// `text` as a PDF literal string: WinAnsi bytes, with `\`, `(`, `)` and bytes outside printable
/// ASCII escaped.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('(');
    for byte in text.chars().map(win_ansi) {
        match byte {
            b'\\' | b'(' | b')' => {
                out.push('\\');
                out.push(char::from(byte));
            }
            b' '..=b'~' => out.push(char::from(byte)),
            other => {
                let _ = write!(out, "\\{other:03o}");
            }
        }
    }
    out.push(')');
    out
}

/// The content stream of a page (before compression).
pub(super) fn content(page: &PdfPage<'_>) -> String {
    let top = page.height_mm * PT_PER_MM;
    let pt = |mm: f64| fmt(mm * PT_PER_MM);
    let mut out = String::with_capacity(4096);
    out.push_str("0 g\n");
    for (dx, dy, drawing) in &page.labels {
        let mut any = false;
        for mark in &drawing.marks {
            if let Mark::Rect { x, y, w, h } = mark {
                let bottom = top - (dy + y + h) * PT_PER_MM;
                let _ = writeln!(
                    out,
                    "{} {} {} {} re",
                    pt(dx + x),
                    fmt(bottom),
                    pt(*w),
                    pt(*h)
                );
                any = true;
            }
        }
        if any {
            out.push_str("f\n");
        }
        for mark in &drawing.marks {
            if let Mark::Text {
                x,
                y,
                size,
                bold,
                text,
            } = mark
            {
                let font = if *bold { "F2" } else { "F1" };
                let _ = writeln!(
                    out,
                    "BT /{font} {} Tf {} {} Td {} Tj ET",
                    pt(*size),
                    pt(dx + x),
                    fmt(top - (dy + y) * PT_PER_MM),
                    literal(text)
                );
            }
        }
    }
    out
}

/// Appends objects and remembers where each starts.
struct Writer {
    out: Vec<u8>,
    offsets: Vec<usize>,
}

impl Writer {
    /// Writes object `number` (objects are written in order, from 1).
    fn object(&mut self, body: &[u8]) {
        self.offsets.push(self.out.len());
        let number = self.offsets.len();
        let _ = writeln!(self.out, "{number} 0 obj");
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(b"\nendobj\n");
    }
}

fn deflate(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::default(),
    );
    encoder.write_all(data)?;
    encoder.finish()
}

/// The PDF document of `pages`, titled `title`.
pub fn render(title: &str, pages: &[PdfPage<'_>]) -> std::io::Result<Vec<u8>> {
    let mut w = Writer {
        out: Vec::with_capacity(16 * 1024),
        offsets: Vec::new(),
    };
    // A binary comment after the header tells transfer tools the file is binary.
    w.out.extend_from_slice(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
    // Objects 1 to 5: catalog, page tree, the two fonts, the document information; then a page
    // and its content stream for each page.
    let first_page = 6;
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", first_page + 2 * i))
        .collect();
    w.object(b"<< /Type /Catalog /Pages 2 0 R >>");
    w.object(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .as_bytes(),
    );
    for font in ["Helvetica", "Helvetica-Bold"] {
        w.object(
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{font} /Encoding /WinAnsiEncoding >>"
            )
            .as_bytes(),
        );
    }
    w.object(format!("<< /Title {} /Producer (reetrace) >>", literal(title)).as_bytes());
    for (i, page) in pages.iter().enumerate() {
        let stream = first_page + 2 * i + 1;
        w.object(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {stream} 0 R >>",
                fmt(page.width_mm * PT_PER_MM),
                fmt(page.height_mm * PT_PER_MM)
            )
            .as_bytes(),
        );
        let data = deflate(content(page).as_bytes())?;
        let mut body = format!(
            "<< /Length {} /Filter /FlateDecode >>\nstream\n",
            data.len()
        )
        .into_bytes();
        body.extend_from_slice(&data);
        body.extend_from_slice(b"\nendstream");
        w.object(&body);
    }
    let xref = w.out.len();
    let count = w.offsets.len() + 1;
    let _ = write!(w.out, "xref\n0 {count}\n0000000000 65535 f \n");
    for offset in &w.offsets {
        let _ = writeln!(w.out, "{offset:010} 00000 n ");
    }
    let _ = write!(
        w.out,
        "trailer\n<< /Size {count} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    );
    Ok(w.out)
}
