//! Turning an arbitrary picture of a digit into an MNIST-style 28×28 input: what `infer` does
//! to an image file, and what an image-folder dataset does to each of its images (one
//! implementation for both, so a network reads a picture the way it was trained on pictures).
//!
//! MNIST's digits were made this way: the ink is bright on a dark background, the digit is
//! scaled (keeping its aspect ratio) to fit a 20×20 box, and the box is placed in a 28×28 image
//! so that the ink's centre of mass is at the centre. A network trained on MNIST only reads
//! digits prepared the same way, so [`to_mnist`] repeats those steps:
//!
//! 0. refuse what cannot be a digit picture (too small, too thin), and shrink a large photo
//!    early, so that any accepted picture is prepared in bounded memory;
//! 1. grayscale, in 8 bits, with transparency composited over a paper of the picture's own;
//!    a photo of a sheet on a darker desk is cropped to the sheet, and uneven light on paper
//!    evened out (`paper.rs`);
//! 2. find the background from the image's border and make the ink bright on dark, whichever
//!    way round the picture was (dark on light, or light on dark);
//! 3. crop to the ink;
//! 4. scale the crop to fit 20×20, keeping its aspect ratio (averaging areas when shrinking);
//! 5. paste it into 28×28 with its centre of mass at the centre.
//!
//! A picture in that form already (28×28, light ink on black: MNIST's own images, and what
//! these steps make) passes the checks of step 0–2 and is then used as it is, so that a
//! prepared picture saved as a PNG (as `serve`'s teach mode saves the digits drawn on its page)
//! reads back as the same 784 values.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Seek};
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, ImageError, ImageReader, Limits, Luma};

use crate::{IMAGE_PIXELS, IMAGE_SIDE};

/// Why an image file cannot be read as a digit, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ImageFileError {
    #[error("cannot read image {path}")]
    Image {
        path: PathBuf,
        #[source]
        source: ImageError,
    },

    #[error(
        "{path} is {width}×{height} pixels, over the limit of {limit} pixels; scale it down (a \
         digit needs a few hundred pixels a side)"
    )]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
        limit: u64,
    },

    #[error("{path} does not look like a picture of a digit")]
    NotADigit {
        path: PathBuf,
        #[source]
        reason: NotADigit,
    },
}

/// Side of the box the digit is scaled into.
const BOX: u32 = 20;
/// Ink (as a fraction of the strongest) below which a pixel is background: noise and the
/// faintest anti-aliasing.
const NOISE_FLOOR: f32 = 0.05;
/// The same in a photo whose light was evened out ([`crate::paper::even_light`]): what is left
/// of a shadow's edge, and the paper's grain, is fainter than this.
const PHOTO_NOISE_FLOOR: f32 = 0.45;
/// Ink above which a pixel counts as inked when judging how much of the picture is ink.
const INKED: f32 = 0.25;
/// Weakest contrast between ink and background that counts as a picture at all.
const MIN_CONTRAST: f32 = 0.15;
/// Most of the image's edge that may differ from its background.
const MAX_BUSY_BORDER: f32 = 0.25;
/// Most of the image that ink may cover and still be a digit on a background.
const MAX_INK_FRACTION: f32 = 0.6;

/// The most pixels a picture may have. A 48-megapixel phone photo is read; larger pictures are
/// refused before they are decoded, since decoding one costs memory in proportion.
pub const MAX_PIXELS: u64 = 64_000_000;
/// Most memory the decoder may allocate for one picture.
const MAX_DECODE_BYTES: u64 = 256 << 20;
/// The shorter side a picture must have to hold a digit.
pub const MIN_SIDE: u32 = 8;
/// How much longer than wide (or wider than long) a picture of one digit may be.
pub const MAX_ASPECT: u32 = 10;
/// Pictures are shrunk to fit this many pixels a side before they are looked at: a digit needs
/// no more, and the work stays small however large the photo.
const WORK_SIDE: u32 = 1024;
/// Ink must span at least this many pixels (of the picture as looked at) to be a digit.
const MIN_INK_SPAN: u32 = 3;
/// ... and at least this fraction of the picture's longer side: a dot or a tap on a canvas
/// is a speck, however many pixels it covers. A digit fills most of its box in MNIST (20 of
/// 28 pixels); one drawn in a corner of a canvas, or written on a page, spans more than a
/// tenth of it.
pub const MIN_INK_SHARE: f32 = 0.1;

