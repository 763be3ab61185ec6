//! The derivation learns: stochastic gradient descent with the hand-written backward pass, and
//! the same descent with Burn's autodiff, step for step beside it.
//!
//! A gradient check compares gradients once, at one point. Training is the real test of a
//! derivation: thousands of steps, each starting where the last one's gradients led. This module
//! trains Nielsen's first network (784-30-10, sigmoid, quadratic cost, weights and
//! biases N(0, 1), mini-batches of 10, η = 3, on the first 50,000 training images, scored on the
//! 10,000 test images after every epoch) with nothing but [`Network::backward`] and the update
//! rule, Nielsen's `update_mini_batch`:
//!
//! ```text
//! w → w − (η/m) Σₓ ∂Cₓ/∂w        b → b − (η/m) Σₓ ∂Cₓ/∂b        (m examples in the batch)
//! ```
//!
//! ([`Network::backward`] already averages over the batch, so the step is w → w − η ∂C/∂w.)
//!
//! With `against_autodiff`, a second copy of the same initial network, Burn's [`Mlp`] cast to
//! f64, takes every step too, its gradients from `loss.backward()` and its update from Burn's
//! own SGD optimizer, on the same batches in the same order: the *trajectory check*. After every
//! step all parameters of the two copies are compared. Rounding differs (Burn multiplies
//! matrices, the loops here add one example at a time), so the copies drift apart by rounding
//! errors that training then carries along; the check reports the largest difference seen, per
//! epoch. A wrong derivation would part them at the first step.
//!
//! The product trains with Burn's autodiff (`crates/train`), as it must; this is the proof, and
//! a lesson, not a second training path.

use std::path::PathBuf;
use std::time::Instant;

use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::FloatDType;
use data::{ImageDataset, Split, IMAGE_PIXELS, NUM_CLASSES};
use model::{Activation, Backend, Cost, Init, Mlp, MlpConfig};
use serde::Serialize;

use crate::autodiff::{batch_tensors, cast_network, network_from_mlp};
use crate::manual::Network;
use crate::suite::f64_support;
use crate::{Batch, GradcheckError};

/// A training run with the hand-written gradients.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Layer sizes, input (784) to output (10).
    pub sizes: Vec<usize>,
    /// The hidden layers' activation function.
    pub activation: Activation,
    /// The cost to descend.
    pub cost: Cost,
    /// How the initial weights and biases are drawn (Burn's initialisation, read out).
    pub init: Init,
    /// Seed of the initial weights and of the batch order.
    pub seed: u64,
    /// Passes over the training images.
    pub epochs: usize,
    /// Examples per step, m.
    pub batch: usize,
    /// The learning rate η.
    pub eta: f64,
    /// How many of the training images (the first ones) to train on.
    pub train_images: usize,
    /// How many of the test images (the first ones) to score each epoch on.
    pub test_images: usize,
    /// Directory of the MNIST files.
    pub data_dir: PathBuf,
    /// Backend that draws the initial weights and, with `against_autodiff`, runs Burn's copy.
    pub backend: Backend,
    /// Step Burn's copy of the network beside the hand-written one and compare them.
    pub against_autodiff: bool,
    /// Stop after this many steps in all (the test suite's short trajectories).
    pub max_steps: Option<usize>,
}

impl TrainOptions {
    /// Nielsen's first network and training, as its chapter 1 runs it.
    pub fn nielsen(data_dir: PathBuf, backend: Backend) -> TrainOptions {
        TrainOptions {
            sizes: vec![IMAGE_PIXELS, 30, NUM_CLASSES],
            activation: Activation::Sigmoid,
            cost: Cost::Quadratic,
            init: Init::Normal,
            seed: 1,
            epochs: 30,
            batch: 10,
            eta: 3.0,
            train_images: 50_000,
            test_images: 10_000,
            data_dir,
            backend,
            against_autodiff: false,
            max_steps: None,
        }
    }

