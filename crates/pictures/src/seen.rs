//! One input as the network sees it: the 28×28 pixels it is given, the first hidden layer's
//! activations, and the ten outputs as bars.

use std::fmt::Write as _;

use crate::{escape, grid_columns, SIDE};

const PIXEL: f64 = 8.0;
const UNIT: f64 = 14.0;
const BAR: f64 = 220.0;
const TOP: f64 = 60.0;

/// A grey from white (0) to black (1).
fn grey(v: f64) -> String {
    let g = (255.0 * (1.0 - v.clamp(0.0, 1.0))).round() as u8;
    format!("#{g:02x}{g:02x}{g:02x}")
}

/// The SVG of one input: `pixels` (784 values in 0..1, as the network is given them), the first
/// hidden layer's activations `hidden` (shaded from white to black; above 1, as ReLU's may be,
/// relative to the largest), and `outputs` as bars with their values, the bar of `said` (the
/// network's answer) in red. `title` heads it. Pixels are `<rect class="pixel" data-i>`,
/// units `<rect class="unit" data-unit data-value>`, bars `<rect class="output" data-digit
/// data-value>`.
pub fn seen_svg(
    pixels: &[f32],
    hidden: &[f32],
    outputs: &[f32],
    said: usize,
    title: &str,
) -> String {
    let image_w = PIXEL * SIDE as f64;
    let columns = grid_columns(hidden.len());
    let rows = hidden.len().div_ceil(columns.max(1));
    let hidden_x = 20.0 + image_w + 40.0;
    let hidden_w = if hidden.is_empty() {
        0.0
    } else {
        UNIT * columns as f64
    };
    let bars_x = hidden_x + hidden_w + 60.0;
    let width = bars_x + BAR + 70.0;
    let height = TOP + image_w.max(UNIT * rows as f64).max(10.0 * 22.0) + 30.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="20" y="24" font-size="16">{}</text>
<text x="20" y="{}">input (28×28, as the network sees it)</text>
<rect x="20" y="{TOP}" width="{image_w}" height="{image_w}" fill="white" stroke="#999"/>
"##,
        escape(title),
        TOP - 10.0
    );
    for (i, &v) in pixels.iter().enumerate().take(SIDE * SIDE) {
        if v <= 0.0 {
            continue;
        }
        let _ = writeln!(
            svg,
            r#"<rect class="pixel" data-i="{i}" x="{}" y="{}" width="{PIXEL}" height="{PIXEL}" fill="{}"/>"#,
            20.0 + PIXEL * (i % SIDE) as f64,
            TOP + PIXEL * (i / SIDE) as f64,
            grey(f64::from(v))
        );
    }
    if !hidden.is_empty() {
        let top = hidden.iter().fold(1.0f32, |m, &a| m.max(a));
        let _ = writeln!(
            svg,
            r#"<text x="{hidden_x}" y="{}">first hidden layer ({} units)</text>"#,
            TOP - 10.0,
            hidden.len()
        );
        for (u, &a) in hidden.iter().enumerate() {
            let _ = writeln!(
                svg,
                r##"<rect class="unit" data-unit="{u}" data-value="{a}" x="{}" y="{}" width="{UNIT}" height="{UNIT}" fill="{}" stroke="#ccc"><title>unit {u}: {a:.3}</title></rect>"##,
                hidden_x + UNIT * (u % columns) as f64,
                TOP + UNIT * (u / columns) as f64,
                grey(f64::from(a / top))
            );
        }
    }
    let _ = writeln!(
        svg,
        r#"<text x="{bars_x}" y="{}">outputs</text>"#,
        TOP - 10.0
    );
    let top = outputs.iter().fold(1.0f32, |m, &a| m.max(a));
    for (d, &v) in outputs.iter().enumerate() {
        let y = TOP + 22.0 * d as f64;
        let w = BAR * f64::from((v / top).max(0.0));
        let fill = if d == said { "#b2182b" } else { "#4d4d4d" };
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" font-weight="bold">{d}</text><rect class="output" data-digit="{d}" data-value="{v}" x="{bars_x}" y="{y}" width="{w:.2}" height="16" fill="{fill}"/><text x="{}" y="{}">{v:.3}</text>"#,
            bars_x - 6.0,
            y + 12.0,
            bars_x + w + 6.0,
            y + 12.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}
