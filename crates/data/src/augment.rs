//! Distorted copies of training images, drawn afresh every epoch: affine distortions (rotation,
//! scaling per axis, shear, translation) and the elastic distortions of Simard, Steinkraus and
//! Platt, "Best Practices for Convolutional Neural Networks Applied to Visual Document
//! Analysis" (ICDAR 2003), §2.
//!
//! # How an image is distorted
//!
//! Every output pixel p = (x, y) (x the column, y the row, pixel centres at whole numbers, the
//! image's centre c = (13.5, 13.5)) takes its value from a point of the original image:
//!
//! ```text
//! source(p) = A⁻¹ (p − c − t) + c + α · (G_σ * u)(p)
//! ```
//!
//! - A = R(θ) · H(φ) · S(s_x, s_y) is the affine part: a scaling per axis, a shear (x moved by
//!   tan φ · y) and a rotation by θ, about the centre; t a translation. A shape drawn at q in the
//!   original appears at A (q − c) + c + t in the copy, so `translate` moves the digit by t.
//! - u is a random displacement field: both components of every pixel drawn from U(−1, 1); G_σ
//!   is a Gaussian of standard deviation σ pixels (normalised to sum 1, truncated at 2σ,
//!   zero outside the image), which makes the field smooth; α scales it to pixels. Simard's
//!   values for 28×28 digits are σ = 4, α = 34 (for a quadratic cost he used α = 34 too).
//! - The value at a source point between pixels is bilinear in its four neighbours; outside the
//!   image it is 0 (background).
//!
//! The size of the elastic displacement follows from the construction. Away from the border
//! each component is d = α Σ_ij k_i k_j u_ij, a sum of independent terms with Var u = 1/3, so
//! Var d = (α² / 3) (Σ_i k_i²)² with k the 1-D kernel; near-Gaussian by the central limit, its
//! mean size is E|d| = √(2/π) · √(Var d). For σ = 4, α = 34 the kernel (17 taps, truncated at
//! 2σ and normalised) has Σ k_i² = 0.0752 (an untruncated Gaussian's would be
//! 1/(2σ√π) = 0.0705), so E|d| = 1.18 pixels ([`Distortion::mean_elastic_displacement`], and the
//! tests measure it).
//!
//! # Seeding
//!
//! The distortion of image `index` in epoch `epoch` is drawn from a generator seeded by the run's
//! seed, the epoch and the index alone, so it does not depend on the batch order, on which thread
//! made it, or on whether the run was interrupted and resumed: an interrupted run ends
//! bit-identical to one that was not. Validation and test images are never distorted.

use crate::{ImageDataset, SplitMix64, IMAGE_PIXELS, IMAGE_SIDE};

/// How much to distort: each range is ± around no change, drawn uniformly per image.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Distortion {
    /// Rotation, degrees (±).
    pub rotation: f32,
    /// Scaling of each axis on its own, as a fraction (±): 0.12 draws s_x, s_y in 0.88..1.12.
    pub scale: f32,
    /// Shear, degrees (±).
    pub shear: f32,
    /// Translation of each axis, pixels (±).
    pub translate: f32,
    /// Elastic distortion's strength α, pixels (0: none).
    pub elastic_alpha: f32,
    /// Elastic distortion's smoothness σ, pixels.
    pub elastic_sigma: f32,
}

impl Distortion {
    /// Whether every image comes out unchanged.
    pub fn is_identity(&self) -> bool {
        self.rotation == 0.0
            && self.scale == 0.0
            && self.shear == 0.0
            && self.translate == 0.0
            && self.elastic_alpha == 0.0
    }

    /// The 1-D Gaussian kernel of the elastic field: σ, normalised to sum 1, radius ⌈2σ⌉
    /// (empty without elastic distortion).
    pub fn kernel(&self) -> Vec<f32> {
        if self.elastic_alpha == 0.0 || self.elastic_sigma <= 0.0 {
            return Vec::new();
        }
        let sigma = f64::from(self.elastic_sigma);
        let radius = ((2.0 * sigma).ceil() as i64).min(MAX_RADIUS as i64);
        let weights: Vec<f64> = (-radius..=radius)
            .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
            .collect();
        let sum: f64 = weights.iter().sum();
        weights.iter().map(|w| (w / sum) as f32).collect()
    }

