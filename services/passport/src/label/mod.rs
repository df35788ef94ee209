//! The magnet label of CRMA art. 28(1) (Regulation (EU) 2024/1252): whether the product holds
//! permanent magnets and of which types, its data carrier (a QR code or a Data Matrix of the
//! resolver URL), the
//! product identifier in GS1 human-readable form and the manufacturer.
//!
//! The implementing act that will fix the label's format is not adopted yet, so the layout lives
//! here and nowhere else: [`lay_out`] turns a label's content into drawing primitives in
//! millimetres (filled black rectangles and lines of Helvetica text), which two small writers
//! render: [`svg`] and [`pdf`]. [`sheet`] places many labels on A4 pages.

pub mod metrics;
pub mod pdf;
pub mod sheet;
pub mod svg;

use qrcode::{Color, QrCode};

use crate::domain::registration::MagnetType;

/// The sizes a label may be printed at, in millimetres.
pub const MIN_WIDTH_MM: f64 = 30.0;
pub const MAX_WIDTH_MM: f64 = 300.0;
/// Without a size: 80 mm wide.
pub const DEFAULT_WIDTH_MM: f64 = 80.0;
/// Height over width: at least this (the text needs lines)...
pub const MIN_ASPECT: f64 = 0.3;
/// ... at most this (the text needs width beside the square code).
pub const MAX_ASPECT: f64 = 0.6;
/// Height over width without a height.
pub const DEFAULT_ASPECT: f64 = 0.5;

/// Light modules around the QR symbol on each side (the QR standard's quiet zone).
const QUIET_ZONE: usize = 4;

/// What a label says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelContent {
    /// The magnet types the product holds, each once, in the order art. 28(1) names them;
    /// empty for a product without permanent magnets.
    pub magnet_types: Vec<MagnetType>,
    /// The resolver URL the data carrier encodes (GS1 Digital Link, or `/p/{id}`).
    pub uri: String,
    /// The product identifier in GS1 human-readable form: `(01) 04012345000016 (21) A1`, a
    /// no-break space inside each element string.
    pub identifier: String,
    /// The manufacturer (the issuing organisation's name).
    pub manufacturer: String,
    /// The responsible person of art. 28(3) when the passport names one: name and address lines.
    pub responsible: Option<(String, Vec<String>)>,
}

/// The human-readable form (GS1 HRI) of a product identifier: the GTIN with its serial or lot,
/// each element string's data after its application identifier in parentheses.
pub fn human_readable(gtin: &str, serial: Option<&str>, lot: Option<&str>) -> String {
    // A line break may fall between element strings, never inside one.
    let mut out = format!("(01)\u{a0}{gtin}");
    if let Some(serial) = serial {
        out.push_str(&format!(" (21)\u{a0}{serial}"));
    }
    if let Some(lot) = lot {
        out.push_str(&format!(" (10)\u{a0}{lot}"));
    }
    out
}

/// The words the label uses for a magnet type: the names art. 28(1) uses, with the symbol.
pub fn type_name(kind: MagnetType) -> &'static str {
    match kind {
        MagnetType::Ndfeb => "Neodymium-iron-boron (NdFeB)",
        MagnetType::Smco => "Samarium-cobalt (SmCo)",
        MagnetType::Alnico => "Aluminium-nickel-cobalt (AlNiCo)",
        MagnetType::Ferrite => "Ferrite",
    }
}

/// The distinct types of `kinds`, in the order art. 28(1) names them.
pub fn distinct_types(kinds: impl IntoIterator<Item = MagnetType>) -> Vec<MagnetType> {
    let present: Vec<MagnetType> = kinds.into_iter().collect();
    [
        MagnetType::Ndfeb,
        MagnetType::Smco,
        MagnetType::Alnico,
        MagnetType::Ferrite,
    ]
    .into_iter()
    .filter(|kind| present.contains(kind))
    .collect()
}

/// The magnet type a component's material names (`NdFeB-sintered`, `SmCo`, `AlNiCo 5`,
/// `hard ferrite`), for components registered without magnet records: so that a label never
/// says "no permanent magnets" of a product whose components say otherwise.
pub fn material_type(material: &str) -> Option<MagnetType> {
    let letters: String = material
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    if letters.starts_with("ndfeb") || letters.starts_with("ndprfeb") {
        Some(MagnetType::Ndfeb)
    } else if letters.starts_with("smco") {
        Some(MagnetType::Smco)
    } else if letters.starts_with("alnico") {
        Some(MagnetType::Alnico)
    } else if letters.contains("ferrite") {
        Some(MagnetType::Ferrite)
    } else {
        None
    }
}

/// One drawing primitive, in millimetres from the label's top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    /// A filled black rectangle.
    Rect { x: f64, y: f64, w: f64, h: f64 },
    /// A line of text starting at `x` with its baseline at `y`, `size` mm high (the em).
    Text {
        x: f64,
        y: f64,
        size: f64,
        bold: bool,
        text: String,
    },
}

