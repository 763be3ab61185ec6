//! The names of a run directory's files, in one place.
//!
//! ```text
//! artifacts/mlp/
//!   model.bpk     the trained weights (Burn's burnpack format)
//!   seal.toml     the weights' SHA-256 and the network they are (Seal)
//!   config.toml   the resolved training config; its `[model]` table and `cost` rebuild the
//!                 network (RunSpec reads that part)
//!   metrics.csv   one row per epoch (EpochMetrics)
//!   report.json   the summary: test accuracy, epochs, time, backend (Report)
//!   curves.svg    the training curves, drawn from metrics.csv
//!   checkpoints/  the kept checkpoints, when the config asks for them (Checkpoint)
//!   pictures/     what `infer --pictures` drew of the network (optional)
//! ```

/// The trained weights.
pub const WEIGHTS_FILE: &str = "model.bpk";
/// The resolved config (the `[model]` table and `cost` rebuild the network).
pub const CONFIG_FILE: &str = "config.toml";
/// One row per epoch.
pub const METRICS_FILE: &str = "metrics.csv";
/// The run's summary.
pub const REPORT_FILE: &str = "report.json";
/// What the network was when written: its weights' SHA-256, shape, activation and cost.
pub const SEAL_FILE: &str = "seal.toml";
/// The training curves, drawn from the metrics.
pub const CURVES_FILE: &str = "curves.svg";
/// What `infer --pictures` draws.
pub const PICTURES_DIR: &str = "pictures";
/// The kept checkpoints of a finished run (`keep_checkpoint_every`).
pub const CHECKPOINTS_DIR: &str = "checkpoints";

/// Everything a run directory may hold: a destination holding anything else is not a run, and
/// is never replaced.
pub(crate) const RUN_FILES: [&str; 8] = [
    WEIGHTS_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    REPORT_FILE,
    SEAL_FILE,
    CHECKPOINTS_DIR,
    CURVES_FILE,
    PICTURES_DIR,
];