    /// E|d| of one component of the elastic displacement away from the border, in pixels (see
    /// the [module docs](self)).
    pub fn mean_elastic_displacement(&self) -> f64 {
        let k2: f64 = self.kernel().iter().map(|&k| f64::from(k).powi(2)).sum();
        let var = f64::from(self.elastic_alpha).powi(2) / 3.0 * k2 * k2;
        (2.0 / std::f64::consts::PI).sqrt() * var.sqrt()
    }
}

/// An affine map about the image's centre: a shape at q moves to `matrix · (q − c) + c + shift`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    /// Row-major 2×2: `[a, b, c, d]` maps (x, y) to (a x + b y, c x + d y).
    pub matrix: [f32; 4],
    /// Translation (x, y), pixels.
    pub shift: [f32; 2],
}

impl Affine {
    /// No change.
    pub const IDENTITY: Affine = Affine {
        matrix: [1.0, 0.0, 0.0, 1.0],
        shift: [0.0, 0.0],
    };

    /// R(θ) · H(φ) · S(s_x, s_y), angles in degrees, then the shift.
    pub fn new(rotation: f32, scale: [f32; 2], shear: f32, shift: [f32; 2]) -> Affine {
        let (sin, cos) = rotation.to_radians().sin_cos();
        let tan = shear.to_radians().tan();
        let [sx, sy] = scale;
        // H · S = [[sx, tan·sy], [0, sy]]; then R = [[cos, −sin], [sin, cos]].
        let hs = [sx, tan * sy, 0.0, sy];
        Affine {
            matrix: [
                cos * hs[0] - sin * hs[2],
                cos * hs[1] - sin * hs[3],
                sin * hs[0] + cos * hs[2],
                sin * hs[1] + cos * hs[3],
            ],
            shift,
        }
    }

    /// The inverse of the matrix, for sampling (the matrix is invertible for scales > 0 and
    /// shears under 90°).
    fn inverse_matrix(&self) -> [f32; 4] {
        let [a, b, c, d] = self.matrix;
        let det = a * d - b * c;
        [d / det, -b / det, -c / det, a / det]
    }
}

/// Pixels in an image side, as f32.
const SIDE: usize = IMAGE_SIDE;
/// The centre of the image, between pixels 13 and 14.
const CENTRE: f32 = (SIDE as f32 - 1.0) / 2.0;

/// Makes distorted copies of images for one training run.
#[derive(Debug, Clone)]
pub struct Distorter {
    distortion: Distortion,
    kernel: Vec<f32>,
    seed: u64,
}

/// Buffers one distortion reuses, so that distorting allocates nothing per image.
#[derive(Debug, Clone)]
pub struct Scratch {
    field: Vec<f32>,
    smoothed: Vec<f32>,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            field: vec![0.0; 2 * SIDE * SIDE],
            smoothed: vec![0.0; 2 * SIDE * SIDE],
        }
    }
}

impl Distorter {
    /// A distorter for a run with this seed.
    pub fn new(distortion: Distortion, seed: u64) -> Distorter {
        Distorter {
            kernel: distortion.kernel(),
            distortion,
            seed,
        }
    }

    /// What it does.
    pub fn distortion(&self) -> &Distortion {
        &self.distortion
    }

    /// The generator for image `index` in epoch `epoch` (numbered from 1).
    fn rng(&self, epoch: usize, index: usize) -> SplitMix64 {
        let mut mix = SplitMix64::new(self.seed ^ 0xD157_0A7E_0000_0000);
        let a = mix.next_u64();
        let b = mix.next_u64();
        SplitMix64::new(
            a ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (index as u64).wrapping_mul(b | 1),
        )
    }

    /// The distorted copy of `image` (784 bytes) as image `index` of epoch `epoch`: pixel
    /// intensities in 0..1, written to `out` (784 values). (Inlined wherever it is called, so
    /// that [`batch`](Self::batch)'s AVX2 compilation compiles it too.)
    #[inline(always)]
    pub fn distort(
        &self,
        image: &[u8],
        epoch: usize,
        index: usize,
        out: &mut [f32],
        scratch: &mut Scratch,
    ) {
        let d = &self.distortion;
        if d.is_identity() {
            // Nothing to move: the image exactly as training scales it without `[augment]`.
            for (o, &p) in out.iter_mut().zip(image) {
                *o = crate::scale_pixel(p);
            }
            return;
        }
        let (affine, field) = self.draw(epoch, index, scratch);
        warp(image, &affine, field, out);
    }

