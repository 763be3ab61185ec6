//! Burn's Adam update, fused into one pass over each parameter, on the CPU backends.
//!
//! Burn's [`Adam`] updates a parameter with about thirteen tensor operations, each a pass over
//! the weights into a new buffer, and Flex runs element-wise work under 4 M elements on one
//! thread: on `best` (627,200 weights in its first layer) the update was 19% of the CPU time, on
//! one core, while the other waited (BENCHMARKS.md, "Where the time goes"). [`FusedAdam`] takes
//! the parameter, its gradient and its two moments out as slices once, computes the same
//! arithmetic element by element, in the same order and in `f32` as Flex does (no fused
//! multiply-add, the scalars rounded to `f32` as Flex rounds them), over the threads of the
//! current rayon pool, and puts them back. Each element is computed alone, so any split over
//! threads gives the same bits as Burn's Adam: the tests compare them bit for bit. The state is
//! Burn's [`AdamState`], so checkpoints and their resume are unchanged.
//!
//! Not used where it would be slower or different: on a GPU backend (the data would cross to
//! the host), with weight decay (Burn's [`Adam`] runs that), or on a tensor that is not `f32`.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::{Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{DType, Device, Shape, Tensor, TensorData};
use rayon::prelude::*;

/// Elements per piece of work handed to a thread: smaller pieces cost more to hand out.
const PIECE: usize = 1 << 14;

/// Adam, as Burn computes it, in one pass per parameter where it can.
#[derive(Clone)]
pub struct FusedAdam {
    adam: Adam,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    /// Whether to fuse at all: a CPU backend and no weight decay (AMSGrad is never set).
    fused: bool,
}

impl FusedAdam {
    /// Adam with these hyperparameters (as `AdamConfig` takes them; no AMSGrad), fused where
    /// `cpu` and no weight decay.
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32, weight_decay: f64, cpu: bool) -> Self {
        let decay = (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32));
        let config = AdamConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(decay.clone());
        Self {
            adam: config.build(),
            beta_1,
            beta_2,
            epsilon,
            fused: cpu && decay.is_none(),
        }
    }
}

/// A tensor's elements as `f32`: its own buffer where it is `f32` (checked before), else
/// converted. Not generic, and never inlined, so that it is compiled here, optimised, whatever
/// the caller's build (generic code is compiled in the crate that uses it: in `train`'s dev
/// build, unoptimised, this conversion and the step below made an epoch four times slower).
#[inline(never)]
fn values(data: TensorData) -> Vec<f32> {
    match data.as_slice::<f32>() {
        Ok(_) => data.try_into_vec::<f32>().unwrap_or_default(),
        Err(_) => data.iter::<f32>().collect(),
    }
}

/// `values` back into a tensor's data of `shape`.
#[inline(never)]
fn data(values: Vec<f32>, shape: Shape) -> TensorData {
    TensorData::new(values, shape)
}

impl FusedAdam {
    /// The fused step, on `f32` tensors: their data out, [`FusedAdam::update`], their data in.
    fn fused_step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, AdamState<D>) {
        let (device, shape) = (tensor.device(), tensor.shape());
        let moments = state.map(|s| {
            let m = s.momentum;
            (m.time, m.moment_1.into_data(), m.moment_2.into_data())
        });
        let (time, w, m1, m2) =
            self.update(lr, tensor.into_data(), grad.into_data(), moments, shape);
        let tensor = |d: TensorData| Tensor::<D>::from_data(d, &device);
        let state = AdamState::new(AdaptiveMomentumState::new(time, tensor(m1), tensor(m2)));
        (tensor(w), state)
    }

    /// Adam's step on a parameter's data `w` with its gradient's `g` and its moments (`None`
    /// before the first step): the step's number, the new parameter and the new moments.
    #[inline(never)]
    fn update(
        &self,
        lr: LearningRate,
        w: TensorData,
        g: TensorData,
        moments: Option<(usize, TensorData, TensorData)>,
        shape: Shape,
    ) -> (usize, TensorData, TensorData, TensorData) {
        let mut w = values(w);
        let g = values(g);
        let (b1, b2) = (self.beta_1, self.beta_2);
        let (f1, f2) = (1.0 - b1, 1.0 - b2);
        let (time, mut m1, mut m2) = match moments {
            Some((time, m1, m2)) => (time + 1, values(m1), values(m2)),
            None => (1, vec![0.0; g.len()], vec![0.0; g.len()]),
        };
        // As Burn's AdaptiveMomentum computes them, in f32.
        let t = time as i32;
        let bias_correction2_sqrt = (1.0 - b2.powi(t)).sqrt();
        let update = Update {
            first: time == 1,
            b1,
            b2,
            f1,
            f2,
            combined_factor: bias_correction2_sqrt / (1.0 - b1.powi(t)),
            eps: self.epsilon * bias_correction2_sqrt,
            lr: lr as f32,
        };
        w.par_chunks_mut(PIECE)
            .zip(m1.par_chunks_mut(PIECE))
            .zip(m2.par_chunks_mut(PIECE))
            .zip(g.par_chunks(PIECE))
            .for_each(|(((w, m1), m2), g)| update.apply(w, m1, m2, g));
        (
            time,
            data(w, shape.clone()),
            data(m1, shape.clone()),
            data(m2, shape),
        )
    }
}

