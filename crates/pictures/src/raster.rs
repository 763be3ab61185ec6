//! The PNG pictures: the first hidden layer's weights, one 28×28 tile per hidden unit, and the
//! test images the network got wrong, captioned.

use image::{ImageEncoder, Rgb, RgbImage};

use crate::font::{draw_text, text_width, GLYPH_H};
use crate::{DrawError, PIXELS, SIDE};

/// Image pixels per weight in `hidden.png`.
pub const HIDDEN_SCALE: u32 = 3;
/// Pixels of background between (and around) the tiles of `hidden.png`.
pub const HIDDEN_GAP: u32 = 2;
/// The colour of the strongest negative weight of a tile (blue).
pub const NEGATIVE: [u8; 3] = [33, 102, 172];
/// The colour of the strongest positive weight of a tile (red).
pub const POSITIVE: [u8; 3] = [178, 24, 43];
/// Between tiles: a grey no weight is drawn in (weights are white, blue or red mixes).
const BACKGROUND: Rgb<u8> = Rgb([160, 160, 160]);
/// Above each tile of `hidden.png`: the band its unit's number is written in.
pub const HIDDEN_LABEL_H: u32 = GLYPH_H + 4;
/// The frame of a tile whose weights barely moved from where training started (amber).
pub const STILL: [u8; 3] = [240, 160, 0];

/// Image pixels per MNIST pixel in `mistakes.png`.
pub const MISTAKE_SCALE: u32 = 4;
/// Mistakes per row of `mistakes.png`.
pub const MISTAKE_COLUMNS: usize = 10;
/// Width of one mistake's cell: its image, centred, and its caption below.
pub const MISTAKE_CELL_W: u32 = 140;
/// Height of one mistake's cell: the image, then two lines of caption.
pub const MISTAKE_CELL_H: u32 = 4 + SIDE as u32 * MISTAKE_SCALE + 6 + GLYPH_H + 4 + GLYPH_H + 6;

/// Columns of a near-square grid of `n` tiles.
pub fn grid_columns(n: usize) -> usize {
    (1..=n.max(1)).find(|c| c * c >= n).unwrap_or(1)
}

fn encode(image: &RgbImage) -> Result<Vec<u8>, DrawError> {
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(DrawError::Encode)?;
    Ok(bytes)
}

/// Draws a 28×28 image (784 values in 0..1, ink is 1) dark on light with its top-left corner at
/// (x0, y0), `scale` image pixels per MNIST pixel.
fn draw_digit(image: &mut RgbImage, x0: u32, y0: u32, pixels: &[f32], scale: u32) {
    for (i, &v) in pixels.iter().enumerate() {
        let g = (255.0 * (1.0 - v.clamp(0.0, 1.0))).round() as u8;
        let (px, py) = ((i % SIDE) as u32, (i / SIDE) as u32);
        for dy in 0..scale {
            for dx in 0..scale {
                image.put_pixel(x0 + px * scale + dx, y0 + py * scale + dy, Rgb([g, g, g]));
            }
        }
    }
}

/// A one-pixel frame of `colour` just outside the `side`×`side` square at (x0, y0), which must
/// leave a pixel free on every side.
fn frame(image: &mut RgbImage, x0: u32, y0: u32, side: u32, colour: Rgb<u8>) {
    for i in 0..side + 2 {
        for (x, y) in [
            (x0 - 1 + i, y0 - 1),
            (x0 - 1 + i, y0 + side),
            (x0 - 1, y0 - 1 + i),
            (x0 + side, y0 - 1 + i),
        ] {
            image.put_pixel(x, y, colour);
        }
    }
}

/// The colour of `t` in -1..1: blue below zero, red above, white at zero, deeper with |t|.
pub(crate) fn diverging(t: f32) -> Rgb<u8> {
    let target = if t < 0.0 { NEGATIVE } else { POSITIVE };
    let a = t.abs().min(1.0);
    Rgb(target.map(|c| (255.0 + a * (f32::from(c) - 255.0)).round() as u8))
}

/// Where tile `unit` of a [`hidden_png`] picture of `columns` columns starts: its top-left
/// weight's pixel. Each tile has its unit's number in a band of [`HIDDEN_LABEL_H`] above it.
pub fn hidden_tile_origin(unit: usize, columns: usize) -> (u32, u32) {
    let columns = columns.max(1);
    let pitch_x = SIDE as u32 * HIDDEN_SCALE + HIDDEN_GAP;
    let pitch_y = HIDDEN_LABEL_H + pitch_x;
    (
        HIDDEN_GAP + (unit % columns) as u32 * pitch_x,
        HIDDEN_GAP + HIDDEN_LABEL_H + (unit / columns) as u32 * pitch_y,
    )
}

