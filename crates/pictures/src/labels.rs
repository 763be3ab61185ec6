//! Accuracy against labelled examples per class, for several ways of training: the evidence
//! of transfer learning. The x axis is logarithmic (1, 10, 100, ... examples per class); each
//! way is a line through the means, over a band from the lowest to the highest result.

use std::fmt::Write as _;

use crate::escape;

/// One count of examples per class, measured over several seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelPoint {
    /// Labelled training examples per class (> 0).
    pub per_class: f64,
    /// Mean test accuracy over the seeds, 0..1.
    pub mean: f64,
    /// Lowest and highest test accuracy over the seeds.
    pub min: f64,
    pub max: f64,
}

/// One way of training, its points in increasing `per_class`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSeries {
    pub name: String,
    pub points: Vec<LabelPoint>,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 460.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 110.0;
const COLOURS: [&str; 6] = [
    "#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
];

/// The picture: `title` above, one line and band per series, a legend below.
pub fn labels_curve_svg(title: &str, series: &[LabelSeries]) -> String {
    let xs = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.per_class))
        .filter(|x| x.is_finite() && *x > 0.0);
    let (lo, hi) = xs.fold((f64::INFINITY, 0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let (lo, hi) = if lo.is_finite() {
        (lo, hi)
    } else {
        (1.0, 10.0)
    };
    // Whole decades around the data.
    let (d0, d1) = (
        lo.log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let x = |v: f64| LEFT + (v.max(1e-12).log10() - d0) / (d1 - d0) * plot_w;
    let y = |a: f64| TOP + (1.0 - a.clamp(0.0, 1.0)) * plot_h;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    // Axes: accuracy every 10%, examples per class at each decade.
    for tenth in 0..=10 {
        let a = f64::from(tenth) / 10.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y}" y2="{y}" stroke="#e0e0e0"/><text x="{}" y="{}" text-anchor="end">{}%</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            y(a) + 4.0,
            tenth * 10,
            y = y(a)
        );
    }
    let mut decade = d0;
    while decade <= d1 {
        let v = 10f64.powf(decade);
        let _ = writeln!(
            svg,
            r##"<line x1="{px}" x2="{px}" y1="{TOP}" y2="{}" stroke="#e0e0e0"/><text x="{px}" y="{}" text-anchor="middle">{}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 16.0,
            v,
            px = x(v)
        );
        decade += 1.0;
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">labelled training examples per class (log scale)</text>
<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">test accuracy</text>"#,
        LEFT + plot_w / 2.0,
        TOP + plot_h + 36.0,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    for (k, s) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let upper: Vec<String> = s
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.per_class), y(p.max)))
            .collect();
        let lower: Vec<String> = s
            .points
            .iter()
            .rev()
            .map(|p| format!("{:.1},{:.1}", x(p.per_class), y(p.min)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polygon class="spread" data-series="{}" points="{} {}" fill="{colour}" fill-opacity="0.15" stroke="none"/>"#,
            escape(&s.name),
            upper.join(" "),
            lower.join(" ")
        );
        let line: Vec<String> = s
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.per_class), y(p.mean)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline class="mean" data-series="{}" points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            escape(&s.name),
            line.join(" ")
        );
        for p in &s.points {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}" data-series="{}" data-per-class="{}" data-mean="{}"/>"#,
                x(p.per_class),
                y(p.mean),
                escape(&s.name),
                p.per_class,
                p.mean
            );
        }
        let ly = TOP + plot_h + 60.0 + 16.0 * k as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{LEFT}" x2="{}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{} (line: mean; band: lowest to highest)</text>"#,
            LEFT + 24.0,
            LEFT + 30.0,
            ly + 4.0,
            escape(&s.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
