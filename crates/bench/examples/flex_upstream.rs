//! Two behaviours of burn-flex 0.22.1 that cost this project's training time, each reduced to a
//! few lines for an upstream report (BENCHMARKS.md quotes the figures):
//!
//! 1. Element-wise operations run on one thread below 4 M elements: Adam's update of a
//!    784×800 weight (627,200 values, about 13 such operations a step) keeps one core of two
//!    busy, while the matrix products around it use both.
//! 2. Every new tensor's buffer is copied once after it is zeroed: `FlexTensor::empty` builds
//!    its `Bytes` with `Bytes::from_bytes_vec(vec![0u8; n])`, whose alignment check compares
//!    the allocation's declared alignment (a `u8`'s, 1) with 16, so it always reallocates and
//!    copies, whatever the pointer.
//!
//! ```text
//! cargo run --release -p bench --example flex_upstream
//! ```

use std::time::Instant;

use burn::prelude::*;
use burn::tensor::Distribution;

/// CPU seconds (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        use nix::sys::resource::{getrusage, UsageWho};
        let Ok(u) = getrusage(UsageWho::RUSAGE_SELF) else {
            return f64::NAN;
        };
        let s = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 * 1e-6;
        s(u.user_time()) + s(u.system_time())
    }
    #[cfg(not(unix))]
    f64::NAN
}

/// Runs `f` `times` times: wall seconds per run, and cores busy ((user + system) / wall).
fn timed(times: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let (cpu, wall) = (cpu_seconds(), Instant::now());
    for _ in 0..times {
        f();
    }
    let wall = wall.elapsed().as_secs_f64();
    (wall / times as f64, (cpu_seconds() - cpu) / wall)
}

fn main() {
    let device = Device::flex();
    let threads = rayon::current_num_threads();
    println!("burn-flex, {threads} rayon threads");

    // 1. The same element-wise work (Adam's first moment, m = 0.9 m + 0.1 g) on a tensor under
    //    flex's 4 M-element threshold and on one over it; a matrix product for comparison.
    for (rows, cols) in [(784usize, 800usize), (2048, 2048)] {
        let m = Tensor::<2>::random([rows, cols], Distribution::Default, &device);
        let g = Tensor::<2>::random([rows, cols], Distribution::Default, &device);
        let (seconds, cores) = timed(200, || {
            let next = m.clone().mul_scalar(0.9).add(g.clone().mul_scalar(0.1));
            device.sync().ok();
            drop(next);
        });
        let per_element = seconds / (rows * cols) as f64 * 1e9;
        println!(
            "m·0.9 + g·0.1 on [{rows}, {cols}] ({} elements): {:.3} ms, {per_element:.2} ns an \
             element, {cores:.2} cores busy",
            rows * cols,
            seconds * 1e3
        );
    }
    let x = Tensor::<2>::random([128, 784], Distribution::Default, &device);
    let w = Tensor::<2>::random([784, 800], Distribution::Default, &device);
    let (seconds, cores) = timed(200, || {
        let y = x.clone().matmul(w.clone());
        device.sync().ok();
        drop(y);
    });
    println!(
        "[128, 784] × [784, 800]: {:.3} ms, {cores:.2} cores busy",
        seconds * 1e3
    );

    // 2. A new zeroed tensor against a zeroed Vec of the same size.
    for n in [64 * 800usize, 1 << 20] {
        let (tensor, _) = timed(500, || {
            let t = Tensor::<1>::zeros([n], &device);
            device.sync().ok();
            drop(std::hint::black_box(t));
        });
        // Written, so that its pages are as touched as the tensor's.
        let (vec, _) = timed(500, || {
            let mut v = vec![0f32; n];
            v.fill(0.0);
            drop(std::hint::black_box(v));
        });
        println!(
            "zeros of {n} f32: Tensor::zeros {:.1} µs, a written vec![0f32; n] {:.1} µs ({:.1}×)",
            tensor * 1e6,
            vec * 1e6,
            tensor / vec
        );
    }
}
