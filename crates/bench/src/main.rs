//! `bench`: how fast the digits network trains and predicts on each compiled-in backend, beside
//! the reference numpy and PyTorch networks (`../shared/peers`) when they are given.
//!
//! Run from the repository root (the defaults read `configs/` and `data/mnist`):
//!
//! ```text
//! cargo run -p bench -- --help
//! # a quick look in the dev profile: one network, one batch size, one short run
//! cargo run -p bench -- --network mlp --batch 128 --epochs 1 --repeat 1
//! # BENCHMARKS.md's figures: release build, Flex and NdArray, beside the peers
//! cargo build --release -p bench --features ndarray
//! ./target/release/bench --repeat 3 --epochs 3 --peers ../shared/peers --python VENV/bin/python
//! ```
//!
//! The networks are the training configs `configs/nielsen.toml`, `configs/mlp.toml` and
//! `configs/relu.toml`, read as `train` reads them; the bench sets what it must control (batch
//! size, epochs, threads, backend, data directory, and no validation split: the peers train on
//! all 60,000 images) and keeps the rest (network, cost, optimizer, schedule, seed). Training
//! runs through [`train::fit`] and [`train::evaluate`]; inference through the
//! [`model::Predictor`] that `infer` uses, so what is timed is what the project runs.
//!
//! Every measurement runs in a fresh process (this binary again, as the hidden `bench child`
//! subcommand), so that each has its own peak memory and none warms the next. Training is timed
//! over full epochs: per run the median epoch, over `--repeat` runs the best. Inference: the
//! 10,000 test images in one batch, and one image's latency. Also: the time to load MNIST, the
//! fixed cost of one tensor operation, and peak memory. The peers run as their README says,
//! with `--batch`, `--epochs`, `--no-save` and `--json`; the last line of their output is read.
//!
//! [`measure`] returns every figure as plain data; [`render`] turns it into the markdown tables
//! of BENCHMARKS.md, printed and written to `--out` (default `artifacts/bench.md`). The machine
//! may be shared and noisy: compare ratios from one invocation, not times across invocations.

#![forbid(unsafe_code)]

mod args;
mod child;
mod cpu;
mod curve;
mod host;
mod measure;
mod network;
mod peers;
mod render;

use anyhow::{Context, Result};
use clap::Parser;

use args::{BenchArgs, Cli, Command};

fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Child { measurement }) => match child::run(measurement) {
            Ok(measured) => {
                println!("{}", serde_json::to_string(&measured)?);
                Ok(())
            }
            // One line, its causes included and no backtrace: the parent shows the last line
            // of a child's stderr.
            Err(e) => {
                eprintln!("{e:#}");
                std::process::exit(1);
            }
        },
        Some(Command::Curve(args)) => curve::curve(args),
        None => bench(&cli.bench),
    }
}

/// Measures, writes the tables to `--out`, then prints them. The file comes first, so that a
/// closed standard output (`bench | head -1`) loses nothing that took minutes to measure; the
/// closed pipe itself is no error.
fn bench(args: &BenchArgs) -> Result<()> {
    let results = measure::measure(args)?;
    let md = render::markdown(&results);
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&args.out, &md)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("wrote {}", args.out.display());
    print_ignoring_closed_pipe(&md).context("cannot print the tables to standard output")
}

/// Writes `text` and a newline to standard output; a reader that has gone away is not an error.
pub(crate) fn print_ignoring_closed_pipe(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
