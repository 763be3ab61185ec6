//! The training loop: mini-batch gradient descent, with Burn's autodiff computing the gradient
//! of the cost by backpropagation. No gradient is written by hand here (`gradcheck` does that, to
//! check this).
//!
//! [`fit_from`] reads as the lesson does: for every epoch, shuffle the training images, then
//! take one [`Steps::step`] per mini-batch: the network's outputs, the cost, its gradient by
//! `backward()`, and the optimizer's step. Everything else a real run needs has a name of its
//! own: [`Divergence`] (the one check that a cost has not exploded), keeping the best epoch
//! ([`Training::keep_best`]), checkpoints ([`Training::save_checkpoint`]), the distorted
//! batches made ahead on a thread of their own ([`Training::run_steps`]) and stopping when asked
//! ([`Training::interrupted`]).

use std::path::PathBuf;
use std::time::Instant;

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use data::augment::{Distorter, Scratch};
use data::{ImageBatch, ImageBatcher, ImageDataset, SplitMix64};
use model::predict::count_correct;
use model::{
    network_from_bytes, network_to_bytes, Backend, Cost, Mlp, ModelError, Predictor, Score,
};
use run::{BestEpoch, Checkpoint, CheckpointStore, EpochMetrics, Position};

use crate::awake::{with_pool_awake, Distorted};
use crate::config::{Keep, TrainConfig};
use crate::number::compact;
use crate::{parts, transfer};
use crate::{Splits, TrainError};

/// Told about training as it goes, to show progress. The library never prints: a binary
/// passes an observer that does.
pub trait Observer: Send {
    /// An epoch of `batches` steps begins.
    fn epoch_started(&mut self, _epoch: usize, _batches: usize) {}
    /// A training step ended.
    fn batch_done(&mut self) {}
    /// An epoch ended, validation included.
    fn epoch_done(&mut self, _metrics: &EpochMetrics) {}
    /// Whether training should stop (a signal arrived): asked after every step. Training then
    /// saves a checkpoint and returns [`TrainError::Interrupted`].
    fn should_stop(&self) -> bool {
        false
    }
}

/// Shows nothing: for `--quiet`, tests and the bench.
pub struct Silent;

impl Observer for Silent {}

/// The trained network and its history.
#[derive(Debug)]
pub struct Fitted {
    /// The network kept ([`Keep`]: the last epoch's, or the best), on the plain device.
    pub network: Mlp,
    /// The epoch whose weights `network` holds.
    pub kept_epoch: usize,
    pub history: Vec<EpochMetrics>,
    pub best: Option<BestEpoch>,
    /// Wall time of the whole fit, validation included, over every session of a resumed run.
    pub seconds: f64,
    /// Each time the run was resumed with a lower learning rate.
    pub rate_changes: Vec<run::RateChange>,
}

/// Trains the network `config` describes on `splits.train` on `backend`, validating after each
/// epoch, with no checkpoints.
pub fn fit(
    config: &TrainConfig,
    splits: &Splits,
    backend: Backend,
    observer: &mut dyn Observer,
) -> Result<Fitted, TrainError> {
    fit_from(config, splits, backend, observer, None, None)
}

/// Trains as [`fit`] does, continuing `resume` if given, and saving a checkpoint to `store`
/// after every epoch and when the observer asks to stop.
pub fn fit_from(
    config: &TrainConfig,
    splits: &Splits,
    backend: Backend,
    observer: &mut dyn Observer,
    resume: Option<Checkpoint>,
    store: Option<&CheckpointStore>,
) -> Result<Fitted, TrainError> {
    let (mut training, mut network) = Training::start(config, splits, backend, resume, store)?;
    for epoch in training.steps.at.epochs_done + 1..=config.epochs {
        network = training.epoch(epoch, network, observer)?;
    }
    training.finish(network)
}

/// The learning itself: the optimizer, where training stands, and the step.
struct Steps<'a> {
    config: &'a TrainConfig,
    optim: ModuleOptimizer,
    at: Position,
    /// The learning rate of the last step taken.
    rate: f64,
}

