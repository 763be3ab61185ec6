//! `bench`: how fast the digits network trains and predicts on each compiled backend, beside
//! reference numpy and PyTorch networks when they are given.
//!
//! ```text
//! cargo run --release -p train --bin bench
//! cargo run --release -p train --features ndarray --bin bench -- \
//!     --peers ../shared/peers --python VENV/bin/python
//! ```
//!
//! Every measurement runs in a fresh child process (this binary again, with `--child`), so that
//! each has its own peak memory and no measurement warms the next. Training is timed over full
//! epochs of all 60,000 training images (no validation split, as the peers do): per run, the
//! median epoch; over `--repeat` runs, the best. The machine may be shared and noisy: compare
//! ratios from one invocation, not absolute times across invocations.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use clap::Parser;
use data::{Mnist, MnistBatcher, IMAGE_PIXELS};
use model::{Activation, Backend, Cost, Init, MlpConfig};
use serde::{Deserialize, Serialize};
use train::{fit, OptimizerConfig, Splits, TrainConfig};

/// Measure training and inference speed on each compiled backend.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    /// MNIST directory.
    #[arg(long, default_value = "data/mnist")]
    data_dir: PathBuf,

    /// Backends to measure [default: every one compiled in].
    #[arg(long, value_delimiter = ',')]
    device: Vec<Backend>,

    /// Epochs per training run (the median epoch counts).
    #[arg(long, default_value_t = 3)]
    epochs: usize,

    /// Runs of each measurement; the best counts.
    #[arg(long, default_value_t = 2)]
    repeat: usize,

    /// CPU threads for the training steps [default: train's default, see `threads` in
    /// configs/mlp.toml].
    #[arg(long)]
    threads: Option<usize>,

    /// Batch sizes for the mlp and relu networks.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128")]
    batch: Vec<usize>,

    /// The reference networks' directory (numpy_mlp.py, torch_mlp.py), run beside ours.
    #[arg(long)]
    peers: Option<PathBuf>,

    /// The Python that has numpy (and torch) for the peers.
    #[arg(long, default_value = "python3")]
    python: PathBuf,

    /// Where to write the markdown table.
    #[arg(long, default_value = "artifacts/bench.md")]
    out: PathBuf,

    /// Internal: run one measurement and print its result as JSON.
    #[arg(long, hide = true)]
    child: Option<String>,
}

/// The three reference networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    /// 784-30-10 sigmoid, quadratic cost, SGD η=3: the classic text's first network.
    Seed,
    /// 784-128-10 sigmoid, quadratic cost, SGD η=3: configs/mlp.toml.
    Mlp,
    /// 784-256-256-10 ReLU, cross-entropy, Adam 1e-3: configs/relu.toml.
    Relu,
}

impl Net {
    fn name(self) -> &'static str {
        match self {
            Net::Seed => "seed",
            Net::Mlp => "mlp",
            Net::Relu => "relu",
        }
    }

    fn parse(s: &str) -> Result<Net> {
        Ok(match s {
            "seed" => Net::Seed,
            "mlp" => Net::Mlp,
            "relu" => Net::Relu,
            other => bail!("unknown network {other}"),
        })
    }

    fn describe(self) -> &'static str {
        match self {
            Net::Seed => "784-30-10 sigmoid, quadratic, SGD",
            Net::Mlp => "784-128-10 sigmoid, quadratic, SGD",
            Net::Relu => "784-256-256-10 ReLU, cross-entropy, Adam",
        }
    }

    fn config(self, data_dir: &Path, batch_size: usize, epochs: usize) -> TrainConfig {
        let (hidden, activation, init, cost, optimizer) = match self {
            Net::Seed | Net::Mlp => (
                if self == Net::Seed {
                    vec![30]
                } else {
                    vec![128]
                },
                Activation::Sigmoid,
                if self == Net::Seed {
                    Init::Normal
                } else {
                    Init::ScaledNormal
                },
                Cost::Quadratic,
                OptimizerConfig::Sgd {
                    learning_rate: 3.0,
                    momentum: 0.0,
                    nesterov: false,
                    weight_decay: 0.0,
                },
            ),
            Net::Relu => (
                vec![256, 256],
                Activation::Relu,
                Init::Uniform,
                Cost::CrossEntropy,
                OptimizerConfig::Adam {
                    learning_rate: 1e-3,
                    beta1: 0.9,
                    beta2: 0.999,
                    epsilon: 1e-8,
                    weight_decay: 0.0,
                },
            ),
        };
        TrainConfig {
            data_dir: data_dir.to_path_buf(),
            device: None,
            seed: 1,
            epochs,
            batch_size,
            validation: 0,
            cost,
            model: MlpConfig::new(hidden)
                .with_activation(activation)
                .with_init(init),
            optimizer,
            schedule: None,
            threads: None,
        }
    }
}

