//! A laid-out label as SVG: its size in millimetres, one user unit per millimetre, a white
//! background, the black rectangles and the text lines.

use std::fmt::Write as _;

use super::{LabelDrawing, Mark, fmt};

/// Escapes text for XML content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The SVG document of `drawing`.
pub fn render(drawing: &LabelDrawing) -> String {
    let (w, h) = (fmt(drawing.width_mm), fmt(drawing.height_mm));
    let mut out = String::with_capacity(64 * drawing.marks.len() + 512);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
         version=\"1.1\" width=\"{w}mm\" height=\"{h}mm\" viewBox=\"0 0 {w} {h}\" role=\"img\">\
         <title>{}</title><rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\
         <g fill=\"#000\" shape-rendering=\"crispEdges\">",
        escape(&drawing.title)
    );
    for mark in &drawing.marks {
        if let Mark::Rect { x, y, w, h } = mark {
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
                fmt(*x),
                fmt(*y),
                fmt(*w),
                fmt(*h)
            );
        }
    }
    out.push_str(
        "</g><g fill=\"#000\" font-family=\"Helvetica, Arial, 'Liberation Sans', sans-serif\">",
    );
    for mark in &drawing.marks {
        if let Mark::Text {
            x,
            y,
            size,
            bold,
            text,
        } = mark
        {
            let weight = if *bold { " font-weight=\"bold\"" } else { "" };
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" font-size=\"{}\"{weight}>{}</text>",
                fmt(*x),
                fmt(*y),
                fmt(*size),
                escape(text)
            );
        }
    }
    out.push_str("</g></svg>\n");
    out
}