/// A label laid out: its size and its marks.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelDrawing {
    pub width_mm: f64,
    pub height_mm: f64,
    /// What the label is, for screen readers and document titles.
    pub title: String,
    pub marks: Vec<Mark>,
}

/// The label's size: validated by [`LabelSize::new`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelSize {
    pub width_mm: f64,
    pub height_mm: f64,
}

/// Why a size is refused: the parameter at fault and what it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeError {
    pub parameter: &'static str,
    pub detail: String,
}

impl LabelSize {
    /// The size from an optional width and height: a missing one follows from the other (height
    /// half the width), both missing give the default. The width must lie within
    /// [`MIN_WIDTH_MM`]..=[`MAX_WIDTH_MM`] and the height within [`MIN_ASPECT`]..=[`MAX_ASPECT`]
    /// times the width.
    pub fn new(width_mm: Option<f64>, height_mm: Option<f64>) -> Result<LabelSize, SizeError> {
        let finite = |parameter: &'static str, value: Option<f64>| match value {
            Some(v) if !v.is_finite() || v <= 0.0 => Err(SizeError {
                parameter,
                detail: "must be a positive number of millimetres".into(),
            }),
            v => Ok(v),
        };
        let (width, height) = (
            finite("width_mm", width_mm)?,
            finite("height_mm", height_mm)?,
        );
        let width = match (width, height) {
            (Some(w), _) => w,
            (None, Some(h)) => round(h / DEFAULT_ASPECT),
            (None, None) => DEFAULT_WIDTH_MM,
        };
        if !(MIN_WIDTH_MM..=MAX_WIDTH_MM).contains(&width) {
            let parameter = if width_mm.is_some() {
                "width_mm"
            } else {
                "height_mm"
            };
            return Err(SizeError {
                parameter,
                detail: format!(
                    "the label must be {MIN_WIDTH_MM} to {MAX_WIDTH_MM} mm wide (got {} mm)",
                    fmt(width)
                ),
            });
        }
        let height = height.unwrap_or_else(|| round(width * DEFAULT_ASPECT));
        let (low, high) = (round(width * MIN_ASPECT), round(width * MAX_ASPECT));
        if !(low..=high).contains(&height) {
            return Err(SizeError {
                parameter: "height_mm",
                detail: format!(
                    "at {} mm wide the label must be {} to {} mm high (got {} mm)",
                    fmt(width),
                    fmt(low),
                    fmt(high),
                    fmt(height)
                ),
            });
        }
        Ok(LabelSize {
            width_mm: width,
            height_mm: height,
        })
    }
}

/// To a tenth of a millimetre.
fn round(mm: f64) -> f64 {
    (mm * 10.0).round() / 10.0
}

/// A number as the writers print it: at most three decimals, no trailing zeros.
pub fn fmt(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" | "" => "0".to_owned(),
        t => t.to_owned(),
    }
}

/// The symbol that carries the resolver URL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DataCarrier {
    /// A QR code, error correction level M, with its 4-module quiet zone.
    #[default]
    Qr,
    /// A square Data Matrix (ECC 200) with a 2-module quiet zone (the standard asks for one),
    /// holding the GS1 Digital Link URI as its data (as GS1 allows for a URI: no FNC1).
    DataMatrix,
}

/// A symbol's modules: `dark[row * width + col]`, square, and the light modules around it.
struct Modules {
    width: usize,
    dark: Vec<bool>,
    quiet: usize,
}

/// The QR code of `uri`, error correction level M; `None` when the text does not fit one (a
/// resolver URL always does).
pub fn qr(uri: &str) -> Option<QrCode> {
    QrCode::new(uri.as_bytes()).ok()
}

impl DataCarrier {
    /// The symbol of `uri`; `None` when it does not fit the largest one.
    fn modules(self, uri: &str) -> Option<Modules> {
        match self {
            DataCarrier::Qr => {
                let code = qr(uri)?;
                Some(Modules {
                    width: code.width(),
                    dark: code.to_colors().iter().map(|c| *c == Color::Dark).collect(),
                    quiet: QUIET_ZONE,
                })
            }
            DataCarrier::DataMatrix => {
                let code = datamatrix::DataMatrix::encode(
                    uri.as_bytes(),
                    datamatrix::SymbolList::default().enforce_square(),
                )
                .ok()?;
                let bitmap = code.bitmap();
                Some(Modules {
                    width: bitmap.width(),
                    dark: bitmap.bits().to_vec(),
                    quiet: 2,
                })
            }
        }
    }
}

/// The dark modules as rectangles, one per horizontal run, in a square of `side` mm at (`x`,
/// `y`) that holds the symbol with its quiet zone.
fn code_marks(code: &Modules, x: f64, y: f64, side: f64) -> Vec<Mark> {
    let modules = code.width;
    let unit = side / (modules + 2 * code.quiet) as f64;
    let mut marks = Vec::new();
    for (row, line) in code.dark.chunks(modules).enumerate() {
        let mut col = 0;
        while col < modules {
            if !line[col] {
                col += 1;
                continue;
            }
            let start = col;
            while col < modules && line[col] {
                col += 1;
            }
            marks.push(Mark::Rect {
                x: x + (start + code.quiet) as f64 * unit,
                y: y + (row + code.quiet) as f64 * unit,
                w: (col - start) as f64 * unit,
                h: unit,
            });
        }
    }
    marks
}