    fn model_config(&self) -> Result<MlpConfig, GradcheckError> {
        let invalid = |reason: String| GradcheckError::InvalidNetwork {
            sizes: self.sizes.clone(),
            reason,
        };
        let (&inputs, rest) = self
            .sizes
            .split_first()
            .ok_or_else(|| invalid("no layers".to_string()))?;
        let (&outputs, hidden) = rest
            .split_last()
            .ok_or_else(|| invalid("give at least an input and an output size".to_string()))?;
        if inputs != IMAGE_PIXELS || outputs != NUM_CLASSES {
            return Err(invalid(format!(
                "MNIST needs {IMAGE_PIXELS} inputs and {NUM_CLASSES} outputs"
            )));
        }
        let config = MlpConfig {
            inputs,
            hidden: hidden.to_vec(),
            outputs,
            ..MlpConfig::default()
        }
        .with_activation(self.activation)
        .with_init(self.init);
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), GradcheckError> {
        let invalid =
            |flag, requirement| Err(GradcheckError::InvalidTraining { flag, requirement });
        if self.epochs == 0 {
            return invalid("--epochs", "at least 1");
        }
        if self.batch == 0 {
            return invalid("--batch", "at least 1");
        }
        if !(self.eta.is_finite() && self.eta > 0.0) {
            return invalid("--eta", "a number > 0");
        }
        if self.train_images == 0 {
            return invalid("--train-images", "at least 1");
        }
        if self.test_images == 0 {
            return invalid("--test-images", "at least 1");
        }
        if self.max_steps == Some(0) {
            return invalid("--steps", "at least 1");
        }
        Ok(())
    }
}

/// Below this size a parameter's difference counts as absolute: the initial parameters are
/// of order 1, and a weight that has drifted to 1e-9 would make any rounding look large.
const REL_FLOOR: f64 = 1e-3;

/// How far Burn's copy of the network was from the hand-written one over some steps: the
/// largest differences between any parameter of the two after any of the steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Agreement {
    /// Steps compared.
    pub steps: usize,
    /// max |θ_hand − θ_burn| over every parameter θ and step.
    pub max_abs_diff: f64,
    /// max |θ_hand − θ_burn| / max(|θ_hand|, |θ_burn|, 1e-3): relative to the parameter,
    /// but for parameters near 0 (whose differences the absolute one shows).
    pub max_rel_diff: f64,
    /// The largest difference between the two batch costs, relative to the cost.
    pub max_cost_rel_diff: f64,
}

impl Agreement {
    fn new() -> Agreement {
        Agreement {
            steps: 0,
            max_abs_diff: 0.0,
            max_rel_diff: 0.0,
            max_cost_rel_diff: 0.0,
        }
    }

    /// Takes another stretch of steps into account.
    fn merge(&mut self, other: &Agreement) {
        self.steps += other.steps;
        self.max_abs_diff = self.max_abs_diff.max(other.max_abs_diff);
        self.max_rel_diff = self.max_rel_diff.max(other.max_rel_diff);
        self.max_cost_rel_diff = self.max_cost_rel_diff.max(other.max_cost_rel_diff);
    }

    /// Takes one step's comparison of every parameter, and of the costs, into account.
    fn record(&mut self, hand: &Network, burn: &Network, cost_hand: f64, cost_burn: f64) {
        self.steps += 1;
        let pairs = hand
            .params
            .weights
            .iter()
            .chain(&hand.params.biases)
            .zip(burn.params.weights.iter().chain(&burn.params.biases));
        for (mine, theirs) in pairs {
            for (&a, &b) in mine.iter().zip(theirs) {
                let diff = (a - b).abs();
                // A NaN must show as a disagreement, not vanish in `max`.
                let diff = if diff.is_nan() { f64::INFINITY } else { diff };
                self.max_abs_diff = self.max_abs_diff.max(diff);
                self.max_rel_diff = self
                    .max_rel_diff
                    .max(diff / a.abs().max(b.abs()).max(REL_FLOOR));
            }
        }
        let cost_diff = (cost_hand - cost_burn).abs() / cost_hand.abs().max(1e-12);
        let cost_diff = if cost_diff.is_nan() {
            f64::INFINITY
        } else {
            cost_diff
        };
        self.max_cost_rel_diff = self.max_cost_rel_diff.max(cost_diff);
    }
}

/// One epoch of hand-written training.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochRecord {
    /// Numbered from 1.
    pub epoch: usize,
    /// Steps taken in this epoch.
    pub steps: usize,
    /// The mean of the batch costs of those steps (before each step).
    pub mean_cost: f64,
    /// Test images the network then classifies right ...
    pub test_correct: usize,
    /// ... of these many.
    pub test_images: usize,
    /// Wall time of the epoch, scoring included.
    pub seconds: f64,
    /// With `against_autodiff`: how far Burn's copy was, over this epoch's steps.
    pub autodiff: Option<Agreement>,
}

impl EpochRecord {
    /// Test accuracy, 0 to 1.
    pub fn accuracy(&self) -> f64 {
        self.test_correct as f64 / self.test_images as f64
    }

    /// One line of the text output.
    pub fn line(&self, epochs: usize) -> String {
        let mut line = format!(
            "epoch {:>3}/{epochs}  cost {:.4}  test {:>5}/{} ({:.2}%)  {:.2} s",
            self.epoch,
            self.mean_cost,
            self.test_correct,
            self.test_images,
            100.0 * self.accuracy(),
            self.seconds
        );
        if let Some(a) = &self.autodiff {
            line.push_str(&format!(
                "  Burn f64: largest difference {:.1e} (relative {:.1e})",
                a.max_abs_diff, a.max_rel_diff
            ));
        }
        line
    }
}

