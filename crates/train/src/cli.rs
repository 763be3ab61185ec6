//! The `train` command: arguments, progress display, and the run's files.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use data::Mnist;
use model::run::{RunWriter, CONFIG_FILE, METRICS_FILE, REPORT_FILE};
use model::Backend;
use serde::Serialize;

use crate::config::default_out_dir;
use crate::trainer::{evaluate, fit, EpochMetrics, Observer, Splits};
use crate::{TrainConfig, TrainError};

/// Train the digits network on MNIST, as a TOML config describes.
#[derive(Debug, Clone, Parser)]
#[command(name = "train", version)]
pub struct Args {
    /// The training config (see configs/mlp.toml for every key, explained).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// Where to write the run [default: artifacts/<config file stem>].
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

/// How a finished run went: what `run` wrote and measured.
#[derive(Debug, Clone)]
pub struct Summary {
    pub out_dir: PathBuf,
    pub report: Report,
    pub history: Vec<EpochMetrics>,
}

/// Progress on a terminal: a bar redrawn in place during each epoch, then the epoch's line.
struct Bar {
    epochs: usize,
    epoch: usize,
    batches: usize,
    done: usize,
    started: Instant,
}

impl Bar {
    const WIDTH: usize = 30;

    fn draw(&self) {
        let filled = Self::WIDTH * self.done / self.batches.max(1);
        let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        print!(
            "\r\x1b[2Kepoch {:>3}/{} [{}{}] {}/{} batches, {:.0}/s",
            self.epoch,
            self.epochs,
            "=".repeat(filled),
            " ".repeat(Self::WIDTH - filled),
            self.done,
            self.batches,
            rate
        );
        let _ = std::io::stdout().flush();
    }
}

impl Observer for Bar {
    fn epoch_started(&mut self, epoch: usize, batches: usize) {
        (self.epoch, self.batches, self.done) = (epoch, batches, 0);
        self.started = Instant::now();
        self.draw();
    }

    fn batch_done(&mut self) {
        self.done += 1;
        // Redraw about a hundred times an epoch, not after every batch.
        if self.done % (self.batches / 100).max(1) == 0 {
            self.draw();
        }
    }

    fn epoch_done(&mut self, m: &EpochMetrics) {
        println!("\r\x1b[2K{}", epoch_line(m, self.epochs));
    }
}

/// Progress in a log: one line per epoch.
struct Lines {
    epochs: usize,
}

impl Observer for Lines {
    fn epoch_done(&mut self, m: &EpochMetrics) {
        println!("{}", epoch_line(m, self.epochs));
    }
}

struct Quiet;

impl Observer for Quiet {}

fn epoch_line(m: &EpochMetrics, epochs: usize) -> String {
    format!(
        "epoch {:>3}/{epochs}  loss {:.4}  train {:6.2}%  validation {:6.2}%  lr {:.4}  {:.2} s",
        m.epoch,
        m.train_loss,
        100.0 * m.train_accuracy,
        100.0 * m.validation_accuracy,
        m.learning_rate,
        m.seconds
    )
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
pub fn run(args: Args) -> Result<Summary, TrainError> {
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
    let mnist = Mnist::load(&config.data_dir)?;
    let (train, validation) = if config.validation == 0 {
        (mnist.train.clone(), mnist.train.head(0))
    } else {
        mnist
            .train
            .split_validation(config.validation, config.seed)?
    };
    let splits = Splits {
        train,
        validation,
        test: mnist.test,
    };
    if splits.test.is_empty() {
        return Err(TrainError::EmptyDataset("test set"));
    }

    let say = !args.quiet;
    if say {
        let layers: Vec<String> = config.model.sizes().iter().map(|s| s.to_string()).collect();
        println!(
            "train: {} network, {} hidden units, {} cost, {}, batch {}, {}, seed {}",
            layers.join("-"),
            config.model.activation.name(),
            config.cost.name(),
            config.optimizer.describe(),
            config.batch_size,
            epochs(config.epochs),
            config.seed
        );
        println!(
            "data: {} training, {} validation, {} test images from {} (loaded in {:.2} s)",
            splits.train.len(),
            splits.validation.len(),
            splits.test.len(),
            config.data_dir.display(),
            load_start.elapsed().as_secs_f64()
        );
        println!("backend: {backend}");
    }

    let mut observer: Box<dyn Observer> = if args.quiet {
        Box::new(Quiet)
    } else if std::io::stdout().is_terminal() && !args.plain {
        Box::new(Bar {
            epochs: config.epochs,
            epoch: 0,
            batches: 0,
            done: 0,
            started: Instant::now(),
        })
    } else {
        Box::new(Lines {
            epochs: config.epochs,
        })
    };
    let fitted = fit(&config, &splits, backend, observer.as_mut())?;
    let test = evaluate(&fitted.network, config.cost, &splits.test, backend)?;

    let best = fitted
        .history
        .iter()
        .max_by(|a, b| a.validation_accuracy.total_cmp(&b.validation_accuracy));
    let last = fitted.history.last();
    let report = Report {
        test_accuracy: test.accuracy,
        test_loss: test.loss,
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
    };
    writer.write_network(&fitted.network)?;
    writer.write(METRICS_FILE, metrics_csv(&fitted.history))?;
    let json =
        serde_json::to_string_pretty(&report).map_err(|e| TrainError::Encode(e.to_string()))?;
    writer.write(REPORT_FILE, json + "\n")?;
    let out_dir = writer.commit()?;
    if say {
        println!(
            "test accuracy {:.2}% ({} of {} images) after {} in {:.1} s ({:.2} s per epoch)",
            100.0 * test.accuracy,
            (test.accuracy * splits.test.len() as f64).round(),
            splits.test.len(),
            epochs(config.epochs),
            fitted.seconds,
            report.seconds_per_epoch
        );
        println!("wrote {}", out_dir.display());
    }
    Ok(Summary {
        out_dir,
        report,
        history: fitted.history,
    })
}