/// One measurement's result, printed by a child as JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Measured {
    /// Median training epoch, seconds.
    epoch_seconds: Option<f64>,
    test_accuracy: Option<f64>,
    /// Forward pass over the 10,000 test images in one batch, median, seconds.
    infer_batch_seconds: Option<f64>,
    /// One image in, its ten outputs back on the host, median, seconds.
    infer_one_seconds: Option<f64>,
    /// Reading and checking the four MNIST files, seconds.
    load_seconds: Option<f64>,
    /// One element-wise add of two [32, 128] tensors, median, seconds: the fixed cost of an op.
    op_seconds: Option<f64>,
    /// The same add on the autodiff device, graph recorded, median, seconds.
    op_autodiff_seconds: Option<f64>,
    peak_rss_mib: Option<f64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The process's peak resident memory (VmHWM), MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Runs one measurement in this process: `train:BACKEND:NET:BATCH:EPOCHS:THREADS` (0: the
/// default),
/// `infer:BACKEND` or `load`.
fn child(spec: &str, data_dir: &Path) -> Result<Measured> {
    let parts: Vec<&str> = spec.split(':').collect();
    let mut m = Measured::default();
    match parts.as_slice() {
        ["load"] => {
            let started = Instant::now();
            Mnist::load(data_dir)?;
            m.load_seconds = Some(started.elapsed().as_secs_f64());
        }
        ["train", backend, net, batch, epochs, threads] => {
            let backend: Backend = backend.parse()?;
            let mut config = Net::parse(net)?.config(data_dir, batch.parse()?, epochs.parse()?);
            config.threads = match threads.parse()? {
                0 => None,
                n => Some(n),
            };
            let mnist = Mnist::load(data_dir)?;
            let splits = Splits {
                train: mnist.train,
                validation: mnist.test.head(0),
                test: mnist.test,
            };
            let fitted = fit(&config, &splits, backend, &mut train::trainer::Silent)?;
            m.epoch_seconds = Some(median(fitted.history.iter().map(|e| e.seconds).collect()));
            let test = train::evaluate(&fitted.network, config.cost, &splits.test, backend)?;
            m.test_accuracy = Some(test.accuracy);
        }
        ["infer", backend] => {
            let backend: Backend = backend.parse()?;
            let device = backend.device()?;
            device.seed(1);
            let network = MlpConfig::new([128]).init(&device);
            let test = data::MnistDataset::load(data_dir, data::Split::Test)?;
            let all: Vec<usize> = (0..test.len()).collect();
            let images = MnistBatcher.batch_indices(&test, &all, &device).images;
            let read = |t: Tensor<2>| t.into_data().convert::<f32>().try_to_vec::<f32>();
            // As `infer` evaluates (one block of rows per core on Flex).
            let parts = backend.eval_parts();
            let mut batch_times = Vec::new();
            for _ in 0..21 {
                let started = Instant::now();
                let out =
                    read(Cost::Quadratic.output(network.forward_parts(images.clone(), parts)));
                batch_times.push(started.elapsed().as_secs_f64());
                anyhow::ensure!(out.map(|v| v.len()).unwrap_or(0) == 100_000, "bad output");
            }
            let pixels: Vec<f32> = test
                .image(0)
                .iter()
                .map(|&p| f32::from(p) / 255.0)
                .collect();
            let mut one_times = Vec::new();
            for _ in 0..1001 {
                let started = Instant::now();
                let x = Tensor::<2>::from_data(
                    TensorData::new(pixels.clone(), [1, IMAGE_PIXELS]),
                    &device,
                );
                let out = read(Cost::Quadratic.output(network.forward(x)));
                one_times.push(started.elapsed().as_secs_f64());
                anyhow::ensure!(out.map(|v| v.len()).unwrap_or(0) == 10, "bad output");
            }
            // The first passes warm caches (and compile kernels on a GPU): leave them out.
            m.infer_batch_seconds = Some(median(batch_times[1..].to_vec()));
            m.infer_one_seconds = Some(median(one_times[1..].to_vec()));
        }
        ["ops", backend] => {
            let backend: Backend = backend.parse()?;
            let time_adds = |device: &Device| -> Result<f64> {
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
                Ok(median(times[1..].to_vec()))
            };
            let device = backend.device()?;
            m.op_seconds = Some(time_adds(&device)?);
            m.op_autodiff_seconds = Some(time_adds(&device.autodiff())?);
        }
        _ => bail!("unknown measurement {spec}"),
    }
    m.peak_rss_mib = peak_rss_mib();
    Ok(m)
}

