//! The crate's integration tests, in one binary (each test binary links Burn again):
//!
//! - [`agreement`]: the library's three comparisons pass, on random networks and on MNIST;
//! - [`faults`]: a deliberately wrong backward pass fails and names the layer;
//! - [`cli`]: the `gradcheck` binary's table, JSON and exit status;
//! - [`trace`]: `gradcheck trace`: Mazur's published numbers, one MNIST image, the subcommand.
//! - [`explain`]: Burn's explanation of one example (serve's "show me why") against BP1–BP4.
//! - [`run_trace`]: `gradcheck trace --model`: a picture through a trained run.
//! - [`training`]: `gradcheck train`: the hand-written gradients train, on Burn's trajectory.
//!
//! The helpers they share are below.

mod agreement;
mod cli;
mod explain;
mod faults;
mod run_trace;
mod trace;
mod training;

use std::path::{Path, PathBuf};

use gradcheck::suite::{DataSource, Options};
use gradcheck::{Comparison, Report};
use model::{Activation, Backend, Cost};

/// The backend the build uses when none is asked for.
fn default_backend() -> Backend {
    Backend::resolve(None).unwrap()
}

/// The workspace root, where the binary finds `data/mnist` and the shipped configs.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the `gradcheck` binary from the workspace root.
fn gradcheck(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gradcheck"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .unwrap()
}

/// The MNIST files that ship with the repository.
fn shipped_mnist() -> PathBuf {
    testkit::shipped_data()
}

/// A check of a small network on random inputs: both costs, a batch of 4 (2n a power of two:
/// see `agreement::f64_agreement_with_a_batch_of_five`), finite differences on every
/// parameter.
fn random_options(sizes: &[usize], activation: Activation, seed: u64, backend: Backend) -> Options {
    Options {
        sizes: sizes.to_vec(),
        activation,
        batch: 4,
        seed,
        costs: vec![Cost::Quadratic, Cost::CrossEntropy],
        backend,
        data: DataSource::Random,
        // More than any tensor of these networks holds: finite differences probe every one.
        fd_samples: 64,
        fault: None,
    }
}

/// Whether the report holds the f64 comparison. It may be missing only on a backend known to
/// lack f64 (an NdArray-only build: see
/// `agreement::f64_is_verified_on_every_compiled_cpu_backend`), which is then said.
fn f64_runs_on(report: &Report) -> bool {
    match &report.f64_skipped {
        None => true,
        Some(reason) => {
            let backend: Backend = report.backend.parse().unwrap();
            assert!(!backend.supports_f64(), "{reason}");
            eprintln!("f64 comparison skipped on {backend}: {reason}");
            false
        }
    }
}

/// The comparisons the report holds.
fn comparisons(report: &Report) -> Vec<Comparison> {
    let mut all = vec![
        Comparison::ManualVsFiniteDifference,
        Comparison::ManualVsAutodiffF32,
    ];
    if f64_runs_on(report) {
        all.push(Comparison::ManualVsAutodiffF64);
    }
    all
}

/// The shipped ReLU network, as `configs/relu.toml` describes it: layer sizes, hidden
/// activation and cost. Its values for these keys (an array of integers, basic strings) are
/// written the same in TOML and JSON, so each is read from its `key = value` line as JSON.
fn shipped_relu_network() -> (Vec<usize>, Activation, Cost) {
    let path = workspace_root().join("configs/relu.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let value = |key: &str| -> String {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| panic!("no `{key}` in {}", path.display()))
    };
    let hidden: Vec<usize> = serde_json::from_str(&value("hidden")).unwrap();
    let mut sizes = vec![data::IMAGE_PIXELS];
    sizes.extend(hidden);
    sizes.push(data::NUM_CLASSES);
    let activation = serde_json::from_str(&value("activation")).unwrap();
    let cost = serde_json::from_str(&value("cost")).unwrap();
    (sizes, activation, cost)
}