impl Steps<'_> {
    /// One step of gradient descent on one mini-batch: the network's weighted outputs z, the
    /// cost C, the gradient ∂C/∂w of every weight and bias by backpropagation (Burn's
    /// `backward()`), and the step w ← w − η·∂C/∂w (or the configured optimizer's).
    fn step(
        &mut self,
        network: Mlp,
        batch: ImageBatch,
        epoch: usize,
        trace: &mut EpochTrace,
        device: &Device,
    ) -> Result<Mlp, TrainError> {
        self.rate = self.config.rate_at(self.at.step, trace.steps_per_epoch);
        let (cost, z, gradients) = match self.config.batch_parts {
            1 => {
                let z = network.forward(batch.images);
                let cost = (self.config.cost).loss(z.clone(), batch.labels.clone(), batch.targets);
                let gradients = GradientsParams::from_grads(cost.backward(), &network);
                (cost.inner(), z.inner(), gradients)
            }
            // The same, on parts of the batch side by side (`batch_parts`).
            parts => parts::in_parts(&network, &batch, self.config.cost, parts, device),
        };
        self.look_at(&cost, epoch)?;
        trace.record(cost, z, batch.labels.inner());
        let network = self.optim.step(self.rate, network, gradients);
        self.at.step += 1;
        Ok(network)
    }

    /// Every [`CHECK_EVERY`] steps, reads the step's cost back and stops a diverging run.
    fn look_at(&mut self, cost: &Tensor<1>, epoch: usize) -> Result<(), TrainError> {
        if !self.at.step.is_multiple_of(CHECK_EVERY) {
            return Ok(());
        }
        let value: f32 = cost.clone().into_scalar();
        Divergence::Step
            .check(f64::from(value), &mut self.at.reference_loss)
            .map_err(|what| self.diverged(epoch, what))
    }

    fn diverged(&self, epoch: usize, what: String) -> TrainError {
        TrainError::Diverged {
            epoch,
            step: self.at.step,
            rate: self.rate,
            base_rate: self.config.optimizer.learning_rate(),
            what,
            advice: self.config.optimizer.suspect(),
            resumable: None,
        }
    }
}

/// Steps between two looks at the cost: often enough to stop a diverging run within a few
/// steps, rarely enough that a GPU is not made to wait after every step.
const CHECK_EVERY: usize = 25;
/// How many distorted batches the pool's other threads may make ahead of the steps.
const PREFETCH_BATCHES: usize = 4;
/// How far above its first measured value the cost may rise before the run counts as diverged.
const EXPLOSION: f32 = 100.0;

/// The one test of a diverged run, for a step's cost and an epoch's mean alike: a cost that is
/// infinite or NaN, or more than [`EXPLOSION`] times the first cost measured (taken as at
/// least 0.1). Spikes between two looks at the steps' costs still show in the epoch's mean.
#[derive(Debug, Clone, Copy)]
enum Divergence {
    /// One step's cost; the first one looked at becomes the reference.
    Step,
    /// The mean cost of an epoch's steps.
    EpochMean,
}

impl Divergence {
    /// `Err` with what the cost did, when it diverged.
    fn check(self, cost: f64, reference: &mut Option<f32>) -> Result<(), String> {
        if !cost.is_finite() {
            return Err("became infinite or NaN".to_string());
        }
        let reference = match (self, *reference) {
            (_, Some(r)) => r,
            // Only a step's cost, read in f32, becomes the reference.
            (Divergence::Step, None) => *reference.insert(cost as f32),
            (Divergence::EpochMean, None) => return Ok(()),
        };
        if cost <= f64::from(EXPLOSION * reference.max(0.1)) {
            return Ok(());
        }
        let (verb, cost, reference) = (self.verb(), compact(cost), compact(f64::from(reference)));
        Err(format!("{verb} {cost}, from {reference} at the start"))
    }

    fn verb(self) -> &'static str {
        match self {
            Divergence::Step => "rose to",
            Divergence::EpochMean => "averaged",
        }
    }
}

