//! Many labels on A4 sheets: a grid of equal labels inside a 10 mm margin, 3 mm apart, filled
//! row by row, as many pages as needed.

use super::pdf::PdfPage;
use super::{LabelDrawing, LabelSize};

pub const A4_WIDTH_MM: f64 = 210.0;
pub const A4_HEIGHT_MM: f64 = 297.0;
const MARGIN_MM: f64 = 10.0;
const GAP_MM: f64 = 3.0;

/// How many labels of `size` fit on a sheet across and down; `None` when not one fits.
pub fn grid(size: LabelSize) -> Option<(usize, usize)> {
    let fit = |room: f64, each: f64| ((room + GAP_MM) / (each + GAP_MM)).floor() as usize;
    let across = fit(A4_WIDTH_MM - 2.0 * MARGIN_MM, size.width_mm);
    let down = fit(A4_HEIGHT_MM - 2.0 * MARGIN_MM, size.height_mm);
    (across > 0 && down > 0).then_some((across, down))
}

/// The widest label a sheet holds.
pub const MAX_SHEET_WIDTH_MM: f64 = A4_WIDTH_MM - 2.0 * MARGIN_MM;

/// The pages of a sheet of `labels` (all of `size`); empty when none fits a sheet.
pub fn pages(size: LabelSize, labels: &[LabelDrawing]) -> Vec<PdfPage<'_>> {
    let Some((across, down)) = grid(size) else {
        return Vec::new();
    };
    labels
        .chunks(across * down)
        .map(|chunk| PdfPage {
            width_mm: A4_WIDTH_MM,
            height_mm: A4_HEIGHT_MM,
            labels: chunk
                .iter()
                .enumerate()
                .map(|(i, label)| {
                    let (col, row) = (i % across, i / across);
                    (
                        MARGIN_MM + col as f64 * (size.width_mm + GAP_MM),
                        MARGIN_MM + row as f64 * (size.height_mm + GAP_MM),
                        label,
                    )
                })
                .collect(),
        })
        .collect()
}
