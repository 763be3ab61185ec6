//! Pictures of paper: what a person most often gives the network is a photo of a digit written
//! on a sheet, lying on a desk. Two things in such a photo are not in a drawing, and
//! [`crate::preprocess`] would take them for ink:
//!
//! - **the surround**: a sheet of white paper inside a darker desk, or a dark frame, has a dark
//!   border, so the sheet would be taken for ink on a dark background. [`find_sheet`] finds a
//!   light, solid region that holds darker marks, and crops the picture to it, painting over
//!   what lies outside it (a tilted sheet's corners);
//! - **uneven light**: a shadow, or a lamp on one side, makes the paper darker in places, which
//!   would read as faint ink everywhere. [`even_light`] estimates the paper's brightness across
//!   the picture and divides it out, so that the paper is white again and only the ink is dark.
//!
//! Both leave a drawing on an even background (a canvas, a scan, MNIST's own digits) exactly
//! as it was: the sheet must be surrounded by something darker, and the light must vary by more
//! than a tenth.

use image::{imageops, GrayImage, Luma};

/// Pictures smaller than this a side are drawings or MNIST's own, not photos: left as they are.
const MIN_PHOTO_SIDE: u32 = 64;
/// The sheet is looked for in a copy shrunk to this many pixels a side.
const LOOK_SIDE: u32 = 256;
/// The paper must be this much lighter than the surround (of 255) to be told apart from it.
const MIN_SHEET_CONTRAST: i32 = 60;
/// A sheet (with what is drawn on it) covers at least this part of the picture...
const MIN_SHEET_SHARE: f32 = 0.1;
/// ...fills at least this part of its bounding box (a sheet turned by 10° fills 0.85 of it; a
/// light stroke on a dark board, a digit, fills less)...
const MIN_SHEET_FILL: f32 = 0.7;
/// ...and the ink on it (enclosed pixels as dark as the surround) covers at most this part of
/// it: a light ring on a dark board (a 0) encloses a hole of dark board, a third of it or more.
const MAX_INK_SHARE: f32 = 0.2;
/// The light is uneven when the paper's brightness varies by more than this part of its
/// brightest.
const UNEVEN: f32 = 0.1;

/// The median of the picture's edge pixels.
fn border_median(gray: &GrayImage) -> u8 {
    let (w, h) = gray.dimensions();
    let mut edge: Vec<u8> = (0..w)
        .flat_map(|x| [(x, 0), (x, h - 1)])
        .chain((0..h).flat_map(|y| [(0, y), (w - 1, y)]))
        .map(|(x, y)| gray.get_pixel(x, y).0[0])
        .collect();
    edge.sort_unstable();
    edge[edge.len() / 2]
}

/// `gray` shrunk to fit `side` pixels a side (itself when it fits), and the factor from its
/// pixels to `gray`'s.
fn shrunk(gray: &GrayImage, side: u32) -> (GrayImage, f32) {
    let (w, h) = gray.dimensions();
    if w.max(h) <= side {
        return (gray.clone(), 1.0);
    }
    let scale = side as f32 / w.max(h) as f32;
    let (sw, sh) = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    (imageops::thumbnail(gray, sw, sh), w as f32 / sw as f32)
}

/// The largest 4-connected region of `mask` (row-major, `w` wide): its pixels' indices.
fn largest_region(mask: &[bool], w: usize) -> Vec<usize> {
    let mut seen = vec![false; mask.len()];
    let mut best = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        let mut region = Vec::new();
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            region.push(i);
            let (x, y) = (i % w, i / w);
            let mut visit = |j: usize| {
                if mask[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if i + w < mask.len() {
                visit(i + w);
            }
        }
        if region.len() > best.len() {
            best = region;
        }
    }
    best
}

