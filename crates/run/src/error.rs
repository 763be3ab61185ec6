//! What can go wrong reading, writing or placing a run directory.

use std::path::PathBuf;

use model::ModelError;

/// An error from the `run` crate; each message names the file and the fix. The message says
/// only its own level: a cause is its [`source`](std::error::Error::source), which the
/// binaries print after it.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The network in the run cannot be built, encoded or read back.
    #[error(transparent)]
    Model(#[from] ModelError),

    #[error(
        "no trained model in {dir}: run `cargo run -p train -- --config configs/mlp.toml` \
         first, or pick a run directory with --model"
    )]
    RunNotFound { dir: PathBuf },

    #[error(
        "{path} is missing, so this is not a complete training run: run \
         `cargo run -p train -- --config <config>` to write it"
    )]
    RunFileMissing { path: PathBuf },

    /// `dir` is the directory holding `path` when that is a run (the file was one of its
    /// files), or `None`.
    #[error("{path} is a file; --model takes a run's directory: {}", run_dir_hint(.dir))]
    RunIsAFile { path: PathBuf, dir: Option<PathBuf> },

    #[error("{path} does not describe a network")]
    BadRunConfig {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },

    #[error(
        "{path}: `class_names` names {names} classes, but the network has {outputs} outputs; \
         restore the file `train` wrote"
    )]
    ClassNamesDoNotFit {
        path: PathBuf,
        names: usize,
        outputs: usize,
    },

    #[error(
        "{weights} does not fit the network described by {config} ({detail}); the two come \
         from different runs: run `train` again to write them together"
    )]
    WeightsDoNotFit {
        weights: PathBuf,
        config: PathBuf,
        /// Burn's account of the first tensor that does not fit.
        detail: String,
    },

    #[error("{path} is not a readable weights file ({detail}); run `train` again to rewrite it")]
    BadWeights {
        path: PathBuf,
        /// Burn's account of what it could not read.
        detail: String,
    },

    #[error(
        "{path} has changed since the run was written (its SHA-256 no longer matches {seal}): \
         the weights were edited or damaged; run `train` again"
    )]
    WeightsChanged { path: PathBuf, seal: PathBuf },

    #[error(
        "{path} no longer describes the network that was trained: `{key}` is {now}, but the \
         network was trained as {was}; put it back, or run `train` again"
    )]
    ConfigChanged {
        path: PathBuf,
        key: String,
        now: String,
        was: String,
    },

    #[error("{path} holds {count} weights that are NaN or infinite: the network is broken; run `train` again")]
    NonFiniteWeights { path: PathBuf, count: usize },

    #[error("{path} is not a run's seal (restore the file `train` wrote, or run `train` again)")]
    BadSeal {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },

    #[error("{path} is not a run's report (restore the file `train` wrote, or run `train` again)")]
    BadReport {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error(
        "{path} is not a run's metrics (line {line}: {problem}); restore the file `train` wrote"
    )]
    BadMetrics {
        path: PathBuf,
        line: usize,
        problem: &'static str,
    },

    #[error(
        "{dir} exists and holds {file}, so it is not a training run directory and will not be \
         replaced; choose another output directory"
    )]
    NotARunDir { dir: PathBuf, file: String },

    #[error(
        "output directory {path} has no final component (it ends in `..` or is a root); name \
         the directory the run should occupy"
    )]
    BadOutputPath { path: PathBuf },

    #[error("output directory {path} is a symbolic link to nowhere (point it at a directory, or choose another --out)")]
    DanglingOutputLink {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{path} exists but was not made by `train`, so it will not be touched; move it away \
         or choose another output directory"
    )]
    NotOurs { path: PathBuf },

    #[error(
        "{dest} is being written by another run ({holder}); wait for it to finish, or choose \
         another output directory"
    )]
    Busy { dest: PathBuf, holder: String },

    #[error(
        "{dir} has no {seal}, so nothing shows that its files are the ones `train` wrote (a run \
         written before seals, or its seal deleted); run `train` again, or, if you trust it, \
         load it anyway with --allow-unsealed"
    )]
    Unsealed { dir: PathBuf, seal: PathBuf },

    #[error(
        "checkpoint {path} has changed since it was written (its SHA-256 no longer matches \
         {seal}): damaged or edited"
    )]
    CheckpointChanged { path: PathBuf, seal: PathBuf },

    #[error("checkpoint {path} cannot be resumed: {why}")]
    CheckpointRefused { path: PathBuf, why: String },

    #[error("cannot write a checkpoint's seal")]
    EncodeSeal(#[source] toml::ser::Error),

    #[error(
        "no checkpoint in {dir} can be resumed: {reasons} (start the run afresh with \
         `train --restart`)"
    )]
    NoGoodCheckpoint { dir: PathBuf, reasons: String },

    #[error("checkpoint {path} is damaged")]
    BadCheckpoint {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("checkpoint {path} is not text")]
    CheckpointNotText {
        path: PathBuf,
        #[source]
        source: std::string::FromUtf8Error,
    },

    #[error("cannot encode {file}")]
    EncodeJson {
        file: &'static str,
        #[source]
        source: serde_json::Error,
    },

    #[error("cannot encode {file}")]
    EncodeToml {
        file: &'static str,
        #[source]
        source: toml::ser::Error,
    },

    #[error(
        "{path} is over {limit} bytes, far more than `train` writes there; restore the file \
         `train` wrote, or run `train` again"
    )]
    TooLarge { path: PathBuf, limit: u64 },

    #[error("cannot write a run to {dest}: {file} is a file, not a folder; choose another --out")]
    DestUnderFile { dest: PathBuf, file: PathBuf },

    #[error("cannot access {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The most a run's text files (`config.toml`, `report.json`, `seal.toml`) may hold: `train`
/// writes a few kilobytes, and a reader (a server listing every run) must not read a huge file
/// whole.
pub(crate) const MAX_TEXT_BYTES: u64 = 1 << 20;

/// Reads the text file `path` whole, refusing one over [`MAX_TEXT_BYTES`]. An absent file is
/// the `Io` error, whose source says `NotFound`.
pub(crate) fn read_text(path: &std::path::Path) -> Result<String, RunError> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_TEXT_BYTES + 1).read_to_string(&mut text))
        .map_err(io(path))?;
    if text.len() as u64 > MAX_TEXT_BYTES {
        return Err(RunError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_TEXT_BYTES,
        });
    }
    Ok(text)
}

/// A closure for `map_err` that names the path of a failed file operation.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The fix for a `--model` that names a file: the run that holds it, or an example.
fn run_dir_hint(dir: &Option<PathBuf>) -> String {
    match dir {
        Some(dir) => format!("--model {}", dir.display()),
        None => "name one that `train` wrote, such as --model artifacts/mlp".to_string(),
    }
}
