//! Measuring: each measurement in a fresh child process (this binary again, `bench child ...`)
//! or a peer script, the best of `--repeat` runs, gathered into [`Results`] for rendering.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use model::Backend;

use crate::args::{BenchArgs, Measurement, TrainSpec};
use crate::child::Measured;
use crate::cpu::{Busy, Whose};
use crate::network::{describe, Network};
use crate::peers::{Peer, PeerResult};

/// Everything one invocation measured: plain figures, in the order the tables show them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Results {
    /// The machine: [`crate::host::describe`].
    pub host: String,
    /// Epochs per training run (the median one counts).
    pub epochs: usize,
    /// Runs of each measurement (the best counts).
    pub repeat: usize,
    /// Our columns, in order; the first is the one compared with the peers.
    pub backends: Vec<Backend>,
    /// The peers' columns: those that gave at least one result.
    pub peers: Vec<Peer>,
    pub training: Vec<TrainingRow>,
    /// The network inference is timed on: `784-128-10`.
    pub inference_network: String,
    /// Ours, one per backend, then the peers'.
    pub inference: Vec<InferenceRow>,
    /// The batch size of the mlp training runs whose peak memory the inference rows show.
    pub memory_batch: Option<usize>,
    /// Reading and checking the four MNIST files, seconds.
    pub load_seconds: Option<f64>,
    /// The fixed cost of a tensor operation: ours, one per backend, then numpy's.
    pub ops: Vec<OpCost>,
    /// Training images one thread distorts per second, when `best` was measured.
    pub distort_images_per_second: Option<f64>,
    /// `--batch-parts`: every config's batches computed in this many parts.
    pub batch_parts: Option<usize>,
}

/// One network at one batch size, on every backend and peer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrainingRow {
    pub network: Network,
    /// The network in words, from its config: `784-128-10 sigmoid, quadratic, SGD`.
    pub description: String,
    pub batch: usize,
    /// One per backend of [`Results::backends`], in that order.
    pub ours: Vec<Measured>,
    /// One per peer of [`Results::peers`], in that order; `None` where it failed.
    pub peers: Vec<Option<Measured>>,
}

/// One implementation's inference speed and training memory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InferenceRow {
    /// A backend or a peer.
    pub implementation: String,
    /// The 10,000 test images in one batch, seconds.
    pub batch_seconds: Option<f64>,
    /// One image, seconds.
    pub one_seconds: Option<f64>,
    /// Peak memory of its mlp training run at [`Results::memory_batch`], MiB.
    pub peak_rss_mib: Option<f64>,
}

/// The fixed cost of one small element-wise add.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpCost {
    pub implementation: String,
    pub plain_seconds: Option<f64>,
    /// On the autodiff device, graph recorded (ours only).
    pub autodiff_seconds: Option<f64>,
}

