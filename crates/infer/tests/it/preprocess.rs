//! MNIST-style preprocessing, checked on real MNIST digits: a test image redrawn larger, dark on
//! light and off-centre, then read back from a PNG file, comes out as the original.

use data::preprocess::load_digit;
use data::{ImageDataset, Split};

use crate::seven;

fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f32 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let var = |v: &[f32], m: f32| v.iter().map(|x| (x - m).powi(2)).sum::<f32>();
    cov / (var(a, ma) * var(b, mb)).sqrt()
}

/// `img` (28×28) moved by (dx, dy) pixels, blank where it moved in from outside.
fn shifted(img: &[f32], dx: i64, dy: i64) -> Vec<f32> {
    (0..28 * 28)
        .map(|i| {
            let (x, y) = (i as i64 % 28 - dx, i as i64 / 28 - dy);
            if (0..28).contains(&x) && (0..28).contains(&y) {
                img[(y * 28 + x) as usize]
            } else {
                0.0
            }
        })
        .collect()
}

#[test]
fn redrawn_mnist_digits_come_back() {
    let dir = testkit::shipped_data();
    let test = ImageDataset::load(&dir, Split::Test).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (mut total, mut worst) = (0.0f32, 1.0f32);
    let n = 100;
    for i in 0..n {
        let original: Vec<f32> = test
            .image(i)
            .iter()
            .map(|&p| data::scale_pixel(p))
            .collect();
        // 3× larger, dark ink on white paper, placed off-centre on a 120×100 page.
        let img = image::GrayImage::from_fn(120, 100, |x, y| {
            let (px, py) = (x as i64 / 3 - 9, y as i64 / 3 - 2);
            let v = if (0..28).contains(&px) && (0..28).contains(&py) {
                test.image(i)[(py * 28 + px) as usize]
            } else {
                0
            };
            image::Luma([255 - v])
        });
        let path = tmp.path().join(format!("{i}.png"));
        img.save(&path).unwrap();
        let back = load_digit(&path).unwrap();
        total += correlation(&original, &back);
        // Centring rounds the centre of mass to a whole pixel, as MNIST's did, so the two can
        // sit one pixel apart; otherwise the digit must be the same.
        let best = (-1..=1)
            .flat_map(|dx| (-1..=1).map(move |dy| (dx, dy)))
            .map(|(dx, dy)| correlation(&original, &shifted(&back, dx, dy)))
            .fold(f32::MIN, f32::max);
        worst = worst.min(best);
    }
    let mean = total / n as f32;
    assert!(mean > 0.9, "mean correlation with the original: {mean}");
    assert!(
        worst > 0.95,
        "worst correlation, up to a one-pixel shift: {worst}"
    );
}

#[test]
fn the_format_is_told_by_content_not_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("real.png");
    let jpg = tmp.path().join("real.jpg");
    seven().save(&png).unwrap();
    seven().save(&jpg).unwrap();
    let (from_png, from_jpg) = (load_digit(&png).unwrap(), load_digit(&jpg).unwrap());
    for (from, to, expected) in [
        (&png, "png-named.jpg", from_png),
        (&jpg, "jpeg-named.png", from_jpg),
        (&png, "no-extension", from_png),
    ] {
        let renamed = tmp.path().join(to);
        std::fs::copy(from, &renamed).unwrap();
        assert_eq!(load_digit(&renamed).unwrap(), expected, "{to}");
    }
}

/// A PNG whose header says `width`×`height` (and whose data would not decode): enough for a
/// reader that looks at the header first.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit grey
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for chunk in [ihdr, b"IDATxxxx".to_vec()] {
        png.extend((chunk.len() as u32 - 4).to_be_bytes());
        png.extend(&chunk);
        png.extend(crc32(&chunk).to_be_bytes());
    }
    png
}

#[test]
fn a_picture_too_large_is_refused_before_it_is_decoded() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("huge.png");
    std::fs::write(&path, png_header(20_000, 20_000)).unwrap();
    let err = load_digit(&path).unwrap_err().to_string();
    assert!(
        err.contains("20000×20000 pixels, over the limit of 64000000 pixels"),
        "{err}"
    );
}

#[test]
fn a_picture_in_memory_is_prepared_as_its_file_is() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("seven.png");
    seven().save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        data::preprocess::decode_digit(&bytes).unwrap(),
        load_digit(&path).unwrap()
    );
    let err = data::preprocess::decode_digit(b"not a picture").unwrap_err();
    assert!(err.to_string().contains("cannot decode the image"), "{err}");
    // The same error for a file names it.
    let garbage = tmp.path().join("garbage.png");
    std::fs::write(&garbage, b"not a picture").unwrap();
    let err = load_digit(&garbage).unwrap_err().to_string();
    assert!(err.contains("garbage.png"), "{err}");
}
