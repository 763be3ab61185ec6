//! The training curves: loss and learning rate in one panel, training and validation accuracy
//! in another, one point per epoch.

use std::fmt::Write as _;

use crate::escape;

/// One epoch of a run: the numbers `metrics.csv` holds for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochRow {
    pub epoch: usize,
    /// Mean training cost over the epoch.
    pub train_loss: f64,
    /// Fraction of training images classified right, 0..1.
    pub train_accuracy: f64,
    /// Fraction of validation images classified right (`None` without validation images).
    pub validation_accuracy: Option<f64>,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f64,
}

const WIDTH: f64 = 760.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 90.0;
const PANEL: f64 = 220.0;
const TOP: f64 = 50.0;
const GAP: f64 = 80.0;
const HEIGHT: f64 = TOP + 2.0 * PANEL + GAP + 60.0;

const LOSS: &str = "#1f77b4";
const RATE: &str = "#7f7f7f";
const TRAIN: &str = "#ff7f0e";
const VALIDATION: &str = "#2ca02c";

/// A linear map from values to pixels.
#[derive(Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Scale {
    fn new(lo: f64, hi: f64, from: f64, to: f64) -> Scale {
        // A flat series still gets a range to sit in.
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, lo + 0.5)
        };
        Scale { lo, hi, from, to }
    }

    fn at(&self, v: f64) -> f64 {
        self.from + (v - self.lo) / (self.hi - self.lo) * (self.to - self.from)
    }
}

/// Where epoch `e` of `n` sits on the x axis.
fn epoch_scale(n: usize) -> Scale {
    if n <= 1 {
        // One epoch: in the middle.
        Scale::new(0.0, 2.0, LEFT, WIDTH - RIGHT)
    } else {
        Scale::new(1.0, n as f64, LEFT, WIDTH - RIGHT)
    }
}

/// A number short enough for an axis label.
fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.001 {
        format!("{v:.4}")
    } else {
        format!("{v:.1e}")
    }
}

/// The SVG of a run's curves: training loss (left axis) and learning rate (right axis, dashed)
/// above; training and validation accuracy below. Every point is a `<circle>` with
/// `data-series` (`train_loss`, `learning_rate`, `train_accuracy`, `validation_accuracy`),
/// `data-epoch` and `data-value` (the number as `metrics.csv` writes it).
pub fn curves_svg(rows: &[EpochRow]) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="24" text-anchor="middle" font-size="16">Training curves, {} epoch{}</text>
"#,
        WIDTH / 2.0,
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    if rows.is_empty() {
        svg.push_str(r#"<text x="380" y="200" text-anchor="middle">no epochs</text></svg>"#);
        svg.push('\n');
        return svg;
    }
    let x = epoch_scale(rows.len());
    let top = (TOP, TOP + PANEL);
    let bottom = (TOP + PANEL + GAP, TOP + 2.0 * PANEL + GAP);

    // Loss and learning rate, from zero so that their fall reads at a glance.
    let max_loss = rows.iter().map(|r| r.train_loss).fold(0.0, f64::max);
    let loss = Scale::new(0.0, max_loss * 1.05, top.1, top.0);
    let max_rate = rows.iter().map(|r| r.learning_rate).fold(0.0, f64::max);
    let rate = Scale::new(0.0, max_rate * 1.05, top.1, top.0);
    frame(&mut svg, rows, x, top, "epoch");
    y_axis(&mut svg, loss, LEFT, "training loss", LOSS, false);
    y_axis(&mut svg, rate, WIDTH - RIGHT, "learning rate", RATE, true);
    series(&mut svg, rows, x, rate, "learning_rate", RATE, true, |r| {
        Some(r.learning_rate)
    });
    series(&mut svg, rows, x, loss, "train_loss", LOSS, false, |r| {
        Some(r.train_loss)
    });

    // Accuracy, from a round figure below the lowest to 100%, so that the last points are
    // told apart.
    let min_acc = rows
        .iter()
        .flat_map(|r| [Some(r.train_accuracy), r.validation_accuracy])
        .flatten()
        .fold(1.0, f64::min);
    let lo = ((min_acc * 10.0).floor() / 10.0).clamp(0.0, 0.9);
    let acc = Scale::new(lo, 1.0, bottom.1, bottom.0);
    frame(&mut svg, rows, x, bottom, "epoch");
    y_axis(&mut svg, acc, LEFT, "accuracy", "black", false);
    series(
        &mut svg,
        rows,
        x,
        acc,
        "train_accuracy",
        TRAIN,
        false,
        |r| Some(r.train_accuracy),
    );
    series(
        &mut svg,
        rows,
        x,
        acc,
        "validation_accuracy",
        VALIDATION,
        false,
        |r| r.validation_accuracy,
    );

    // Legends.
    legend(
        &mut svg,
        top.0 - 8.0,
        &[
            (LOSS, "training loss", false),
            (RATE, "learning rate (right axis)", true),
        ],
    );
    let mut acc_legend = vec![(TRAIN, "training accuracy", false)];
    if rows.iter().any(|r| r.validation_accuracy.is_some()) {
        acc_legend.push((VALIDATION, "validation accuracy", false));
    } else {
        acc_legend.push((VALIDATION, "no validation images", false));
    }
    legend(&mut svg, bottom.0 - 8.0, &acc_legend);
    svg.push_str("</svg>\n");
    svg
}