/// The sheet of paper in a picture of one lying on something darker, cropped to it, with what
/// lies outside it (a tilted sheet's corners, the desk) painted the paper's colour; `None` when
/// the picture is not such a photo (a drawing, a scan, a digit on an even background).
pub(crate) fn find_sheet(gray: &GrayImage) -> Option<GrayImage> {
    let (w, h) = gray.dimensions();
    if w.min(h) < MIN_PHOTO_SIDE {
        return None;
    }
    let (small, factor) = shrunk(gray, LOOK_SIDE);
    let (sw, sh) = (small.width() as usize, small.height() as usize);
    let px = small.as_raw();
    let surround = i32::from(border_median(&small));
    let mut sorted = px.clone();
    sorted.sort_unstable();
    let light = i32::from(sorted[sorted.len() * 95 / 100]);
    if light - surround < MIN_SHEET_CONTRAST {
        return None;
    }
    // Nearer the surround than the paper: paper in a shadow is still paper.
    let threshold = surround + (light - surround) * 7 / 20;
    let mask: Vec<bool> = px.iter().map(|&v| i32::from(v) > threshold).collect();
    let sheet = largest_region(&mask, sw);
    let n = sw * sh;
    if (sheet.len() as f32) < 0.5 * MIN_SHEET_SHARE * n as f32 {
        return None;
    }
    let (mut x0, mut y0, mut x1, mut y1) = (sw, sh, 0, 0);
    for &i in &sheet {
        let (x, y) = (i % sw, i / sw);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
    // Within the sheet's box: what is the sheet, and what is outside it (reached from the box's
    // edge without crossing the sheet). The rest is marks on the sheet: the digit.
    let mut on_sheet = vec![false; bw * bh];
    for &i in &sheet {
        on_sheet[(i / sw - y0) * bw + (i % sw - x0)] = true;
    }
    let mut outside = vec![false; bw * bh];
    let mut stack: Vec<usize> = (0..bw * bh)
        .filter(|&j| {
            let (x, y) = (j % bw, j / bw);
            (x == 0 || y == 0 || x + 1 == bw || y + 1 == bh) && !on_sheet[j]
        })
        .collect();
    for &j in &stack {
        outside[j] = true;
    }
    while let Some(j) = stack.pop() {
        let (x, y) = (j % bw, j / bw);
        let neighbours = [
            (x > 0).then(|| j - 1),
            (x + 1 < bw).then(|| j + 1),
            (y > 0).then(|| j - bw),
            (y + 1 < bh).then(|| j + bw),
        ];
        for k in neighbours.into_iter().flatten() {
            if !on_sheet[k] && !outside[k] {
                outside[k] = true;
                stack.push(k);
            }
        }
    }
    // The sheet with what is drawn on it (all that is not outside), and its ink: the enclosed
    // pixels darker than the threshold (the paper inside a 0's loop is not ink).
    let whole = (0..bw * bh).filter(|&j| !outside[j]).count();
    let ink = (0..bw * bh)
        .filter(|&j| {
            let i = (y0 + j / bw) * sw + x0 + j % bw;
            !outside[j] && !mask[i]
        })
        .count();
    if (whole as f32) < MIN_SHEET_SHARE * n as f32
        || (whole as f32) < MIN_SHEET_FILL * (bw * bh) as f32
        || ink < 4
        || ink as f32 > MAX_INK_SHARE * whole as f32
    {
        return None;
    }

    // The paper's colour, and the sheet's box in the picture, inside its edge a little.
    let mut paper: Vec<u8> = sheet.iter().map(|&i| px[i]).collect();
    paper.sort_unstable();
    let paper = paper[paper.len() / 2];
    let inset = |len: usize| (len as f32 * 0.02).ceil() as usize + 1;
    let (ix, iy) = (inset(bw), inset(bh));
    if bw <= 2 * ix + 2 || bh <= 2 * iy + 2 {
        return None;
    }
    let to_full = |v: usize, limit: u32| ((v as f32 * factor).round() as u32).min(limit);
    let (cx0, cy0) = (to_full(x0 + ix, w), to_full(y0 + iy, h));
    let (cx1, cy1) = (to_full(x1 + 1 - ix, w), to_full(y1 + 1 - iy, h));
    if cx1 <= cx0 || cy1 <= cy0 {
        return None;
    }
    // What lies outside the sheet, grown by two pixels of the shrunk copy (the sheet's soft
    // edge), is painted the paper's colour.
    let near_outside = |sx: usize, sy: usize| {
        let (lx, ly) = (sx.saturating_sub(2), sy.saturating_sub(2));
        (ly..=(sy + 2).min(bh - 1))
            .any(|y| (lx..=(sx + 2).min(bw - 1)).any(|x| outside[y * bw + x]))
    };
    let crop = GrayImage::from_fn(cx1 - cx0, cy1 - cy0, |x, y| {
        let (fx, fy) = (cx0 + x, cy0 + y);
        let sx = ((fx as f32 / factor) as usize).clamp(x0, x1) - x0;
        let sy = ((fy as f32 / factor) as usize).clamp(y0, y1) - y0;
        if near_outside(sx, sy) {
            Luma([paper])
        } else {
            *gray.get_pixel(fx, fy)
        }
    });
    Some(crop)
}

/// Whether the paper along the picture's edge (which a digit leaves free) varies in brightness
/// by more than [`UNEVEN`]: the edge in sixteen runs, each run's paper its 90th percentile.
/// Strokes, however bold, do not make an even page uneven; a lamp on one side, or a shadow
/// reaching the edge, does.
fn uneven_edge(gray: &GrayImage) -> bool {
    let (w, h) = gray.dimensions();
    let edge: Vec<u8> = (0..w)
        .map(|x| (x, 0))
        .chain((1..h).map(|y| (w - 1, y)))
        .chain((0..w - 1).rev().map(|x| (x, h - 1)))
        .chain((1..h - 1).rev().map(|y| (0, y)))
        .map(|(x, y)| gray.get_pixel(x, y).0[0])
        .collect();
    let runs: Vec<f32> = edge
        .chunks(edge.len().div_ceil(16))
        .map(|run| {
            let mut run = run.to_vec();
            run.sort_unstable();
            f32::from(run[run.len() * 9 / 10])
        })
        .collect();
    let brightest = runs.iter().copied().fold(0.0, f32::max);
    let darkest = runs.iter().copied().fold(f32::INFINITY, f32::min);
    brightest > 0.0 && brightest - darkest > UNEVEN * brightest
}

/// `gray` with the paper made evenly white, when it is light paper whose brightness along the
/// edge varies by more than [`UNEVEN`] (a shadow, light from one side); `None` when the light
/// is even, the background dark, or the picture small.
pub(crate) fn even_light(gray: &GrayImage) -> Option<GrayImage> {
    let (w, h) = gray.dimensions();
    if w.min(h) < MIN_PHOTO_SIDE || border_median(gray) < 128 {
        return None;
    }
    // The paper's brightness in blocks of a sixteenth of the picture: the 98th percentile of
    // each block, which is paper wherever a fiftieth of the block is (a stroke crossing a
    // block leaves more than that of it).
    let block = (w.max(h) / 16).max(16);
    let (gw, gh) = (w.div_ceil(block) as usize, h.div_ceil(block) as usize);
    let mut level = vec![0f32; gw * gh];
    for gy in 0..gh {
        for gx in 0..gw {
            let mut histogram = [0u32; 256];
            let mut count = 0u32;
            let (bx, by) = (gx as u32 * block, gy as u32 * block);
            for y in by..(by + block).min(h) {
                for x in bx..(bx + block).min(w) {
                    histogram[usize::from(gray.get_pixel(x, y).0[0])] += 1;
                    count += 1;
                }
            }
            let mut above = 0;
            let mut v = 255;
            while v > 0 {
                above += histogram[v];
                if above * 50 >= count {
                    break;
                }
                v -= 1;
            }
            level[gy * gw + gx] = v as f32;
        }
    }
    // A block that is mostly ink (a thick stroke) is much darker than the blocks around it:
    // it takes their median. A shadow spans many blocks and stays.
    let fixed: Vec<f32> = (0..gw * gh)
        .map(|i| {
            let (gx, gy) = (i % gw, i / gw);
            let mut around: Vec<f32> = (gy.saturating_sub(1)..(gy + 2).min(gh))
                .flat_map(|y| (gx.saturating_sub(1)..(gx + 2).min(gw)).map(move |x| (x, y)))
                .filter(|&(x, y)| (x, y) != (gx, gy))
                .map(|(x, y)| level[y * gw + x])
                .collect();
            around.sort_by(f32::total_cmp);
            let median = around.get(around.len() / 2).copied().unwrap_or(level[i]);
            if level[i] < 0.75 * median {
                median
            } else {
                level[i]
            }
        })
        .collect();
    if !uneven_edge(gray) {
        return None;
    }
    // The paper's brightness at a pixel: the blocks' levels interpolated between their centres.
    let at = |x: u32, y: u32| {
        let fx = ((x as f32 + 0.5) / block as f32 - 0.5).clamp(0.0, (gw - 1) as f32);
        let fy = ((y as f32 + 0.5) / block as f32 - 0.5).clamp(0.0, (gh - 1) as f32);
        let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(gw - 1), (y0 + 1).min(gh - 1));
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let top = fixed[y0 * gw + x0] * (1.0 - tx) + fixed[y0 * gw + x1] * tx;
        let bottom = fixed[y1 * gw + x0] * (1.0 - tx) + fixed[y1 * gw + x1] * tx;
        top * (1.0 - ty) + bottom * ty
    };
    Some(GrayImage::from_fn(w, h, |x, y| {
        let paper = at(x, y).max(1.0);
        let v = f32::from(gray.get_pixel(x, y).0[0]);
        Luma([(255.0 * v / paper).round().clamp(0.0, 255.0) as u8])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bold ring (a 0) of `ink` on `paper`, `side` pixels a side, its stroke `width` wide.
    fn ring(side: u32, width: f32, ink: u8, paper: u8) -> GrayImage {
        let c = side as f32 / 2.0;
        GrayImage::from_fn(side, side, |x, y| {
            let r = ((x as f32 - c).powi(2) + (y as f32 - c).powi(2)).sqrt();
            Luma([if (r - 0.3 * side as f32).abs() < width / 2.0 {
                ink
            } else {
                paper
            }])
        })
    }

    #[test]
    fn drawings_on_an_even_background_are_left_as_they_are() {
        for side in [64, 96, 280, 1000] {
            // (A bolder light ring, a stroke a quarter of the side, can pass for a sheet.)
            for width in [0.05, 0.1, 0.2] {
                let w = width * side as f32;
                let dark = ring(side, w, 0, 255);
                let light = ring(side, w, 255, 0);
                assert!(find_sheet(&dark).is_none(), "{side} {width}");
                assert!(
                    find_sheet(&light).is_none(),
                    "a light ring is no sheet: {side} {width}"
                );
                assert!(even_light(&dark).is_none(), "{side} {width}");
                assert!(even_light(&light).is_none(), "{side} {width}");
            }
        }
        // MNIST's digits, drawn as testkit draws them (3× larger with a margin) and 10× larger
        // on a canvas, dark on light and light on dark.
        let test = crate::ImageDataset::load(&testkit::shipped_data(), crate::Split::Test)
            .expect("the shipped MNIST");
        for i in 0..100 {
            let pixels = test.image(i);
            let small = GrayImage::from_raw(96, 96, testkit::digit_picture(pixels).into_raw())
                .expect("96×96");
            let canvas = GrayImage::from_fn(280, 280, |x, y| {
                Luma([255 - pixels[(y / 10 * 28 + x / 10) as usize]])
            });
            for mut picture in [small, canvas] {
                for _ in 0..2 {
                    assert!(find_sheet(&picture).is_none(), "test image {i}");
                    assert!(even_light(&picture).is_none(), "test image {i}");
                    image::imageops::invert(&mut picture);
                }
            }
        }
        // Too small to be a photo.
        let mut small = GrayImage::from_pixel(40, 40, Luma([30]));
        for y in 10..30 {
            for x in 10..30 {
                small.put_pixel(x, y, Luma([if (18..22).contains(&x) { 0 } else { 255 }]));
            }
        }
        assert!(find_sheet(&small).is_none());
    }

    #[test]
    fn a_sheet_is_cropped_to_and_its_surround_painted_over() {
        // A white sheet (100..300 × 50..250) in grey, a dark bar on it.
        let photo = GrayImage::from_fn(400, 300, |x, y| {
            let on_sheet = (100..300).contains(&x) && (50..250).contains(&y);
            let mark = (190..210).contains(&x) && (100..200).contains(&y);
            Luma([match (on_sheet, mark) {
                (true, true) => 20,
                (true, false) => 240,
                _ => 60,
            }])
        });
        let sheet = find_sheet(&photo).expect("the sheet is found");
        let (w, h) = sheet.dimensions();
        assert!(
            (180..200).contains(&w) && (180..200).contains(&h),
            "{w}×{h}"
        );
        // No surround is left in it: only paper and the mark.
        assert!(sheet.pixels().all(|p| p.0[0] == 240 || p.0[0] == 20));
        // A blank sheet holds no marks: not taken for one (its own refusal says blank).
        let blank = GrayImage::from_fn(400, 300, |x, y| {
            let on_sheet = (100..300).contains(&x) && (50..250).contains(&y);
            Luma([if on_sheet { 240 } else { 60 }])
        });
        assert!(find_sheet(&blank).is_none());
    }

    #[test]
    fn uneven_light_is_evened_out() {
        // Paper from 250 at the top to 150 at the bottom, a dark bar in the middle.
        let photo = GrayImage::from_fn(300, 300, |x, y| {
            let paper = 250.0 - 100.0 * y as f32 / 300.0;
            let mark = (140..160).contains(&x) && (80..220).contains(&y);
            Luma([if mark {
                (0.15 * paper) as u8
            } else {
                paper as u8
            }])
        });
        let even = even_light(&photo).expect("the light is uneven");
        for (x, y, p) in even.enumerate_pixels() {
            let mark = (140..160).contains(&x) && (80..220).contains(&y);
            if mark {
                assert!(p.0[0] < 80, "ink at {x},{y}: {}", p.0[0]);
            } else if !(130..170).contains(&x) {
                assert!(p.0[0] > 215, "paper at {x},{y}: {}", p.0[0]);
            }
        }
    }
}
