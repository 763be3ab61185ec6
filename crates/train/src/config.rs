//! The training config: a TOML file, parsed strictly (an unknown key is an error naming it) and
//! validated before any work starts.

use std::io::Read;
use std::path::{Path, PathBuf};

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{ModuleOptimizer, SgdConfig};
use model::FusedAdam;

use model::{Backend, Cost, MlpConfig};
use serde::{Deserialize, Serialize};

use crate::number::compact;
use crate::TrainError;

/// A value that parses but cannot be used: the key (dotted for tables) and what is wrong, or
/// the network or class list that another crate refused.
enum Invalid {
    Value { key: &'static str, message: String },
    Model(Box<model::ModelError>),
    Classes(data::DataError),
}

impl Invalid {
    fn new(key: &'static str, message: impl Into<String>) -> Self {
        Invalid::Value {
            key,
            message: message.into(),
        }
    }
}

fn default_seed() -> u64 {
    1
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

fn default_validation() -> usize {
    5_000
}

/// Everything a training run needs, as read from `configs/*.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Directory of the four MNIST files, relative to the config file or absolute.
    pub data_dir: PathBuf,
    /// Backend to run on (`flex`, `ndarray`, `wgpu`, `cuda`); the build's default if absent.
    /// (Runs written before the key was named `backend` call it `device`; both are read.)
    #[serde(default, alias = "device", skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// Seed of everything random: initial weights, validation split, batch order.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Passes over the training images.
    pub epochs: usize,
    /// Images per gradient-descent step.
    pub batch_size: usize,
    /// Training images held out to measure generalisation during training.
    #[serde(default = "default_validation")]
    pub validation: usize,
    /// Only these classes of the data, relabelled 0..k−1 in this order (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<u8>>,
    /// Train on this many images of each class, chosen from the seed (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_class: Option<usize>,
    /// The names of the network's outputs, in order: written by `train` into a run's config
    /// when the data's classes are not the ten digits in order. Given, it must match the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    /// CPU threads for the training steps on the CPU backends; absent: see [`TrainConfig::threads`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// Each step's batch computed in this many parts side by side, their gradients combined
    /// as the batch's (1, the default: whole). More cores busy on CPU backends; the bits depend
    /// on it, not on the threads that run the parts (see `parts.rs`).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub batch_parts: usize,
    /// The cost minimised: `quadratic` or `cross_entropy`.
    pub cost: Cost,
    /// The network.
    pub model: MlpConfig,
    /// How parameters move along the gradient.
    pub optimizer: OptimizerConfig,
    /// How the learning rate changes during training (constant if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Which epoch's weights the run keeps: the `last` (default) or the `best` on validation.
    #[serde(default)]
    pub keep: Keep,
    /// Keep the checkpoint of every N-th epoch in the finished run (0, the default: keep none;
    /// an unfinished run always has its newest).
    #[serde(default)]
    pub keep_checkpoint_every: usize,
    /// Distortions of the training images, drawn afresh every epoch (none if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub augment: Option<Augment>,
    /// Start from another run's network instead of a random one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<InitConfig>,
    /// Whether the config file set `[model] outputs` itself; if not, it follows the data's
    /// number of classes.
    #[serde(skip)]
    pub outputs_given: bool,
}

fn default_elastic_sigma() -> f64 {
    4.0
}

/// The `[augment]` table: how to distort each training image, afresh every epoch (see
/// [`data::augment`]). Every range is ± around no change; validation and test images are never
/// distorted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Augment {
    /// Rotation, degrees (±).
    #[serde(default)]
    pub rotation: f64,
    /// Scaling of each axis, a fraction (±).
    #[serde(default)]
    pub scale: f64,
    /// Shear, degrees (±).
    #[serde(default)]
    pub shear: f64,
    /// Translation of each axis, pixels (±).
    #[serde(default)]
    pub translate: f64,
    /// Elastic distortion's strength α, pixels (Simard: 34; 0 for none).
    #[serde(default)]
    pub elastic_alpha: f64,
    /// Elastic distortion's smoothness σ, pixels (Simard: 4).
    #[serde(default = "default_elastic_sigma")]
    pub elastic_sigma: f64,
}

impl Augment {
    /// The distortion `data` draws from.
    pub fn distortion(&self) -> data::augment::Distortion {
        data::augment::Distortion {
            rotation: self.rotation as f32,
            scale: self.scale as f32,
            shear: self.shear as f32,
            translate: self.translate as f32,
            elastic_alpha: self.elastic_alpha as f32,
            elastic_sigma: self.elastic_sigma as f32,
        }
    }

