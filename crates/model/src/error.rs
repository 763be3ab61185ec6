//! What can go wrong building, placing, saving or loading a network.

use std::path::PathBuf;

use crate::Backend;

fn names(backends: &[Backend]) -> String {
    if backends.is_empty() {
        return "none".to_string();
    }
    backends
        .iter()
        .map(|b| b.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An error from the `model` crate; each message names the thing and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown backend `{name}`: choose one of flex, ndarray, wgpu, cuda")]
    UnknownBackend { name: String },

    #[error(
        "backend `{backend}` is not compiled into this build (compiled in: {}); rebuild with \
         `--features {backend}`", names(.compiled)
    )]
    BackendNotCompiled {
        backend: Backend,
        compiled: Vec<Backend>,
    },

    #[error(
        "no backend is compiled into this build: enable one of the features flex, ndarray, \
         wgpu, cuda (`flex` is the default)"
    )]
    NoBackend,

    #[error("invalid network: {0}")]
    InvalidConfig(String),

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

    #[error("{path} does not describe a network: {source}")]
    BadRunConfig {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },

    #[error(
        "{weights} does not fit the network described by {config} ({detail}); the two come \
         from different runs: run `train` again to write them together"
    )]
    WeightsDoNotFit {
        weights: PathBuf,
        config: PathBuf,
        detail: String,
    },

    #[error("{path} is a file; --model takes the run's directory: --model {}", .dir.display())]
    RunIsAFile { path: PathBuf, dir: PathBuf },

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

    #[error("{path} is not a readable weights file ({detail}); run `train` again to rewrite it")]
    BadWeights { path: PathBuf, detail: String },

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

    #[error("output directory {path} is a symbolic link to nowhere ({source}); point it at a directory or choose another --out")]
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

    #[error("cannot encode the weights: {0}")]
    Encode(#[source] burn::store::RecordError),

    #[error("cannot read the network's outputs back from the device: {0}")]
    Readback(#[source] burn::tensor::DataError),

    #[error("there are no images to score")]
    NothingToScore,

    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// An error and its causes as one message for a person: each cause is added only when the
/// message so far does not already say it (most of this project's errors put their cause in
/// their own text).
pub fn describe(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = e.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let said = ModelError::Io {
            path: "x/model.bpk".into(),
            source: io,
        };
        assert_eq!(describe(&said), "cannot access x/model.bpk: no such file");
        let anyhow_like = std::io::Error::other(said);
        assert_eq!(
            describe(&anyhow_like),
            "cannot access x/model.bpk: no such file"
        );
    }
}
