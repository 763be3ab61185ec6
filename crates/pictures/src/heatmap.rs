//! The confusion matrix as a heatmap: rows the true class, columns the network's answer, the
//! count in every cell, recall at the right margin and precision at the bottom.

use std::fmt::Write as _;

use crate::{escape, percent};

/// The widest a cell is (ten classes); more classes get narrower cells, down to [`MIN_CELL`].
const CELL: f64 = 52.0;
const MIN_CELL: f64 = 24.0;
/// The matrix's side at most, in pixels, before cells stop shrinking.
const SIDE: f64 = 520.0;
/// Width of one character of a class name, roughly, at 12 px.
const CHAR: f64 = 7.0;

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

/// The SVG of a confusion matrix `confusion[true][predicted]` of the classes `names` (the
/// digits, or a run's own names), with each class's `precision` and `recall` (fractions, NaN
/// when undefined) at the margins. Every cell's count is a `<text class="count" data-true="T"
/// data-said="P">`. Long names are written slanted above the columns.
pub fn confusion_svg(
    confusion: &[Vec<u32>],
    names: &[String],
    precision: &[f64],
    recall: &[f64],
) -> String {
    let k = confusion.len();
    let cell = (SIDE / k.max(1) as f64).clamp(MIN_CELL, CELL);
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(1) as f64;
    let slanted = longest * CHAR > cell;
    let left = (40.0 + longest * CHAR).max(90.0);
    let top = if slanted {
        50.0 + longest * CHAR * 0.72
    } else {
        90.0
    };
    let width = left + cell * k as f64 + 100.0;
    let height = top + cell * k as f64 + 80.0;
    let noun = if names
        .iter()
        .all(|n| n.len() == 1 && n.chars().all(|c| c.is_ascii_digit()))
    {
        "digit"
    } else {
        "class"
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="24" text-anchor="middle" font-size="16">Confusion matrix: rows are the true {noun}, columns what the network said</text>
<text x="{}" y="{}" text-anchor="middle">said</text>
<text x="30" y="{}" text-anchor="middle" transform="rotate(-90 30 {})">true {noun}</text>
"#,
        width / 2.0,
        left + cell * k as f64 / 2.0,
        if slanted { 44.0 } else { top - 36.0 },
        top + cell * k as f64 / 2.0,
        top + cell * k as f64 / 2.0,
    );
    for (d, name) in names.iter().enumerate().take(k) {
        let name = escape(name);
        let c = left + cell * (d as f64 + 0.5);
        let r = top + cell * (d as f64 + 0.5) + 5.0;
        let column = if slanted {
            format!(
                r#"<text x="{c}" y="{y}" font-weight="bold" transform="rotate(-45 {c} {y})">{name}</text>"#,
                y = top - 8.0
            )
        } else {
            format!(
                r#"<text x="{c}" y="{}" text-anchor="middle" font-weight="bold">{name}</text>"#,
                top - 10.0
            )
        };
        let _ = writeln!(
            svg,
            r#"{column}<text x="{}" y="{r}" text-anchor="end" font-weight="bold">{name}</text>"#,
            left - 10.0
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
            let (x, y) = (left + cell * p as f64, top + cell * t as f64);
            let ink = if t == p && share > 0.5 {
                "white"
            } else {
                "black"
            };
            let _ = writeln!(
                svg,
                r##"<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{}" stroke="#ddd"/><text class="count" data-true="{t}" data-said="{p}" x="{}" y="{}" text-anchor="middle" fill="{ink}">{count}</text>"##,
                fill(share, t == p),
                x + cell / 2.0,
                y + cell / 2.0 + 4.0
            );
        }
    }
    // Recall at the right (of each true digit, the share found), precision below (of each
    // answer, the share right).
    let right = left + cell * k as f64 + 12.0;
    let _ = writeln!(
        svg,
        r#"<text x="{right}" y="{}" font-weight="bold">recall</text>"#,
        top - 10.0
    );
    for (t, r) in recall.iter().enumerate().take(k) {
        let _ = writeln!(
            svg,
            r#"<text class="recall" data-digit="{t}" x="{right}" y="{}">{}</text>"#,
            top + cell * (t as f64 + 0.5) + 5.0,
            percent(*r)
        );
    }
    let below = top + cell * k as f64 + 22.0;
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{below}" text-anchor="end" font-weight="bold">precision</text>"#,
        left - 10.0
    );
    for (p, v) in precision.iter().enumerate().take(k) {
        let _ = writeln!(
            svg,
            r#"<text class="precision" data-digit="{p}" x="{}" y="{below}" text-anchor="middle">{}</text>"#,
            left + cell * (p as f64 + 0.5),
            percent(*v)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