/// Runs `command` and returns its stdout, failing with its stderr.
fn run(mut command: Command) -> Result<String> {
    let out = command
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    if !out.status.success() {
        bail!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a measurement `repeat` times in child processes; keeps the best of each figure.
fn measure(args: &Args, spec: &str) -> Result<Measured> {
    let exe = std::env::current_exe()?;
    let mut best = Measured::default();
    let min = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    for _ in 0..args.repeat {
        let mut cmd = Command::new(&exe);
        cmd.arg("--child")
            .arg(spec)
            .arg("--data-dir")
            .arg(&args.data_dir);
        let out = run(cmd)?;
        let m: Measured = serde_json::from_str(out.trim()).context("child output")?;
        best.epoch_seconds = min(best.epoch_seconds, m.epoch_seconds);
        best.infer_batch_seconds = min(best.infer_batch_seconds, m.infer_batch_seconds);
        best.infer_one_seconds = min(best.infer_one_seconds, m.infer_one_seconds);
        best.load_seconds = min(best.load_seconds, m.load_seconds);
        best.op_seconds = min(best.op_seconds, m.op_seconds);
        best.op_autodiff_seconds = min(best.op_autodiff_seconds, m.op_autodiff_seconds);
        best.peak_rss_mib = min(best.peak_rss_mib, m.peak_rss_mib);
        best.test_accuracy = m.test_accuracy.or(best.test_accuracy);
    }
    eprintln!("  {spec}: {best:?}");
    Ok(best)
}

/// Runs a peer script for `net` at `batch`; returns its median epoch and, for `mlp` at its own
/// batch, its inference figures and peak memory.
fn peer(args: &Args, dir: &Path, script: &str, net: Net, batch: usize) -> Result<Measured> {
    // The peers fix each network's batch size; this sets it without changing their code.
    let program = format!(
        "import sys, runpy; sys.path.insert(0, {dir:?}); import mnist_idx; \
         mnist_idx.CONFIGS[{net:?}]['batch'] = {batch}; \
         sys.argv = [{script:?}, {net:?}, '--epochs', '{epochs}', '--no-save']; \
         runpy.run_path({path:?}, run_name='__main__')",
        dir = dir.display().to_string(),
        net = net.name(),
        epochs = args.epochs,
        path = dir.join(script).display().to_string(),
    );
    let mut best = Measured::default();
    for _ in 0..args.repeat {
        let mut cmd = Command::new(&args.python);
        cmd.arg("-c")
            .arg(&program)
            .env("MNIST_DIR", std::path::absolute(&args.data_dir)?);
        let out = run(cmd)?;
        let num = |line: &str, after: &str, unit: &str| -> Option<f64> {
            let rest = &line[line.find(after)? + after.len()..];
            rest[..rest.find(unit)?].trim().parse().ok()
        };
        for line in out.lines() {
            if let Some(s) = num(line, "median epoch ", "s (") {
                best.epoch_seconds = Some(best.epoch_seconds.map_or(s, |b: f64| b.min(s)));
            }
            if let Some(m) = num(line, "peak RSS ", "MiB") {
                best.peak_rss_mib = Some(best.peak_rss_mib.map_or(m, |b: f64| b.min(m)));
            }
            if let Some(acc) = num(line, "final test acc ", ",") {
                best.test_accuracy = Some(acc);
            }
            if let Some(ms) = num(line, "inference: batch 10000 ", "ms") {
                let s = ms / 1e3;
                best.infer_batch_seconds =
                    Some(best.infer_batch_seconds.map_or(s, |b: f64| b.min(s)));
            }
            if let Some(us) = num(line, "batch 1 median ", "us") {
                let s = us / 1e6;
                best.infer_one_seconds = Some(best.infer_one_seconds.map_or(s, |b: f64| b.min(s)));
            }
        }
    }
    eprintln!("  {script} {} b{batch}: {best:?}", net.name());
    Ok(best)
}

fn fmt_opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or("–".to_string(), f)
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(spec) = &args.child {
        let m = child(spec, &args.data_dir)?;
        println!("{}", serde_json::to_string(&m)?);
        return Ok(());
    }
    let backends = if args.device.is_empty() {
        Backend::compiled()
    } else {
        args.device.clone()
    };
    for b in &backends {
        Backend::resolve(Some(*b))?;
    }
    const SAMPLES: f64 = 60_000.0;

    // The rows: the classic network at its batch of 10, then mlp and relu at each batch size.
    let mut rows = vec![(Net::Seed, 10)];
    for net in [Net::Mlp, Net::Relu] {
        rows.extend(args.batch.iter().map(|&b| (net, b)));
    }

    eprintln!(
        "bench: backends {backends:?}, {} epochs, best of {}",
        args.epochs, args.repeat
    );
    let load = measure(&args, "load")?;
    let mut ours = Vec::new();
    let mut infer = Vec::new();
    let mut ops = Vec::new();
    for &backend in &backends {
        for &(net, batch) in &rows {
            let spec = format!(
                "train:{backend}:{}:{batch}:{}:{}",
                net.name(),
                args.epochs,
                args.threads.unwrap_or(0)
            );
            ours.push(((backend, net, batch), measure(&args, &spec)?));
        }
        infer.push((backend, measure(&args, &format!("infer:{backend}"))?));
        ops.push((backend, measure(&args, &format!("ops:{backend}"))?));
    }
    let mut peers: Vec<((&str, Net, usize), Measured)> = Vec::new();
    if let Some(dir) = &args.peers {
        for (script, name) in [("numpy_mlp.py", "numpy"), ("torch_mlp.py", "torch")] {
            for &(net, batch) in &rows {
                match peer(&args, dir, script, net, batch) {
                    Ok(m) => peers.push(((name, net, batch), m)),
                    Err(e) => eprintln!("  {script} {} b{batch}: skipped ({e})", net.name()),
                }
            }
        }
    }
    let peer_names: Vec<&str> = ["numpy", "torch"]
        .into_iter()
        .filter(|p| peers.iter().any(|((n, _, _), _)| n == p))
        .collect();

    // The training table: seconds per epoch (samples/s), then ratios to the peers.
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### Training: seconds per epoch of 60,000 images (samples/s), median epoch of {}, best of {} runs\n",
        args.epochs, args.repeat
    );
    let mut header = String::from("| network | batch |");
    let mut rule = String::from("|---|---|");
    for b in &backends {
        let _ = write!(header, " {b} |");
        rule.push_str("---|");
    }
    for p in &peer_names {
        let _ = write!(header, " {p} |");
        rule.push_str("---|");
    }
    let first = backends.first().copied();
    for p in &peer_names {
        if let Some(f) = first {
            let _ = write!(header, " {f} ÷ {p} |");
            rule.push_str("---|");
        }
    }
    let _ = writeln!(md, "{header}\n{rule}");
    let cell = |s: Option<f64>| fmt_opt(s, |s| format!("{s:.3} ({:.0}k)", SAMPLES / s / 1e3));
    for &(net, batch) in &rows {
        let mut line = format!("| {} ({}) | {batch} |", net.name(), net.describe());
        let ours_at = |b: Backend| {
            ours.iter()
                .find(|((bb, n, bs), _)| *bb == b && *n == net && *bs == batch)
                .and_then(|(_, m)| m.epoch_seconds)
        };
        let peer_at = |p: &str| {
            peers
                .iter()
                .find(|((pp, n, bs), _)| *pp == p && *n == net && *bs == batch)
                .and_then(|(_, m)| m.epoch_seconds)
        };
        for &b in &backends {
            let _ = write!(line, " {} |", cell(ours_at(b)));
        }
        for p in &peer_names {
            let _ = write!(line, " {} |", cell(peer_at(p)));
        }
        for p in &peer_names {
            if let Some(f) = first {
                let ratio = ours_at(f).zip(peer_at(p)).map(|(a, b)| a / b);
                let _ = write!(line, " {} |", fmt_opt(ratio, |r| format!("{r:.2}×")));
            }
        }
        let _ = writeln!(md, "{line}");
    }
    let _ = writeln!(
        md,
        "\nRatios are time per epoch, ours ÷ theirs: below 1 means we are faster.\n"
    );

    // Inference and the rest.
    let _ = writeln!(md, "### Inference (784-128-10), memory, data loading\n");
    let _ = writeln!(
        md,
        "| implementation | 10,000 test images in one batch | one image: latency | peak RSS of a training run (mlp, batch 32) |\n|---|---|---|---|"
    );
    let mut row = |name: &str, m: &Measured, rss: Option<f64>| {
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} |",
            fmt_opt(m.infer_batch_seconds, |s| format!(
                "{:.2} ms ({:.2} M img/s)",
                s * 1e3,
                1e-2 / s
            )),
            fmt_opt(m.infer_one_seconds, |s| format!("{:.1} µs", s * 1e6)),
            fmt_opt(rss, |r| format!("{r:.0} MiB")),
        );
    };
    for (b, m) in &infer {
        let rss = ours
            .iter()
            .find(|((bb, n, bs), _)| bb == b && *n == Net::Mlp && *bs == 32)
            .and_then(|(_, m)| m.peak_rss_mib);
        row(&b.to_string(), m, rss);
    }
    for p in &peer_names {
        if let Some((_, m)) = peers
            .iter()
            .find(|((pp, n, bs), _)| pp == p && *n == Net::Mlp && *bs == 32)
        {
            row(p, m, m.peak_rss_mib);
        }
    }
    let _ = writeln!(
        md,
        "\nLoading and checking the four MNIST files (70,000 images): {}.",
        fmt_opt(load.load_seconds, |s| format!("{:.0} ms", s * 1e3))
    );
    let _ = writeln!(
        md,
        "\nThe fixed cost of one tensor operation (an element-wise add of two 32×128 tensors, \
         median of 2,000, result synchronised):"
    );
    for (b, m) in &ops {
        let _ = writeln!(
            md,
            "- {b}: {} plain, {} on the autodiff device (graph recorded)",
            fmt_opt(m.op_seconds, |s| format!("{:.1} µs", s * 1e6)),
            fmt_opt(m.op_autodiff_seconds, |s| format!("{:.1} µs", s * 1e6)),
        );
    }
    if args.peers.is_some() {
        let mut cmd = Command::new(&args.python);
        cmd.arg("-c").arg(
            "import numpy as np, timeit; a = np.ones((32, 128), np.float32); \
             b = np.ones((32, 128), np.float32); \
             print(min(timeit.repeat(lambda: a + b, number=2000, repeat=5)) / 2000)",
        );
        if let Ok(out) = run(cmd) {
            if let Ok(s) = out.trim().parse::<f64>() {
                let _ = writeln!(md, "- numpy: {:.1} µs", s * 1e6);
            }
        }
    }
    println!("{md}");
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, &md)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
