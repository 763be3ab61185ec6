//! The part of a run's `config.toml` that its readers need.

use std::path::{Path, PathBuf};

use model::{Cost, MlpConfig};
use serde::Deserialize;

use crate::error::read_text;
use crate::layout::CONFIG_FILE;
use crate::RunError;

/// The part of a run's `config.toml` needed to rebuild and use its network. The rest of the
/// file (the optimizer, the schedule, ...) is `train`'s, and readers ignore it.
#[derive(Debug, Clone, Deserialize)]
pub struct RunSpec {
    /// The network's shape and activation.
    pub model: MlpConfig,
    /// The cost it was trained with, which fixes the output layer.
    pub cost: Cost,
    /// The data directory it was trained on (absolute once resolved by `train`).
    pub data_dir: Option<PathBuf>,
    /// The classes of the data it was trained on, when not all (`classes` in the config):
    /// its test images are those of these classes, relabelled 0..k−1 in this order.
    #[serde(default)]
    pub classes: Option<Vec<u8>>,
    /// The names of its outputs, when not the ten digits (runs written before the key
    /// existed were trained on the digits).
    #[serde(default)]
    pub class_names: Option<Vec<String>>,
    /// `[optimizer]`: only its learning rate, for readers that take a step of their own (the
    /// trace of `gradcheck trace --model`).
    #[serde(default)]
    pub optimizer: Option<OptimizerSpec>,
    /// `[init]`: the run it started from, and how many layers stayed frozen.
    #[serde(default)]
    pub init: Option<InitSpec>,
    /// The seed its initial weights were drawn from (`infer --pictures` draws them again).
    #[serde(default)]
    pub seed: Option<u64>,
    /// The backend it was trained on, when its config names one (a name, as written: a reader
    /// that cannot use it carries on without it).
    #[serde(default)]
    pub backend: Option<String>,
}

/// The part of `[optimizer]` a reader needs.
#[derive(Debug, Clone, Deserialize)]
pub struct OptimizerSpec {
    /// The base learning rate η (the last one set, after a `--resume --learning-rate`).
    pub learning_rate: Option<f64>,
}

/// The part of `[init]` a reader needs.
#[derive(Debug, Clone, Deserialize)]
pub struct InitSpec {
    /// The run whose weights it started from (absolute in a run's config).
    #[serde(default)]
    pub from: Option<PathBuf>,
    /// The first `freeze` layers (input side) kept their weights: no gradient reached them.
    #[serde(default)]
    pub freeze: usize,
    /// Its output layer was drawn from the seed instead of copied from `from`.
    #[serde(default)]
    pub reset_output: bool,
}

impl RunSpec {
    /// Reads the spec from the `config.toml` of the run in `dir`.
    pub fn read(dir: &Path) -> Result<RunSpec, RunError> {
        let path = dir.join(CONFIG_FILE);
        let text = read_text(&path)?;
        toml::from_str(&text).map_err(|source| RunError::BadRunConfig { path, source })
    }

    /// The learning rate the run was trained with, if its config names one.
    pub fn learning_rate(&self) -> Option<f64> {
        self.optimizer.as_ref().and_then(|o| o.learning_rate)
    }

    /// How many layers (from the input) the run kept frozen: 0 for most.
    pub fn frozen_layers(&self) -> usize {
        self.init.as_ref().map_or(0, |i| i.freeze)
    }

    /// The name of each of the network's outputs: the config's `class_names`, else the
    /// outputs' indices, which for MNIST are the digits.
    pub fn class_names(&self) -> Vec<String> {
        match &self.class_names {
            Some(names) if names.len() == self.model.outputs => names.clone(),
            _ => (0..self.model.outputs).map(|c| c.to_string()).collect(),
        }
    }
}