/// A fit in progress: what it trains with, and where it stands.
struct Training<'a> {
    config: &'a TrainConfig,
    splits: &'a Splits,
    backend: Backend,
    store: Option<&'a CheckpointStore>,
    /// The device the steps run on, under autodiff.
    device: Device,
    batcher: ImageBatcher,
    distorter: Option<Distorter>,
    /// The steps run on a thread of a rayon pool of their own. The CPU backends split large
    /// operations with rayon; called from inside the pool, a split runs one half in place and
    /// lends the other to a sibling, where called from outside, every operation waits for a
    /// pool thread to wake (what that gains: BENCHMARKS.md).
    pool: rayon::ThreadPool,
    /// The training images' indices, shuffled every epoch from `rng`.
    order: Vec<usize>,
    rng: SplitMix64,
    steps_per_epoch: usize,
    steps: Steps<'a>,
    /// The best epoch's weights, when the run keeps the best.
    best_network: Option<Vec<u8>>,
    started: Instant,
    /// Wall time of earlier sessions of a resumed run.
    earlier_seconds: f64,
}

impl<'a> Training<'a> {
    /// Sets up a fit, and the network it starts from: drawn from the seed (or copied from the
    /// `[init]` run), or the checkpoint's.
    fn start(
        config: &'a TrainConfig,
        splits: &'a Splits,
        backend: Backend,
        resume: Option<Checkpoint>,
        store: Option<&'a CheckpointStore>,
    ) -> Result<(Self, Mlp), TrainError> {
        let device = backend.device()?.autodiff();
        if splits.train.is_empty() {
            return Err(TrainError::EmptyDataset("training set"));
        }
        let started = Instant::now();
        let mut network = config.model.init_seeded(config.seed, &device);
        let mut optim = config.optimizer.init(backend.is_cpu());
        let (mut at, mut best_network) = (Position::default(), None);
        let encode = |e| TrainError::Model(ModelError::Encode(e));
        if let Some(checkpoint) = resume {
            // A resumed run continues from its own weights: `init.from` is not read again.
            network =
                network_from_bytes(&config.model, checkpoint.network, &device).map_err(encode)?;
            network = transfer::freeze(network, config.init.as_ref().map_or(0, |i| i.freeze));
            optim = (optim.from_bytes(burn::tensor::Bytes::from_bytes_vec(checkpoint.optimizer)))
                .map_err(encode)?;
            (at, best_network) = (checkpoint.position, checkpoint.best_network);
        } else if let Some(init) = &config.init {
            // Whether a source without a seal may start a run was decided when the run was
            // prepared (`--allow-unsealed`); one with a seal is checked against it again here.
            let source = transfer::load_source(init, &device, run::Trust::AllowUnsealed)?;
            network = transfer::start(init, config, network, &source)?;
        }
        let n = splits.train.len();
        // A stream of its own, so that the batch order does not depend on the validation split.
        // A resumed run replays the shuffles of the epochs it has done: the same orders again.
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = SplitMix64::new(config.seed ^ 0x0BA7_C4E5);
        for _ in 0..at.epochs_done {
            rng.shuffle(&mut order);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads())
            .build();
        let training = Training {
            config,
            splits,
            backend,
            store,
            device,
            batcher: ImageBatcher::new(config.model.outputs),
            distorter: config
                .augment
                .map(|a| Distorter::new(a.distortion(), config.seed)),
            pool: pool.map_err(TrainError::Threads)?,
            order,
            rng,
            steps_per_epoch: n.div_ceil(config.batch_size),
            earlier_seconds: at.seconds,
            steps: Steps {
                config,
                optim,
                at,
                rate: config.optimizer.learning_rate(),
            },
            best_network,
            started,
        };
        Ok((training, network))
    }

