//! One measurement, made in the process that runs it (`bench child ...`), through the code
//! `train` and `infer` run: [`train::fit`] and [`train::evaluate`] for training, a
//! [`Predictor`] for inference.

use std::fmt;
use std::path::Path;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use burn::prelude::*;
use data::{ImageBatcher, ImageDataset, Mnist, Split, IMAGE_PIXELS};
use model::Predictor;
use serde::{Deserialize, Serialize};
use train::{Splits, TrainConfig};

use crate::args::{Measurement, TrainSpec};
use crate::cpu::{Busy, Whose};
use crate::network::Network;

/// One measurement's figures: each kind of measurement fills its own. A child prints it as one
/// JSON line; the peers' results are read into it too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Measured {
    /// The median training epoch, seconds.
    pub epoch_seconds: Option<f64>,
    /// Cores kept busy while training, (user + system CPU time) / wall time: ours over the
    /// epochs ([`train::fit`]), a peer's over its whole process.
    pub cores: Option<f64>,
    /// Accuracy on the 10,000 test images after the last epoch, in 0..1.
    pub test_accuracy: Option<f64>,
    /// Predicting the 10,000 test images in one batch, median, seconds.
    pub infer_batch_seconds: Option<f64>,
    /// One image in, its class and ten outputs back on the host, median, seconds.
    pub infer_one_seconds: Option<f64>,
    /// Reading and checking the four MNIST files, seconds.
    pub load_seconds: Option<f64>,
    /// One element-wise add of two [32, 128] tensors, median, seconds: the fixed cost of an op.
    pub op_seconds: Option<f64>,
    /// The same add on the autodiff device, graph recorded, median, seconds.
    pub op_autodiff_seconds: Option<f64>,
    /// Training images distorted per second by one thread (configs/best.toml's `[augment]`).
    pub distort_images_per_second: Option<f64>,
    /// The process's peak resident memory, MiB.
    pub peak_rss_mib: Option<f64>,
}

impl Measured {
    /// The best of two runs of the same measurement: each time and the memory at its lowest;
    /// the accuracy of the later run.
    pub(crate) fn best(self, later: Measured) -> Measured {
        fn min(a: Option<f64>, b: Option<f64>) -> Option<f64> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        fn max(a: Option<f64>, b: Option<f64>) -> Option<f64> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            }
        }
        // The cores of the faster run: the two figures describe one run.
        let later_faster = matches!(
            (self.epoch_seconds, later.epoch_seconds),
            (Some(a), Some(b)) if b < a
        );
        let cores = if later_faster {
            later.cores.or(self.cores)
        } else {
            self.cores.or(later.cores)
        };
        Measured {
            epoch_seconds: min(self.epoch_seconds, later.epoch_seconds),
            cores,
            test_accuracy: later.test_accuracy.or(self.test_accuracy),
            infer_batch_seconds: min(self.infer_batch_seconds, later.infer_batch_seconds),
            infer_one_seconds: min(self.infer_one_seconds, later.infer_one_seconds),
            load_seconds: min(self.load_seconds, later.load_seconds),
            op_seconds: min(self.op_seconds, later.op_seconds),
            op_autodiff_seconds: min(self.op_autodiff_seconds, later.op_autodiff_seconds),
            peak_rss_mib: min(self.peak_rss_mib, later.peak_rss_mib),
            distort_images_per_second: max(
                self.distort_images_per_second,
                later.distort_images_per_second,
            ),
        }
    }
}

impl fmt::Display for Measured {
    /// The figures present, in short, for progress lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        type Show = fn(f64) -> String;
        let figures: [(Option<f64>, Show); 10] = [
            (self.epoch_seconds, |s| format!("epoch {s:.3} s")),
            (self.cores, |c| format!("{c:.2} cores busy")),
            (self.test_accuracy, |a| {
                format!("test accuracy {:.2}%", 100.0 * a)
            }),
            (self.infer_batch_seconds, |s| {
                format!("10,000 images {:.2} ms", s * 1e3)
            }),
            (self.infer_one_seconds, |s| {
                format!("one image {:.1} µs", s * 1e6)
            }),
            (self.load_seconds, |s| format!("load {:.0} ms", s * 1e3)),
            (self.op_seconds, |s| format!("add {:.2} µs", s * 1e6)),
            (self.op_autodiff_seconds, |s| {
                format!("add on autodiff {:.2} µs", s * 1e6)
            }),
            (self.distort_images_per_second, |r| {
                format!("{r:.0} distorted images/s")
            }),
            (self.peak_rss_mib, |m| format!("peak RSS {m:.0} MiB")),
        ];
        let shown: Vec<String> = figures
            .iter()
            .filter_map(|(value, show)| value.map(show))
            .collect();
        f.write_str(&shown.join(", "))
    }
}