/// A panel's box and its epoch ticks.
fn frame(svg: &mut String, rows: &[EpochRow], x: Scale, (y0, y1): (f64, f64), label: &str) {
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{y0}" width="{}" height="{PANEL}" fill="none" stroke="#999"/>"##,
        WIDTH - LEFT - RIGHT
    );
    // At most about ten labelled epochs.
    let step = rows.len().div_ceil(10).max(1);
    for r in rows
        .iter()
        .filter(|r| r.epoch.saturating_sub(rows[0].epoch) % step == 0)
    {
        let px = x.at(if rows.len() <= 1 { 1.0 } else { r.epoch as f64 });
        let _ = writeln!(
            svg,
            r##"<line x1="{px:.1}" y1="{y1}" x2="{px:.1}" y2="{}" stroke="#999"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
            y1 + 5.0,
            y1 + 18.0,
            r.epoch
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (LEFT + WIDTH - RIGHT) / 2.0,
        y1 + 36.0,
        escape(label)
    );
}

/// Five labelled ticks on a vertical axis at `at`, with the axis's name turned along it.
fn y_axis(svg: &mut String, scale: Scale, at: f64, name: &str, colour: &str, right: bool) {
    let (tick, anchor, dx) = if right {
        (5.0, "start", 8.0)
    } else {
        (-5.0, "end", -8.0)
    };
    let percent = name == "accuracy";
    for i in 0..=4 {
        let v = scale.lo + (scale.hi - scale.lo) * f64::from(i) / 4.0;
        let py = scale.at(v);
        let label = if percent {
            format!("{:.0}%", 100.0 * v)
        } else {
            tick_label(v)
        };
        let _ = writeln!(
            svg,
            r#"<line x1="{at}" y1="{py:.1}" x2="{}" y2="{py:.1}" stroke="{colour}"/><text x="{}" y="{:.1}" text-anchor="{anchor}" fill="{colour}">{label}</text>"#,
            at + tick,
            at + dx,
            py + 4.0
        );
    }
    let (lx, rot) = if right {
        (at + 70.0, 90)
    } else {
        (at - 62.0, -90)
    };
    let ly = (scale.from + scale.to) / 2.0;
    let _ = writeln!(
        svg,
        r#"<text x="{lx}" y="{ly}" text-anchor="middle" fill="{colour}" transform="rotate({rot} {lx} {ly})">{}</text>"#,
        escape(name)
    );
}

/// One series as a line through points, each point a `<circle>` carrying its number.
#[allow(clippy::too_many_arguments)]
fn series(
    svg: &mut String,
    rows: &[EpochRow],
    x: Scale,
    y: Scale,
    name: &str,
    colour: &str,
    dashed: bool,
    value: impl Fn(&EpochRow) -> Option<f64>,
) {
    let points: Vec<(usize, f64, f64, f64)> = rows
        .iter()
        .filter_map(|r| {
            let v = value(r)?;
            let px = x.at(if rows.len() <= 1 { 1.0 } else { r.epoch as f64 });
            Some((r.epoch, v, px, y.at(v)))
        })
        .collect();
    if points.is_empty() {
        return;
    }
    let path: Vec<String> = points
        .iter()
        .map(|(_, _, px, py)| format!("{px:.2},{py:.2}"))
        .collect();
    let dash = if dashed {
        r#" stroke-dasharray="6 4""#
    } else {
        ""
    };
    let _ = writeln!(
        svg,
        r#"<polyline data-series="{name}" points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#,
        path.join(" ")
    );
    for (epoch, v, px, py) in points {
        let _ = writeln!(
            svg,
            r#"<circle data-series="{name}" data-epoch="{epoch}" data-value="{v}" cx="{px:.2}" cy="{py:.2}" r="3" fill="{colour}"><title>epoch {epoch}: {} {v}</title></circle>"#,
            name.replace('_', " ")
        );
    }
}

/// A row of coloured swatches and names above a panel.
fn legend(svg: &mut String, y: f64, items: &[(&str, &str, bool)]) {
    let mut x = LEFT;
    for &(colour, name, dashed) in items {
        let dash = if dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            r#"<line x1="{x}" y1="{}" x2="{}" y2="{}" stroke="{colour}" stroke-width="2"{dash}/><text x="{}" y="{y}">{}</text>"#,
            y - 4.0,
            x + 24.0,
            y - 4.0,
            x + 30.0,
            escape(name)
        );
        x += 40.0 + 7.0 * name.len() as f64;
    }
}