/// The speck rule, the same for a picture and for 784 pixels given as they are: ink whose
/// bounding box is `width`×`height` pixels in a picture whose longer side is `side` is a speck
/// when its longer side spans under [`MIN_INK_SHARE`] of `side` (or under 3 pixels).
pub fn check_ink_span(width: u32, height: u32, side: u32) -> Result<(), NotADigit> {
    let least = MIN_INK_SPAN.max((MIN_INK_SHARE * side as f32).ceil() as u32);
    if width.max(height) < least {
        return Err(NotADigit::Speck {
            width,
            height,
            side,
            least,
        });
    }
    Ok(())
}

/// The checks [`to_mnist`] makes of a picture, made of 784 inputs given as they are (bright
/// ink on black, 0..1, as `serve`'s JSON requests give them): blank (no pixel above 0), or a
/// speck by [`check_ink_span`], else `Ok`.
pub fn check_input(pixels: &[f32]) -> Result<(), NotADigit> {
    let side = IMAGE_SIDE as u32;
    let strongest = pixels.iter().copied().fold(0.0, f32::max);
    if pixels.len() != IMAGE_PIXELS || strongest <= 0.0 {
        return Err(NotADigit::Blank {
            background: "dark",
            contrast: strongest.max(0.0),
        });
    }
    let (mut x0, mut y0, mut x1, mut y1) = (side, side, 0, 0);
    for (i, &v) in pixels.iter().enumerate() {
        if v >= NOISE_FLOOR * strongest {
            let (x, y) = (i as u32 % side, i as u32 / side);
            (x0, y0) = (x0.min(x), y0.min(y));
            (x1, y1) = (x1.max(x), y1.max(y));
        }
    }
    check_ink_span(x1 - x0 + 1, y1 - y0 + 1, side)
}

/// Reads an image file (PNG or JPEG, told apart by their content, not their names) and
/// prepares it as [`to_mnist`] does, in bounded memory: pictures over [`MAX_PIXELS`] are
/// refused before decoding.
pub fn load_digit(path: &Path) -> Result<[f32; IMAGE_PIXELS], ImageFileError> {
    Ok(load_digit_bytes(path)?.map(crate::scale_pixel))
}

/// [`load_digit`] as stored pixels (0 = background, 255 = full ink), the form a dataset holds.
pub fn load_digit_bytes(path: &Path) -> Result<[u8; IMAGE_PIXELS], ImageFileError> {
    read_digit(|| File::open(path).map(BufReader::new)).map_err(|e| e.at(path))
}

/// Prepares an image held in memory (PNG or JPEG bytes: what `serve` receives) exactly as
/// [`load_digit`] prepares a file, with the same limits: the same picture gives the same 784
/// pixels either way.
pub fn decode_digit(bytes: &[u8]) -> Result<[f32; IMAGE_PIXELS], DigitError> {
    Ok(decode_digit_bytes(bytes)?.map(crate::scale_pixel))
}

/// [`decode_digit`] as stored pixels (0 = background, 255 = full ink): what `serve` saves as
/// a 28×28 PNG when it is taught a digit.
pub fn decode_digit_bytes(bytes: &[u8]) -> Result<[u8; IMAGE_PIXELS], DigitError> {
    read_digit(|| Ok(Cursor::new(bytes)))
}

/// Why a picture given as bytes cannot be prepared as a digit (a file's errors name it: see
/// [`ImageFileError`]).
#[derive(Debug, thiserror::Error)]
pub enum DigitError {
    #[error("cannot decode the image")]
    Decode(#[source] ImageError),

    #[error(
        "the image is {width}×{height} pixels, over the limit of {limit} pixels; scale it down \
         (a digit needs a few hundred pixels a side)"
    )]
    TooLarge { width: u32, height: u32, limit: u64 },

    #[error("the image does not look like a picture of a digit")]
    NotADigit(#[source] NotADigit),
}