/// `hidden.png`: each of the first `cap` hidden units' 784 incoming weights as a 28×28 tile,
/// in a near-square grid, left to right then top to bottom in unit order, each numbered by its
/// unit (so that "unit 27" of a trace can be found). `weights` is the first layer's W,
/// `[784, hidden]` row-major as Burn's `Linear` stores it (unit `j`'s weight from pixel `i` is
/// `weights[i * hidden + j]`). Each tile has its own symmetric scale: its largest |w| is full
/// blue (negative) or red (positive), zero is white. A unit with `still[j]` true (`still` may
/// be shorter, or empty) is framed in [`STILL`] and its number followed by `still`: its weights
/// barely moved from where training started. Tile `k` starts at [`hidden_tile_origin`]`(k,
/// columns)`, with `columns = grid_columns(min(hidden, cap))`.
pub fn hidden_png(
    weights: &[f32],
    hidden: usize,
    cap: usize,
    still: &[bool],
) -> Result<Vec<u8>, DrawError> {
    if hidden.checked_mul(PIXELS) != Some(weights.len()) {
        return Err(DrawError::WeightsDoNotFit {
            len: weights.len(),
            inputs: PIXELS,
            hidden,
            expected: hidden.saturating_mul(PIXELS),
        });
    }
    let drawn = hidden.min(cap);
    let columns = grid_columns(drawn);
    let rows = drawn.div_ceil(columns).max(1);
    let side = SIDE as u32 * HIDDEN_SCALE;
    let pitch_x = side + HIDDEN_GAP;
    let pitch_y = HIDDEN_LABEL_H + pitch_x;
    let mut image = RgbImage::from_pixel(
        HIDDEN_GAP + columns as u32 * pitch_x,
        HIDDEN_GAP + rows as u32 * pitch_y,
        BACKGROUND,
    );
    for unit in 0..drawn {
        let tile: Vec<f32> = (0..PIXELS).map(|i| weights[i * hidden + unit]).collect();
        let scale = tile.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let (x0, y0) = hidden_tile_origin(unit, columns);
        let is_still = still.get(unit).copied().unwrap_or(false);
        let label = if is_still {
            format!("{unit} still")
        } else {
            unit.to_string()
        };
        draw_text(
            &mut image,
            x0,
            y0 - HIDDEN_LABEL_H + 2,
            &label,
            Rgb([0, 0, 0]),
            1,
        );
        if is_still {
            // A one-pixel frame in the gap around the tile.
            frame(&mut image, x0, y0, side, Rgb(STILL));
        }
        for (i, &w) in tile.iter().enumerate() {
            let t = if scale > 0.0 && scale.is_finite() {
                w / scale
            } else {
                0.0
            };
            let colour = diverging(t);
            let (px, py) = ((i % SIDE) as u32, (i / SIDE) as u32);
            for dy in 0..HIDDEN_SCALE {
                for dx in 0..HIDDEN_SCALE {
                    image.put_pixel(
                        x0 + px * HIDDEN_SCALE + dx,
                        y0 + py * HIDDEN_SCALE + dy,
                        colour,
                    );
                }
            }
        }
    }
    encode(&image)
}

/// A test image the network got wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Mistake {
    /// The image's 784 pixels in 0..1 (ink is 1), row by row.
    pub pixels: Vec<f32>,
    /// Its label.
    pub truth: u8,
    /// What the network said.
    pub said: u8,
    /// The network's output for what it said (its confidence in the wrong answer).
    pub confidence: f32,
}

/// What a network's outputs are, which the caption of a mistake names: a sigmoid `output` in
/// 0..1 (the quadratic cost: not a probability, and the ten need not sum to 1), or a softmax
/// `probability` (cross-entropy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputKind {
    #[default]
    Sigmoid,
    Softmax,
}

impl OutputKind {
    /// The word the caption uses.
    pub fn word(self) -> &'static str {
        match self {
            OutputKind::Sigmoid => "output",
            OutputKind::Softmax => "probability",
        }
    }
}

impl Mistake {
    /// The caption under the image, two lines: `true 4 → said 9` and `output 0.87` (or
    /// `probability 0.87`).
    pub fn caption(&self, kind: OutputKind) -> [String; 2] {
        [
            format!("true {} → said {}", self.truth, self.said),
            format!("{} {:.2}", kind.word(), self.confidence),
        ]
    }
}

/// The order `mistakes_png` draws in: most confidently wrong first; equal confidences keep
/// their order.
pub fn most_confident_first(items: &[Mistake]) -> Vec<&Mistake> {
    let mut sorted: Vec<&Mistake> = items.iter().collect();
    sorted.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    sorted
}

