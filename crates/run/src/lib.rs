//! A training run on disk: the directory `train` writes, and `infer`, `serve` and the pictures
//! read. This crate is the interface between training and everything after it: the
//! other crates read a run through its types, never by file or key names of their own.
//!
//! ```text
//! artifacts/mlp/           a finished run (see [`layout`] for each file)
//!   model.bpk  seal.toml  config.toml  metrics.csv  report.json  curves.svg  [checkpoints/]
//! artifacts/.mlp.run/      beside it while `train` writes it (see [`RunPlace`])
//!   owner  staging/  checkpoints/
//! ```
//!
//! - Reading: [`SavedRun::load`] rebuilds the network from [`RunSpec`] (the part of
//!   `config.toml` a reader needs) and loads its weights, checked against the config and the
//!   [`Seal`]; [`Report::read`] and [`EpochMetrics::from_csv`] read the summary and the history.
//! - Writing: [`RunWriter`] writes a run aside and swaps it into place in one step, holding the
//!   destination's lock; [`CheckpointStore`] keeps what an interrupted run resumes from.
//!
//! Which versions each reader accepts is in ARCHITECTURE.md ("The run directory").

#![forbid(unsafe_code)]

mod checkpoint;
mod error;
pub mod layout;
mod metrics;
mod place;
mod report;
mod saved;
mod seal;
mod spec;
mod writer;

pub use checkpoint::{BestEpoch, Checkpoint, CheckpointStore, Position, RateChange, Resumable};
pub use error::RunError;
pub use layout::{
    CHECKPOINTS_DIR, CONFIG_FILE, CURVES_FILE, METRICS_FILE, PICTURES_DIR, REPORT_FILE, SEAL_FILE,
    WEIGHTS_FILE,
};
pub use metrics::EpochMetrics;
pub use place::{write_file, PlaceLock, RunPlace};
pub use report::{Keep, Report, StartedFrom};
pub use saved::{non_finite_parameters, SavedRun};
pub use seal::{Seal, Trust};
pub use spec::{InitSpec, OptimizerSpec, RunSpec};
pub use writer::RunWriter;

#[cfg(test)]
mod tests {
    /// The backend the unit tests run on: `DIGITS_TEST_BACKEND` if set (CI runs the suite once
    /// per backend), else the build's default.
    pub(crate) fn test_backend() -> model::Backend {
        match std::env::var("DIGITS_TEST_BACKEND") {
            Ok(name) if !name.is_empty() => {
                name.parse().expect("DIGITS_TEST_BACKEND names a backend")
            }
            _ => model::Backend::default_compiled().expect("a backend is compiled in"),
        }
    }
}
