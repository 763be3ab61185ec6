//! Turning an arbitrary picture of a digit into an MNIST-style 28×28 input.
//!
//! MNIST's digits were made this way: the ink is bright on a dark background, the digit is
//! scaled (keeping its aspect ratio) to fit a 20×20 box, and the box is placed in a 28×28 image
//! so that the ink's centre of mass is at the centre. A network trained on MNIST only reads
//! digits prepared the same way, so [`to_mnist`] repeats those steps:
//!
//! 1. grayscale (a transparent background counts as background: opacity becomes ink);
//! 2. find the background from the image's border and make the ink bright on dark, whichever
//!    way round the picture was (dark on light, or light on dark);
//! 3. crop to the ink;
//! 4. scale the crop to fit 20×20, keeping its aspect ratio (averaging areas when shrinking);
//! 5. paste it into 28×28 with its centre of mass at the centre.

use std::path::Path;

use data::{IMAGE_PIXELS, IMAGE_SIDE};
use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, Luma};

use crate::InferError;

/// Side of the box the digit is scaled into.
const BOX: u32 = 20;
/// Ink (as a fraction of the strongest) below which a pixel is background: noise and the
/// faintest anti-aliasing.
const NOISE_FLOOR: f32 = 0.05;
/// Ink above which a pixel counts as inked when judging how much of the picture is ink.
const INKED: f32 = 0.25;
/// Weakest contrast between ink and background that counts as a picture at all.
const MIN_CONTRAST: f32 = 0.15;
/// Most of the image's edge that may differ from its background.
const MAX_BUSY_BORDER: f32 = 0.25;
/// Most of the image that ink may cover and still be a digit on a background.
const MAX_INK_FRACTION: f32 = 0.6;

/// Reads an image file and prepares it as [`to_mnist`] does.
pub fn load_digit(path: &Path) -> Result<[f32; IMAGE_PIXELS], InferError> {
    let image = image::open(path).map_err(|source| InferError::Image {
        path: path.to_path_buf(),
        source,
    })?;
    to_mnist(&image).map_err(|reason| InferError::NotADigit {
        path: path.to_path_buf(),
        reason,
    })
}

/// Why a picture cannot be read as a digit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotADigit {
    #[error("the image is empty")]
    Empty,

    #[error(
        "{busy_percent:.0}% of its edge differs from the rest; a digit picture is a digit on a \
         plain background, with some margin"
    )]
    BusyBorder { busy_percent: f32 },

    #[error(
        "it is blank: nothing stands out from its {background} background (contrast {contrast:.2})"
    )]
    Blank {
        background: &'static str,
        contrast: f32,
    },

    #[error(
        "ink covers {ink_percent:.0}% of it; a digit picture is a digit on a plain background"
    )]
    TooMuchInk { ink_percent: f32 },

    #[error("its ink vanished when scaled to 20×20 pixels")]
    InkVanished,
}

/// The ink of each pixel, 0..1, bright on dark, from any picture; `Err` says why the picture
/// shows no digit.
fn ink(image: &DynamicImage) -> Result<(Vec<f32>, u32, u32), NotADigit> {
    let (w, h) = (image.width(), image.height());
    if w == 0 || h == 0 {
        return Err(NotADigit::Empty);
    }
    let rgba = image.to_rgba32f();
    let transparent = rgba.pixels().any(|p| p.0[3] < 0.5);
    let values: Vec<f32> = if transparent {
        // A digit drawn on a transparent canvas: what is opaque is ink.
        rgba.pixels().map(|p| p.0[3]).collect()
    } else {
        image.to_luma32f().pixels().map(|p| p.0[0]).collect()
    };
    // The background is what the border mostly shows.
    let mut border: Vec<f32> = (0..w)
        .flat_map(|x| [values[x as usize], values[((h - 1) * w + x) as usize]])
        .chain((0..h).flat_map(|y| [values[(y * w) as usize], values[(y * w + w - 1) as usize]]))
        .collect();
    border.sort_by(f32::total_cmp);
    let background = border[border.len() / 2];
    let off = border
        .iter()
        .filter(|&&v| (v - background).abs() > 0.3)
        .count();
    if off as f32 > MAX_BUSY_BORDER * border.len() as f32 {
        return Err(NotADigit::BusyBorder {
            busy_percent: 100.0 * off as f32 / border.len() as f32,
        });
    }
    let light_background = background > 0.5;
    let mut ink: Vec<f32> = values
        .iter()
        .map(|&v| {
            if light_background {
                (background - v).max(0.0)
            } else {
                (v - background).max(0.0)
            }
        })
        .collect();
    let strongest = ink.iter().copied().fold(0.0, f32::max);
    if strongest < MIN_CONTRAST {
        return Err(NotADigit::Blank {
            background: if light_background { "light" } else { "dark" },
            contrast: strongest,
        });
    }
    let mut inked = 0usize;
    for v in &mut ink {
        *v /= strongest;
        if *v < NOISE_FLOOR {
            *v = 0.0;
        }
        inked += usize::from(*v > INKED);
    }
    let fraction = inked as f32 / ink.len() as f32;
    if fraction > MAX_INK_FRACTION {
        return Err(NotADigit::TooMuchInk {
            ink_percent: 100.0 * fraction,
        });
    }
    Ok((ink, w, h))
}

