//! Checkpoints: what a run in progress needs to continue exactly as if it had never stopped.
//!
//! A checkpoint holds the network's weights, the optimizer's state (Adam's moments, SGD's
//! velocity), where training stands (epochs and steps done, the current epoch's running cost
//! and accuracy, the history so far, the best epoch) and the resolved config. The batch order
//! needs no saving: it is replayed from the seed (`train`'s trainer does that).
//!
//! They live in the run's private directory beside its destination (see
//! [`RunPlace`](crate::RunPlace)), never in the last complete run:
//!
//! ```text
//! artifacts/.mlp.run/checkpoints/
//!   epoch-000002-step-000000/   the newest: what `train --resume artifacts/mlp` starts from
//!     position.json  model.bpk  optimizer.bpk  [best.bpk]  config.toml
//! ```
//!
//! Each is written under a temporary name and renamed into place when complete, so the newest
//! checkpoint is always whole; older ones are then removed, except every `keep_every`-th epoch's.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::io;
use crate::layout::{CONFIG_FILE, WEIGHTS_FILE};
use crate::{EpochMetrics, RunError};

const POSITION_FILE: &str = "position.json";
const OPTIMIZER_FILE: &str = "optimizer.bpk";
const BEST_FILE: &str = "best.bpk";
const INCOMPLETE: &str = ".incomplete";

/// The epoch with the best validation accuracy so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestEpoch {
    pub epoch: usize,
    pub validation_accuracy: f64,
}

/// Where training stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Steps of the next epoch already taken (0 at an epoch's end).
    pub steps_into_epoch: usize,
    /// Steps taken in all: the learning-rate schedule's position.
    pub step: usize,
    /// The mean cost of each step taken in the current epoch, in order.
    pub epoch_losses: Vec<f32>,
    /// Training images those steps classified right.
    pub epoch_correct: u64,
    /// Wall time spent in the current epoch's steps.
    pub epoch_seconds: f64,
    /// Every finished epoch's metrics.
    pub history: Vec<EpochMetrics>,
    pub best: Option<BestEpoch>,
    /// The first cost measured, against which an exploding cost is judged.
    pub reference_loss: Option<f32>,
    /// Wall time of training so far, across every session of the run.
    pub seconds: f64,
}

/// A run in progress, as saved.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub position: Position,
    /// The network's weights (burnpack).
    pub network: Vec<u8>,
    /// The optimizer's state (burnpack).
    pub optimizer: Vec<u8>,
    /// The best epoch's weights, when the run keeps the best epoch.
    pub best_network: Option<Vec<u8>>,
}

/// Where a run's checkpoints are kept, and how many.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    dir: PathBuf,
    config_toml: String,
    keep_every: usize,
}

impl CheckpointStore {
    /// Checkpoints in `dir` of the run whose resolved config is `config_toml`, keeping every
    /// `keep_every`-th epoch's besides the newest (0: only the newest).
    pub fn new(dir: &Path, config_toml: String, keep_every: usize) -> Self {
        CheckpointStore {
            dir: dir.to_path_buf(),
            config_toml,
            keep_every,
        }
    }

    /// The directory the checkpoints are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Saves `checkpoint` as the newest; returns its directory.
    pub fn save(&self, checkpoint: &Checkpoint) -> Result<PathBuf, RunError> {
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let p = &checkpoint.position;
        let name = format!("epoch-{:06}-step-{:06}", p.epochs_done, p.steps_into_epoch);
        let tmp = self.dir.join(INCOMPLETE);
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        fs::create_dir(&tmp).map_err(io(&tmp))?;
        let write = |file: &str, bytes: &[u8]| {
            let path = tmp.join(file);
            fs::write(&path, bytes).map_err(io(&path))
        };
        let position = serde_json::to_vec_pretty(p).map_err(|source| RunError::EncodeJson {
            file: POSITION_FILE,
            source,
        })?;
        write(POSITION_FILE, &position)?;
        write(WEIGHTS_FILE, &checkpoint.network)?;
        write(OPTIMIZER_FILE, &checkpoint.optimizer)?;
        if let Some(best) = &checkpoint.best_network {
            write(BEST_FILE, best)?;
        }
        write(CONFIG_FILE, self.config_toml.as_bytes())?;
        let dest = self.dir.join(&name);
        if dest.exists() {
            fs::remove_dir_all(&dest).map_err(io(&dest))?;
        }
        fs::rename(&tmp, &dest).map_err(io(&dest))?;
        // Older checkpoints go, but for the kept epochs.
        for old in self.names()? {
            if old == name {
                continue;
            }
            let kept = self.keep_every > 0
                && parse_name(&old).is_some_and(|(epoch, step)| {
                    step == 0 && epoch > 0 && epoch % self.keep_every == 0
                });
            if !kept {
                let path = self.dir.join(&old);
                fs::remove_dir_all(&path).map_err(io(&path))?;
            }
        }
        Ok(dest)
    }