    /// One epoch: shuffle, the steps, then the epoch's mean cost checked, validation, the best
    /// epoch kept, and a checkpoint.
    fn epoch(
        &mut self,
        epoch: usize,
        network: Mlp,
        observer: &mut dyn Observer,
    ) -> Result<Mlp, TrainError> {
        let skip = std::mem::take(&mut self.steps.at.steps_into_epoch);
        observer.epoch_started(epoch, self.steps_per_epoch);
        // A resumed epoch's progress starts where it stopped.
        (0..skip).for_each(|_| observer.batch_done());
        let epoch_start = Instant::now();
        self.rng.shuffle(&mut self.order);
        let mut trace = EpochTrace::resume(&mut self.steps.at, self.steps_per_epoch);
        let (network, stopped) = self.run_steps(epoch, skip, network, &mut trace, observer)?;
        let (losses, correct) = trace.read_back()?;
        let at = &mut self.steps.at;
        let seconds = std::mem::take(&mut at.epoch_seconds) + epoch_start.elapsed().as_secs_f64();
        if stopped && losses.len() < self.steps_per_epoch {
            // Stopped within the epoch: save exactly where it stands.
            at.steps_into_epoch = losses.len();
            (at.epoch_losses, at.epoch_correct, at.epoch_seconds) = (losses, correct, seconds);
            at.epochs_done = epoch - 1;
            return Err(self.interrupted(epoch, &network)?);
        }
        let n = self.splits.train.len();
        let (train_loss, train_accuracy) = epoch_means(&losses, correct, n, self.config.batch_size);
        Divergence::EpochMean
            .check(train_loss, &mut self.steps.at.reference_loss)
            .map_err(|what| self.steps.diverged(epoch, what))?;
        let validation = self.validate(&network)?;
        let metrics = EpochMetrics {
            epoch,
            train_loss,
            train_accuracy,
            validation_loss: validation.map(|s| s.loss),
            validation_accuracy: validation.map(|s| s.accuracy),
            learning_rate: self.steps.rate,
            seconds,
        };
        self.keep_best(&metrics, &network)?;
        observer.epoch_done(&metrics);
        self.steps.at.history.push(metrics);
        self.steps.at.epochs_done = epoch;
        if observer.should_stop() && epoch < self.config.epochs {
            return Err(self.interrupted(epoch + 1, &network)?);
        }
        self.save_checkpoint(&network)?;
        Ok(network)
    }

    /// The epoch's steps from its step `skip` on, run on the pool, whose other threads take the
    /// halves of split operations and make `[augment]`'s batches a few ahead (`awake.rs`); the
    /// network after them, and whether the observer asked to stop.
    fn run_steps(
        &mut self,
        epoch: usize,
        skip: usize,
        network: Mlp,
        trace: &mut EpochTrace,
        observer: &mut dyn Observer,
    ) -> Result<(Mlp, bool), TrainError> {
        let Training {
            config,
            splits,
            ref distorter,
            ref pool,
            ref order,
            ref mut steps,
            ref batcher,
            ref device,
            ..
        } = *self;
        let train = &splits.train;
        let chunks: Vec<&[usize]> = order.chunks(config.batch_size).skip(skip).collect();
        let distorted = (distorter.as_ref())
            .map(|d| Distorted::new(d, train, &chunks, epoch, PREFETCH_BATCHES));
        pool.install(|| {
            with_pool_awake(distorted.as_ref(), || {
                let (mut network, mut scratch) = (network, Scratch::default());
                for (index, chunk) in chunks.iter().enumerate() {
                    let batch = match &distorted {
                        Some(batches) => {
                            let pixels = batches.take(index, &mut scratch);
                            let labels: Vec<u8> = chunk.iter().map(|&i| train.label(i)).collect();
                            batcher.batch_inputs(pixels, &labels, device)
                        }
                        None => batcher.batch_indices(train, chunk, device),
                    };
                    network = steps.step(network, batch, epoch, trace, device)?;
                    observer.batch_done();
                    if observer.should_stop() {
                        return Ok((network, true));
                    }
                }
                Ok((network, false))
            })
        })
    }

    /// Loss and accuracy on the validation images (`None` without them).
    fn validate(&self, network: &Mlp) -> Result<Option<Score>, TrainError> {
        if self.splits.validation.is_empty() {
            return Ok(None);
        }
        let (cost, images) = (self.config.cost, &self.splits.validation);
        evaluate(&network.valid(), cost, images, self.backend).map(Some)
    }

