//! The `train` command as a library: its arguments, the run it makes, and the files it
//! writes. It returns what happened ([`Plan`] to an [`Observer`], then [`Trained`]); the binary
//! prints.

use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use data::Mnist;
use model::run::{RunWriter, CONFIG_FILE, METRICS_FILE, REPORT_FILE};
use model::{Backend, Score};
use serde::Serialize;

use crate::config::default_out_dir;
use crate::trainer::{evaluate, fit, EpochMetrics, Fitted, Observer, Splits};
use crate::{TrainConfig, TrainError};

/// Train the digits network on MNIST, as a TOML config describes.
#[derive(Debug, Clone, Parser)]
#[command(name = "train", version)]
pub struct Args {
    /// The training config (see configs/mlp.toml for every key, explained).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// Where to write the run [default: artifacts/NAME, for a config file NAME.toml].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Override the config's number of epochs.
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,

    /// Override the config's seed.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// Backend to run on: flex, ndarray, wgpu or cuda (must be compiled in) [default: the
    /// config's `backend`, else the first compiled in].
    #[arg(long, value_name = "NAME", alias = "device")]
    pub backend: Option<Backend>,

    /// Override the config's data directory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// One plain line per epoch even on a terminal (no progress bar).
    #[arg(long)]
    pub plain: bool,

    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The `report.json` of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Fraction of the test images classified right, in 0..1.
    pub test_accuracy: f64,
    pub test_loss: f64,
    /// Test images classified right.
    pub test_correct: usize,
    pub epochs: usize,
    /// Wall time of training, per-epoch validation included.
    pub train_seconds: f64,
    /// Mean wall time of an epoch's training steps.
    pub seconds_per_epoch: f64,
    /// The backend the run actually used.
    pub backend: String,
    pub final_validation_accuracy: f64,
    pub best_validation_accuracy: f64,
    pub best_validation_epoch: usize,
    pub parameters: usize,
    pub layers: Vec<usize>,
    pub train_images: usize,
    pub validation_images: usize,
    pub test_images: usize,
    pub seed: u64,
}

/// What a run is about to do, known once its config is resolved and its data loaded: what
/// observers show before the first epoch.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The network's shape, `784-128-10`.
    pub shape: String,
    pub activation: &'static str,
    pub cost: &'static str,
    /// The optimizer in short: `sgd η=3`.
    pub optimizer: String,
    pub batch_size: usize,
    pub epochs: usize,
    pub seed: u64,
    pub train_images: usize,
    pub validation_images: usize,
    pub test_images: usize,
    pub data_dir: PathBuf,
    pub load_seconds: f64,
    pub backend: Backend,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "train: {} network, {} hidden units, {} cost, {}, batch {}, {}, seed {}",
            self.shape,
            self.activation,
            self.cost,
            self.optimizer,
            self.batch_size,
            epochs(self.epochs),
            self.seed
        )?;
        writeln!(
            f,
            "data: {} training, {} validation, {} test images from {} (loaded in {:.2} s)",
            self.train_images,
            self.validation_images,
            self.test_images,
            self.data_dir.display(),
            self.load_seconds
        )?;
        write!(f, "backend: {}", self.backend)
    }
}

/// A finished run: where it was written, its report and its history. Displayed, it is the
/// closing lines `train` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Trained {
    pub out_dir: PathBuf,
    pub report: Report,
    pub history: Vec<EpochMetrics>,
}

impl fmt::Display for Trained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.report;
        writeln!(
            f,
            "test accuracy {:.2}% ({} of {} images) after {} in {:.1} s ({:.2} s per epoch)",
            100.0 * r.test_accuracy,
            r.test_correct,
            r.test_images,
            epochs(r.epochs),
            r.train_seconds,
            r.seconds_per_epoch
        )?;
        write!(f, "wrote {}", self.out_dir.display())
    }
}

/// `1 epoch`, `30 epochs`.
fn epochs(n: usize) -> String {
    format!("{n} epoch{}", if n == 1 { "" } else { "s" })
}

fn metrics_csv(history: &[EpochMetrics]) -> String {
    let mut csv = String::from(
        "epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,learning_rate,seconds\n",
    );
    for m in history {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{}",
            m.epoch,
            m.train_loss,
            m.train_accuracy,
            m.validation_loss,
            m.validation_accuracy,
            m.learning_rate,
            m.seconds
        );
    }
    csv
}