/// `mistakes.png`: the first `cap` of `items` in [`most_confident_first`] order (this function
/// sorts), each drawn dark on white at `MISTAKE_SCALE`, centred at the top of its cell
/// (`MISTAKE_CELL_W` × `MISTAKE_CELL_H`, `MISTAKE_COLUMNS` to a row), with its caption below
/// ([`Mistake::caption`], naming the number as `kind` says).
/// The image of the `k`-th starts at `((k % columns) · MISTAKE_CELL_W + 14, (k / columns) ·
/// MISTAKE_CELL_H + 4)`, where `columns = min(drawn, MISTAKE_COLUMNS)`.
pub fn mistakes_png(items: &[Mistake], cap: usize, kind: OutputKind) -> Result<Vec<u8>, DrawError> {
    if let Some((index, m)) = items
        .iter()
        .enumerate()
        .find(|(_, m)| m.pixels.len() != PIXELS)
    {
        return Err(DrawError::PixelsDoNotFit {
            index,
            len: m.pixels.len(),
        });
    }
    let sorted = most_confident_first(items);
    let drawn = &sorted[..items.len().min(cap)];
    let columns = drawn.len().clamp(1, MISTAKE_COLUMNS);
    let rows = drawn.len().div_ceil(columns).max(1);
    let mut image = RgbImage::from_pixel(
        columns as u32 * MISTAKE_CELL_W,
        rows as u32 * MISTAKE_CELL_H,
        Rgb([255, 255, 255]),
    );
    let side = SIDE as u32 * MISTAKE_SCALE;
    let border = Rgb([180, 180, 180]);
    for (k, m) in drawn.iter().enumerate() {
        let cx = (k % columns) as u32 * MISTAKE_CELL_W;
        let cy = (k / columns) as u32 * MISTAKE_CELL_H;
        let (x0, y0) = (cx + (MISTAKE_CELL_W - side) / 2, cy + 4);
        // A thin frame, so that the white of the image shows where it ends.
        frame(&mut image, x0, y0, side, border);
        draw_digit(&mut image, x0, y0, &m.pixels, MISTAKE_SCALE);
        for (line, caption) in m.caption(kind).iter().enumerate() {
            let w = text_width(caption, 1);
            draw_text(
                &mut image,
                cx + MISTAKE_CELL_W.saturating_sub(w) / 2,
                y0 + side + 6 + line as u32 * (GLYPH_H + 4),
                caption,
                Rgb([0, 0, 0]),
                1,
            );
        }
    }
    encode(&image)
}

/// Image pixels per MNIST pixel in `augmentation.png`.
pub const AUGMENT_SCALE: u32 = 3;
/// Pixels between the images of `augmentation.png`; twice that after each row's original.
pub const AUGMENT_GAP: u32 = 4;

/// `augmentation.png`: one row per training image, its original first (set apart by a wider
/// gap), then its distorted copies, each drawn dark on white at `AUGMENT_SCALE`, under a line
/// saying what the columns are. Every image is 784 values in 0..1 (ink is 1).
pub fn augmentation_png(rows: &[Vec<Vec<f32>>]) -> Result<Vec<u8>, DrawError> {
    if let Some((index, image)) = rows
        .iter()
        .flatten()
        .enumerate()
        .find(|(_, image)| image.len() != PIXELS)
    {
        return Err(DrawError::PixelsDoNotFit {
            index,
            len: image.len(),
        });
    }
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0).max(1) as u32;
    let side = SIDE as u32 * AUGMENT_SCALE;
    let header = GLYPH_H + 2 * AUGMENT_GAP;
    let width = AUGMENT_GAP + columns * (side + AUGMENT_GAP) + AUGMENT_GAP;
    let height = header + rows.len().max(1) as u32 * (side + AUGMENT_GAP) + AUGMENT_GAP;
    let mut image = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let ink = Rgb([0, 0, 0]);
    draw_text(&mut image, AUGMENT_GAP, AUGMENT_GAP, "original", ink, 1);
    let x_distorted = 2 * AUGMENT_GAP + side + AUGMENT_GAP;
    draw_text(
        &mut image,
        x_distorted,
        AUGMENT_GAP,
        "distorted: a new draw every epoch",
        ink,
        1,
    );
    for (r, row) in rows.iter().enumerate() {
        let y0 = header + r as u32 * (side + AUGMENT_GAP);
        for (c, pixels) in row.iter().enumerate() {
            let x0 =
                AUGMENT_GAP + c as u32 * (side + AUGMENT_GAP) + if c > 0 { AUGMENT_GAP } else { 0 };
            draw_digit(&mut image, x0, y0, pixels, AUGMENT_SCALE);
        }
    }
    encode(&image)
}