    /// Remembers the epoch if its validation accuracy is the best yet, and its weights when the
    /// run keeps the best.
    fn keep_best(&mut self, metrics: &EpochMetrics, network: &Mlp) -> Result<(), TrainError> {
        let Some(accuracy) = metrics.validation_accuracy else {
            return Ok(());
        };
        let best = &mut self.steps.at.best;
        if best.is_none_or(|b| accuracy > b.validation_accuracy) {
            *best = Some(BestEpoch {
                epoch: metrics.epoch,
                validation_accuracy: accuracy,
            });
            if self.config.keep == Keep::Best {
                self.best_network = Some(network_to_bytes(&network.valid())?);
            }
        }
        Ok(())
    }

    /// Saves a checkpoint of where training stands, with `network`: its directory, or `None`
    /// without a store.
    fn save_checkpoint(&self, network: &Mlp) -> Result<Option<PathBuf>, TrainError> {
        let Some(store) = self.store else {
            return Ok(None);
        };
        let optimizer = (self.steps.optim.into_bytes())
            .map_err(|e| TrainError::Model(ModelError::Encode(e)))?;
        let checkpoint = Checkpoint {
            position: Position {
                seconds: self.earlier_seconds + self.started.elapsed().as_secs_f64(),
                ..self.steps.at.clone()
            },
            network: network_to_bytes(network)?,
            optimizer: optimizer.to_vec(),
            best_network: self.best_network.clone(),
        };
        Ok(Some(store.save(&checkpoint)?))
    }

    /// Stops the run, to be resumed from a checkpoint of where it stands: the error to return,
    /// naming `epoch`, the one the resumed run begins with.
    fn interrupted(&self, epoch: usize, network: &Mlp) -> Result<TrainError, TrainError> {
        Ok(TrainError::Interrupted {
            epoch,
            step: self.steps.at.step,
            checkpoint: self.save_checkpoint(network)?,
            dest: None,
        })
    }

    /// The fit's outcome: the network kept (the last epoch's, or the best one's), on the plain
    /// device.
    fn finish(self, network: Mlp) -> Result<Fitted, TrainError> {
        let at = self.steps.at;
        let (network, kept_epoch) = match (self.config.keep, self.best_network, at.best) {
            (Keep::Best, Some(bytes), Some(best)) => {
                let device = self.backend.device()?;
                let network = network_from_bytes(&self.config.model, bytes, &device)
                    .map_err(|e| TrainError::Model(ModelError::Encode(e)))?;
                (network, best.epoch)
            }
            _ => (network.valid(), self.config.epochs),
        };
        Ok(Fitted {
            network,
            kept_epoch,
            history: at.history,
            best: at.best,
            seconds: self.earlier_seconds + self.started.elapsed().as_secs_f64(),
            rate_changes: at.rate_changes,
        })
    }
}

/// Loss and accuracy of `network` (on `backend`'s plain device) over `dataset`, through the
/// one prediction path ([`Predictor::score`]).
pub fn evaluate(
    network: &Mlp,
    cost: Cost,
    dataset: &ImageDataset,
    backend: Backend,
) -> Result<Score, TrainError> {
    if dataset.is_empty() {
        return Err(TrainError::EmptyDataset("evaluation set"));
    }
    let predictor = Predictor::new(network, cost, backend)?;
    let batches = ImageBatcher::new(network.sizes().last().copied().unwrap_or(1))
        .in_order(dataset, predictor.batch_size(), predictor.device())
        .map(|b| (b.images, b.labels, b.targets));
    Ok(predictor.score(batches)?)
}

/// What an epoch's steps left behind: each batch's mean cost, outputs and labels, still on the
/// device, so that a step adds no work (and a GPU no stall) to report them; and what earlier
/// sessions of the same epoch left, already on the host (a resumed run).
struct EpochTrace {
    steps_per_epoch: usize,
    earlier_losses: Vec<f32>,
    earlier_correct: u64,
    losses: Vec<Tensor<1>>,
    outputs: Vec<Tensor<2>>,
    labels: Vec<Tensor<1, Int>>,
}