    /// Checkpoint directory names, oldest first.
    fn names(&self) -> Result<Vec<String>, RunError> {
        let mut names: Vec<String> = match fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| parse_name(n).is_some())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        names.sort_by_key(|n| parse_name(n));
        Ok(names)
    }

    /// The kept checkpoints of finished epochs, oldest first (what a completed run keeps).
    pub fn kept(&self) -> Result<Vec<PathBuf>, RunError> {
        Ok(self
            .names()?
            .into_iter()
            .filter(|n| {
                self.keep_every > 0
                    && parse_name(n).is_some_and(|(e, s)| s == 0 && e % self.keep_every == 0)
            })
            .map(|n| self.dir.join(n))
            .collect())
    }

    /// The newest checkpoint in `dir`, with the config it continues; `None` if there is none.
    pub fn latest(dir: &Path) -> Result<Option<(PathBuf, String, Checkpoint)>, RunError> {
        let store = CheckpointStore::new(dir, String::new(), 0);
        let Some(name) = store.names()?.pop() else {
            return Ok(None);
        };
        let path = dir.join(name);
        let read = |file: &str| {
            let p = path.join(file);
            fs::read(&p).map_err(io(&p))
        };
        let position_path = path.join(POSITION_FILE);
        let position: Position =
            serde_json::from_slice(&read(POSITION_FILE)?).map_err(|source| {
                RunError::BadCheckpoint {
                    path: position_path.clone(),
                    source,
                }
            })?;
        let config = String::from_utf8(read(CONFIG_FILE)?).map_err(|source| {
            RunError::CheckpointNotText {
                path: path.join(CONFIG_FILE),
                source,
            }
        })?;
        let best_network = match read(BEST_FILE) {
            Ok(bytes) => Some(bytes),
            Err(_) if !path.join(BEST_FILE).exists() => None,
            Err(e) => return Err(e),
        };
        let checkpoint = Checkpoint {
            position,
            network: read(WEIGHTS_FILE)?,
            optimizer: read(OPTIMIZER_FILE)?,
            best_network,
        };
        Ok(Some((path, config, checkpoint)))
    }
}

/// `epoch-000002-step-000017` → (2, 17).
fn parse_name(name: &str) -> Option<(usize, usize)> {
    let rest = name.strip_prefix("epoch-")?;
    let (epoch, step) = rest.split_once("-step-")?;
    Some((epoch.parse().ok()?, step.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(epochs_done: usize, steps: usize) -> Checkpoint {
        Checkpoint {
            position: Position {
                epochs_done,
                steps_into_epoch: steps,
                step: epochs_done * 10 + steps,
                epoch_losses: vec![0.5; steps],
                ..Position::default()
            },
            network: vec![1, 2, 3],
            optimizer: vec![4, 5],
            best_network: None,
        }
    }

    #[test]
    fn the_newest_is_loaded_and_older_ones_go_except_the_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(tmp.path(), "epochs = 9\n".into(), 2);
        for (e, s) in [(1, 0), (2, 0), (3, 0), (3, 4)] {
            store.save(&checkpoint(e, s)).unwrap();
        }
        let (path, config, latest) = CheckpointStore::latest(tmp.path()).unwrap().unwrap();
        assert!(path.ends_with("epoch-000003-step-000004"), "{path:?}");
        assert_eq!(config, "epochs = 9\n");
        assert_eq!(latest.position, checkpoint(3, 4).position);
        assert_eq!(
            (latest.network, latest.optimizer),
            (vec![1, 2, 3], vec![4, 5])
        );
        // Epoch 2 is kept (every 2nd); epochs 1 and 3 were replaced by newer checkpoints.
        let mut left: Vec<String> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["epoch-000002-step-000000", "epoch-000003-step-000004"]
        );
        assert_eq!(store.kept().unwrap().len(), 1);
    }

    #[test]
    fn an_incomplete_checkpoint_is_never_the_latest() {
        let tmp = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(tmp.path(), String::new(), 0);
        store.save(&checkpoint(1, 0)).unwrap();
        // A save killed halfway leaves only its temporary directory.
        fs::create_dir(tmp.path().join(INCOMPLETE)).unwrap();
        let (path, _, _) = CheckpointStore::latest(tmp.path()).unwrap().unwrap();
        assert!(path.ends_with("epoch-000001-step-000000"));
        assert!(CheckpointStore::latest(&tmp.path().join("none"))
            .unwrap()
            .is_none());
    }
}