    /// The distortion of image `index` in epoch `epoch`: its affine map, then its elastic field
    /// (`None` without elastic distortion), drawn in that order from the image's generator.
    #[inline(always)]
    fn draw<'s>(
        &self,
        epoch: usize,
        index: usize,
        scratch: &'s mut Scratch,
    ) -> (Affine, Option<&'s [f32]>) {
        let d = &self.distortion;
        let mut rng = self.rng(epoch, index);
        let mut uniform = |range: f32| range * (2.0 * unit(&mut rng) - 1.0);
        let rotation = uniform(d.rotation);
        let scale = [1.0 + uniform(d.scale), 1.0 + uniform(d.scale)];
        let shear = uniform(d.shear);
        let shift = [uniform(d.translate), uniform(d.translate)];
        let affine = Affine::new(rotation, scale, shear, shift);
        (affine, self.elastic_field(&mut rng, scratch))
    }

    /// The elastic displacement field, `[2, 28, 28]` (x components, then y), in pixels: `None`
    /// without elastic distortion.
    #[inline(always)]
    fn elastic_field<'s>(
        &self,
        rng: &mut SplitMix64,
        scratch: &'s mut Scratch,
    ) -> Option<&'s [f32]> {
        if self.kernel.is_empty() {
            return None;
        }
        // Two uniforms from each 64 random bits: 24 bits for each, f32's precision.
        for pair in scratch.field.chunks_exact_mut(2) {
            let bits = rng.next_u64();
            pair[0] = 2.0 * ((bits >> 40) as f32 / (1u32 << 24) as f32) - 1.0;
            pair[1] = 2.0 * (((bits >> 8) & 0xFF_FFFF) as f32 / (1u32 << 24) as f32) - 1.0;
        }
        let alpha = self.distortion.elastic_alpha;
        for (u, smooth) in scratch
            .field
            .chunks_exact(SIDE * SIDE)
            .zip(scratch.smoothed.chunks_exact_mut(SIDE * SIDE))
        {
            gaussian_blur(u, &self.kernel, smooth);
            for s in smooth.iter_mut() {
                *s *= alpha;
            }
        }
        Some(&scratch.smoothed)
    }

    /// The distorted copies of `dataset`'s images at `indices` for epoch `epoch`, `[n, 784]`
    /// row-major, each seeded by its index in `dataset`.
    ///
    /// On x86-64 processors with AVX2 the same code runs compiled for AVX2 (eight lanes, not
    /// SSE2's four), about a third faster. The values are the same to the bit: each one is the
    /// same IEEE operations in the same order (no fused multiply-adds), which a test checks
    /// against [`distort`](Self::distort), always compiled for the baseline.
    pub fn batch(
        &self,
        dataset: &ImageDataset,
        indices: &[usize],
        epoch: usize,
        scratch: &mut Scratch,
    ) -> Vec<f32> {
        let mut pixels = vec![0f32; indices.len() * IMAGE_PIXELS];
        self.batch_to(dataset, indices, epoch, scratch, &mut pixels);
        pixels
    }

    /// [`batch`](Self::batch) written into `pixels`, which holds exactly `indices.len()` images:
    /// for a caller that fills one batch a few images at a time.
    #[allow(unsafe_code)] // the AVX2 call (SAFETY below)
    pub fn batch_to(
        &self,
        dataset: &ImageDataset,
        indices: &[usize],
        epoch: usize,
        scratch: &mut Scratch,
        pixels: &mut [f32],
    ) {
        assert_eq!(
            pixels.len(),
            indices.len() * IMAGE_PIXELS,
            "one image per index"
        );
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, checked just above.
            unsafe { self.batch_avx2(dataset, indices, epoch, scratch, pixels) };
            return;
        }
        self.batch_into(dataset, indices, epoch, scratch, pixels);
    }

    /// [`batch_into`](Self::batch_into) compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn batch_avx2(
        &self,
        dataset: &ImageDataset,
        indices: &[usize],
        epoch: usize,
        scratch: &mut Scratch,
        pixels: &mut [f32],
    ) {
        self.batch_into(dataset, indices, epoch, scratch, pixels);
    }

    /// The work of [`batch`](Self::batch), inlined into each of its two compilations.
    #[inline(always)]
    fn batch_into(
        &self,
        dataset: &ImageDataset,
        indices: &[usize],
        epoch: usize,
        scratch: &mut Scratch,
        pixels: &mut [f32],
    ) {
        for (&i, out) in indices.iter().zip(pixels.chunks_exact_mut(IMAGE_PIXELS)) {
            self.distort(dataset.image(i), epoch, i, out, scratch);
        }
    }

    /// The elastic field of image `index` in epoch `epoch`, `[2, 28, 28]` in pixels (all zero
    /// without elastic distortion): for tests and pictures.
    pub fn elastic_field_of(&self, epoch: usize, index: usize) -> Vec<f32> {
        let mut scratch = Scratch::default();
        match self.draw(epoch, index, &mut scratch).1 {
            Some(field) => field.to_vec(),
            None => vec![0.0; 2 * SIDE * SIDE],
        }
    }
}