/// Applies the command line to the config read from `--config`.
pub fn resolve_config(args: &Args) -> Result<TrainConfig, TrainError> {
    let mut config = TrainConfig::load(&args.config)?;
    if let Some(epochs) = args.epochs {
        config.epochs = epochs;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if args.backend.is_some() {
        config.backend = args.backend;
    }
    config.validate(&args.config)?;
    // Absolute, so that the saved config finds the data from anywhere.
    if let Ok(abs) = std::path::absolute(&config.data_dir) {
        config.data_dir = abs;
    }
    Ok(config)
}

/// Runs `train`: trains as the config says, evaluates on the test set, writes the run.
/// `observer` is told of progress; nothing is printed here.
pub fn run(args: Args, observer: &mut dyn Observer) -> Result<Trained, TrainError> {
    let mut config = resolve_config(&args)?;
    let backend = Backend::resolve(config.backend)?;
    config.backend = Some(backend);
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(&args.config));
    // Claim the output first: a bad --out fails before minutes of training.
    let writer = RunWriter::create(&out_dir)?;
    writer.write(CONFIG_FILE, config.to_toml()?)?;

    let load_start = Instant::now();
    let splits = load_splits(&config)?;
    observer.started(&Plan {
        shape: config.model.shape(),
        activation: config.model.activation.name(),
        cost: config.cost.name(),
        optimizer: config.optimizer.describe(),
        batch_size: config.batch_size,
        epochs: config.epochs,
        seed: config.seed,
        train_images: splits.train.len(),
        validation_images: splits.validation.len(),
        test_images: splits.test.len(),
        data_dir: config.data_dir.clone(),
        load_seconds: load_start.elapsed().as_secs_f64(),
        backend,
    });

    let fitted = fit(&config, &splits, backend, observer)?;
    let test = evaluate(&fitted.network, config.cost, &splits.test, backend)?;
    let report = Report::new(&config, &splits, &fitted, test, backend);
    writer.write_network(&fitted.network)?;
    writer.write(METRICS_FILE, metrics_csv(&fitted.history))?;
    let json = serde_json::to_string_pretty(&report).map_err(TrainError::EncodeReport)?;
    writer.write(REPORT_FILE, json + "\n")?;
    let out_dir = writer.commit()?;
    Ok(Trained {
        out_dir,
        report,
        history: fitted.history,
    })
}

/// The config's training, validation and test images.
fn load_splits(config: &TrainConfig) -> Result<Splits, TrainError> {
    let mnist = Mnist::load(&config.data_dir)?;
    let (train, validation) = if config.validation == 0 {
        (mnist.train.clone(), mnist.train.head(0))
    } else {
        mnist
            .train
            .split_validation(config.validation, config.seed)?
    };
    if mnist.test.is_empty() {
        return Err(TrainError::EmptyDataset("test set"));
    }
    Ok(Splits {
        train,
        validation,
        test: mnist.test,
    })
}

impl Report {
    fn new(
        config: &TrainConfig,
        splits: &Splits,
        fitted: &Fitted,
        test: Score,
        backend: Backend,
    ) -> Report {
        let best = fitted
            .history
            .iter()
            .max_by(|a, b| a.validation_accuracy.total_cmp(&b.validation_accuracy));
        let last = fitted.history.last();
        Report {
            test_accuracy: test.accuracy,
            test_loss: test.loss,
            test_correct: test.correct,
            epochs: config.epochs,
            train_seconds: fitted.seconds,
            seconds_per_epoch: fitted.history.iter().map(|m| m.seconds).sum::<f64>()
                / fitted.history.len().max(1) as f64,
            backend: backend.name().to_string(),
            final_validation_accuracy: last.map_or(f64::NAN, |m| m.validation_accuracy),
            best_validation_accuracy: best.map_or(f64::NAN, |m| m.validation_accuracy),
            best_validation_epoch: best.map_or(0, |m| m.epoch),
            parameters: burn::module::Module::num_params(&fitted.network),
            layers: config.model.sizes(),
            train_images: splits.train.len(),
            validation_images: splits.validation.len(),
            test_images: splits.test.len(),
            seed: config.seed,
        }
    }
}
