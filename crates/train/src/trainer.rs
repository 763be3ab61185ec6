//! The training loop: mini-batch gradient descent, with Burn's autodiff computing the gradient
//! of the cost by backpropagation. No gradient is written by hand here (`gradcheck` does that, to
//! check this).

use std::time::Instant;

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use data::augment::Distorter;
use data::{MnistBatcher, MnistDataset, SplitMix64};
use model::predict::count_correct;
use model::run::{network_from_bytes, network_to_bytes};
use model::{Backend, Cost, Mlp, ModelError, Predictor, Score};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{BestEpoch, Checkpoint, CheckpointStore, Position};
use crate::cli::Plan;
use crate::config::{Keep, OptimizerConfig, TrainConfig};
use crate::transfer;
use crate::TrainError;

/// The images a run uses: training, validation (held out of training) and test.
#[derive(Debug, Clone)]
pub struct Splits {
    pub train: MnistDataset,
    pub validation: MnistDataset,
    pub test: MnistDataset,
}

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    /// Mean cost over the epoch's training batches, as they were seen.
    pub train_loss: f64,
    /// Fraction of training images classified right, by the network at the time of each batch.
    pub train_accuracy: f64,
    /// `None` when the run holds no validation images.
    pub validation_loss: Option<f64>,
    pub validation_accuracy: Option<f64>,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// Wall time of the epoch's training steps (validation excluded).
    pub seconds: f64,
}

impl EpochMetrics {
    /// The epoch as one line of progress: `epoch   3/30  loss 0.0123  train  97.10% ...`.
    pub fn line(&self, epochs: usize) -> String {
        let validation = self
            .validation_accuracy
            .map_or_else(|| format!("{:>7}", "-"), |a| format!("{:6.2}%", 100.0 * a));
        format!(
            "epoch {:>3}/{epochs}  loss {:.4}  train {:6.2}%  validation {validation}  lr {:.4}  {:.2} s",
            self.epoch,
            self.train_loss,
            100.0 * self.train_accuracy,
            self.learning_rate,
            self.seconds
        )
    }
}

/// Told about training as it goes, to show progress. The library never prints: a binary
/// passes an observer that does.
pub trait Observer: Send {
    /// The run is set up (config resolved, data loaded) and training begins.
    fn started(&mut self, _plan: &Plan) {}
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
}

fn optimizer(config: &OptimizerConfig) -> ModuleOptimizer {
    let decay = |w: f64| (w > 0.0).then(|| WeightDecayConfig::new(w as f32));
    match *config {
        OptimizerConfig::Sgd {
            momentum,
            nesterov,
            weight_decay,
            ..
        } => SgdConfig::new()
            .with_momentum((momentum > 0.0).then(|| {
                // Burn's default dampening is 0.1; the textbook's (and PyTorch's) is 0.
                MomentumConfig::new()
                    .with_momentum(momentum)
                    .with_dampening(0.0)
                    .with_nesterov(nesterov)
            }))
            .with_weight_decay(decay(weight_decay))
            .init(),
        OptimizerConfig::Adam {
            beta1,
            beta2,
            epsilon,
            weight_decay,
            ..
        } => AdamConfig::new()
            .with_beta_1(beta1 as f32)
            .with_beta_2(beta2 as f32)
            .with_epsilon(epsilon as f32)
            .with_weight_decay(decay(weight_decay))
            .init(),
    }
}

/// Loss and accuracy of `network` (on `backend`'s plain device) over `dataset`, through the
/// one prediction path ([`Predictor::score`]).
pub fn evaluate(
    network: &Mlp,
    cost: Cost,
    dataset: &MnistDataset,
    backend: Backend,
) -> Result<Score, TrainError> {
    if dataset.is_empty() {
        return Err(TrainError::EmptyDataset("evaluation set"));
    }
    let predictor = Predictor::new(network, cost, backend)?;
    let batches = MnistBatcher::new(network.sizes().last().copied().unwrap_or(1))
        .in_order(dataset, predictor.batch_size(), predictor.device())
        .map(|b| (b.images, b.labels, b.targets));
    Ok(predictor.score(batches)?)
}