/// Makes every measurement `args` asks for, one after another.
pub(crate) fn measure(args: &BenchArgs) -> Result<Results> {
    let backends = if args.backend.is_empty() {
        Backend::compiled()
    } else {
        args.backend.clone()
    };
    for &b in &backends {
        Backend::resolve(Some(b))?;
    }
    let mut networks = if args.network.is_empty() {
        Network::ALL.to_vec()
    } else {
        args.network.clone()
    };
    networks.sort();
    networks.dedup();
    let mut training = rows(args, &networks)?;
    let memory_batch = networks
        .contains(&Network::Mlp)
        .then(|| args.batch.first().copied())
        .flatten();
    let inference_network = Network::Mlp.config(&args.configs)?.model.shape();

    eprintln!(
        "bench: backends {}; networks {}; epochs per run {}; best of {} runs",
        names(backends.iter().map(|b| b.name())),
        names(networks.iter().map(|n| n.name())),
        args.epochs,
        args.repeat
    );
    let exe = std::env::current_exe().context("cannot find the bench's own executable")?;
    let load = best_of(args.repeat, "load", || {
        run_child(
            &exe,
            &Measurement::Load {
                data_dir: args.data_dir.clone(),
            },
        )
    })?;
    let distort = if networks.contains(&Network::Best) {
        let measured = best_of(args.repeat, "distort", || {
            run_child(
                &exe,
                &Measurement::Distort {
                    configs: args.configs.clone(),
                    data_dir: args.data_dir.clone(),
                },
            )
        })?;
        measured.distort_images_per_second
    } else {
        None
    };
    let (mut inference, mut ops) = measure_ours(args, &exe, &backends, &mut training)?;
    for (i, row) in inference.iter_mut().enumerate() {
        row.peak_rss_mib =
            mlp_run(&training, memory_batch, |r| r.ours.get(i)).and_then(|m| m.peak_rss_mib);
    }

    let mut peers = Vec::new();
    if let Some(dir) = &args.peers {
        peers = measure_peers(args, dir, &mut training);
        for (i, peer) in peers.iter().enumerate() {
            if let Some(m) = mlp_run(&training, memory_batch, |r| r.peers.get(i)?.as_ref()) {
                inference.push(InferenceRow {
                    implementation: peer.name().to_string(),
                    batch_seconds: m.infer_batch_seconds,
                    one_seconds: m.infer_one_seconds,
                    peak_rss_mib: m.peak_rss_mib,
                });
            }
        }
        ops.push(OpCost {
            implementation: "numpy".to_string(),
            plain_seconds: numpy_add_seconds(&args.python),
            autodiff_seconds: None,
        });
    }

    Ok(Results {
        host: crate::host::describe(),
        epochs: args.epochs,
        repeat: args.repeat,
        backends,
        peers,
        training,
        inference_network,
        inference,
        memory_batch,
        load_seconds: load.load_seconds,
        ops,
        distort_images_per_second: distort,
        batch_parts: args.batch_parts,
    })
}

/// The training table's rows, still empty: each network at each batch size, but the one that
/// keeps its own. Reading the configs here stops the bench on a missing or broken one before
/// anything runs.
fn rows(args: &BenchArgs, networks: &[Network]) -> Result<Vec<TrainingRow>> {
    let mut rows = Vec::new();
    for &network in networks {
        let config = network.config(&args.configs)?;
        let batches = if network.keeps_its_batch() {
            vec![config.batch_size]
        } else {
            args.batch.clone()
        };
        for batch in batches {
            rows.push(TrainingRow {
                network,
                description: describe(&config),
                batch,
                ours: Vec::new(),
                peers: Vec::new(),
            });
        }
    }
    Ok(rows)
}

/// On each backend: every training row (filling [`TrainingRow::ours`]), inference and the cost
/// of an operation. Any failure stops the bench.
fn measure_ours(
    args: &BenchArgs,
    exe: &Path,
    backends: &[Backend],
    rows: &mut [TrainingRow],
) -> Result<(Vec<InferenceRow>, Vec<OpCost>)> {
    let child = |m: Measurement| best_of(args.repeat, &m.label(), || run_child(exe, &m));
    let mut inference = Vec::new();
    let mut ops = Vec::new();
    for &backend in backends {
        for row in rows.iter_mut() {
            row.ours.push(child(Measurement::Train(TrainSpec {
                network: row.network,
                backend,
                batch: row.batch,
                epochs: args.epochs,
                threads: args.threads,
                batch_parts: args.batch_parts,
                configs: args.configs.clone(),
                data_dir: args.data_dir.clone(),
            }))?);
        }
        let infer = child(Measurement::Infer {
            backend,
            configs: args.configs.clone(),
            data_dir: args.data_dir.clone(),
        })?;
        inference.push(InferenceRow {
            implementation: backend.label().to_string(),
            batch_seconds: infer.infer_batch_seconds,
            one_seconds: infer.infer_one_seconds,
            peak_rss_mib: None,
        });
        let op = child(Measurement::Ops { backend })?;
        ops.push(OpCost {
            implementation: backend.label().to_string(),
            plain_seconds: op.op_seconds,
            autodiff_seconds: op.op_autodiff_seconds,
        });
    }
    Ok((inference, ops))
}

