//! The training loop: mini-batch gradient descent, with Burn's autodiff computing the gradient
//! of the cost by backpropagation. No gradient is written by hand here (`gradcheck` does that, to
//! check this).

use std::time::Instant;

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use data::{MnistBatcher, MnistDataset, SplitMix64};
use model::predict::count_correct;
use model::{Backend, Cost, Mlp, Predictor, Score};
use serde::Serialize;

use crate::cli::Plan;
use crate::config::{OptimizerConfig, TrainConfig};
use crate::TrainError;

/// The images a run uses: training, validation (held out of training) and test.
#[derive(Debug, Clone)]
pub struct Splits {
    pub train: MnistDataset,
    pub validation: MnistDataset,
    pub test: MnistDataset,
}

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    /// Mean cost over the epoch's training batches, as they were seen.
    pub train_loss: f64,
    /// Fraction of training images classified right, by the network at the time of each batch.
    pub train_accuracy: f64,
    pub validation_loss: f64,
    pub validation_accuracy: f64,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// Wall time of the epoch's training steps (validation excluded).
    pub seconds: f64,
}

impl EpochMetrics {
    /// The epoch as one line of progress: `epoch   3/30  loss 0.0123  train  97.10% ...`.
    pub fn line(&self, epochs: usize) -> String {
        format!(
            "epoch {:>3}/{epochs}  loss {:.4}  train {:6.2}%  validation {:6.2}%  lr {:.4}  {:.2} s",
            self.epoch,
            self.train_loss,
            100.0 * self.train_accuracy,
            100.0 * self.validation_accuracy,
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
}

/// Shows nothing: for `--quiet`, tests and the bench.
pub struct Silent;

impl Observer for Silent {}

/// The trained network and its history.
#[derive(Debug)]
pub struct Fitted {
    /// The network after the last epoch, on the plain (non-autodiff) device.
    pub network: Mlp,
    pub history: Vec<EpochMetrics>,
    /// Wall time of the whole fit, validation included.
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
    let batches = MnistBatcher
        .in_order(dataset, Mlp::EVAL_BATCH, predictor.device())
        .map(|b| (b.images, b.labels, b.targets));
    Ok(predictor.score(batches)?)
}

/// What an epoch's steps left behind: each batch's mean cost, outputs and labels, still on the
/// device, so that a step adds no work (and a GPU no stall) to report them.
struct EpochTrace {
    losses: Vec<Tensor<1>>,
    outputs: Vec<Tensor<2>>,
    labels: Vec<Tensor<1, Int>>,
}

impl EpochTrace {
    fn with_capacity(steps: usize) -> Self {
        EpochTrace {
            losses: Vec::with_capacity(steps),
            outputs: Vec::with_capacity(steps),
            labels: Vec::with_capacity(steps),
        }
    }

    /// The epoch's mean training cost and accuracy, read back once. `order` and `batch_size`
    /// give each batch's size: a batch's mean cost counts by its images (only the last batch
    /// can be smaller).
    fn reduce(self, order: &[usize], batch_size: usize) -> Result<(f64, f64), TrainError> {
        let n = order.len() as f64;
        let batch_losses: Vec<f32> = Tensor::cat(self.losses, 0)
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .map_err(TrainError::Readback)?;
        let loss = batch_losses
            .iter()
            .zip(order.chunks(batch_size))
            .map(|(&l, chunk)| f64::from(l) * chunk.len() as f64)
            .sum::<f64>()
            / n;
        let hits = count_correct(Tensor::cat(self.outputs, 0), Tensor::cat(self.labels, 0));
        Ok((loss, hits.into_scalar::<i64>() as f64 / n))
    }
}

/// Trains the network `config` describes on `splits.train` on `backend`, validating after each
/// epoch.
pub fn fit(
    config: &TrainConfig,
    splits: &Splits,
    backend: Backend,
    observer: &mut dyn Observer,
) -> Result<Fitted, TrainError> {
    let device = &backend.device()?;
    if splits.train.is_empty() {
        return Err(TrainError::EmptyDataset("training set"));
    }
    let started = Instant::now();
    let ad_device = device.clone().autodiff();
    ad_device.seed(config.seed);
    let mut network = config.model.init(&ad_device);
    let mut optim = optimizer(&config.optimizer);
    let base_rate = config.optimizer.learning_rate();

    let n = splits.train.len();
    let steps_per_epoch = n.div_ceil(config.batch_size);
    let total_steps = steps_per_epoch * config.epochs;
    let mut order: Vec<usize> = (0..n).collect();
    // A stream of its own, so that the batch order does not depend on the validation split.
    let mut rng = SplitMix64::new(config.seed ^ 0x0BA7_C4E5);
    let mut step = 0;
    let mut history = Vec::with_capacity(config.epochs);
    let steps_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads())
        .build()
        .map_err(TrainError::Threads)?;

    for epoch in 1..=config.epochs {
        observer.epoch_started(epoch, steps_per_epoch);
        let epoch_start = Instant::now();
        rng.shuffle(&mut order);
        let mut trace = EpochTrace::with_capacity(steps_per_epoch);
        let mut rate = base_rate;
        // The steps run on a thread of a rayon pool of their own. The CPU backends split large
        // operations with rayon; called from inside the pool, a split runs one half in place and
        // lends the other to a sibling, where called from outside, every operation waits for a
        // pool thread to wake (what that gains: BENCHMARKS.md).
        network = steps_pool.install(|| {
            let mut network = network;
            for chunk in order.chunks(config.batch_size) {
                rate = config.schedule.as_ref().map_or(base_rate, |s| {
                    s.rate(base_rate, step, steps_per_epoch, total_steps)
                });
                let batch = MnistBatcher.batch_indices(&splits.train, chunk, &ad_device);
                let z = network.forward(batch.images);
                let loss = config
                    .cost
                    .loss(z.clone(), batch.labels.clone(), batch.targets);
                trace.losses.push(loss.clone().inner());
                trace.outputs.push(z.inner());
                trace.labels.push(batch.labels.inner());
                let grads = GradientsParams::from_grads(loss.backward(), &network);
                network = optim.step(rate, network, grads);
                step += 1;
                observer.batch_done();
            }
            network
        });
        let (train_loss, train_accuracy) = trace.reduce(&order, config.batch_size)?;
        let seconds = epoch_start.elapsed().as_secs_f64();
        if !train_loss.is_finite() {
            return Err(TrainError::Diverged { epoch, rate });
        }
        let (validation_loss, validation_accuracy) = if splits.validation.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            let score = evaluate(&network.valid(), config.cost, &splits.validation, backend)?;
            (score.loss, score.accuracy)
        };
        let metrics = EpochMetrics {
            epoch,
            train_loss,
            train_accuracy,
            validation_loss,
            validation_accuracy,
            learning_rate: rate,
            seconds,
        };
        observer.epoch_done(&metrics);
        history.push(metrics);
    }
    Ok(Fitted {
        network: network.valid(),
        history,
        seconds: started.elapsed().as_secs_f64(),
    })
}