/// A uniform number in [0, 1), a multiple of 2⁻²⁴.
#[inline(always)]
fn unit(rng: &mut SplitMix64) -> f32 {
    (rng.next_u64() >> 40) as f32 / (1u32 << 24) as f32
}

/// The largest kernel radius: ⌈2σ⌉ for the largest σ a config allows (14 pixels).
const MAX_RADIUS: usize = 28;

/// `out` = `field` (28×28) convolved with the separable Gaussian `kernel`, rows then columns,
/// with zero outside the image.
#[inline(always)]
fn gaussian_blur(field: &[f32], kernel: &[f32], out: &mut [f32]) {
    let radius = kernel.len() / 2;
    // Each output row is summed tap by tap in a row of registers (28 values) and stored once:
    // h[x] = Σ_t k_t · in[x + t − r], t in order from 0, so every value is the same sum in the
    // same order however the compiler splits the row into vector instructions.
    //
    // Along each row: the rows are laid out with r zeros on each side, so that every tap reads
    // 28 consecutive values without a test.
    let stride = SIDE + 2 * radius;
    let mut wide = [0f32; SIDE * (SIDE + 2 * MAX_RADIUS)];
    for (y, row) in field.chunks_exact(SIDE).enumerate() {
        wide[y * stride + radius..y * stride + radius + SIDE].copy_from_slice(row);
    }
    let mut rows = [0f32; SIDE * SIDE];
    for (y, dst) in rows.chunks_exact_mut(SIDE).enumerate() {
        let mut sum = [0f32; SIDE];
        for (t, &k) in kernel.iter().enumerate() {
            let src = &wide[y * stride + t..y * stride + t + SIDE];
            for (s, &v) in sum.iter_mut().zip(src) {
                *s += k * v;
            }
        }
        dst.copy_from_slice(&sum);
    }
    // Along each column: output row y sums the taps t whose row y + t − r is in the image.
    for (y, dst) in out.chunks_exact_mut(SIDE).enumerate() {
        let mut sum = [0f32; SIDE];
        let first = radius.saturating_sub(y);
        let end = kernel.len().min(SIDE + radius - y);
        for (t, &k) in kernel[..end].iter().enumerate().skip(first) {
            let from = (y + t - radius) * SIDE;
            for (s, &v) in sum.iter_mut().zip(&rows[from..from + SIDE]) {
                *s += k * v;
            }
        }
        dst.copy_from_slice(&sum);
    }
}