/// What an epoch's steps left behind: each batch's mean cost, outputs and labels, still on the
/// device, so that a step adds no work (and a GPU no stall) to report them; and what earlier
/// sessions of the same epoch left, already on the host (a resumed run).
struct EpochTrace {
    earlier_losses: Vec<f32>,
    earlier_correct: u64,
    losses: Vec<Tensor<1>>,
    outputs: Vec<Tensor<2>>,
    labels: Vec<Tensor<1, Int>>,
}

impl EpochTrace {
    fn new(earlier_losses: Vec<f32>, earlier_correct: u64, steps: usize) -> Self {
        EpochTrace {
            earlier_losses,
            earlier_correct,
            losses: Vec::with_capacity(steps),
            outputs: Vec::with_capacity(steps),
            labels: Vec::with_capacity(steps),
        }
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

/// Steps between two looks at the cost: often enough to stop a diverging run within a few
/// steps, rarely enough that a GPU is not made to wait after every step.
const CHECK_EVERY: usize = 25;

/// How many distorted batches the producer may make ahead of the steps.
const PREFETCH_BATCHES: usize = 4;
/// How far above its first measured value the cost may rise before the run counts as diverged.
const EXPLOSION: f32 = 100.0;

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
    let device = &backend.device()?;
    if splits.train.is_empty() {
        return Err(TrainError::EmptyDataset("training set"));
    }
    let started = Instant::now();
    let ad_device = device.clone().autodiff();
    let mut network = config.model.init_seeded(config.seed, &ad_device);
    let mut optim = optimizer(&config.optimizer);
    let mut best_network = None;
    let mut at = Position::default();
    let frozen = config.init.as_ref().map_or(0, |init| init.freeze);
    if let Some(checkpoint) = resume {
        // A resumed run continues from its own weights: `init.from` is not read again.
        network = network_from_bytes(&config.model, checkpoint.network, &ad_device)
            .map_err(|e| TrainError::Model(ModelError::Encode(e)))?;
        network = transfer::freeze(network, frozen);
        optim = optim
            .from_bytes(burn::tensor::Bytes::from_bytes_vec(checkpoint.optimizer))
            .map_err(|e| TrainError::Model(ModelError::Encode(e)))?;
        best_network = checkpoint.best_network;
        at = checkpoint.position;
    } else if let Some(init) = &config.init {
        let source = transfer::load_source(init, &ad_device)?;
        network = transfer::start(init, config, network, &source)?;
    }
    let batcher = MnistBatcher::new(config.model.outputs);
    let earlier_seconds = at.seconds;
    let base_rate = config.optimizer.learning_rate();

    let n = splits.train.len();
    let steps_per_epoch = n.div_ceil(config.batch_size);
    let total_steps = steps_per_epoch * config.epochs;
    let mut order: Vec<usize> = (0..n).collect();
    // A stream of its own, so that the batch order does not depend on the validation split.
    // A resumed run replays the shuffles of the epochs it has done: the same orders again.
    let mut rng = SplitMix64::new(config.seed ^ 0x0BA7_C4E5);
    for _ in 0..at.epochs_done {
        rng.shuffle(&mut order);
    }
    let distorter = config
        .augment
        .map(|a| Distorter::new(a.distortion(), config.seed));
    let steps_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads())
        .build()
        .map_err(TrainError::Threads)?;
    let rate_at = |step: usize| {
        config.schedule.as_ref().map_or(base_rate, |s| {
            s.rate(base_rate, step, steps_per_epoch, total_steps)
        })
    };
    // Saves a checkpoint of where training stands (nothing without a store).
    let save = |network: &Mlp, optim: &ModuleOptimizer, best: &Option<Vec<u8>>, at: &Position| {
        let Some(store) = store else {
            return Ok(None);
        };
        let checkpoint = Checkpoint {
            position: Position {
                seconds: earlier_seconds + started.elapsed().as_secs_f64(),
                ..at.clone()
            },
            network: network_to_bytes(network)?,
            optimizer: optim
                .into_bytes()
                .map_err(|e| TrainError::Model(ModelError::Encode(e)))?
                .to_vec(),
            best_network: best.clone(),
        };
        store.save(&checkpoint).map(Some)
    };