/// Prepares any picture of a digit as an MNIST input: 784 values in 0..1, row-major.
///
/// `Err` says why the picture cannot be a digit picture (blank, or no plain background).
pub fn to_mnist(image: &DynamicImage) -> Result<[f32; IMAGE_PIXELS], NotADigit> {
    let (ink, w, h) = ink(image)?;
    // Bounding box of the ink.
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if ink[(y * w + x) as usize] > 0.0 {
                (x0, y0) = (x0.min(x), y0.min(y));
                (x1, y1) = (x1.max(x), y1.max(y));
            }
        }
    }
    let (cw, ch) = (x1 - x0 + 1, y1 - y0 + 1);
    let crop = GrayImage::from_fn(cw, ch, |x, y| {
        Luma([(255.0 * ink[((y0 + y) * w + x0 + x) as usize]).round() as u8])
    });
    // Fit the longer side to the box, keeping the aspect ratio.
    let scale = BOX as f32 / cw.max(ch) as f32;
    let (sw, sh) = (
        ((cw as f32 * scale).round() as u32).clamp(1, BOX),
        ((ch as f32 * scale).round() as u32).clamp(1, BOX),
    );
    let scaled = if scale < 1.0 {
        // Shrinking: average the source pixels under each target pixel (area resampling),
        // the anti-aliasing MNIST's digits have.
        image::imageops::thumbnail(&crop, sw, sh)
    } else {
        image::imageops::resize(&crop, sw, sh, FilterType::Triangle)
    };

    // Centre of mass of the scaled digit.
    let (mut mass, mut mx, mut my) = (0f32, 0f32, 0f32);
    for (x, y, p) in scaled.enumerate_pixels() {
        let v = f32::from(p.0[0]);
        mass += v;
        mx += v * x as f32;
        my += v * y as f32;
    }
    if mass == 0.0 {
        return Err(NotADigit::InkVanished);
    }
    // Where MNIST's digits have their centre of mass, in pixel indices (measured on its test
    // set: 13.99 down, 14.01 across).
    let centre = IMAGE_SIDE as f32 / 2.0;
    let side = IMAGE_SIDE as i64;
    // Shift so the centre of mass lands at the centre, keeping the whole digit in the frame.
    let place = |com: f32, len: u32| -> i64 {
        ((centre - com).round() as i64).clamp(0, side - i64::from(len))
    };
    let (dx, dy) = (place(mx / mass, sw), place(my / mass, sh));
    let mut out = [0f32; IMAGE_PIXELS];
    for (x, y, p) in scaled.enumerate_pixels() {
        let (tx, ty) = (i64::from(x) + dx, i64::from(y) + dy);
        out[(ty * side + tx) as usize] = data::scale_pixel(p.0[0]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    /// A tall bar with a foot, dark on light, like a printed "1" of `w`×`h` pixels.
    fn one(w: u32, h: u32, ink: u8, paper: u8) -> DynamicImage {
        DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, y| {
            let bar = x >= w * 2 / 5 && x < w * 3 / 5 && y >= h / 8 && y < h * 7 / 8;
            let foot = y >= h * 3 / 4 && y < h * 7 / 8 && x >= w / 4 && x < w * 3 / 4;
            Luma([if bar || foot { ink } else { paper }])
        }))
    }

    fn centre_of_mass(px: &[f32]) -> (f32, f32) {
        let (mut m, mut sx, mut sy) = (0.0, 0.0, 0.0);
        for (i, v) in px.iter().enumerate() {
            m += v;
            sx += v * (i % 28) as f32;
            sy += v * (i / 28) as f32;
        }
        (sx / m, sy / m)
    }

    fn ink_box(px: &[f32]) -> (usize, usize) {
        let rows: Vec<usize> = (0..28)
            .filter(|r| px[r * 28..(r + 1) * 28].iter().any(|&v| v > 0.0))
            .collect();
        let cols: Vec<usize> = (0..28)
            .filter(|c| (0..28).any(|r| px[r * 28 + c] > 0.0))
            .collect();
        (rows.len(), cols.len())
    }

    #[test]
    fn dark_on_light_becomes_bright_on_dark_centred_in_20x20() {
        let px = to_mnist(&one(90, 160, 20, 240)).unwrap();
        assert!(px.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(
            px.iter().copied().fold(0.0, f32::max) > 0.9,
            "ink is bright"
        );
        // Corners are background.
        assert_eq!((px[0], px[27], px[783]), (0.0, 0.0, 0.0));
        let (rows, cols) = ink_box(&px);
        assert_eq!(rows, 20, "the longer side fills the 20-pixel box");
        assert!(cols < 20, "aspect ratio kept: {cols} columns");
        let (cx, cy) = centre_of_mass(&px);
        assert!(
            (cx - 14.0).abs() <= 1.0 && (cy - 14.0).abs() <= 1.0,
            "centre of mass {cx},{cy}"
        );
    }

    #[test]
    fn polarity_does_not_matter() {
        let dark_on_light = to_mnist(&one(60, 100, 0, 255)).unwrap();
        let light_on_dark = to_mnist(&one(60, 100, 255, 0)).unwrap();
        assert_eq!(dark_on_light, light_on_dark);
    }

    #[test]
    fn transparent_canvas_reads_opacity_as_ink() {
        let base = one(60, 100, 0, 255).to_luma8();
        let rgba = RgbaImage::from_fn(60, 100, |x, y| {
            let inked = base.get_pixel(x, y).0[0] < 128;
            // White strokes on a transparent canvas: colour alone would show nothing.
            Rgba([255, 255, 255, if inked { 255 } else { 0 }])
        });
        let px = to_mnist(&DynamicImage::ImageRgba8(rgba)).unwrap();
        assert_eq!(px, to_mnist(&one(60, 100, 0, 255)).unwrap());
    }

    #[test]
    fn blank_image_is_not_a_digit() {
        let blank = DynamicImage::ImageLuma8(GrayImage::from_pixel(50, 50, Luma([200])));
        let err = to_mnist(&blank).unwrap_err().to_string();
        assert!(err.contains("blank"), "{err}");
    }

    #[test]
    fn image_full_of_ink_is_not_a_digit() {
        // A thin light frame around a dark block: the ink would be almost everything.
        let block = DynamicImage::ImageLuma8(GrayImage::from_fn(40, 40, |x, y| {
            let frame = x < 2 || y < 2 || x >= 38 || y >= 38;
            Luma([if frame { 255 } else { 0 }])
        }));
        let err = to_mnist(&block).unwrap_err().to_string();
        assert!(
            err.contains("ink covers 81%") && err.contains("plain background"),
            "{err}"
        );
    }

    #[test]
    fn picture_without_a_plain_edge_is_not_a_digit() {
        // Half dark, half light, like a photograph of a scene: no background to find.
        let halves = DynamicImage::ImageLuma8(GrayImage::from_fn(40, 40, |x, _| {
            Luma([if x < 20 { 30 } else { 220 }])
        }));
        let err = to_mnist(&halves).unwrap_err().to_string();
        assert!(err.contains("of its edge differs"), "{err}");
    }

    #[test]
    fn tiny_and_wide_images_still_fit() {
        let wide = to_mnist(&one(300, 40, 0, 255)).unwrap();
        assert_eq!(
            ink_box(&wide).1,
            20,
            "the longer side (width) fills the box"
        );
        let tiny = to_mnist(&one(5, 8, 0, 255)).unwrap();
        assert!(tiny.iter().any(|&v| v > 0.5));
    }
}