/// One line of the text block: its text, its size relative to the body text, bold or not.
struct Line {
    text: String,
    scale: f64,
    bold: bool,
}

/// The text block of a label, top to bottom.
fn lines(content: &LabelContent) -> Vec<Line> {
    let line = |text: String, scale: f64, bold: bool| Line { text, scale, bold };
    let mut out = Vec::new();
    if content.magnet_types.is_empty() {
        out.push(line("No permanent magnets".into(), 1.5, true));
        out.push(line(
            "This product contains no permanent magnets.".into(),
            1.0,
            false,
        ));
    } else {
        out.push(line("Contains permanent magnets".into(), 1.5, true));
        for kind in &content.magnet_types {
            out.push(line(format!("\u{2022} {}", type_name(*kind)), 1.2, true));
        }
    }
    out.push(line(content.identifier.clone(), 1.0, false));
    out.push(line(
        format!("Manufacturer: {}", content.manufacturer),
        1.0,
        false,
    ));
    if let Some((name, address)) = &content.responsible {
        if name != &content.manufacturer {
            out.push(line(format!("Responsible: {name}"), 1.0, false));
        }
        for address_line in address {
            out.push(line(address_line.clone(), 1.0, false));
        }
    }
    out.push(line(
        "Regulation (EU) 2024/1252, art. 28(1)".into(),
        0.8,
        false,
    ));
    out
}

/// `text` broken at spaces into lines at most `width` mm wide at `size`; a word wider than that
/// stays whole on a line of its own.
fn wrap(text: &str, bold: bool, size: f64, width: f64) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if current.is_empty() || metrics::width_em(&candidate, bold) * size <= width {
            current = candidate;
        } else {
            out.push(std::mem::replace(&mut current, word.to_owned()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Lays out `content` at `size`: a thin frame, the data carrier on the left (square, the
/// label's height), the text block on its right. `None` when the URL fits no symbol.
pub fn lay_out(
    content: &LabelContent,
    size: LabelSize,
    carrier: DataCarrier,
) -> Option<LabelDrawing> {
    let (w, h) = (size.width_mm, size.height_mm);
    let margin = (h * 0.04).max(1.0);
    let frame = (h * 0.008).max(0.25);
    let mut marks = vec![
        Mark::Rect {
            x: 0.0,
            y: 0.0,
            w,
            h: frame,
        },
        Mark::Rect {
            x: 0.0,
            y: h - frame,
            w,
            h: frame,
        },
        Mark::Rect {
            x: 0.0,
            y: 0.0,
            w: frame,
            h,
        },
        Mark::Rect {
            x: w - frame,
            y: 0.0,
            w: frame,
            h,
        },
    ];
    let side = h - 2.0 * frame;
    let code = carrier.modules(&content.uri)?;
    marks.extend(code_marks(&code, frame, frame, side));

    let left = frame + side;
    let width = w - left - margin - frame;
    let lines = lines(content);
    // Each line takes 1.25 em. The body size starts at what fills the height with each line
    // unbroken, and shrinks until the lines, broken at spaces to fit beside the code, fit the
    // height: one size for all the text, however long a name or an address is.
    let room = h - 2.0 * (frame + margin);
    let mut body = room / lines.iter().map(|l| l.scale * 1.25).sum::<f64>();
    let mut wrapped = Vec::new();
    for _ in 0..200 {
        wrapped = lines
            .iter()
            .map(|l| match l.bold {
                // The heading and the types stay whole (drawn smaller if need be).
                true => (vec![l.text.clone()], l),
                false => (wrap(&l.text, false, body * l.scale, width), l),
            })
            .collect();
        let used: f64 = wrapped
            .iter()
            .map(|(parts, l)| parts.len() as f64 * l.scale * 1.25 * body)
            .sum();
        if used <= room {
            break;
        }
        body *= 0.97;
    }
    let mut y = frame + margin;
    for (parts, line) in wrapped {
        let wanted = body * line.scale;
        for text in parts {
            // A word wider than the room (a long serial) is drawn smaller rather than cut.
            let natural = metrics::width_em(&text, line.bold);
            let size = wanted.min(width / natural.max(f64::EPSILON));
            // The baseline sits a little above the line's bottom, as for any font.
            y += wanted * 1.25;
            marks.push(Mark::Text {
                x: left,
                y: y - wanted * 0.3,
                size,
                bold: line.bold,
                text,
            });
        }
    }
    let title = match content.magnet_types.as_slice() {
        [] => format!("Magnet label of {}: no permanent magnets", content.uri),
        kinds => format!(
            "Magnet label of {}: permanent magnets of type {}",
            content.uri,
            kinds
                .iter()
                .map(|k| type_name(*k))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Some(LabelDrawing {
        width_mm: w,
        height_mm: h,
        title,
        marks,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
