//! Pictures of a digit on paper, as a person photographs one: the sheet on a darker desk or in
//! a dark frame, tilted, in uneven light. Each must be prepared as the same digit drawn plainly
//! is prepared (never the sheet taken for ink, which read as a confident 8). That drawings on
//! an even background are left as they were is tested in `src/paper.rs`.

use data::preprocess::to_mnist;
use data::{ImageDataset, Split};
use image::{DynamicImage, GrayImage, Luma};

/// MNIST's test images 0..n, as stored pixels (ink bright).
fn mnist(n: usize) -> Vec<Vec<u8>> {
    let test = ImageDataset::load(&testkit::shipped_data(), Split::Test).unwrap();
    (0..n).map(|i| test.image(i).to_vec()).collect()
}

/// A tiny seeded generator for the desk's grain (xorshift).
struct Grain(u64);
impl Grain {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 10_000) as f32 / 10_000.0
    }
}

/// A photo-like picture: `w`×`h`, each pixel `surround(x, y)` off the sheet; on the sheet
/// (centred, `sheet` pixels a side, turned by `tilt` radians) the paper is `paper(x, y)` and
/// the digit (28×28 `pixels` drawn `scale`× larger at the sheet's centre) is pen ink of 30.
fn photo(
    pixels: &[u8],
    (w, h): (u32, u32),
    sheet: f32,
    tilt: f32,
    scale: f32,
    surround: impl Fn(u32, u32) -> f32,
    paper: impl Fn(u32, u32) -> f32,
) -> DynamicImage {
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (sin, cos) = tilt.sin_cos();
    DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, y| {
        // Into the sheet's own axes.
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let (u, v) = (dx * cos + dy * sin, -dx * sin + dy * cos);
        if u.abs() > sheet / 2.0 || v.abs() > sheet / 2.0 {
            return Luma([surround(x, y).clamp(0.0, 255.0) as u8]);
        }
        let (px, py) = ((u / scale + 14.0).floor(), (v / scale + 14.0).floor());
        let ink = if (0.0..28.0).contains(&px) && (0.0..28.0).contains(&py) {
            f32::from(pixels[py as usize * 28 + px as usize]) / 255.0
        } else {
            0.0
        };
        let p = paper(x, y);
        Luma([(p * (1.0 - ink) + 30.0 * ink).clamp(0.0, 255.0) as u8])
    }))
}

/// The digit drawn plainly: black on white, 10× larger, on a 280×280 canvas, turned by
/// `tilt` radians as the photo's sheet is.
fn plain_tilted(pixels: &[u8], tilt: f32) -> DynamicImage {
    photo(
        pixels,
        (280, 280),
        400.0,
        tilt,
        10.0,
        |_, _| 255.0,
        |_, _| 255.0,
    )
}

/// A digit's pixels made into a photo of them.
type Photo<'a> = Box<dyn Fn(&[u8]) -> DynamicImage + 'a>;

/// How alike two prepared pictures are: the cosine of the angle between them, each blurred
/// over 3×3 pixels first (a stroke a pixel thinner, or one pixel over, is the same digit).
fn alike(a: &[f32], b: &[f32]) -> f32 {
    let blur = |v: &[f32]| -> Vec<f32> {
        (0..784i32)
            .map(|i| {
                let (x, y) = (i % 28, i / 28);
                let mut sum = 0.0;
                for (dx, dy) in (-1..=1).flat_map(|dx| (-1..=1).map(move |dy| (dx, dy))) {
                    let (u, w) = (x + dx, y + dy);
                    if (0..28).contains(&u) && (0..28).contains(&w) {
                        sum += v[(w * 28 + u) as usize];
                    }
                }
                sum
            })
            .collect()
    };
    let (a, b) = (blur(a), blur(b));
    let dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(&a) * norm(&b))
}

#[test]
fn a_sheet_on_a_desk_is_found_and_read_as_the_digit_on_it() {
    let digits = mnist(20);
    let mut grain = Grain(7);
    let noise: Vec<f32> = (0..1200 * 900).map(|_| grain.next()).collect();
    let cases: Vec<(&str, f32, Photo)> = vec![
        (
            "a white sheet inside a grey-40 surround (the case that read as a confident 8)",
            0.0,
            Box::new(|p| photo(p, (800, 600), 400.0, 0.0, 10.0, |_, _| 40.0, |_, _| 255.0)),
        ),
        (
            "a black frame",
            0.0,
            Box::new(|p| photo(p, (600, 600), 480.0, 0.0, 12.0, |_, _| 0.0, |_, _| 250.0)),
        ),
        (
            "a tilted sheet on a grainy desk, lit from one side, with a shadow",
            0.1,
            Box::new(|p| {
                photo(
                    p,
                    (1200, 900),
                    640.0,
                    0.1,
                    16.0,
                    |x, y| 70.0 + 40.0 * noise[(y * 1200 + x) as usize],
                    |x, y| {
                        // Brighter on the left; a soft shadow over the lower left corner.
                        let lamp = 250.0 - 60.0 * (x as f32 / 1200.0);
                        let shade = ((600.0 - x as f32 + y as f32 - 500.0) / 80.0).clamp(0.0, 1.0);
                        lamp * (1.0 - 0.25 * shade)
                    },
                )
            }),
        ),
        (
            "paper filling the picture, darker at the bottom",
            0.0,
            Box::new(|p| {
                photo(
                    p,
                    (600, 600),
                    600.0,
                    0.0,
                    14.0,
                    |_, _| 0.0,
                    |_, y| 255.0 - 90.0 * (y as f32 / 600.0),
                )
            }),
        ),
    ];
    for (name, tilt, make) in &cases {
        let mut worst = 1.0f32;
        for pixels in &digits {
            let want = to_mnist(&plain_tilted(pixels, *tilt)).unwrap();
            let picture = make(pixels);
            if std::env::var_os("PAPER_DEBUG").is_some() {
                picture
                    .save(format!("/tmp/paper-{}.png", name.len()))
                    .unwrap();
            }
            let got = to_mnist(&picture).unwrap_or_else(|e| panic!("{name}: {e}"));
            worst = worst.min(alike(&got, &want));
            if std::env::var_os("PAPER_DEBUG").is_some() && alike(&got, &want) < 0.9 {
                let k = digits.iter().position(|d| d == pixels).unwrap();
                println!("{name}: digit {k}: {:.3}", alike(&got, &want));
                picture.save(format!("/tmp/paper-bad-{k}.png")).unwrap();
                let both = GrayImage::from_fn(56 * 4, 28 * 4, |x, y| {
                    let (v, x) = if x < 112 { (&got, x) } else { (&want, x - 112) };
                    Luma([(255.0 * v[(y / 4 * 28 + x / 4) as usize]) as u8])
                });
                both.save(format!("/tmp/paper-prep-{k}.png")).unwrap();
            }
        }
        println!("{name}: least alike of 20 digits {worst:.3}");
        assert!(
            worst > 0.9,
            "{name}: a digit prepared unlike itself ({worst:.3})"
        );
    }
}