    /// Checks each range: a number, and one that leaves a digit in the picture.
    fn check(&self) -> Result<(), Invalid> {
        let ranges: [(&'static str, f64, f64, &str); 6] = [
            ("augment.rotation", self.rotation, 180.0, "degrees"),
            ("augment.scale", self.scale, 0.9, "(a fraction of the size)"),
            ("augment.shear", self.shear, 60.0, "degrees"),
            ("augment.translate", self.translate, 14.0, "pixels"),
            ("augment.elastic_alpha", self.elastic_alpha, 200.0, "pixels"),
            ("augment.elastic_sigma", self.elastic_sigma, 14.0, "pixels"),
        ];
        for (key, value, most, unit) in ranges {
            if !(value.is_finite() && (0.0..=most).contains(&value)) {
                return Err(Invalid::new(
                    key,
                    format!("is {value}; it must be from 0 to {most} {unit}"),
                ));
            }
        }
        if self.elastic_alpha > 0.0 && self.elastic_sigma < 0.5 {
            return Err(Invalid::new(
                "augment.elastic_sigma",
                format!(
                    "is {}; elastic distortion needs a smooth field, σ of at least 0.5 pixels \
                     (Simard's is 4)",
                    self.elastic_sigma
                ),
            ));
        }
        Ok(())
    }

    /// A short description for the progress header.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (name, value, unit) in [
            ("rotation", self.rotation, "°"),
            ("scale", self.scale * 100.0, "%"),
            ("shear", self.shear, "°"),
            ("translate", self.translate, " px"),
        ] {
            if value > 0.0 {
                parts.push(format!("{name} ±{}{unit}", compact(value)));
            }
        }
        if self.elastic_alpha > 0.0 {
            parts.push(format!(
                "elastic α={} σ={}",
                compact(self.elastic_alpha),
                compact(self.elastic_sigma)
            ));
        }
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// Which weights a run keeps: `run` owns it, since the report records it.
pub use run::Keep;

/// Most epochs a config may ask for: far beyond any useful run, far below what would overflow
/// a step count or exhaust memory for the history.
pub(crate) const MAX_EPOCHS: usize = 1_000_000;
/// Largest config file read: a config is a few hundred bytes.
pub(crate) const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The optimizer: the `[optimizer]` table, whose `kind` picks the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Stochastic gradient descent: w ← w − η·∇C, with optional momentum.
    Sgd {
        learning_rate: f64,
        /// Momentum μ in [0, 1): v ← μ·v + ∇C, w ← w − η·v (0: plain SGD).
        #[serde(default)]
        momentum: f64,
        /// Nesterov's look-ahead variant of momentum.
        #[serde(default)]
        nesterov: bool,
        /// L2 penalty λ added to each weight's gradient as λ·w (0: none).
        #[serde(default)]
        weight_decay: f64,
    },
    /// Adam (Kingma and Ba, 2015): per-parameter steps from running moments of the gradient.
    Adam {
        learning_rate: f64,
        #[serde(default = "default_beta1")]
        beta1: f64,
        #[serde(default = "default_beta2")]
        beta2: f64,
        #[serde(default = "default_epsilon")]
        epsilon: f64,
        #[serde(default)]
        weight_decay: f64,
    },
}

fn default_beta1() -> f64 {
    0.9
}

fn default_beta2() -> f64 {
    0.999
}

fn default_epsilon() -> f64 {
    1e-8
}

impl OptimizerConfig {
    /// The starting learning rate η.
    pub fn learning_rate(&self) -> f64 {
        match self {
            OptimizerConfig::Sgd { learning_rate, .. }
            | OptimizerConfig::Adam { learning_rate, .. } => *learning_rate,
        }
    }

    /// Sets η (`--learning-rate`).
    pub fn set_learning_rate(&mut self, rate: f64) {
        match self {
            OptimizerConfig::Sgd { learning_rate, .. }
            | OptimizerConfig::Adam { learning_rate, .. } => *learning_rate = rate,
        }
    }