/// Makes `measurement` in this process.
pub(crate) fn run(measurement: &Measurement) -> Result<Measured> {
    let mut m = match measurement {
        Measurement::Train(spec) => train(spec)?,
        Measurement::Infer {
            backend,
            configs,
            data_dir,
        } => infer(*backend, configs, data_dir)?,
        Measurement::Ops { backend } => ops(*backend)?,
        Measurement::Distort { configs, data_dir } => distort(configs, data_dir)?,
        Measurement::Load { data_dir } => {
            let started = Instant::now();
            Mnist::load(data_dir)?;
            Measured {
                load_seconds: Some(started.elapsed().as_secs_f64()),
                ..Measured::default()
            }
        }
    };
    m.peak_rss_mib = peak_rss_mib();
    Ok(m)
}

/// The network's config as the bench trains it. The network, cost, optimizer, schedule and
/// seed are the file's; these are the bench's, overriding the file's.
pub(crate) fn bench_config(spec: &TrainSpec) -> Result<TrainConfig> {
    let path = spec.network.config_path(&spec.configs);
    let mut config = spec.network.config(&spec.configs)?;
    config.batch_size = spec.batch;
    config.epochs = spec.epochs;
    // All 60,000 training images, as the peers train.
    config.validation = 0;
    config.threads = spec.threads;
    if let Some(parts) = spec.batch_parts {
        config.batch_parts = parts;
    }
    config.backend = Some(spec.backend);
    config.data_dir = spec.data_dir.clone();
    config.validate(&path)?;
    Ok(config)
}

/// Trains the network for the spec's epochs; the median epoch and the test accuracy.
fn train(spec: &TrainSpec) -> Result<Measured> {
    let config = bench_config(spec)?;
    let mnist = Mnist::load(&config.data_dir)?;
    let splits = Splits {
        validation: mnist.train.head(0),
        train: mnist.train,
        test: mnist.test,
    };
    let busy = Busy::start(Whose::Own);
    let fitted = train::fit(&config, &splits, spec.backend, &mut train::Silent)?;
    let cores = busy.cores();
    let epochs: Vec<f64> = fitted.history.iter().map(|e| e.seconds).collect();
    let score = train::evaluate(&fitted.network, config.cost, &splits.test, spec.backend)?;
    Ok(Measured {
        epoch_seconds: median(&epochs),
        cores,
        test_accuracy: Some(score.accuracy),
        ..Measured::default()
    })
}

/// Times `infer`'s two paths on mlp's network (untrained: the weights do not change the
/// work): the test set's classes from one batch, as `infer` evaluates, and one image's answer,
/// as `infer --index` and `infer IMAGE` give it.
fn infer(backend: model::Backend, configs: &Path, data_dir: &Path) -> Result<Measured> {
    let config = Network::Mlp.config(configs)?;
    let device = backend.device()?;
    let network = config.model.init_seeded(config.seed, &device);
    let predictor = Predictor::new(&network, config.cost, backend)?;
    let test = ImageDataset::load(data_dir, Split::Test)?;

    let images = ImageBatcher::default()
        .in_order(&test, test.len(), predictor.device())
        .next()
        .context("the test set is empty")?
        .images;
    let mut batch_times = Vec::with_capacity(21);
    for _ in 0..21 {
        let started = Instant::now();
        let classes = predictor.classes(images.clone())?;
        batch_times.push(started.elapsed().as_secs_f64());
        ensure!(classes.len() == test.len(), "{} classes", classes.len());
    }

    let pixels = infer::dataset_pixels(&test, std::iter::once(0));
    let mut one_times = Vec::with_capacity(1001);
    for _ in 0..1001 {
        let started = Instant::now();
        let x = Tensor::<2>::from_data(
            TensorData::new(pixels.clone(), [1, IMAGE_PIXELS]),
            predictor.device(),
        );
        let answers = predictor.predict(x)?;
        one_times.push(started.elapsed().as_secs_f64());
        ensure!(
            answers.len() == 1 && answers[0].outputs.len() == 10,
            "bad answer"
        );
    }
    // The first passes warm caches (and compile kernels on a GPU): leave them out.
    Ok(Measured {
        infer_batch_seconds: median(&batch_times[1..]),
        infer_one_seconds: median(&one_times[1..]),
        ..Measured::default()
    })
}