impl DigitError {
    /// This error for the image file `path`.
    pub fn at(self, path: &Path) -> ImageFileError {
        let path = path.to_path_buf();
        match self {
            DigitError::Decode(source) => ImageFileError::Image { path, source },
            DigitError::TooLarge {
                width,
                height,
                limit,
            } => ImageFileError::TooLarge {
                path,
                width,
                height,
                limit,
            },
            DigitError::NotADigit(reason) => ImageFileError::NotADigit { path, reason },
        }
    }
}

/// Decodes the picture `open` gives (opened twice: once for its size, which is checked before
/// any pixel is decoded, then to decode it) and prepares it with [`to_mnist_bytes`].
fn read_digit<R: BufRead + Seek>(
    open: impl Fn() -> std::io::Result<R>,
) -> Result<[u8; IMAGE_PIXELS], DigitError> {
    let reader = || {
        let mut reader = open()
            .and_then(|r| ImageReader::new(r).with_guessed_format())
            .map_err(|e| DigitError::Decode(ImageError::IoError(e)))?;
        let mut limits = Limits::default();
        limits.max_alloc = Some(MAX_DECODE_BYTES);
        reader.limits(limits);
        Ok::<_, DigitError>(reader)
    };
    let (width, height) = reader()?.into_dimensions().map_err(DigitError::Decode)?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(DigitError::TooLarge {
            width,
            height,
            limit: MAX_PIXELS,
        });
    }
    let image = reader()?.decode().map_err(DigitError::Decode)?;
    to_mnist_bytes(&image).map_err(DigitError::NotADigit)
}

/// Why a picture cannot be read as a digit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotADigit {
    #[error("the image is empty")]
    Empty,

    #[error(
        "it is {width}×{height} pixels, too small to hold a digit (a digit picture needs at \
         least {MIN_SIDE} pixels a side)"
    )]
    TooSmall { width: u32, height: u32 },

    #[error(
        "it is {width}×{height} pixels, too thin to hold one digit (at most {MAX_ASPECT} times \
         longer one way than the other)"
    )]
    TooThin { width: u32, height: u32 },

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

    #[error(
        "its ink is a speck ({width}×{height} pixels of a {side}-pixel picture), not a digit: \
         a digit's ink spans at least {least} pixels of it (a tenth); draw or crop it larger"
    )]
    Speck {
        width: u32,
        height: u32,
        side: u32,
        least: u32,
    },

    #[error("its ink vanished when scaled to 20×20 pixels")]
    InkVanished,
}

/// The picture in 8-bit grey, transparency composited over a paper of its own: the colour of
/// its opaque border where it has one (a screenshot with rounded corners, a stray transparent
/// pixel), else whichever of white or black its strokes stand out from (a drawing on a
/// transparent canvas).
fn flatten(image: &DynamicImage) -> GrayImage {
    if !image.color().has_alpha() {
        return image.to_luma8();
    }
    let la = image.to_luma_alpha8();
    let (w, h) = la.dimensions();
    let border: Vec<[u8; 2]> = border(w, h).map(|(x, y)| la.get_pixel(x, y).0).collect();
    let mut opaque: Vec<u8> = border
        .iter()
        .filter(|p| p[1] >= 128)
        .map(|p| p[0])
        .collect();
    let paper = if opaque.len() * 4 >= border.len() {
        opaque.sort_unstable();
        f32::from(opaque[opaque.len() / 2])
    } else {
        let (sum, weight) = la.pixels().fold((0u64, 0u64), |(s, wt), p| {
            let [l, a] = p.0;
            (s + u64::from(l) * u64::from(a), wt + u64::from(a))
        });
        let strokes_dark = weight > 0 && sum / weight < 128;
        if strokes_dark || weight == 0 {
            255.0
        } else {
            0.0
        }
    };
    GrayImage::from_fn(w, h, |x, y| {
        let [l, a] = la.get_pixel(x, y).0;
        let a = f32::from(a) / 255.0;
        Luma([(a * f32::from(l) + (1.0 - a) * paper).round() as u8])
    })
}

