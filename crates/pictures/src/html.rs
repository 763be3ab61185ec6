//! `index.html`: one page showing the pictures beside the numbers, readable without a network
//! (nothing is fetched: the pictures are files beside it, the style is inline).

use std::fmt::Write as _;

use crate::{escape, percent, OutputKind};

/// One digit's row of the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassRow {
    pub digit: u8,
    pub precision: f64,
    pub recall: f64,
    /// Test images of this digit.
    pub support: u32,
}

/// What the page shows. Pictures are named relative to the page; `None` leaves one out.
#[derive(Debug, Clone, Default)]
pub struct Page<'a> {
    /// The run, as the reader knows it (its directory).
    pub run: &'a str,
    pub accuracy: f64,
    pub correct: usize,
    pub images: usize,
    pub per_class: &'a [ClassRow],
    /// The training curves (`curves.svg`).
    pub curves: Option<&'a str>,
    /// The confusion heatmap (`confusion.svg`).
    pub confusion: Option<&'a str>,
    /// The hidden units' weights (`hidden.png`), with how many were drawn of how many.
    pub hidden: Option<(&'a str, usize, usize)>,
    /// Where those weights started, beside them.
    pub start: Option<Start<'a>>,
    /// What the network's outputs are, as the mistakes' captions name them.
    pub outputs: OutputKind,
    /// The mistakes (`mistakes.png`), with how many were drawn of how many.
    pub mistakes: Option<(&'a str, usize, usize)>,
    /// The run's `config.toml`, shown as it is.
    pub config: Option<&'a str>,
    /// The run's report summary, key and value.
    pub report: &'a [(String, String)],
}

/// Where the first layer's weights started, for the pictures beside them.
#[derive(Debug, Clone)]
pub enum Start<'a> {
    /// Known: the pictures of W₀ (`start_file`) and W − W₀ (`change_file`).
    Known {
        start_file: &'a str,
        change_file: &'a str,
        /// What W₀ is: the base run's first layer, or the seeded draw.
        what: &'a str,
        /// Units whose weights moved by less than `still_below` of their start.
        still: usize,
        still_below: f64,
        /// The median unit's ‖w − w₀‖ / ‖w₀‖.
        median_moved: f64,
        /// The layer was frozen: W = W₀ by design.
        frozen: bool,
    },
    /// Not known, and why.
    Unknown(&'a str),
}

/// The page as HTML.
pub fn index_html(page: &Page<'_>) -> String {
    let mut h = String::new();
    let run = escape(page.run);
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Inside the network: {run}</title>
<style>
body {{ font-family: sans-serif; max-width: 1500px; margin: 1em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }}
th {{ background: #f4f4f4; }}
img {{ max-width: 100%; border: 1px solid #ddd; }}
pre {{ background: #f8f8f8; padding: 0.6em; overflow-x: auto; }}
.note {{ color: #555; }}
</style>
</head>
<body>
<h1>Inside the network: {run}</h1>
<p id="accuracy">Test accuracy <strong>{:.2}%</strong> ({} of {} test images).</p>
"#,
        100.0 * page.accuracy,
        page.correct,
        page.images
    );
    if let Some(curves) = page.curves {
        let _ = write!(
            h,
            r#"<h2>Training</h2>
<p class="note">Training loss and learning rate per epoch (top); training and validation accuracy (bottom). Validation accuracy that stops rising while training accuracy still does is the network learning its training images by heart.</p>
<img src="{}" alt="training curves">
"#,
            escape(curves)
        );
    }
    let _ = write!(
        h,
        r#"<h2>Per digit</h2>
<p class="note">Recall: of the test images of a digit, the share the network recognised. Precision: of the images the network called that digit, the share that were.</p>
<table id="per-digit">
<tr><th>digit</th><th>precision</th><th>recall</th><th>test images</th></tr>
"#
    );
    for d in page.per_class {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.digit,
            percent(d.precision),
            percent(d.recall),
            d.support
        );
    }
    h.push_str("</table>\n");
    if let Some(confusion) = page.confusion {
        let _ = write!(
            h,
            r#"<h2>Confusion matrix</h2>
<p class="note">Row: the true digit; column: what the network said. The diagonal holds the right answers; a dark red cell off it is a pair of digits the network mixes up.</p>
<img src="{}" alt="confusion matrix">
"#,
            escape(confusion)
        );
    }
    if let Some((file, drawn, total)) = page.hidden {
        let _ = write!(
            h,
            r#"<h2>What the first hidden units look for</h2>
<p class="note">Each tile is one hidden unit's 784 incoming weights laid out as the 28×28 image they multiply: red where ink raises the unit's input, blue where it lowers it, white where the pixel does not matter (each tile scaled to its own largest weight). Units in order, left to right, top to bottom, each numbered as the trace and the page's "show me why" number them. <span id="hidden-count">{drawn} of {total} hidden units drawn.</span></p>
<img src="{}" alt="hidden units' weights">
"#,
            escape(file)
        );
        match &page.start {
            Some(Start::Known {
                start_file,
                change_file,
                what,
                still,
                still_below,
                median_moved,
                frozen,
            }) => {
                let frozen_note = if *frozen {
                    " This layer was frozen (<code>[init] freeze</code>): training never changed it, so it is its base's, weight for weight, and W − W₀ is zero."
                } else {
                    ""
                };
                let _ = write!(
                    h,
                    r#"<h3>Where they started, and what training changed</h3>
<p class="note" id="hidden-start">Left: the same units where training started, W₀ ({}). Right: what training changed, W − W₀, each tile on its own scale. <span id="hidden-still">{still} of {total} units barely moved</span> (their weights changed by under {:.0}% of where they started: framed in amber and marked <em>still</em> on the tiles above, so what such a tile shows is mostly its start); the median unit moved by {:.0}%.{frozen_note}</p>
<div style="display: flex; gap: 1em; flex-wrap: wrap; align-items: flex-start">
<figure style="margin: 0"><img src="{}" alt="the hidden units' weights where training started"><figcaption>W₀: where training started</figcaption></figure>
<figure style="margin: 0"><img src="{}" alt="what training changed in the hidden units' weights"><figcaption>W − W₀: what training changed</figcaption></figure>
</div>
"#,
                    escape(what),
                    100.0 * still_below,
                    100.0 * median_moved,
                    escape(start_file),
                    escape(change_file)
                );
            }
            Some(Start::Unknown(why)) => {
                let _ = writeln!(
                    h,
                    r#"<p class="note" id="hidden-start">Where these weights started cannot be shown: {}.</p>"#,
                    escape(why)
                );
            }
            None => {}
        }
    }
    if let Some((file, drawn, total)) = page.mistakes {
        let _ = write!(
            h,
            r#"<h2>Mistakes</h2>
<p class="note">Test images the network got wrong, the most confidently wrong first, each with its label, the network's answer and {} <span id="mistakes-count">{drawn} of {total} mistakes drawn.</span></p>
<img src="{}" alt="misclassified test images">
"#,
            match page.outputs {
                OutputKind::Sigmoid => "its output for that answer (a sigmoid output in 0..1: the network was trained with the quadratic cost, so it is not a probability, and the ten outputs need not sum to 1).",
                OutputKind::Softmax => "the probability it gave that answer (softmax: the network was trained with cross-entropy).",
            },
            escape(file)
        );
    }
    if !page.report.is_empty() {
        h.push_str("<h2>Report</h2>\n<table id=\"report\">\n");
        for (k, v) in page.report {
            let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
        }
        h.push_str("</table>\n");
    }
    if let Some(config) = page.config {
        let _ = writeln!(h, "<h2>Config</h2>\n<pre>{}</pre>", escape(config));
    }
    h.push_str("</body>\n</html>\n");
    h
}