    /// The optimizer, as Burn builds it; Adam's update fused into one pass per parameter on a
    /// `cpu` backend (the same bits: `model::FusedAdam`).
    pub fn init(&self, cpu: bool) -> ModuleOptimizer {
        let decay = |w: f64| (w > 0.0).then(|| WeightDecayConfig::new(w as f32));
        match *self {
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
            } => ModuleOptimizer::from(FusedAdam::new(
                beta1 as f32,
                beta2 as f32,
                epsilon as f32,
                weight_decay,
                cpu,
            )),
        }
    }

    /// Copies of the parameters the optimizer keeps between steps.
    pub fn state_copies(&self) -> usize {
        match *self {
            OptimizerConfig::Sgd { momentum, .. } => usize::from(momentum > 0.0),
            OptimizerConfig::Adam { .. } => 2,
        }
    }

    /// The starting learning rate η and the weight decay λ.
    fn rate_and_decay(&self) -> (f64, f64) {
        match *self {
            OptimizerConfig::Sgd {
                learning_rate,
                weight_decay,
                ..
            }
            | OptimizerConfig::Adam {
                learning_rate,
                weight_decay,
                ..
            } => (learning_rate, weight_decay),
        }
    }

    /// What most likely made a run diverge or not learn, and what to change, judged from the
    /// optimizer's settings.
    pub fn suspect(&self) -> String {
        let (rate, decay) = self.rate_and_decay();
        if rate * decay >= 0.5 {
            let (rate, decay, product) = (compact(rate), compact(decay), compact(rate * decay));
            return format!(
                "`optimizer.weight_decay` = {decay} is far too large for η = {rate}: each step \
                 shrinks the weights by η·λ = {product} of themselves; lower it (1e-4 is typical)"
            );
        }
        let rate = compact(rate);
        match self {
            OptimizerConfig::Sgd { learning_rate, .. } if *learning_rate > 10.0 => format!(
                "`optimizer.learning_rate` = {rate} is too large: lower it (the classic network \
                 learns at 3.0)"
            ),
            OptimizerConfig::Adam { learning_rate, .. } if *learning_rate > 0.01 => format!(
                "`optimizer.learning_rate` = {rate} is too large for Adam: lower it (1e-3 is \
                 typical)"
            ),
            _ => format!(
                "lower `optimizer.learning_rate` (now {rate}), or check `[model] init` and the \
                 data"
            ),
        }
    }

    /// Checks the values parsing alone accepts: rates, momentum, betas, decay.
    fn check(&self) -> Result<(), Invalid> {
        let (rate, decay) = match *self {
            OptimizerConfig::Sgd {
                learning_rate,
                momentum,
                weight_decay,
                ..
            } => {
                if !(0.0..1.0).contains(&momentum) {
                    return Err(Invalid::new(
                        "optimizer.momentum",
                        format!("is {momentum}; it must be in [0, 1)"),
                    ));
                }
                (learning_rate, weight_decay)
            }
            OptimizerConfig::Adam {
                learning_rate,
                beta1,
                beta2,
                epsilon,
                weight_decay,
            } => {
                for (key, beta) in [("optimizer.beta1", beta1), ("optimizer.beta2", beta2)] {
                    if !(0.0..1.0).contains(&beta) {
                        return Err(Invalid::new(
                            key,
                            format!("is {beta}; it must be in [0, 1)"),
                        ));
                    }
                }
                if !(epsilon.is_finite() && epsilon > 0.0) {
                    return Err(Invalid::new(
                        "optimizer.epsilon",
                        format!("is {epsilon}; it must be positive"),
                    ));
                }
                (learning_rate, weight_decay)
            }
        };
        if !(rate.is_finite() && rate > 0.0) {
            return Err(Invalid::new(
                "optimizer.learning_rate",
                format!("is {rate}; it must be a positive number"),
            ));
        }
        if !(decay.is_finite() && decay >= 0.0) {
            return Err(Invalid::new(
                "optimizer.weight_decay",
                format!("is {decay}; it must be 0 or more"),
            ));
        }
        Ok(())
    }

    /// A short description for the progress header: `sgd η=3`.
    pub fn describe(&self) -> String {
        match self {
            OptimizerConfig::Sgd {
                learning_rate,
                momentum,
                ..
            } if *momentum > 0.0 => format!("sgd η={learning_rate} momentum={momentum}"),
            OptimizerConfig::Sgd { learning_rate, .. } => format!("sgd η={learning_rate}"),
            OptimizerConfig::Adam { learning_rate, .. } => format!("adam η={learning_rate}"),
        }
    }
}

/// A learning-rate schedule: the `[schedule]` table, whose `kind` picks the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// Multiply the rate by `gamma` after every `every_epochs` epochs.
    Step { every_epochs: usize, gamma: f64 },
    /// Decay the rate along half a cosine, step by step, from η to `min_learning_rate` at the
    /// end of the last epoch.
    Cosine {
        #[serde(default)]
        min_learning_rate: f64,
    },
}