/// The pixels on the edge of a `w`×`h` picture (corners twice).
fn border(w: u32, h: u32) -> impl Iterator<Item = (u32, u32)> {
    (0..w)
        .flat_map(move |x| [(x, 0), (x, h - 1)])
        .chain((0..h).flat_map(move |y| [(0, y), (w - 1, y)]))
}

/// The ink of each pixel, 0..1, bright on dark, from a grey picture; `Err` says why the picture
/// shows no digit.
fn ink(gray: &GrayImage, noise_floor: f32) -> Result<(Vec<f32>, u32, u32), NotADigit> {
    let (w, h) = gray.dimensions();
    let values: Vec<f32> = gray.pixels().map(|p| f32::from(p.0[0]) / 255.0).collect();
    // The background is what the border mostly shows.
    let mut edge: Vec<f32> = border(w, h)
        .map(|(x, y)| values[(y * w + x) as usize])
        .collect();
    edge.sort_by(f32::total_cmp);
    let background = edge[edge.len() / 2];
    let off = edge
        .iter()
        .filter(|&&v| (v - background).abs() > 0.3)
        .count();
    if off as f32 > MAX_BUSY_BORDER * edge.len() as f32 {
        return Err(NotADigit::BusyBorder {
            busy_percent: 100.0 * off as f32 / edge.len() as f32,
        });
    }
    // Ink is what differs most from the background, darker or lighter: dark on light paper,
    // light on a dark board, either on grey.
    let darkest = values.iter().map(|&v| background - v).fold(0.0, f32::max);
    let lightest = values.iter().map(|&v| v - background).fold(0.0, f32::max);
    let dark_ink = darkest >= lightest;
    let strongest = darkest.max(lightest);
    if strongest < MIN_CONTRAST {
        return Err(NotADigit::Blank {
            background: if background > 0.5 { "light" } else { "dark" },
            contrast: strongest,
        });
    }
    let mut inked = 0usize;
    let ink: Vec<f32> = values
        .iter()
        .map(|&v| {
            let v = if dark_ink {
                background - v
            } else {
                v - background
            } / strongest;
            let v = if v < noise_floor { 0.0 } else { v };
            inked += usize::from(v > INKED);
            v
        })
        .collect();
    let fraction = inked as f32 / ink.len() as f32;
    if fraction > MAX_INK_FRACTION {
        return Err(NotADigit::TooMuchInk {
            ink_percent: 100.0 * fraction,
        });
    }
    Ok((ink, w, h))
}

/// Whether a grey picture is in MNIST's form already: 28×28, its ink light on a black
/// background (the median of its edge is 0), as MNIST's own images and [`to_mnist_bytes`]'s
/// output are. Such a picture is used as it is: cropping and scaling it again would move its
/// faint edge pixels (below the noise floor they are dropped) and change it a little each time.
fn is_prepared(gray: &GrayImage) -> bool {
    let side = IMAGE_SIDE as u32;
    if gray.dimensions() != (side, side) {
        return false;
    }
    let mut edge: Vec<u8> = border(side, side)
        .map(|(x, y)| gray.get_pixel(x, y).0[0])
        .collect();
    edge.sort_unstable();
    edge[edge.len() / 2] == 0
}

/// Prepares any picture of a digit as an MNIST input: 784 values in 0..1, row-major.
///
/// `Err` says why the picture cannot be a digit picture (too small or thin, blank, a speck, or
/// no plain background).
pub fn to_mnist(image: &DynamicImage) -> Result<[f32; IMAGE_PIXELS], NotADigit> {
    Ok(to_mnist_bytes(image)?.map(crate::scale_pixel))
}

