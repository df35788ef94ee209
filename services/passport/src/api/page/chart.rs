//! A horizontal bar chart of element masses as inline SVG: one bar per element, a labelled
//! axis in grams with round tick values, and the exact mass written at the end of each bar.
//! It scales to its container (viewBox, width 100%), so it never scrolls sideways.

use std::fmt::Write as _;

use crate::domain::subject::ElementTotal;

const WIDTH: f64 = 320.0;
/// Where bars start (the element symbols sit left of it).
const BAR_X: f64 = 40.0;
/// The longest bar; the rest of the width holds the value labels.
const BAR_SPAN: f64 = 200.0;
const TOP: f64 = 8.0;
const ROW: f64 = 28.0;
const BAR_HEIGHT: f64 = 18.0;
/// Room under the bars for tick labels and the axis title.
const AXIS_ROOM: f64 = 44.0;
const TARGET_TICKS: f64 = 4.0;

/// A round step (1, 2 or 5 times a power of ten) that cuts `0..max` into about
/// `TARGET_TICKS` parts.
pub(super) fn nice_step(max: f64) -> f64 {
    let raw = max / TARGET_TICKS;
    let magnitude = 10f64.powf(raw.log10().floor());
    let residual = raw / magnitude;
    let nice = if residual <= 1.0 {
        1.0
    } else if residual <= 2.0 {
        2.0
    } else if residual <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// The tick values of an axis reaching at least `max`, and how many decimals they need.
pub(super) fn ticks(max: f64) -> (Vec<f64>, usize) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let step = nice_step(max);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let count = (max / step - 1e-9).ceil().max(1.0) as usize;
    let values = (0..=count).map(|k| k as f64 * step).collect();
    (values, decimals)
}

/// The chart's SVG markup.
pub(super) fn bar_chart(elements: &[ElementTotal]) -> String {
    let masses: Vec<f64> = elements.iter().map(|t| t.mass_g.to_grams_f64()).collect();
    let max = masses.iter().copied().fold(0.0, f64::max);
    let (ticks, decimals) = ticks(max);
    let axis_max = ticks.last().copied().unwrap_or(1.0);
    let rows = elements.len() as f64;
    let axis_y = TOP + rows * ROW + 2.0;
    let height = axis_y + AXIS_ROOM;
    let description: Vec<String> = elements
        .iter()
        .map(|t| format!("{} {} g", t.element.name(), t.mass_g.to_grams_string()))
        .collect();
    let mut svg = String::with_capacity(2048);
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-labelledby=\"chart-title chart-desc\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"chart-title\">Rare-earth mass per element, in grams</title>\
         <desc id=\"chart-desc\">{}</desc>",
        description.join(", ")
    );
    for &value in &ticks {
        let x = BAR_X + value / axis_max * BAR_SPAN;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{axis_y:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{value:.decimals$}</text>",
            axis_y + 16.0
        );
    }
    for (i, (total, mass)) in elements.iter().zip(&masses).enumerate() {
        let y = TOP + i as f64 * ROW + (ROW - BAR_HEIGHT) / 2.0;
        let mut width = mass / axis_max * BAR_SPAN;
        if *mass > 0.0 {
            // A trace amount still shows as a sliver.
            width = width.max(1.0);
        }
        let text_y = y + BAR_HEIGHT - 4.0;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{text_y:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar\" x=\"{BAR_X}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{BAR_HEIGHT}\"/>\
             <text class=\"value\" x=\"{:.1}\" y=\"{text_y:.1}\">{} g</text>",
            BAR_X - 6.0,
            total.element.symbol(),
            BAR_X + width + 4.0,
            total.mass_g.to_grams_string(),
        );
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{BAR_X}\" y1=\"{axis_y:.1}\" x2=\"{:.1}\" y2=\"{axis_y:.1}\"/>\
         <line class=\"axis\" x1=\"{BAR_X}\" y1=\"{TOP}\" x2=\"{BAR_X}\" y2=\"{axis_y:.1}\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">Mass (g)</text></svg>",
        BAR_X + BAR_SPAN,
        BAR_X + BAR_SPAN / 2.0,
        axis_y + 36.0,
    );
    svg
}