/// Distorts every training image once, as configs/best.toml's `[augment]` says, on this one
/// thread: the rate of one of `train`'s threads when it does nothing else.
fn distort(configs: &Path, data_dir: &Path) -> Result<Measured> {
    let config = Network::Best.config(configs)?;
    let augment = config
        .augment
        .context("configs/best.toml has no [augment] table to measure")?;
    let train = ImageDataset::load(data_dir, Split::Train)?;
    let distorter = data::augment::Distorter::new(augment.distortion(), config.seed);
    let mut scratch = data::augment::Scratch::default();
    let indices: Vec<usize> = (0..train.len()).collect();
    let started = Instant::now();
    let mut ink = 0.0f64;
    for chunk in indices.chunks(128) {
        let pixels = distorter.batch(&train, chunk, 1, &mut scratch);
        // Used, so that no work is optimised away.
        ink += f64::from(pixels[pixels.len() / 2]);
    }
    let seconds = started.elapsed().as_secs_f64();
    ensure!(ink.is_finite(), "distorted pixels are not numbers");
    Ok(Measured {
        distort_images_per_second: Some(train.len() as f64 / seconds),
        ..Measured::default()
    })
}

/// The fixed cost of one small tensor operation, plain and with autodiff recording it.
fn ops(backend: model::Backend) -> Result<Measured> {
    fn time_adds(device: &Device) -> Result<Option<f64>> {
        let a = Tensor::<2>::ones([32, 128], device);
        let a = if device.is_autodiff() {
            a.require_grad()
        } else {
            a
        };
        let b = Tensor::<2>::ones([32, 128], device);
        let mut times = Vec::with_capacity(2001);
        for _ in 0..2001 {
            let started = Instant::now();
            let c = a.clone() + b.clone();
            device.sync()?;
            times.push(started.elapsed().as_secs_f64());
            drop(c);
        }
        Ok(median(&times[1..]))
    }
    let device = backend.device()?;
    Ok(Measured {
        op_seconds: time_adds(&device)?,
        op_autodiff_seconds: time_adds(&device.clone().autodiff())?,
        ..Measured::default()
    })
}

/// The median (the upper one of an even count); `None` for no values.
fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// The process's peak resident memory (VmHWM), MiB; `None` where /proc does not say.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_best() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[]), None);
        let a = Measured {
            epoch_seconds: Some(2.0),
            cores: Some(1.9),
            test_accuracy: Some(0.9),
            peak_rss_mib: Some(100.0),
            ..Measured::default()
        };
        let b = Measured {
            epoch_seconds: Some(1.5),
            cores: Some(1.2),
            test_accuracy: Some(0.8),
            peak_rss_mib: Some(120.0),
            load_seconds: Some(0.1),
            ..Measured::default()
        };
        let best = a.clone().best(b.clone());
        assert_eq!(best.epoch_seconds, Some(1.5));
        // The cores of the faster run, whichever came first.
        assert_eq!(best.cores, Some(1.2));
        assert_eq!(b.best(a.clone()).cores, Some(1.2));
        assert_eq!(best.test_accuracy, Some(0.8));
        assert_eq!(best.peak_rss_mib, Some(100.0));
        assert_eq!(best.load_seconds, Some(0.1));
        assert_eq!(best.op_seconds, None);
    }
}