/// [`to_mnist`] as stored pixels (0 = background, 255 = full ink): the inputs are these,
/// scaled by [`crate::scale_pixel`].
pub fn to_mnist_bytes(image: &DynamicImage) -> Result<[u8; IMAGE_PIXELS], NotADigit> {
    let (width, height) = (image.width(), image.height());
    if width == 0 || height == 0 {
        return Err(NotADigit::Empty);
    }
    if width.min(height) < MIN_SIDE {
        return Err(NotADigit::TooSmall { width, height });
    }
    if width.max(height) > MAX_ASPECT * width.min(height) {
        return Err(NotADigit::TooThin { width, height });
    }
    // Shrunk early (area averaging), so that a photo costs no more than a drawing.
    let gray = if width.max(height) > WORK_SIDE {
        flatten(&image.thumbnail(WORK_SIDE, WORK_SIDE))
    } else {
        flatten(image)
    };
    // A photo of paper: cropped to the sheet when it lies on something darker, and its light
    // evened out.
    let gray = crate::paper::find_sheet(&gray).unwrap_or(gray);
    let evened = crate::paper::even_light(&gray);
    let floor = if evened.is_some() {
        PHOTO_NOISE_FLOOR
    } else {
        NOISE_FLOOR
    };
    let gray = evened.unwrap_or(gray);
    let (ink, w, h) = ink(&gray, floor)?;
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
    check_ink_span(x1 - x0 + 1, y1 - y0 + 1, w.max(h))?;
    if is_prepared(&gray) {
        // Already MNIST's form (this function's own output among such pictures): used as it
        // is, so that preparing a prepared picture changes nothing.
        let mut out = [0u8; IMAGE_PIXELS];
        out.copy_from_slice(gray.as_raw());
        return Ok(out);
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
    let mut out = [0u8; IMAGE_PIXELS];
    for (x, y, p) in scaled.enumerate_pixels() {
        let (tx, ty) = (i64::from(x) + dx, i64::from(y) + dy);
        out[(ty * side + tx) as usize] = p.0[0];
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

    /// `image` as RGBA, with `alpha(x, y)` as each pixel's opacity.
    fn with_alpha(image: &DynamicImage, alpha: impl Fn(u32, u32) -> u8) -> DynamicImage {
        let rgba = image.to_rgba8();
        DynamicImage::ImageRgba8(RgbaImage::from_fn(rgba.width(), rgba.height(), |x, y| {
            let [r, g, b, _] = rgba.get_pixel(x, y).0;
            Rgba([r, g, b, alpha(x, y)])
        }))
    }

    #[test]
    fn one_transparent_pixel_changes_nothing() {
        let opaque = one(60, 100, 0, 255);
        let expected = to_mnist(&opaque).unwrap();
        // A transparent corner pixel (black underneath, as most encoders leave it).
        let corner = with_alpha(&opaque, |x, y| if (x, y) == (0, 0) { 0 } else { 255 });
        assert_eq!(to_mnist(&corner).unwrap(), expected);
        // A screenshot's transparent rounded corners.
        let rounded = with_alpha(&opaque, |x, y| {
            let (dx, dy) = (x.min(59 - x), y.min(99 - y));
            if dx + dy < 6 {
                0
            } else {
                255
            }
        });
        assert_eq!(to_mnist(&rounded).unwrap(), expected);
    }

    #[test]
    fn a_uniformly_translucent_picture_still_shows_its_digit() {
        let opaque = one(60, 100, 0, 255);
        let expected = to_mnist(&opaque).unwrap();
        for alpha in [77, 128, 200] {
            let translucent = with_alpha(&opaque, |_, _| alpha);
            let got = to_mnist(&translucent).unwrap();
            let worst = got
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 0.05, "alpha {alpha}: differs by {worst}");
        }
    }

    #[test]
    fn pictures_too_small_or_thin_or_with_a_speck_of_ink_are_not_digits() {
        let speck = |w, h, at: (u32, u32)| {
            DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, y| {
                Luma([if (x, y) == at { 0 } else { 255 }])
            }))
        };
        let err = to_mnist(&speck(2, 2, (0, 0))).unwrap_err().to_string();
        assert!(err.contains("2×2 pixels, too small"), "{err}");
        let err = to_mnist(&one(200, 10, 0, 255)).unwrap_err().to_string();
        assert!(err.contains("too thin"), "{err}");
        let err = to_mnist(&speck(100, 100, (50, 50)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("speck"), "{err}");
        // A dot is a speck however many pixels it covers: a 20-pixel disc on a 280-pixel
        // canvas (a tap with the page's brush) spans under a tenth of it.
        let disc = |r: f32| {
            DynamicImage::ImageLuma8(GrayImage::from_fn(280, 280, |x, y| {
                let d = ((x as f32 - 100.0).powi(2) + (y as f32 - 60.0).powi(2)).sqrt();
                Luma([if d <= r { 0 } else { 255 }])
            }))
        };
        let err = to_mnist(&disc(10.0)).unwrap_err();
        assert!(matches!(err, NotADigit::Speck { least: 28, .. }), "{err}");
        assert!(err.to_string().contains("at least 28 pixels"), "{err}");
        // A mark a little over a tenth of the picture is read.
        assert!(to_mnist(&disc(15.0)).is_ok());
    }

    #[test]
    fn inputs_given_as_they_are_follow_the_same_speck_rule() {
        let mut px = vec![0.0f32; IMAGE_PIXELS];
        assert!(matches!(check_input(&px), Err(NotADigit::Blank { .. })));
        // Two pixels: under a tenth of 28 (3 pixels).
        px[14 * 28 + 14] = 1.0;
        px[14 * 28 + 15] = 0.5;
        assert!(matches!(
            check_input(&px),
            Err(NotADigit::Speck {
                width: 2,
                height: 1,
                side: 28,
                least: 3
            })
        ));
        // Faint noise below the floor does not widen the ink.
        px[0] = 0.01;
        assert!(check_input(&px).is_err());
        px[14 * 28 + 16] = 0.3;
        assert_eq!(check_input(&px), Ok(()));
        assert!(check_input(&px[..10]).is_err());
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
    fn a_prepared_picture_reads_back_as_itself() {
        // MNIST's test digits drawn at several sizes and places, blurred (anti-aliased edges,
        // as a canvas draws them): cropping and scaling the result again would change each.
        let mnist = crate::Mnist::load(&::testkit::shipped_data()).unwrap();
        for i in 0..20 {
            let digit = mnist.test.image(i);
            for (scale, off, side, sigma) in
                [(10, 0, 280, 0.6), (3, 5, 120, 1.3), (7, 90, 400, 2.0)]
            {
                let drawing = GrayImage::from_fn(side, side, |x, y| {
                    let (px, py) = (
                        (x.saturating_sub(off)) / scale,
                        (y.saturating_sub(off)) / scale,
                    );
                    let inked = x >= off && y >= off && px < 28 && py < 28;
                    let ink = if inked {
                        digit[(py * 28 + px) as usize]
                    } else {
                        0
                    };
                    Luma([255 - ink])
                });
                let drawing = image::imageops::blur(&drawing, sigma);
                let once = to_mnist_bytes(&DynamicImage::ImageLuma8(drawing)).unwrap();
                let saved = GrayImage::from_raw(28, 28, once.to_vec()).unwrap();
                let again = to_mnist_bytes(&DynamicImage::ImageLuma8(saved)).unwrap();
                assert_eq!(again, once, "test image {i} at scale {scale}, blur {sigma}");
            }
        }
        // The checks still apply: a black 28×28 square is blank, not a prepared digit.
        let black = DynamicImage::ImageLuma8(GrayImage::new(28, 28));
        assert!(to_mnist(&black).unwrap_err().to_string().contains("blank"));
        // Dark ink on light paper at 28×28 is prepared as any picture is.
        let small = one(28, 28, 0, 255);
        let px = to_mnist(&small).unwrap();
        assert_eq!(ink_box(&px).0, 20, "scaled into the 20×20 box");
    }

    #[test]
    fn tiny_and_wide_images_still_fit() {
        let wide = to_mnist(&one(300, 40, 0, 255)).unwrap();
        assert_eq!(
            ink_box(&wide).1,
            20,
            "the longer side (width) fills the box"
        );
        let tiny = to_mnist(&one(8, 12, 0, 255)).unwrap();
        assert!(tiny.iter().any(|&v| v > 0.5));
    }
}
