//! Pictures of a digits network, drawn from plain numbers: the training curves, the confusion
//! matrix as a heatmap, the first hidden layer's weights as images, the test images it got
//! wrong, one page that shows them beside the figures, and one input as the network sees it.
//!
//! This crate knows no network, no tensor and no file: it takes numbers (rows of metrics,
//! counts, weights as `f32`s, pixels in 0..1) and returns the bytes of an SVG, a PNG or an HTML
//! page. The callers (`train`, `infer`) read the numbers and write the files.
//!
//! SVG text needs no font; the PNG captions use a small bitmap font built in ([`font`]), so
//! nothing depends on the fonts installed.

#![forbid(unsafe_code)]

mod curves;
mod error;
pub mod font;
mod heatmap;
mod html;
mod labels;
mod raster;
mod seen;

pub use curves::{curves_svg, EpochRow};
pub use error::DrawError;
pub use heatmap::confusion_svg;
pub use html::{index_html, ClassRow, Page, Start};
pub use labels::{labels_curve_svg, LabelPoint, LabelSeries};
pub use raster::{
    augmentation_png, grid_columns, hidden_png, hidden_tile_origin, mistakes_png,
    most_confident_first, Mistake, OutputKind, AUGMENT_GAP, AUGMENT_SCALE, HIDDEN_GAP,
    HIDDEN_LABEL_H, HIDDEN_SCALE, MISTAKE_CELL_H, MISTAKE_CELL_W, MISTAKE_COLUMNS, MISTAKE_SCALE,
    NEGATIVE, POSITIVE, STILL,
};
pub use seen::seen_svg;

/// Height and width of an MNIST image.
pub const SIDE: usize = 28;
/// Pixels of an MNIST image.
pub const PIXELS: usize = SIDE * SIDE;
/// The digits.
pub const CLASSES: usize = 10;

/// Text made safe inside XML or HTML elements and quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

/// A fraction as a percentage with one decimal, or a dash when it is undefined (NaN).
pub(crate) fn percent(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", 100.0 * v)
    } else {
        "–".to_string()
    }
}
