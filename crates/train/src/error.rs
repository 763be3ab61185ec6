//! What can stop a training run, each with the thing concerned and the fix.

use std::path::PathBuf;

use data::DataError;
use model::ModelError;

/// An error from `train`.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("cannot read config {path}")]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("config {path} is not valid")]
    ConfigSyntax {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },

    #[error("config {path}: `{key}` {message}")]
    ConfigValue {
        path: PathBuf,
        key: String,
        message: String,
    },

    #[error("config {path}: `[model]` is not valid")]
    ConfigModel {
        path: PathBuf,
        #[source]
        source: Box<ModelError>,
    },

    /// The data's message names `classes` itself.
    #[error("config {path}")]
    ConfigClasses {
        path: PathBuf,
        #[source]
        source: DataError,
    },

    #[error(transparent)]
    Data(#[from] DataError),

    #[error(transparent)]
    Model(#[from] ModelError),

    /// Boxed: a run's errors are large, and this one is returned by every step of the way.
    #[error(transparent)]
    Run(Box<run::RunError>),

    #[error(
        "`{key}` is {value}, but the data has {data}: the network must fit its data; remove the \
         key (it follows the data)"
    )]
    DoesNotFitData {
        key: &'static str,
        value: usize,
        data: usize,
    },

    #[error("the {0} is empty: there is nothing to train on or measure")]
    EmptyDataset(&'static str),

    #[error("cannot read the epoch's costs back from the device")]
    Readback(#[source] burn::tensor::DataError),

    #[error(
        "training diverged in epoch {epoch}, step {step}: the cost {what} (learning rate \
         {}); {advice}{}", crate::number::compact(*.rate), match .resumable {
            Some(dir) => format!(
                ". The last good checkpoint stays: continue it with a lower rate, `train --resume \
                 {} --learning-rate {}` (resuming at the same rate diverges again), or start \
                 afresh with --restart",
                dir.display(),
                crate::number::compact(*.base_rate / 3.0)
            ),
            None => String::new(),
        }
    )]
    Diverged {
        epoch: usize,
        step: usize,
        rate: f64,
        /// The config's learning rate η, which `--learning-rate` sets (the schedule scales it).
        base_rate: f64,
        what: String,
        advice: String,
        /// The destination whose last good checkpoint remains (set by `cli::Prepared::train`).
        resumable: Option<PathBuf>,
    },

    #[error(
        "the network did not learn: its test accuracy, {:.2}%, is what chance gives (guessing \
         each of its {classes} classes as often as the test set holds it scores {:.2}%, and \
         scores as well at least 5% of the time); {advice}. The run was not written, and any earlier run in its place \
         is untouched",
        100.0 * .accuracy,
        100.0 * .baseline
    )]
    NotLearned {
        accuracy: f64,
        /// The share of the test set a guesser with its class frequencies gets right.
        baseline: f64,
        classes: usize,
        advice: String,
    },

    #[error("training was interrupted in epoch {epoch} (after step {step}){}", match .checkpoint {
        Some(path) => format!("; its checkpoint is {}", path.display()),
        None => String::new(),
    })]
    Interrupted {
        epoch: usize,
        step: usize,
        checkpoint: Option<PathBuf>,
        /// The run's destination, which `--resume` takes (set by `cli::Prepared::train`).
        dest: Option<PathBuf>,
    },

    #[error("cannot access checkpoint {path}")]
    Checkpoint {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "there is no interrupted run to resume in {dir}: no checkpoint in {checkpoints}; start \
         one with `train --config FILE --out {dir}`"
    )]
    NothingToResume { dir: PathBuf, checkpoints: PathBuf },

    #[error(
        "--resume takes the destination of an interrupted run (the folder its --out named, such \
         as artifacts/mlp), and {path} is a file; {advice}"
    )]
    ResumeIsAFile { path: PathBuf, advice: String },

    #[error(
        "--learning-rate {} is higher than the run's {}: a resumed run takes a lower rate only \
         (after a divergence); start afresh with --restart to train at a higher one",
        crate::number::compact(*.to),
        crate::number::compact(*.from)
    )]
    ResumeRateRaised { from: f64, to: f64 },

    #[error("--{flag} {message}")]
    Flag {
        flag: &'static str,
        message: &'static str,
    },

    #[error(
        "{dir} has an interrupted run (epoch {epoch} of {epochs}, checkpoint in {checkpoints}): \
         continue it with `train --resume {dir}`, or discard it and start again with --restart"
    )]
    InterruptedRunExists {
        dir: PathBuf,
        epoch: usize,
        epochs: usize,
        checkpoints: PathBuf,
    },

    #[error(
        "--resume continues the interrupted run with the config it started with, but `{key}` \
         differs: {given} here, {saved} in {checkpoint}; drop the option, or start afresh with \
         --restart"
    )]
    ResumeMismatch {
        key: String,
        given: String,
        saved: String,
        checkpoint: PathBuf,
    },

    #[error(
        "`init.from` = {dir} is not a trained run (a directory `train` wrote, with its \
         config.toml and model.bpk): train the source run first, or point `init.from` at one"
    )]
    InitNotARun { dir: PathBuf },

    #[error("`init.from` = {dir} cannot start this run")]
    InitFrom {
        dir: PathBuf,
        #[source]
        source: Box<run::RunError>,
    },

    #[error(
        "`init.from` = {from} has {theirs} hidden layers, but this config's `[model] activation` \
         is {ours}: weights learned through one activation mean nothing through another; set \
         activation = \"{theirs}\""
    )]
    InitActivation {
        from: PathBuf,
        theirs: &'static str,
        ours: &'static str,
    },

    #[error(
        "`init.from` = {from} is a {theirs} network, too few layers to copy {copied} into this \
         {ours} network; start from a deeper run, or change `[model] hidden`"
    )]
    InitLayers {
        from: PathBuf,
        theirs: String,
        ours: String,
        copied: usize,
    },

    #[error(
        "`init.from` = {from} has {theirs} outputs, but this run has {ours} classes: set \
         `reset_output = true` in [init] to start the output layer afresh"
    )]
    InitClasses {
        from: PathBuf,
        theirs: usize,
        ours: usize,
    },

    #[error(
        "`init.from` = {from} answers with the classes {theirs:?}, but this run's are {ours:?}: \
         its output layer would name them wrongly; set `reset_output = true` in [init] to start \
         the output layer afresh"
    )]
    InitClassNames {
        from: PathBuf,
        theirs: Vec<String>,
        ours: Vec<String>,
    },

    #[error(
        "layer {layer} does not fit: it is {theirs} in `init.from` = {from}, but {ours} in this \
         config; make `[model]` match the source run's config.toml (only the output layer can start \
         afresh, with `reset_output = true`)"
    )]
    InitShape {
        from: PathBuf,
        layer: usize,
        theirs: String,
        ours: String,
    },

    #[error(
        "`curve` compares training from scratch with starting from a base run, and {config} \
         has no [init] table naming one: add `[init] from = \"...\"` (with `reset_output = \
         true` when the classes differ from the base's)"
    )]
    CurveNeedsInit { config: PathBuf },

    #[error("cannot write {path}")]
    WriteCurve {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("config {path} is over {limit} bytes: it is not a training config")]
    ConfigTooLarge { path: PathBuf, limit: u64 },

    #[error("cannot start the training threads")]
    Threads(#[source] rayon::ThreadPoolBuildError),

    #[error("cannot encode the run's files")]
    EncodeConfig(#[source] toml::ser::Error),

    #[error("cannot draw the picture {path}")]
    DrawPicture {
        path: PathBuf,
        #[source]
        source: pictures::DrawError,
    },

    #[error("cannot write the picture {path}")]
    WritePicture {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<run::RunError> for TrainError {
    fn from(e: run::RunError) -> Self {
        TrainError::Run(Box::new(e))
    }
}
