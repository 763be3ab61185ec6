//! `seal.toml`: what a run's network was when `train` wrote it.

use std::path::Path;

use model::{Activation, Cost, Mlp};
use serde::{Deserialize, Serialize};

use crate::error::read_text;
use crate::layout::{CONFIG_FILE, SEAL_FILE, WEIGHTS_FILE};
use crate::{RunError, RunSpec};

/// What a run's network was when it was written, kept in `seal.toml`: the SHA-256 of its
/// weights file, and the shape, activation and cost that its `config.toml` must still describe.
/// A run is refused when either has changed (edited weights, damaged bytes, or a config edited
/// to describe another network); runs written before seals existed are read unchecked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seal {
    pub weights_sha256: String,
    pub sizes: Vec<usize>,
    pub activation: Activation,
    pub cost: Cost,
}

impl Seal {
    pub(crate) fn of(network: &Mlp, cost: Cost, weights: &[u8]) -> Seal {
        Seal {
            weights_sha256: sha256_hex(weights),
            sizes: network.sizes(),
            activation: network.activation,
            cost,
        }
    }

    /// Checks the run in `dir` (its config read as `spec`, its weights as `weights`) against its
    /// seal; a run without one is refused unless `trust` allows it.
    pub(crate) fn check(
        dir: &Path,
        spec: &RunSpec,
        weights: &[u8],
        trust: Trust,
    ) -> Result<(), RunError> {
        let path = dir.join(SEAL_FILE);
        if !path.is_file() {
            return match trust {
                Trust::AllowUnsealed => Ok(()),
                Trust::Sealed => Err(RunError::Unsealed {
                    dir: dir.to_path_buf(),
                    seal: path,
                }),
            };
        }
        let text = read_text(&path)?;
        let seal: Seal = toml::from_str(&text).map_err(|source| RunError::BadSeal {
            path: path.clone(),
            source,
        })?;
        if sha256_hex(weights) != seal.weights_sha256 {
            return Err(RunError::WeightsChanged {
                path: dir.join(WEIGHTS_FILE),
                seal: path,
            });
        }
        let changed = |key: &str, now: String, was: String| RunError::ConfigChanged {
            path: dir.join(CONFIG_FILE),
            key: key.to_string(),
            now,
            was,
        };
        if spec.model.sizes() != seal.sizes {
            return Err(changed(
                "model",
                spec.model.shape(),
                seal.sizes
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join("-"),
            ));
        }
        if spec.model.activation != seal.activation {
            return Err(changed(
                "model.activation",
                spec.model.activation.name().into(),
                seal.activation.name().into(),
            ));
        }
        if spec.cost != seal.cost {
            return Err(changed(
                "cost",
                spec.cost.name().into(),
                seal.cost.name().into(),
            ));
        }
        Ok(())
    }
}

/// Whether a run or checkpoint without its seal may be loaded: only when the user says so
/// (`--allow-unsealed`), since nothing then shows that its files are the ones written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Trust {
    /// Refuse what has no seal (the default).
    #[default]
    Sealed,
    /// Load what has no seal (one that has a seal is still checked against it).
    AllowUnsealed,
}

impl Trust {
    /// The trust a command's `--allow-unsealed` flag asks for.
    pub fn allowing_unsealed(allow: bool) -> Trust {
        if allow {
            Trust::AllowUnsealed
        } else {
            Trust::Sealed
        }
    }
}

/// The SHA-256 of `bytes`, as lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
