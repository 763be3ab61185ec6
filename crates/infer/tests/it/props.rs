//! Property tests: whatever picture arrives (any size from 1×1, every colour type, random
//! transparency), preparing it gives 784 values in 0..1 or a reason, never a panic.

use data::preprocess::to_mnist;
use image::{DynamicImage, GrayAlphaImage, GrayImage, RgbImage, RgbaImage};
use proptest::prelude::*;

/// A picture of `w`×`h` in one of the colour types, its pixels from `seed`-driven noise over a
/// plain background, so that some look like digits and most do not.
fn picture(kind: u8, w: u32, h: u32, bytes: &[u8]) -> DynamicImage {
    let at = |x: u32, y: u32, c: u32| bytes[((y * w + x) * 4 + c) as usize % bytes.len()];
    match kind % 5 {
        0 => DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, y| image::Luma([at(x, y, 0)]))),
        1 => DynamicImage::ImageLumaA8(GrayAlphaImage::from_fn(w, h, |x, y| {
            image::LumaA([at(x, y, 0), at(x, y, 1)])
        })),
        2 => DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([at(x, y, 0), at(x, y, 1), at(x, y, 2)])
        })),
        3 => DynamicImage::ImageRgba8(RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([at(x, y, 0), at(x, y, 1), at(x, y, 2), at(x, y, 3)])
        })),
        // Mostly paper, with a block of ink: the shape of a digit picture.
        _ => DynamicImage::ImageRgba8(RgbaImage::from_fn(w, h, |x, y| {
            let inked = x > w / 3 && x < w * 2 / 3 && y > h / 4 && y < h * 3 / 4;
            let v = if inked { at(x, y, 0) / 4 } else { 255 };
            image::Rgba([v, v, v, at(0, 0, 3)])
        })),
    }
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(testkit::proptest_cases())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_picture_is_prepared_or_refused(
        kind in any::<u8>(),
        w in 1u32..300,
        h in 1u32..300,
        bytes in proptest::collection::vec(any::<u8>(), 1..512),
    ) {
        if let Ok(pixels) = to_mnist(&picture(kind, w, h, &bytes)) {
            prop_assert!(pixels.iter().all(|v| (0.0..=1.0).contains(v)));
            prop_assert!(pixels.iter().any(|&v| v > 0.0), "a prepared digit has ink");
        }
    }

    #[test]
    fn any_bytes_as_an_image_file_are_read_or_refused(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        png_header in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x");
        let mut file = if png_header { b"\x89PNG\r\n\x1a\n".to_vec() } else { Vec::new() };
        file.extend(bytes);
        std::fs::write(&path, file).unwrap();
        let _ = data::preprocess::load_digit(&path);
    }
}
