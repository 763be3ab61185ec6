//! The confusion matrix as a heatmap: rows the true digit, columns the network's answer, the
//! count in every cell, recall at the right margin and precision at the bottom.

use std::fmt::Write as _;

use crate::{percent, CLASSES};

const CELL: f64 = 52.0;
const LEFT: f64 = 90.0;
const TOP: f64 = 90.0;
const WIDTH: f64 = LEFT + CELL * 10.0 + 100.0;
const HEIGHT: f64 = TOP + CELL * 10.0 + 80.0;

/// The fill of a cell holding `share` of its row (0..1): right answers in blue, wrong ones in
/// red, white for none. Wrong answers are rare, so their shade grows with the square root.
fn fill(share: f64, diagonal: bool) -> String {
    let (target, t) = if diagonal {
        ((33.0, 102.0, 172.0), share)
    } else {
        ((178.0, 24.0, 43.0), share.sqrt().min(1.0))
    };
    let mix = |c: f64| (255.0 + t * (c - 255.0)).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(target.0),
        mix(target.1),
        mix(target.2)
    )
}

/// The SVG of a confusion matrix `confusion[true][predicted]`, with each digit's `precision`
/// and `recall` (fractions, NaN when undefined) at the margins. Every cell's count is a
/// `<text class="count" data-true="T" data-said="P">`.
pub fn confusion_svg(
    confusion: &[[u32; CLASSES]; CLASSES],
    precision: &[f64],
    recall: &[f64],
) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="24" text-anchor="middle" font-size="16">Confusion matrix: rows are the true digit, columns what the network said</text>
<text x="{}" y="{}" text-anchor="middle">said</text>
<text x="30" y="{}" text-anchor="middle" transform="rotate(-90 30 {})">true digit</text>
"#,
        WIDTH / 2.0,
        LEFT + CELL * 5.0,
        TOP - 36.0,
        TOP + CELL * 5.0,
        TOP + CELL * 5.0,
    );
    for d in 0..CLASSES {
        let c = LEFT + CELL * (d as f64 + 0.5);
        let r = TOP + CELL * (d as f64 + 0.5) + 5.0;
        let _ = writeln!(
            svg,
            r#"<text x="{c}" y="{}" text-anchor="middle" font-weight="bold">{d}</text><text x="{}" y="{r}" text-anchor="end" font-weight="bold">{d}</text>"#,
            TOP - 10.0,
            LEFT - 10.0
        );
    }
    for (t, row) in confusion.iter().enumerate() {
        let total: u32 = row.iter().sum();
        for (p, &count) in row.iter().enumerate() {
            let share = if total == 0 {
                0.0
            } else {
                f64::from(count) / f64::from(total)
            };
            let (x, y) = (LEFT + CELL * p as f64, TOP + CELL * t as f64);
            let ink = if t == p && share > 0.5 {
                "white"
            } else {
                "black"
            };
            let _ = writeln!(
                svg,
                r##"<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{}" stroke="#ddd"/><text class="count" data-true="{t}" data-said="{p}" x="{}" y="{}" text-anchor="middle" fill="{ink}">{count}</text>"##,
                fill(share, t == p),
                x + CELL / 2.0,
                y + CELL / 2.0 + 4.0
            );
        }
    }
    // Recall at the right (of each true digit, the share found), precision below (of each
    // answer, the share right).
    let right = LEFT + CELL * 10.0 + 12.0;
    let _ = writeln!(
        svg,
        r#"<text x="{right}" y="{}" font-weight="bold">recall</text>"#,
        TOP - 10.0
    );
    for (t, r) in recall.iter().enumerate().take(CLASSES) {
        let _ = writeln!(
            svg,
            r#"<text class="recall" data-digit="{t}" x="{right}" y="{}">{}</text>"#,
            TOP + CELL * (t as f64 + 0.5) + 5.0,
            percent(*r)
        );
    }
    let below = TOP + CELL * 10.0 + 22.0;
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{below}" text-anchor="end" font-weight="bold">precision</text>"#,
        LEFT - 10.0
    );
    for (p, v) in precision.iter().enumerate().take(CLASSES) {
        let _ = writeln!(
            svg,
            r#"<text class="precision" data-digit="{p}" x="{}" y="{below}" text-anchor="middle">{}</text>"#,
            LEFT + CELL * (p as f64 + 0.5),
            percent(*v)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