/// A whole hand-written training run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Training {
    pub network: Vec<usize>,
    pub activation: Activation,
    pub cost: Cost,
    pub init: Init,
    pub seed: u64,
    pub batch: usize,
    pub eta: f64,
    pub train_images: usize,
    pub backend: Backend,
    pub epochs: Vec<EpochRecord>,
    /// Over every step of the run, with `against_autodiff`.
    pub autodiff: Option<Agreement>,
    pub seconds: f64,
}

impl Training {
    /// The last epoch's test accuracy, 0 to 1.
    pub fn accuracy(&self) -> f64 {
        self.epochs.last().map_or(0.0, EpochRecord::accuracy)
    }

    /// The run's first line of text: what is trained, and how.
    pub fn header(options: &TrainOptions) -> String {
        let shape: Vec<String> = options.sizes.iter().map(usize::to_string).collect();
        format!(
            "Hand-written backpropagation training {} ({} hidden units, {} cost): SGD η={}, \
             batch {}, {} training images, {} init drawn by Burn from seed {}{}",
            shape.join("-"),
            options.activation.name(),
            options.cost.name(),
            options.eta,
            options.batch,
            options.train_images,
            options.init.name(),
            options.seed,
            if options.against_autodiff {
                format!(
                    "; Burn's autodiff in f64 ({}) steps beside it",
                    options.backend.name()
                )
            } else {
                String::new()
            }
        )
    }

    /// Why the run did not learn, when it plainly did not: its cost stopped being a number, or
    /// its test accuracy is no better than guessing one of the ten digits, with what to change.
    ///
    /// "No better than guessing": guessing would score at least as many of the test images
    /// right more than once in 20 times (the normal approximation of the binomial tail, with
    /// p = 0.1 and a continuity correction: z < 1.645). Under 100 test images, nothing is
    /// judged.
    pub fn warning(&self) -> Option<String> {
        let advice = match self.activation {
            Activation::Relu => {
                "ReLU units with N(0, 1) weights and η = 3 blow up or go silent: try \
                 --init scaled_normal --cost cross_entropy --eta 0.1"
            }
            Activation::Sigmoid => "try a smaller --eta, or --init scaled_normal",
        };
        if let Some(e) = self.epochs.iter().find(|e| !e.mean_cost.is_finite()) {
            return Some(format!(
                "the cost diverged (it is {} in epoch {}): the steps are too large for this \
                 network; {advice}",
                e.mean_cost, e.epoch
            ));
        }
        let last = self.epochs.last()?;
        let (n, correct) = (last.test_images as f64, last.test_correct as f64);
        let z = (correct - 0.5 - 0.1 * n) / (0.1 * 0.9 * n).sqrt();
        let accuracy = self.accuracy();
        (last.test_images >= 100 && z < 1.645).then(|| {
            format!(
                "the test accuracy is {:.2}%, no better than guessing (10%): the network did \
                 not learn; {advice}",
                100.0 * accuracy
            )
        })
    }

    /// The closing line of text.
    pub fn summary(&self) -> String {
        let last = self.epochs.last();
        // A run stopped by --steps inside an epoch says so, instead of counting that epoch.
        let per_epoch = self.train_images.div_ceil(self.batch.max(1));
        let when = match last {
            Some(e) if e.steps < per_epoch => format!(
                "after {} steps ({} of epoch {}'s {per_epoch})",
                self.epochs.iter().map(|e| e.steps).sum::<usize>(),
                e.steps,
                e.epoch
            ),
            _ => format!(
                "after {} epoch{}",
                self.epochs.len(),
                if self.epochs.len() == 1 { "" } else { "s" }
            ),
        };
        let mut text = format!(
            "test accuracy {:.2}% ({} of {}) {when} in {:.1} s",
            100.0 * self.accuracy(),
            last.map_or(0, |e| e.test_correct),
            last.map_or(0, |e| e.test_images),
            self.seconds
        );
        if let Some(warning) = self.warning() {
            text.push_str(&format!("\nwarning: {warning}"));
        }
        if let Some(a) = &self.autodiff {
            text.push_str(&format!(
                "\nBurn's autodiff beside it: after each of {} steps every parameter agreed to \
                 {:.1e} (relative {:.1e}), the cost to a relative {:.1e}",
                a.steps, a.max_abs_diff, a.max_rel_diff, a.max_cost_rel_diff
            ));
        }
        text
    }
}

/// Burn's copy of the network, stepping beside the hand-written one.
struct BurnCopy {
    network: Mlp,
    optimizer: ModuleOptimizer,
}