/// The image seen through `affine` and the displacement `field` (see the [module docs](self)),
/// bilinear between pixels, 0 outside: intensities in 0..1 into `out`.
#[inline(always)]
#[allow(unsafe_code)] // the clamped float-to-int conversion (SAFETY below)
pub fn warp(image: &[u8], affine: &Affine, field: Option<&[f32]>, out: &mut [f32]) {
    // The image inside a frame of background (one pixel left and above, two right and below),
    // so that the four neighbours of any source point clamped to [−1, 28] are read without a
    // test: pixel (x, y) is at (x + 1, y + 1), and x + 2 ≤ 30 < PADDED.
    const PADDED: usize = SIDE + 3;
    const N: usize = SIDE * SIDE;
    let mut padded = [0f32; PADDED * PADDED];
    for (y, row) in image.chunks_exact(SIDE).enumerate() {
        for (p, &v) in padded[(y + 1) * PADDED + 1..].iter_mut().zip(row) {
            *p = f32::from(v);
        }
    }
    let [a, b, c, d] = affine.inverse_matrix();
    let [tx, ty] = affine.shift;
    // In three passes over the pixels, so that the first and the last, plain arithmetic on
    // arrays, become vector instructions; only the middle one (reading four neighbours at
    // computed places) is a pixel at a time. Each pixel's arithmetic is the same either way.
    //
    // 1. Where each pixel's value comes from, in the padded image: the corner `at` of its four
    //    neighbours and the fractions `fx`, `fy` between them.
    let mut at = [0u32; N];
    let (mut fx, mut fy) = ([0f32; N], [0f32; N]);
    static NO_FIELD: [f32; 2 * N] = [0.0; 2 * N];
    let (field_x, field_y) = field.unwrap_or(&NO_FIELD).split_at(N);
    for y in 0..SIDE {
        let py = y as f32 - CENTRE - ty;
        let row = y * SIDE..(y + 1) * SIDE;
        for (x, ((((at, fx), fy), &ux), &uy)) in at[row.clone()]
            .iter_mut()
            .zip(&mut fx[row.clone()])
            .zip(&mut fy[row.clone()])
            .zip(&field_x[row.clone()])
            .zip(&field_y[row])
            .enumerate()
        {
            let px = x as f32 - CENTRE - tx;
            // Adding a zero displacement changes nothing: x + 0 = x.
            let sx = a * px + b * py + CENTRE + ux;
            let sy = c * px + d * py + CENTRE + uy;
            // Beyond −1 or 28 every neighbour is background: clamping there keeps the value 0.
            // In the padded image the point is at (sx + 1, sy + 1), never negative, so a cast
            // (which truncates) is its floor: no call to `floor`, which SSE2 lacks.
            let qx = sx.max(-1.0).min(SIDE as f32) + 1.0;
            let qy = sy.max(-1.0).min(SIDE as f32) + 1.0;
            // SAFETY: the clamp alone puts qx and qy in [0, 29], whatever sx and sy are: `max`
            // and `min` return their other operand when one is NaN, and bound an infinity, so
            // no value reaches the conversion that it cannot represent, and there it is exact
            // truncation. (`as` would test for NaN and overflow a pixel at a time, which keeps
            // this loop from being vector code.)
            let (xi, yi): (i32, i32) = unsafe { (qx.to_int_unchecked(), qy.to_int_unchecked()) };
            *fx = qx - xi as f32;
            *fy = qy - yi as f32;
            *at = (yi * PADDED as i32 + xi) as u32;
        }
    }
    // 2. The four neighbours.
    let (mut top_left, mut top_right) = ([0f32; N], [0f32; N]);
    let (mut bottom_left, mut bottom_right) = ([0f32; N], [0f32; N]);
    for (i, &at) in at.iter().enumerate() {
        let at = at as usize;
        let [tl, tr] = [padded[at], padded[at + 1]];
        let [bl, br] = [padded[at + PADDED], padded[at + PADDED + 1]];
        (top_left[i], top_right[i]) = (tl, tr);
        (bottom_left[i], bottom_right[i]) = (bl, br);
    }
    // 3. Bilinear between them.
    for i in 0..N {
        let (fx, fy) = (fx[i], fy[i]);
        let top = top_left[i] * (1.0 - fx) + top_right[i] * fx;
        let bottom = bottom_left[i] * (1.0 - fx) + bottom_right[i] * fx;
        // In byte units, then scaled to 0..1 (by a product: a division here would cost as
        // much as the rest of the pixel).
        out[i] = (top * (1.0 - fy) + bottom * fy) * (1.0 / 255.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{scale_pixel, IMAGE_PIXELS};

    /// A blob of ink, off centre, away from the border.
    fn blob() -> Vec<u8> {
        let mut image = vec![0u8; IMAGE_PIXELS];
        for y in 8..16 {
            for x in 10..19 {
                image[y * SIDE + x] = (40 + 20 * (x - 10) + 3 * y) as u8;
            }
        }
        image
    }

    fn centre_of_mass(pixels: &[f32]) -> (f64, f64) {
        let (mut m, mut mx, mut my) = (0.0, 0.0, 0.0);
        for (i, &p) in pixels.iter().enumerate() {
            let p = f64::from(p);
            m += p;
            mx += p * (i % SIDE) as f64;
            my += p * (i / SIDE) as f64;
        }
        (mx / m, my / m)
    }

    #[test]
    fn no_distortion_is_the_identity_to_the_bit() {
        let image = blob();
        let elastic_off = Distortion {
            elastic_alpha: 0.0,
            elastic_sigma: 4.0,
            ..Distortion::default()
        };
        assert!(elastic_off.is_identity());
        let distorter = Distorter::new(elastic_off, 3);
        let mut out = vec![0f32; IMAGE_PIXELS];
        distorter.distort(&image, 1, 0, &mut out, &mut Scratch::default());
        let plain: Vec<f32> = image.iter().map(|&p| scale_pixel(p)).collect();
        assert_eq!(out, plain);
        // And the warp with an all-zero field moves nothing: each pixel keeps its value (to
        // f32's last bit: it scales by a product, not scale_pixel's quotient).
        let zeros = vec![0f32; 2 * IMAGE_PIXELS];
        warp(&image, &Affine::IDENTITY, Some(&zeros), &mut out);
        for (o, p) in out.iter().zip(&plain) {
            assert!((o - p).abs() <= f32::EPSILON * p, "{o} vs {p}");
        }
    }

    #[test]
    fn a_shift_moves_the_centre_of_mass_by_the_shift() {
        let image = blob();
        let plain: Vec<f32> = image.iter().map(|&p| scale_pixel(p)).collect();
        let (x0, y0) = centre_of_mass(&plain);
        let mut out = vec![0f32; IMAGE_PIXELS];
        for shift in [[2.0, -1.0], [-3.0, 4.0], [0.5, 0.25]] {
            let affine = Affine::new(0.0, [1.0, 1.0], 0.0, shift);
            warp(&image, &affine, None, &mut out);
            let (x, y) = centre_of_mass(&out);
            assert!(
                (x - x0 - f64::from(shift[0])).abs() < 1e-4,
                "{shift:?}: {x} vs {x0}"
            );
            assert!(
                (y - y0 - f64::from(shift[1])).abs() < 1e-4,
                "{shift:?}: {y} vs {y0}"
            );
        }
    }

    #[test]
    fn rotation_and_scaling_keep_the_centre_and_turn_the_right_way() {
        // A single bright pixel right of the centre: rotated by +90° (x toward y, y pointing
        // down the image), it lands below the centre; scaled ×2 in x, twice as far right.
        let mut image = vec![0u8; IMAGE_PIXELS];
        image[14 * SIDE + 18] = 255; // (x, y) = (18, 14): 4.5 right, 0.5 below the centre
        let mut out = vec![0f32; IMAGE_PIXELS];
        warp(
            &image,
            &Affine::new(90.0, [1.0, 1.0], 0.0, [0.0, 0.0]),
            None,
            &mut out,
        );
        let (x, y) = centre_of_mass(&out);
        assert!(
            (x - (CENTRE as f64 - 0.5)).abs() < 1e-3 && (y - (CENTRE as f64 + 4.5)).abs() < 1e-3
        );
        warp(
            &image,
            &Affine::new(0.0, [2.0, 1.0], 0.0, [0.0, 0.0]),
            None,
            &mut out,
        );
        let (x, _) = centre_of_mass(&out);
        assert!((x - (CENTRE as f64 + 9.0)).abs() < 1e-3, "{x}");
    }

    #[test]
    fn the_elastic_field_has_the_size_its_construction_gives() {
        let simard = Distortion {
            elastic_alpha: 34.0,
            elastic_sigma: 4.0,
            ..Distortion::default()
        };
        let expected = simard.mean_elastic_displacement();
        // The derivation's number for σ = 4, α = 34: Σk² = 0.0752 for the truncated kernel.
        assert!((expected - 1.1786).abs() < 1e-3, "{expected}");
        let distorter = Distorter::new(simard, 9);
        // Interior pixels (the kernel, radius 8, inside the image) of 400 fields.
        let (mut sum, mut n) = (0.0, 0);
        for index in 0..400 {
            let field = distorter.elastic_field_of(1, index);
            for y in 8..20 {
                for x in 8..20 {
                    for component in [0, IMAGE_PIXELS] {
                        sum += f64::from(field[component + y * SIDE + x].abs());
                        n += 1;
                    }
                }
            }
        }
        let mean = sum / n as f64;
        assert!((mean / expected - 1.0).abs() < 0.05, "{mean} vs {expected}");
        // Smooth: neighbours move together (correlation near 1 for σ = 4).
        let field = distorter.elastic_field_of(2, 0);
        let step: f64 = (8..20)
            .map(|x| f64::from((field[14 * SIDE + x + 1] - field[14 * SIDE + x]).abs()))
            .sum::<f64>()
            / 12.0;
        assert!(step < 0.3 * expected, "neighbours differ by {step}");
    }

    #[test]
    fn points_beyond_the_image_read_background_and_the_edges_blend_with_it() {
        let image = vec![255u8; IMAGE_PIXELS];
        let mut out = vec![0f32; IMAGE_PIXELS];
        // Shifted by half a pixel: the first column blends with the background beyond the edge.
        warp(
            &image,
            &Affine::new(0.0, [1.0, 1.0], 0.0, [0.5, 0.0]),
            None,
            &mut out,
        );
        assert_eq!(out[0], 0.5);
        assert_eq!(out[SIDE - 1], 1.0);
        // Far outside in every direction: nothing but background, and no index out of range.
        for shift in [
            [40.0, 0.0],
            [-40.0, 0.0],
            [0.0, 40.0],
            [0.0, -40.0],
            [27.5, 27.5],
        ] {
            warp(
                &image,
                &Affine::new(0.0, [1.0, 1.0], 0.0, shift),
                None,
                &mut out,
            );
            assert!(
                out.iter().all(|&v| v == 0.0 || shift == [27.5, 27.5]),
                "{shift:?}"
            );
        }
        // The bottom-right corner pixel, read from just beyond it.
        warp(
            &image,
            &Affine::new(0.0, [1.0, 1.0], 0.0, [27.5, 27.5]),
            None,
            &mut out,
        );
        assert_eq!(out[IMAGE_PIXELS - 1], 0.25);
    }

    #[test]
    fn a_batch_is_its_images_distorted_one_by_one_to_the_bit() {
        // `batch` may run code compiled for AVX2; `distort` is compiled for the baseline. Both
        // must make the same values, elastic and affine-only, strong and mild.
        let images: Vec<u8> = (0..40)
            .flat_map(|n| {
                let mut image = blob();
                image.rotate_right(n * 17);
                image
            })
            .collect();
        let dataset = ImageDataset::new(images, vec![0; 40]).unwrap();
        let indices: Vec<usize> = (0..40).rev().collect();
        for d in [
            Distortion {
                rotation: 12.0,
                scale: 0.12,
                shear: 0.0,
                translate: 0.0,
                elastic_alpha: 34.0,
                elastic_sigma: 4.0,
            },
            Distortion {
                rotation: 30.0,
                scale: 0.3,
                shear: 20.0,
                translate: 4.0,
                elastic_alpha: 60.0,
                elastic_sigma: 9.0,
            },
            Distortion {
                rotation: 12.0,
                elastic_alpha: 0.0,
                ..Distortion::default()
            },
        ] {
            let distorter = Distorter::new(d, 5);
            let batch = distorter.batch(&dataset, &indices, 3, &mut Scratch::default());
            for (&i, got) in indices.iter().zip(batch.chunks_exact(IMAGE_PIXELS)) {
                let mut one = vec![0f32; IMAGE_PIXELS];
                distorter.distort(dataset.image(i), 3, i, &mut one, &mut Scratch::default());
                let same = one.iter().zip(got).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "image {i} differs with {d:?}");
            }
        }
    }

    #[test]
    fn distortions_are_seeded_by_run_epoch_and_index_alone() {
        let d = Distortion {
            rotation: 12.0,
            scale: 0.12,
            shear: 5.0,
            translate: 2.0,
            elastic_alpha: 34.0,
            elastic_sigma: 4.0,
        };
        let image = blob();
        let make = |seed, epoch, index| {
            let mut out = vec![0f32; IMAGE_PIXELS];
            Distorter::new(d, seed).distort(
                &image,
                epoch,
                index,
                &mut out,
                &mut Scratch::default(),
            );
            out
        };
        let first = make(1, 1, 7);
        assert_eq!(first, make(1, 1, 7));
        assert_ne!(first, make(1, 2, 7), "a new epoch draws anew");
        assert_ne!(first, make(1, 1, 8));
        assert_ne!(first, make(2, 1, 7));
        assert!(first.iter().all(|p| (0.0..=1.0).contains(p)));
        // Ink is moved, not made: about as much as before (bilinear resampling blurs a little,
        // scaling changes the area).
        let ink = |pixels: &[f32]| pixels.iter().map(|&p| f64::from(p)).sum::<f64>();
        let plain: Vec<f32> = image.iter().map(|&p| scale_pixel(p)).collect();
        let ratio = ink(&first) / ink(&plain);
        assert!((0.6..1.5).contains(&ratio), "{ratio}");
    }
}