impl Schedule {
    /// Checks the schedule's values against the optimizer's starting rate `rate`.
    fn check(&self, rate: f64) -> Result<(), Invalid> {
        match *self {
            Schedule::Step {
                every_epochs,
                gamma,
            } => {
                if every_epochs == 0 {
                    return Err(Invalid::new("schedule.every_epochs", "must be at least 1"));
                }
                if !(gamma > 0.0 && gamma <= 1.0) {
                    return Err(Invalid::new(
                        "schedule.gamma",
                        format!("is {gamma}; it must be in (0, 1]"),
                    ));
                }
            }
            Schedule::Cosine { min_learning_rate } => {
                if !(min_learning_rate >= 0.0 && min_learning_rate < rate) {
                    return Err(Invalid::new(
                        "schedule.min_learning_rate",
                        format!(
                            "is {min_learning_rate}; it must be in [0, learning_rate = {rate})"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The learning rate at `step` (0-based) of `total` steps, `steps_per_epoch` to an epoch,
    /// starting from `base`.
    pub fn rate(&self, base: f64, step: usize, steps_per_epoch: usize, total: usize) -> f64 {
        match *self {
            Schedule::Step {
                every_epochs,
                gamma,
            } => {
                let epoch = step / steps_per_epoch.max(1);
                base * gamma.powi((epoch / every_epochs.max(1)) as i32)
            }
            Schedule::Cosine { min_learning_rate } => {
                let progress = step as f64 / total.max(1) as f64;
                min_learning_rate
                    + (base - min_learning_rate)
                        * 0.5
                        * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

impl TrainConfig {
    /// The name of each of the network's outputs: `class_names`, else the outputs' indices
    /// (for MNIST, the digits), as `infer` names them (`run::RunSpec::class_names`).
    pub fn names(&self) -> Vec<String> {
        match &self.class_names {
            Some(names) => names.clone(),
            None => (0..self.model.outputs).map(|c| c.to_string()).collect(),
        }
    }

    /// The learning rate of step `step` (0-based, counted over the whole run), with
    /// `steps_per_epoch` steps to an epoch: the optimizer's η, through the `schedule` if any.
    pub fn rate_at(&self, step: usize, steps_per_epoch: usize) -> f64 {
        let base = self.optimizer.learning_rate();
        let total = steps_per_epoch * self.epochs;
        self.schedule
            .as_ref()
            .map_or(base, |s| s.rate(base, step, steps_per_epoch, total))
    }

    /// The CPU threads the training steps run on: one per core, or the `threads` key if it
    /// asks for fewer (more threads than cores only wait on each other).
    pub fn threads(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.threads.map_or(cores, |t| t.min(cores))
    }

    /// Reads, parses and validates a config file, resolving `data_dir` against the file's
    /// directory.
    pub fn load(path: &Path) -> Result<TrainConfig, TrainError> {
        let read_error = |source| TrainError::ConfigRead {
            path: path.to_path_buf(),
            source,
        };
        // Bounded: `--config /dev/zero` must not read until memory runs out.
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text))
            .map_err(read_error)?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(TrainError::ConfigTooLarge {
                path: path.to_path_buf(),
                limit: MAX_CONFIG_BYTES,
            });
        }
        let mut config = TrainConfig::parse(&text, path)?;
        if config.data_dir.is_relative() {
            let base = path.parent().unwrap_or(Path::new("."));
            config.data_dir = base.join(&config.data_dir);
        }
        if let Some(init) = &mut config.init {
            crate::transfer::resolve_from(init, path);
        }
        Ok(config)
    }

    /// Parses and validates config text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<TrainConfig, TrainError> {
        let syntax = |source| TrainError::ConfigSyntax {
            path: path.to_path_buf(),
            source,
        };
        let mut config: TrainConfig = toml::from_str(text).map_err(syntax)?;
        let table: toml::Table = toml::from_str(text).map_err(syntax)?;
        config.outputs_given = table.get("model").and_then(|m| m.get("outputs")).is_some();
        config.validate(path)?;
        Ok(config)
    }

    /// Checks every value that parsing alone accepts but training cannot use.
    pub fn validate(&self, path: &Path) -> Result<(), TrainError> {
        let path = path.to_path_buf();
        self.check().map_err(|invalid| match invalid {
            Invalid::Value { key, message } => TrainError::ConfigValue {
                path,
                key: key.to_string(),
                message,
            },
            Invalid::Model(source) => TrainError::ConfigModel { path, source },
            Invalid::Classes(source) => TrainError::ConfigClasses { path, source },
        })
    }

    fn check(&self) -> Result<(), Invalid> {
        if self.batch_size == 0 {
            return Err(Invalid::new("batch_size", "must be at least 1"));
        }
        if self.epochs == 0 {
            return Err(Invalid::new("epochs", "must be at least 1"));
        }
        if self.epochs > MAX_EPOCHS {
            return Err(Invalid::new(
                "epochs",
                format!("is {}; it must be at most {MAX_EPOCHS}", self.epochs),
            ));
        }
        if self.threads == Some(0) {
            return Err(Invalid::new(
                "threads",
                "must be at least 1 (omit it for the default)",
            ));
        }
        if self.batch_parts == 0 || self.batch_parts > self.batch_size {
            return Err(Invalid::new(
                "batch_parts",
                format!(
                    "is {}; it must be between 1 (the default: the batch whole) and batch_size \
                     ({}), as each part needs an image",
                    self.batch_parts, self.batch_size
                ),
            ));
        }
        self.model
            .validate()
            .map_err(|e| Invalid::Model(Box::new(e)))?;
        if let Some(classes) = &self.classes {
            data::check_class_list(classes).map_err(Invalid::Classes)?;
        }
        if self.per_class == Some(0) {
            return Err(Invalid::new(
                "per_class",
                "is 0: a class needs at least one training image; leave the key out for all",
            ));
        }
        if let Some(init) = &self.init {
            init.check(&self.model)
                .map_err(|(key, message)| Invalid::new(key, message))?;
        }
        self.optimizer.check()?;
        if let Some(schedule) = &self.schedule {
            schedule.check(self.optimizer.learning_rate())?;
        }
        if let Some(augment) = &self.augment {
            augment.check()?;
        }
        Ok(())
    }

    /// The config as TOML, with a header saying what it is.
    pub fn to_toml(&self) -> Result<String, TrainError> {
        let body = toml::to_string_pretty(self).map_err(TrainError::EncodeConfig)?;
        Ok(format!(
            "# The resolved config of this run, written by `train`: the file it was given, with\n\
             # command-line overrides applied and data_dir (and init.from) made absolute. `infer` reads [model]\n\
             # and `cost` from it; `train --config` accepts it as it is.\n\n{body}"
        ))
    }
}

/// The `[init]` table: where a run's network starts from, and what of it stays fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitConfig {
    /// A run directory written by `train`, relative to the config file or absolute.
    pub from: PathBuf,
    /// The first `freeze` layers (input side) keep their weights and biases.
    #[serde(default)]
    pub freeze: usize,
    /// Start the output layer afresh (drawn from the seed) instead of copying it: needed when
    /// the number of classes differs from the source run's.
    #[serde(default)]
    pub reset_output: bool,
}

impl InitConfig {
    /// Checks `freeze` against the network's layers: at least one layer must train.
    pub(crate) fn check(&self, model: &MlpConfig) -> Result<(), (&'static str, String)> {
        let layers = model.sizes().len() - 1;
        if self.freeze >= layers {
            return Err((
                "init.freeze",
                format!(
                    "is {}, but the network has {layers} layer{} ({}): freezing them all would \
                     train nothing; freeze at most {}",
                    self.freeze,
                    if layers == 1 { "" } else { "s" },
                    model.shape(),
                    layers - 1
                ),
            ));
        }
        Ok(())
    }
}

/// What the command line changes in a config.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub epochs: Option<usize>,
    pub seed: Option<u64>,
    pub backend: Option<Backend>,
    pub data_dir: Option<PathBuf>,
    pub learning_rate: Option<f64>,
}

impl Overrides {
    pub(crate) fn apply(&self, config: &mut TrainConfig) {
        if let Some(epochs) = self.epochs {
            config.epochs = epochs;
        }
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        if self.backend.is_some() {
            config.backend = self.backend;
        }
        if let Some(rate) = self.learning_rate {
            config.optimizer.set_learning_rate(rate);
        }
    }
}

impl TrainConfig {
    /// Reads the config at `path`, applies the command line's overrides, and
    /// [finishes](TrainConfig::finish) it.
    pub fn resolve(path: &Path, overrides: &Overrides) -> Result<TrainConfig, TrainError> {
        let mut config = TrainConfig::load(path)?;
        overrides.apply(&mut config);
        config.finish(path)
    }

    /// The config read from `path` with the command line applied, as [`TrainConfig::resolve`]
    /// makes it, for a config already read (a checkpoint's).
    pub fn resolve_parsed(
        mut self,
        path: &Path,
        overrides: &Overrides,
    ) -> Result<TrainConfig, TrainError> {
        overrides.apply(&mut self);
        self.finish(path)
    }

    /// Validates a config with the command line applied, resolves its backend, makes its data
    /// directory (and `init.from`) absolute, so that the saved config finds them from anywhere,
    /// and settles its classes' names. `path` names the file in errors.
    pub fn finish(mut self, path: &Path) -> Result<TrainConfig, TrainError> {
        self.validate(path)?;
        self.backend = Some(Backend::resolve(self.backend)?);
        if let Ok(abs) = std::path::absolute(&self.data_dir) {
            self.data_dir = abs;
        }
        // `keep = "best"` judges epochs by validation images: held out (`validation`), or an
        // image folder's own `validation/`.
        let own_validation =
            data::is_image_folder(&self.data_dir) && self.data_dir.join("validation").is_dir();
        if self.keep == Keep::Best && self.validation == 0 && !own_validation {
            return Err(value_error(
                path,
                "keep",
                "is \"best\", which needs validation images to judge by; set `validation` \
                 above 0, give the image folder a `validation/`, or keep = \"last\"",
            ));
        }
        if let Some(init) = &mut self.init {
            if let Ok(abs) = std::path::absolute(&init.from) {
                init.from = abs;
            }
        }
        let names = self.data_class_names(path)?;
        if !self.outputs_given {
            self.model.outputs = names.len();
        }
        let names = self.given_class_names(names, path)?;
        let ten_digits = names == data::digit_names();
        match &self.class_names {
            Some(given) if *given != names => {
                let message = format!(
                    "is {given:?}, but the data's classes are {names:?}; remove the key (train \
                     writes it)"
                );
                return Err(value_error(path, "class_names", message));
            }
            _ => self.class_names = (!ten_digits).then_some(names),
        }
        Ok(self)
    }

    /// The classes the network answers with: the data's (the digits, or an image folder's),
    /// or those `classes` keeps.
    fn data_class_names(&self, path: &Path) -> Result<Vec<String>, TrainError> {
        let all = data::class_names(&self.data_dir)?;
        let Some(classes) = &self.classes else {
            return Ok(all);
        };
        data::check_classes(classes, &all).map_err(|source| TrainError::ConfigClasses {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(classes
            .iter()
            .map(|&c| all[usize::from(c)].clone())
            .collect())
    }

    /// The names a config gives classes that MNIST's files only number (Fashion-MNIST's
    /// clothes, stored in the same files), checked; else `names`. An image folder's classes are
    /// named by its folders.
    fn given_class_names(
        &self,
        names: Vec<String>,
        path: &Path,
    ) -> Result<Vec<String>, TrainError> {
        let given = match &self.class_names {
            Some(given) if !data::is_image_folder(&self.data_dir) => given,
            _ => return Ok(names),
        };
        if given.len() != names.len() {
            let message = format!(
                "names {} classes, but the network answers {} ({names:?}): give one name for \
                 each, in label order",
                given.len(),
                names.len()
            );
            return Err(value_error(path, "class_names", message));
        }
        let printable =
            |(i, n): (usize, &String)| data::check_class_name(n).is_ok() && !given[..i].contains(n);
        if let Some((_, bad)) = given.iter().enumerate().find(|&e| !printable(e)) {
            let message =
                format!("has {bad:?}: each name must be printable text, not empty, and given once");
            return Err(value_error(path, "class_names", message));
        }
        Ok(given.clone())
    }

    /// The first key (dotted for tables) whose value differs between two configs, with both
    /// values: what `--resume` reports when the command line asks for another run.
    pub fn first_difference(&self, other: &TrainConfig) -> Option<(String, String, String)> {
        let a = toml::Value::try_from(self).ok()?;
        let b = toml::Value::try_from(other).ok()?;
        first_difference("", &a, &b)
    }
}

/// A `ConfigValue` error: `key` in the config at `path` and what is wrong with its value.
fn value_error(path: &Path, key: &str, message: impl Into<String>) -> TrainError {
    TrainError::ConfigValue {
        path: path.to_path_buf(),
        key: key.into(),
        message: message.into(),
    }
}

fn first_difference(
    prefix: &str,
    a: &toml::Value,
    b: &toml::Value,
) -> Option<(String, String, String)> {
    let (toml::Value::Table(a), toml::Value::Table(b)) = (a, b) else {
        return (a != b).then(|| (prefix.to_string(), a.to_string(), b.to_string()));
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().find_map(|k| {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => first_difference(&key, x, y),
            (x, y) => {
                let show =
                    |v: Option<&toml::Value>| v.map_or("(absent)".to_string(), |v| v.to_string());
                Some((key, show(x), show(y)))
            }
        }
    })
}

/// Where to write a run when `--out` is not given: `artifacts/<config file stem>`.
pub(crate) fn default_out_dir(config_path: &Path) -> PathBuf {
    let stem = config_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    Path::new("artifacts").join(stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared minimal config (the `testkit` package's), with a relative data directory.
    fn good() -> String {
        ::testkit::minimal_config("../data/mnist", 2)
    }

    fn parse(text: &str) -> Result<TrainConfig, TrainError> {
        TrainConfig::parse(text, Path::new("configs/x.toml"))
    }

    /// The error's whole chain: a TOML or network error is the config error's cause.
    fn err(text: &str) -> String {
        model::error_chain(&parse(text).unwrap_err())
    }

    #[test]
    fn good_config_parses_with_defaults() {
        let good = good();
        let c = parse(&good).unwrap();
        assert_eq!((c.seed, c.validation, c.backend), (1, 5_000, None));
        assert_eq!(c.model.sizes(), vec![784, 30, 10]);
        assert_eq!(c.optimizer.learning_rate(), 3.0);
        // The resolved form parses back to the same config.
        assert!(!c.outputs_given, "the output count follows the data");
        let back = parse(&c.to_toml().unwrap()).unwrap();
        assert!(back.outputs_given, "a resolved config writes it");
        assert_eq!(
            TrainConfig {
                outputs_given: false,
                ..back
            },
            c
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let good = good();
        let e = err(&good.replace("epochs = 2", "epochs = 2\nepoch = 3"));
        assert!(
            e.contains("configs/x.toml") && e.contains("unknown field `epoch`"),
            "{e}"
        );
        let e = err(&good.replace("learning_rate = 3.0", "learning_rate = 3.0\nlr = 1"));
        assert!(e.contains("unknown field `lr`"), "{e}");
        let e = err(&good.replace("hidden = [30]", "hidden = [30]\nlayers = 2"));
        assert!(e.contains("unknown field `layers`"), "{e}");
    }

    #[test]
    fn wrong_values_are_named() {
        let good = good();
        let cases = [
            ("batch_size = 10", "batch_size = 0", "batch_size"),
            ("epochs = 2", "epochs = 0", "epochs"),
            (
                "learning_rate = 3.0",
                "learning_rate = -0.5",
                "optimizer.learning_rate",
            ),
            (
                "learning_rate = 3.0",
                "learning_rate = 3.0\nmomentum = 1.5",
                "optimizer.momentum",
            ),
            ("hidden = [30]", "hidden = [30, 0]", "[model]"),
            ("epochs = 2", "epochs = 2\nthreads = 0", "threads"),
            ("epochs = 2", "epochs = 2\nbatch_parts = 0", "batch_parts"),
            ("epochs = 2", "epochs = 2\nbatch_parts = 11", "batch_parts"),
        ];
        for (from, to, key) in cases {
            let e = err(&good.replace(from, to));
            assert!(e.contains(&format!("`{key}`")), "{to}: {e}");
        }
        let e = err(&good.replace("\"quadratic\"", "\"hinge\""));
        assert!(
            e.contains("hinge") && e.contains("quadratic") && e.contains("cross_entropy"),
            "{e}"
        );
        let e = err(&good.replace("\"sgd\"", "\"rmsprop\""));
        assert!(e.contains("rmsprop"), "{e}");
        let e = err(&good.replace("batch_size = 10", "batch_size = -4"));
        assert!(e.contains("batch_size"), "{e}");
    }

    #[test]
    fn backend_key_names_a_backend() {
        let good = good();
        let c = parse(&format!("backend = \"ndarray\"\n{good}")).unwrap();
        assert_eq!(c.backend, Some(Backend::Ndarray));
        // The key's old name still reads.
        let old = parse(&format!("device = \"ndarray\"\n{good}")).unwrap();
        assert_eq!(old.backend, Some(Backend::Ndarray));
        let e = err(&format!("backend = \"tpu\"\n{good}"));
        assert!(
            e.contains("tpu") && e.contains("flex") && e.contains("wgpu"),
            "{e}"
        );
    }

    #[test]
    fn threads_are_bounded_by_the_cores() {
        let good = good();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let many = parse(&format!("threads = 2000\n{good}")).unwrap();
        assert_eq!(many.threads(), cores);
        let one = parse(&format!("threads = 1\n{good}")).unwrap();
        assert_eq!(one.threads(), 1);
    }

    #[test]
    fn missing_key_is_named() {
        let good = good();
        let e = err(&good.replace("batch_size = 10\n", ""));
        assert!(e.contains("missing field `batch_size`"), "{e}");
    }

    #[test]
    fn schedule_is_checked_and_computed() {
        let good = good();
        let step = parse(&format!(
            "{good}\n[schedule]\nkind = \"step\"\nevery_epochs = 2\ngamma = 0.5\n"
        ))
        .unwrap();
        let s = step.schedule.unwrap();
        assert_eq!(s.rate(3.0, 0, 10, 100), 3.0);
        assert_eq!(s.rate(3.0, 19, 10, 100), 3.0);
        assert_eq!(s.rate(3.0, 20, 10, 100), 1.5);
        assert_eq!(s.rate(3.0, 45, 10, 100), 0.75);

        let cos = Schedule::Cosine {
            min_learning_rate: 0.1,
        };
        assert_eq!(cos.rate(1.0, 0, 10, 100), 1.0);
        assert!((cos.rate(1.0, 50, 10, 100) - 0.55).abs() < 1e-12);
        assert!((cos.rate(1.0, 100, 10, 100) - 0.1).abs() < 1e-12);

        let e = err(&format!(
            "{good}\n[schedule]\nkind = \"step\"\nevery_epochs = 0\ngamma = 0.5\n"
        ));
        assert!(e.contains("schedule.every_epochs"), "{e}");
        let e = err(&format!(
            "{good}\n[schedule]\nkind = \"cosine\"\nmin_learning_rate = 5.0\n"
        ));
        assert!(e.contains("schedule.min_learning_rate"), "{e}");
        let e = err(&format!(
            "{good}\n[schedule]\nkind = \"cosine\"\nwarmup = 1\n"
        ));
        assert!(e.contains("unknown field `warmup`"), "{e}");
    }

    #[test]
    fn classes_per_class_and_init_are_read_and_checked() {
        let good = good();
        let c = parse(&format!(
            "classes = [5, 6, 7]\nper_class = 10\n{good}\n[init]\nfrom = \"../artifacts/mlp\"\nfreeze = 1\n"
        ))
        .unwrap();
        assert_eq!(c.classes, Some(vec![5, 6, 7]));
        assert_eq!(c.per_class, Some(10));
        let init = c.init.unwrap();
        assert_eq!((init.freeze, init.reset_output), (1, false));
        let e = err(&format!("classes = [1, 1]\n{good}"));
        assert!(e.contains("`classes`") && e.contains("twice"), "{e}");
        let e = err(&format!("per_class = 0\n{good}"));
        assert!(e.contains("`per_class`"), "{e}");
        let e = err(&format!("{good}\n[init]\nfrom = \"x\"\nfreeze = 2\n"));
        assert!(
            e.contains("`init.freeze`") && e.contains("at most 1"),
            "{e}"
        );
        let e = err(&format!("{good}\n[init]\nfrom = \"x\"\nreset = true\n"));
        assert!(e.contains("unknown field `reset`"), "{e}");
    }

    #[test]
    fn init_from_is_resolved_against_the_config() {
        let good = good();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.toml");
        std::fs::write(&path, format!("{good}\n[init]\nfrom = \"runs/base\"\n")).unwrap();
        let c = TrainConfig::load(&path).unwrap();
        assert_eq!(c.init.unwrap().from, tmp.path().join("runs/base"));
    }

    #[test]
    fn every_shipped_config_is_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let mut read = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                TrainConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                read += 1;
            }
        }
        assert!(read >= 5, "{read} configs in {}", dir.display());
    }

    #[test]
    fn relative_data_dir_is_resolved_against_the_config() {
        let good = good();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.toml");
        std::fs::write(&path, &good).unwrap();
        let c = TrainConfig::load(&path).unwrap();
        assert_eq!(c.data_dir, tmp.path().join("../data/mnist"));
        assert_eq!(default_out_dir(&path), Path::new("artifacts/c"));
    }
}