impl BurnCopy {
    /// One step on `batch`: the batch cost before it, from `loss.backward()`'s forward pass.
    fn step(&mut self, cost: Cost, batch: &Batch, eta: f64) -> Result<f64, GradcheckError> {
        let network = self.network.clone();
        let outputs = network.sizes().last().copied().unwrap_or(NUM_CLASSES);
        let device = crate::autodiff::device_of(&network)?;
        let (x, labels, targets) = batch_tensors(batch, outputs, &device, FloatDType::F64);
        let loss = cost.loss(network.forward(x), labels, targets);
        let value = crate::autodiff::read_scalar(loss.clone())?;
        let grads = GradientsParams::from_grads(loss.backward(), &network);
        self.network = self.optimizer.step(eta, network, grads);
        Ok(value)
    }
}

/// How training is going: a step taken (of the steps in the epoch), or an epoch ended.
#[derive(Debug)]
pub enum Progress<'a> {
    Step {
        epoch: usize,
        step: usize,
        of: usize,
    },
    Epoch(&'a EpochRecord),
}

/// Trains with the hand-written gradients (and, if asked, Burn's beside them), telling
/// `progress` after each step and each epoch.
pub fn train(
    options: &TrainOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Training, GradcheckError> {
    options.validate()?;
    let config = options.model_config()?;
    let load = |split| {
        ImageDataset::load(&options.data_dir, split)
            .map_err(|source| GradcheckError::TrainData { source })
    };
    let (train_set, test_set) = (load(Split::Train)?, load(Split::Test)?);
    let train_set = train_set.head(options.train_images.min(train_set.len()));
    let test_images = options.test_images.min(test_set.len());
    let test = Batch::mnist(&test_set, test_images)?;

    let device = options.backend.device()?.autodiff();
    if options.against_autodiff {
        f64_support(&device, options.backend)?;
    }
    // Drawn by Burn, as training draws it, then read out: both copies start from these numbers.
    let drawn = config.init_seeded(options.seed, &device);
    let mut hand = network_from_mlp(&drawn)?;
    let mut burn = options.against_autodiff.then(|| BurnCopy {
        network: cast_network(drawn, FloatDType::F64),
        optimizer: SgdConfig::new().init(),
    });

    let start = Instant::now();
    let mut rng = data::SplitMix64::new(options.seed ^ 0x7472_6169_6e00_0000);
    let mut order: Vec<usize> = (0..train_set.len()).collect();
    let mut epochs = Vec::with_capacity(options.epochs);
    let mut overall = options.against_autodiff.then(Agreement::new);
    let mut steps_left = options.max_steps.unwrap_or(usize::MAX);
    for epoch in 1..=options.epochs {
        let epoch_start = Instant::now();
        rng.shuffle(&mut order);
        let mut agreement = options.against_autodiff.then(Agreement::new);
        let (mut steps, mut cost_sum) = (0, 0.0);
        let of = order.len().div_ceil(options.batch.max(1)).min(steps_left);
        for chunk in order.chunks(options.batch) {
            if steps_left == 0 {
                break;
            }
            let batch = Batch::mnist_indices(&train_set, chunk)?;
            let cost_hand = hand.cost(options.cost, &batch);
            let gradients = hand.backward(options.cost, &batch);
            hand.step(&gradients, options.eta);
            if let (Some(copy), Some(agreement)) = (burn.as_mut(), agreement.as_mut()) {
                let cost_burn = copy.step(options.cost, &batch, options.eta)?;
                agreement.record(
                    &hand,
                    &network_from_mlp(&copy.network)?,
                    cost_hand,
                    cost_burn,
                );
            }
            cost_sum += cost_hand;
            steps += 1;
            steps_left -= 1;
            progress(Progress::Step {
                epoch,
                step: steps,
                of,
            });
        }
        let record = EpochRecord {
            epoch,
            steps,
            mean_cost: cost_sum / steps.max(1) as f64,
            test_correct: hand.count_correct(&test),
            test_images,
            seconds: epoch_start.elapsed().as_secs_f64(),
            autodiff: agreement,
        };
        if let (Some(all), Some(this)) = (overall.as_mut(), &record.autodiff) {
            all.merge(this);
        }
        progress(Progress::Epoch(&record));
        epochs.push(record);
        if steps_left == 0 {
            break;
        }
    }
    Ok(Training {
        network: options.sizes.clone(),
        activation: options.activation,
        cost: options.cost,
        init: options.init,
        seed: options.seed,
        batch: options.batch,
        eta: options.eta,
        train_images: train_set.len(),
        backend: options.backend,
        epochs,
        autodiff: overall,
        seconds: start.elapsed().as_secs_f64(),
    })
}