/// Each peer on every training row (filling [`TrainingRow::peers`]); the peers that gave at
/// least one result. A peer that cannot run is left out with a note, not an error.
fn measure_peers(args: &BenchArgs, dir: &Path, rows: &mut [TrainingRow]) -> Vec<Peer> {
    let mut peers = Vec::new();
    for peer in Peer::ALL {
        let results: Vec<Option<Measured>> = rows
            .iter()
            .map(|row| run_peer(args, dir, peer, row.network, row.batch))
            .collect();
        if results.iter().all(Option::is_none) {
            continue;
        }
        peers.push(peer);
        for (row, result) in rows.iter_mut().zip(results) {
            row.peers.push(result);
        }
    }
    peers
}

/// One implementation's mlp run at `batch`, picked from each row by `cell`.
fn mlp_run<'a>(
    rows: &'a [TrainingRow],
    batch: Option<usize>,
    cell: impl Fn(&'a TrainingRow) -> Option<&'a Measured>,
) -> Option<&'a Measured> {
    let batch = batch?;
    rows.iter()
        .find(|r| r.network == Network::Mlp && r.batch == batch)
        .and_then(cell)
}

/// Runs `once` `repeat` times; the best of each figure ([`Measured::best`]).
fn best_of(
    repeat: usize,
    label: &str,
    mut once: impl FnMut() -> Result<Measured>,
) -> Result<Measured> {
    let mut best: Option<Measured> = None;
    for _ in 0..repeat {
        let m = once().with_context(|| format!("measuring {label}"))?;
        best = Some(match best {
            Some(b) => b.best(m),
            None => m,
        });
    }
    let best = best.unwrap_or_default();
    eprintln!("  {label}: {best}");
    Ok(best)
}

/// Runs one measurement in a child process and reads its figures.
fn run_child(exe: &Path, measurement: &Measurement) -> Result<Measured> {
    let mut command = Command::new(exe);
    command.arg("child").args(measurement.to_args());
    let stdout = output(command)?;
    serde_json::from_str(stdout.trim())
        .with_context(|| format!("the child's output is not its figures: {}", stdout.trim()))
}

/// Runs `peer` on one row, `repeat` times; `None` (and a note on stderr) when it cannot run,
/// as when its Python lacks torch.
fn run_peer(
    args: &BenchArgs,
    dir: &Path,
    peer: Peer,
    network: Network,
    batch: usize,
) -> Option<Measured> {
    let (script, name) = peer.script(network)?;
    let label = format!("{script} {} b{batch}", name.unwrap_or(network.name()));
    let once = || -> Result<Measured> {
        let command = peer.command(
            &args.python,
            dir,
            network,
            batch,
            args.epochs,
            &args.data_dir,
        )?;
        // The peer's whole process: loading MNIST and testing count too, as they are not
        // timed apart from its epochs.
        let busy = Busy::start(Whose::Children);
        let stdout = output(command)?;
        let cores = busy.cores();
        Ok(Measured {
            cores,
            ..PeerResult::parse(&stdout)?.into()
        })
    };
    match best_of(args.repeat, &label, once) {
        Ok(m) => Some(m),
        Err(e) => {
            eprintln!("  {label}: skipped ({e:#})");
            None
        }
    }
}

/// numpy's cost of the same small add the `ops` measurement times, from `python`.
fn numpy_add_seconds(python: &Path) -> Option<f64> {
    let mut command = Command::new(python);
    command.arg("-c").arg(
        "import numpy as np, timeit; a = np.ones((32, 128), np.float32); \
         b = np.ones((32, 128), np.float32); \
         print(min(timeit.repeat(lambda: a + b, number=2000, repeat=5)) / 2000)",
    );
    match output(command).and_then(|out| Ok(out.trim().parse::<f64>()?)) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("  numpy add: skipped ({e:#})");
            None
        }
    }
}

/// Runs `command` and returns its stdout, or fails with the last line of its stderr.
fn output(mut command: Command) -> Result<String> {
    let out = command
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        bail!("{command:?} failed: {}", last.unwrap_or("no message"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `flex, ndarray`.
fn names<S: AsRef<str>>(items: impl Iterator<Item = S>) -> String {
    items
        .map(|s| s.as_ref().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