    for epoch in at.epochs_done + 1..=config.epochs {
        let skip = std::mem::take(&mut at.steps_into_epoch);
        observer.epoch_started(epoch, steps_per_epoch);
        // A resumed epoch's progress starts where it stopped.
        for _ in 0..skip {
            observer.batch_done();
        }
        let epoch_start = Instant::now();
        rng.shuffle(&mut order);
        let mut trace = EpochTrace::new(
            std::mem::take(&mut at.epoch_losses),
            std::mem::take(&mut at.epoch_correct),
            steps_per_epoch,
        );
        let mut rate = rate_at(at.step);
        let mut stopped = false;
        // The steps run on a thread of a rayon pool of their own. The CPU backends split large
        // operations with rayon; called from inside the pool, a split runs one half in place and
        // lends the other to a sibling, where called from outside, every operation waits for a
        // pool thread to wake (what that gains: BENCHMARKS.md).
        let chunks: Vec<&[usize]> = order.chunks(config.batch_size).skip(skip).collect();
        let stepped = std::thread::scope(|scope| {
            // With `[augment]`, the distorted batches are made on a thread of their own, a few
            // ahead of the steps.
            let mut distorted = distorter.as_ref().map(|d| {
                d.prefetch(
                    scope,
                    &splits.train,
                    chunks.clone(),
                    epoch,
                    PREFETCH_BATCHES,
                )
            });
            steps_pool.install(|| -> Result<Mlp, TrainError> {
                let mut network = network;
                for chunk in &chunks {
                    rate = rate_at(at.step);
                    // (Borrowed mutably: a receiver may move to the pool's thread, not be shared.)
                    let batch = match (&distorter, distorted.as_mut()) {
                        (Some(d), Some(batches)) => {
                            // The producer ends only when this receiver is dropped (or it panicked:
                            // then this thread makes the batch itself).
                            let pixels = batches.recv().unwrap_or_else(|_| {
                                d.batch(&splits.train, chunk, epoch, &mut Default::default())
                            });
                            let labels: Vec<u8> =
                                chunk.iter().map(|&i| splits.train.label(i)).collect();
                            batcher.batch_inputs(pixels, &labels, &ad_device)
                        }
                        _ => batcher.batch_indices(&splits.train, chunk, &ad_device),
                    };
                    let z = network.forward(batch.images);
                    let loss = config
                        .cost
                        .loss(z.clone(), batch.labels.clone(), batch.targets);
                    if at.step % CHECK_EVERY == 0 {
                        check_cost(&loss, &mut at, config, epoch, rate)?;
                    }
                    trace.losses.push(loss.clone().inner());
                    trace.outputs.push(z.inner());
                    trace.labels.push(batch.labels.inner());
                    let grads = GradientsParams::from_grads(loss.backward(), &network);
                    network = optim.step(rate, network, grads);
                    at.step += 1;
                    observer.batch_done();
                    if observer.should_stop() {
                        stopped = true;
                        break;
                    }
                }
                Ok(network)
            })
        });
        network = stepped?;
        let (losses, correct) = trace.read_back()?;
        let seconds = std::mem::take(&mut at.epoch_seconds) + epoch_start.elapsed().as_secs_f64();
        if stopped && losses.len() < steps_per_epoch {
            // Stopped within the epoch: save exactly where it stands.
            at.steps_into_epoch = losses.len();
            at.epoch_losses = losses;
            at.epoch_correct = correct;
            at.epoch_seconds = seconds;
            at.epochs_done = epoch - 1;
            let path = save(&network, &optim, &best_network, &at)?;
            return Err(TrainError::Interrupted {
                epoch,
                step: at.step,
                checkpoint: path,
                dest: None,
            });
        }
        let (train_loss, train_accuracy) = epoch_means(&losses, correct, n, config.batch_size);
        if !train_loss.is_finite() {
            return Err(diverged(
                config,
                epoch,
                at.step,
                rate,
                "became infinite or NaN",
            ));
        }
        // Spikes between two looks at the cost still show in the epoch's mean.
        if let Some(reference) = at.reference_loss {
            if train_loss > f64::from(EXPLOSION * reference.max(0.1)) {
                let what = format!(
                    "averaged {} over the epoch, from {} at the start",
                    crate::config::compact(train_loss),
                    crate::config::compact(f64::from(reference))
                );
                return Err(diverged(config, epoch, at.step, rate, &what));
            }
        }
        let validation = if splits.validation.is_empty() {
            None
        } else {
            Some(evaluate(
                &network.valid(),
                config.cost,
                &splits.validation,
                backend,
            )?)
        };
        let metrics = EpochMetrics {
            epoch,
            train_loss,
            train_accuracy,
            validation_loss: validation.map(|s| s.loss),
            validation_accuracy: validation.map(|s| s.accuracy),
            learning_rate: rate,
            seconds,
        };
        if let Some(accuracy) = metrics.validation_accuracy {
            if at.best.is_none_or(|b| accuracy > b.validation_accuracy) {
                at.best = Some(BestEpoch {
                    epoch,
                    validation_accuracy: accuracy,
                });
                if config.keep == Keep::Best {
                    best_network = Some(network_to_bytes(&network.valid())?);
                }
            }
        }
        observer.epoch_done(&metrics);
        at.history.push(metrics);
        at.epochs_done = epoch;
        let path = save(&network, &optim, &best_network, &at)?;
        if observer.should_stop() && epoch < config.epochs {
            return Err(TrainError::Interrupted {
                epoch: epoch + 1,
                step: at.step,
                checkpoint: path,
                dest: None,
            });
        }
    }
    let last = network.valid();
    let (network, kept_epoch) = match (config.keep, &best_network, at.best) {
        (Keep::Best, Some(bytes), Some(best)) => (
            network_from_bytes(&config.model, bytes.clone(), device)
                .map_err(|e| TrainError::Model(ModelError::Encode(e)))?,
            best.epoch,
        ),
        _ => (last, config.epochs),
    };
    Ok(Fitted {
        network,
        kept_epoch,
        history: at.history,
        best: at.best,
        seconds: earlier_seconds + started.elapsed().as_secs_f64(),
    })
}

/// Looks at a step's cost (one read from the device): an infinite or NaN cost, or one far above
/// the first measured, stops the run.
fn check_cost(
    loss: &Tensor<1>,
    at: &mut Position,
    config: &TrainConfig,
    epoch: usize,
    rate: f64,
) -> Result<(), TrainError> {
    let value: f32 = loss.clone().inner().into_scalar();
    if !value.is_finite() {
        return Err(diverged(
            config,
            epoch,
            at.step,
            rate,
            "became infinite or NaN",
        ));
    }
    let reference = *at.reference_loss.get_or_insert(value);
    if value > EXPLOSION * reference.max(0.1) {
        let what = format!(
            "rose to {}, from {} at the start",
            crate::config::compact(f64::from(value)),
            crate::config::compact(f64::from(reference))
        );
        return Err(diverged(config, epoch, at.step, rate, &what));
    }
    Ok(())
}

fn diverged(config: &TrainConfig, epoch: usize, step: usize, rate: f64, what: &str) -> TrainError {
    TrainError::Diverged {
        epoch,
        step,
        rate,
        what: what.to_string(),
        advice: config.optimizer.suspect(),
        resumable: None,
    }
}