/// One step's scalars, as Burn's `AdaptiveMomentum` computes them, in `f32`.
struct Update {
    /// The first step, which starts the moments from the gradient.
    first: bool,
    b1: f32,
    b2: f32,
    /// 1 − β₁ and 1 − β₂.
    f1: f32,
    f2: f32,
    combined_factor: f32,
    eps: f32,
    lr: f32,
}

impl Update {
    /// Updates one piece of a parameter and its moments, with the gradient's same piece, in
    /// plain loops over slices that the compiler turns into vector instructions (SSE2's four
    /// lanes in the default x86-64 build; a build for a newer CPU gets wider ones, and never a
    /// fused multiply-add, which Rust does not form on its own).
    ///
    /// Never inlined, like [`values`]: a caller in a crate built unoptimised (`train`, in the
    /// dev profile) could otherwise compile its own unoptimised copy.
    #[inline(never)]
    fn apply(&self, w: &mut [f32], m1: &mut [f32], m2: &mut [f32], g: &[f32]) {
        let moments = m1.iter_mut().zip(m2.iter_mut()).zip(g);
        let (b1, b2, f1, f2) = (self.b1, self.b2, self.f1, self.f2);
        if self.first {
            // As Burn starts them: not `0·β + ...`, which would turn a −0 into +0.
            for ((m1, m2), &g) in moments {
                *m1 = g * f1;
                *m2 = (g * g) * f2;
            }
        } else {
            for ((m1, m2), &g) in moments {
                *m1 = *m1 * b1 + g * f1;
                *m2 = *m2 * b2 + (g * g) * f2;
            }
        }
        let (factor, eps, lr) = (self.combined_factor, self.eps, self.lr);
        for ((w, m1), m2) in w.iter_mut().zip(&*m1).zip(&*m2) {
            *w -= ((m1 * factor) / (m2.sqrt() + eps)) * lr;
        }
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let f32s = |t: &Tensor<D>| t.dtype() == DType::F32;
        let all_f32 = f32s(&tensor)
            && f32s(&grad)
            && state
                .as_ref()
                .is_none_or(|s| f32s(&s.momentum.moment_1) && f32s(&s.momentum.moment_2));
        if self.fused && all_f32 {
            let (tensor, state) = self.fused_step(lr, tensor, grad, state);
            return (tensor, Some(state));
        }
        self.adam.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <Adam as Optimizer>::to_device(state, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        crate::tests::test_backend()
            .device()
            .expect("the test backend's device")
    }

    /// `n` values from a simple generator, with zeros, negative zeros and tiny and large ones
    /// among them.
    fn values_from(seed: u64, n: usize) -> Vec<f32> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..n)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
                match i % 97 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => u * 1e-30,
                    3 => u * 1e6,
                    _ => u,
                }
            })
            .collect()
    }

    fn tensor(v: Vec<f32>, dims: [usize; 2], device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v, dims), device)
    }

    /// The first element whose bits differ: its index and both values.
    fn first_difference(a: &Tensor<2>, b: &Tensor<2>) -> Option<(usize, f32, f32)> {
        let (a, b) = (values(a.clone().into_data()), values(b.clone().into_data()));
        assert_eq!(a.len(), b.len());
        (0..a.len())
            .find(|&i| a[i].to_bits() != b[i].to_bits())
            .map(|i| (i, a[i], b[i]))
    }

    #[test]
    fn the_fused_update_gives_burns_adam_bit_for_bit() {
        let device = device();
        let (b1, b2, eps) = (0.9, 0.999, 1e-8);
        let fused = FusedAdam::new(b1, b2, eps, 0.0, true);
        assert!(fused.fused, "no weight decay on a CPU: fused");
        let burn = AdamConfig::new()
            .with_beta_1(b1)
            .with_beta_2(b2)
            .with_epsilon(eps)
            .build();
        // Large enough to be split over threads, and a small one.
        for dims in [[300, 257], [1, 7]] {
            let n = dims[0] * dims[1];
            let start = tensor(values_from(1, n), dims, &device);
            let (mut ours, mut theirs) = (start.clone(), start);
            let (mut our_state, mut their_state) = (None, None);
            for step in 0..5u64 {
                let grad = tensor(values_from(10 + step, n), dims, &device);
                let lr = 1e-3 / (step + 1) as f64;
                (ours, our_state) = fused.step(lr, ours, grad.clone(), our_state);
                (theirs, their_state) = burn.step(lr, theirs, grad, their_state);
                let differ = first_difference(&ours, &theirs);
                assert_eq!(differ, None, "{dims:?}: weights after step {step}");
                let (a, b) = (
                    &our_state.as_ref().expect("a state").momentum,
                    &their_state.as_ref().expect("a state").momentum,
                );
                assert_eq!(a.time, b.time);
                let differ = first_difference(&a.moment_1, &b.moment_1);
                assert_eq!(differ, None, "{dims:?}: first moment after step {step}");
                let differ = first_difference(&a.moment_2, &b.moment_2);
                assert_eq!(differ, None, "{dims:?}: second moment after step {step}");
            }
        }
    }

    #[test]
    fn weight_decay_or_a_gpu_leaves_the_update_to_burn() {
        assert!(!FusedAdam::new(0.9, 0.999, 1e-8, 1e-4, true).fused);
        assert!(!FusedAdam::new(0.9, 0.999, 1e-8, 0.0, false).fused);
    }
}