impl EpochTrace {
    /// An epoch's trace, taking over what earlier sessions of it left in `at`.
    fn resume(at: &mut Position, steps_per_epoch: usize) -> Self {
        EpochTrace {
            steps_per_epoch,
            earlier_losses: std::mem::take(&mut at.epoch_losses),
            earlier_correct: std::mem::take(&mut at.epoch_correct),
            losses: Vec::with_capacity(steps_per_epoch),
            outputs: Vec::with_capacity(steps_per_epoch),
            labels: Vec::with_capacity(steps_per_epoch),
        }
    }

    /// Keeps a step's cost, outputs and labels (off the autodiff graph).
    fn record(&mut self, cost: Tensor<1>, z: Tensor<2>, labels: Tensor<1, Int>) {
        self.losses.push(cost);
        self.outputs.push(z);
        self.labels.push(labels);
    }

    /// Every step's mean cost so far and the images classified right, read back once.
    fn read_back(self) -> Result<(Vec<f32>, u64), TrainError> {
        let mut losses = self.earlier_losses;
        let mut correct = self.earlier_correct;
        if !self.losses.is_empty() {
            let read: Vec<f32> = Tensor::cat(self.losses, 0)
                .into_data()
                .convert::<f32>()
                .try_into_vec()
                .map_err(TrainError::Readback)?;
            losses.extend(read);
            let hits = count_correct(Tensor::cat(self.outputs, 0), Tensor::cat(self.labels, 0));
            correct += hits.into_scalar::<i64>() as u64;
        }
        Ok((losses, correct))
    }
}

/// The epoch's mean training cost and accuracy from its steps' mean costs: a batch counts by
/// its images (only the last batch can be smaller).
fn epoch_means(losses: &[f32], correct: u64, n: usize, batch_size: usize) -> (f64, f64) {
    let sizes = (0..n)
        .step_by(batch_size)
        .map(|start| (n - start).min(batch_size));
    let loss = losses
        .iter()
        .zip(sizes)
        .map(|(&l, size)| f64::from(l) * size as f64)
        .sum::<f64>()
        / n as f64;
    (loss, correct as f64 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_step_looked_at_sets_the_reference_and_an_epoch_mean_never_does() {
        let mut reference = None;
        assert!(Divergence::EpochMean.check(5.0, &mut reference).is_ok());
        assert_eq!(
            reference, None,
            "an epoch's mean is judged, never the reference"
        );
        assert!(Divergence::Step.check(0.5, &mut reference).is_ok());
        assert_eq!(reference, Some(0.5));
        assert!(Divergence::Step.check(0.9, &mut reference).is_ok());
        assert_eq!(reference, Some(0.5), "only the first cost is the reference");
    }

    #[test]
    fn a_cost_far_above_the_reference_or_not_finite_diverges() {
        let mut reference = Some(0.5);
        // EXPLOSION times the reference is the limit, inclusive.
        assert!(Divergence::Step.check(50.0, &mut reference).is_ok());
        let said = Divergence::Step.check(50.1, &mut reference).unwrap_err();
        assert_eq!(said, "rose to 50.1, from 0.5 at the start");
        let said = Divergence::EpochMean
            .check(60.0, &mut reference)
            .unwrap_err();
        assert_eq!(said, "averaged 60, from 0.5 at the start");
        for bad in [f64::NAN, f64::INFINITY] {
            let said = Divergence::EpochMean
                .check(bad, &mut reference)
                .unwrap_err();
            assert_eq!(said, "became infinite or NaN");
        }
        // A NaN first cost is refused before it could become the reference.
        let mut none = None;
        assert!(Divergence::Step.check(f64::NAN, &mut none).is_err());
        assert_eq!(none, None);
    }

    #[test]
    fn a_tiny_reference_is_taken_as_at_least_a_tenth() {
        let mut reference = Some(0.0001);
        assert!(Divergence::Step.check(9.9, &mut reference).is_ok());
        assert!(Divergence::Step.check(10.1, &mut reference).is_err());
    }
}
