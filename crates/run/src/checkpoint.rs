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
//!   epoch-000001-step-000000/   the one before: what is resumed if the newest is damaged
//!   epoch-000002-step-000000/   the newest: what `train --resume artifacts/mlp` starts from
//!     position.json  model.bpk  optimizer.bpk  [best.bpk]  config.toml  seal.toml
//! ```
//!
//! Each is written under a temporary name and renamed into place when complete, so the
//! newest checkpoint is always whole; the one before it stays, and older ones are removed,
//! except every `keep_every`-th epoch's. Each is sealed: `seal.toml` holds the SHA-256 of
//! every other file, and a checkpoint whose files no longer match (a flipped byte, a
//! truncated file, an edited `position.json`) is not resumed. [`CheckpointStore::latest`]
//! finds the newest one that is whole, and says which it passed over and why; one without a
//! seal (written before seals) is resumed only when the user allows it ([`Trust`]).

use std::fs;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::io;
use crate::layout::{CONFIG_FILE, SEAL_FILE, WEIGHTS_FILE};
use crate::seal::{sha256_hex, Trust};
use crate::{EpochMetrics, RunError};

const POSITION_FILE: &str = "position.json";
const OPTIMIZER_FILE: &str = "optimizer.bpk";
const BEST_FILE: &str = "best.bpk";
const INCOMPLETE: &str = ".incomplete";
/// The newest checkpoints kept whatever `keep_every` says: the newest, and the one before it
/// to fall back to.
const KEEP_NEWEST: usize = 2;

/// A checkpoint's seal: the SHA-256 of each of its files, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CheckpointSeal {
    sha256: BTreeMap<String, String>,
}

/// The newest checkpoint that can be resumed, and the newer ones passed over.
#[derive(Debug, Clone)]
pub struct Resumable {
    /// Its directory.
    pub path: PathBuf,
    /// The resolved config it continues (`config.toml`).
    pub config: String,
    pub checkpoint: Checkpoint,
    /// The newer checkpoints that could not be resumed, each with why.
    pub passed_over: Vec<(PathBuf, String)>,
}

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
    /// Each time the run was resumed with a lower learning rate (after a divergence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_changes: Vec<RateChange>,
}

/// A run resumed with a lower learning rate than it started with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateChange {
    /// The step the lower rate took effect at (steps taken before it).
    pub step: usize,
    pub from: f64,
    pub to: f64,
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
        let mut seal = CheckpointSeal {
            sha256: BTreeMap::new(),
        };
        let mut write = |file: &str, bytes: &[u8]| {
            let path = tmp.join(file);
            crate::write_file(&path, bytes).map_err(io(&path))?;
            seal.sha256.insert(file.to_string(), sha256_hex(bytes));
            Ok::<(), RunError>(())
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
        let seal = toml::to_string(&seal).map_err(RunError::EncodeSeal)?;
        let seal_path = tmp.join(SEAL_FILE);
        crate::write_file(&seal_path, seal.as_bytes()).map_err(io(&seal_path))?;
        let dest = self.dir.join(&name);
        if dest.exists() {
            fs::remove_dir_all(&dest).map_err(io(&dest))?;
        }
        fs::rename(&tmp, &dest).map_err(io(&dest))?;
        // Older checkpoints go, but for the one before this one and the kept epochs; any that
        // is newer than this one is from a branch given up (passed over on resume), and goes.
        let names = self.names()?;
        let at = parse_name(&name);
        let before: Vec<&String> = names
            .iter()
            .filter(|n| parse_name(n) < at)
            .rev()
            .take(KEEP_NEWEST - 1)
            .collect();
        for old in &names {
            if *old == name || before.contains(&old) {
                continue;
            }
            if parse_name(old) > at {
                let path = self.dir.join(old);
                fs::remove_dir_all(&path).map_err(io(&path))?;
                continue;
            }
            let kept = self.keep_every > 0
                && parse_name(old).is_some_and(|(epoch, step)| {
                    step == 0 && epoch > 0 && epoch % self.keep_every == 0
                });
            if !kept {
                let path = self.dir.join(old);
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

    /// The newest checkpoint in `dir` that is whole (its seal matches, or `trust` allows one
    /// without a seal) and that `accept` takes (`train` refuses one whose weights are not
    /// finite), with the newer ones passed over and why; `None` if there is no checkpoint.
    /// When there are checkpoints and none can be resumed, the error says why for each.
    pub fn latest(
        dir: &Path,
        trust: Trust,
        accept: impl Fn(&Checkpoint, &str) -> Result<(), String>,
    ) -> Result<Option<Resumable>, RunError> {
        let store = CheckpointStore::new(dir, String::new(), 0);
        let mut passed_over = Vec::new();
        for name in store.names()?.into_iter().rev() {
            let path = dir.join(name);
            let read = CheckpointStore::read(&path, trust).and_then(|(config, checkpoint)| {
                accept(&checkpoint, &config)
                    .map(|()| (config, checkpoint))
                    .map_err(|why| RunError::CheckpointRefused {
                        path: path.clone(),
                        why,
                    })
            });
            match read {
                Ok((config, checkpoint)) => {
                    return Ok(Some(Resumable {
                        path,
                        config,
                        checkpoint,
                        passed_over,
                    }))
                }
                Err(e) => passed_over.push((path, model::error_chain(&e))),
            }
        }
        if passed_over.is_empty() {
            return Ok(None);
        }
        Err(RunError::NoGoodCheckpoint {
            dir: dir.to_path_buf(),
            reasons: passed_over
                .iter()
                .map(|(_, why)| why.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        })
    }

    /// Whether `dir` holds a checkpoint at all (whole or not).
    pub fn any(dir: &Path) -> Result<bool, RunError> {
        Ok(!CheckpointStore::new(dir, String::new(), 0)
            .names()?
            .is_empty())
    }

    /// The checkpoint in `path`, checked against its seal, with the config it continues.
    pub fn read(path: &Path, trust: Trust) -> Result<(String, Checkpoint), RunError> {
        let read = |file: &str| {
            let p = path.join(file);
            fs::read(&p).map_err(io(&p))
        };
        let seal_path = path.join(SEAL_FILE);
        let seal: Option<CheckpointSeal> = if seal_path.is_file() {
            let text = crate::error::read_text(&seal_path)?;
            Some(toml::from_str(&text).map_err(|source| RunError::BadSeal {
                path: seal_path.clone(),
                source,
            })?)
        } else if trust == Trust::AllowUnsealed {
            None
        } else {
            return Err(RunError::Unsealed {
                dir: path.to_path_buf(),
                seal: seal_path,
            });
        };
        // Every file read is checked against the seal, and every sealed file must be there.
        let checked = |file: &str| -> Result<Vec<u8>, RunError> {
            let bytes = read(file)?;
            if let Some(seal) = &seal {
                if seal.sha256.get(file) != Some(&sha256_hex(&bytes)) {
                    return Err(RunError::CheckpointChanged {
                        path: path.join(file),
                        seal: seal_path.clone(),
                    });
                }
            }
            Ok(bytes)
        };
        let position_bytes = checked(POSITION_FILE)?;
        let position: Position =
            serde_json::from_slice(&position_bytes).map_err(|source| RunError::BadCheckpoint {
                path: path.join(POSITION_FILE),
                source,
            })?;
        let config = String::from_utf8(checked(CONFIG_FILE)?).map_err(|source| {
            RunError::CheckpointNotText {
                path: path.join(CONFIG_FILE),
                source,
            }
        })?;
        let sealed_best = seal
            .as_ref()
            .is_some_and(|s| s.sha256.contains_key(BEST_FILE));
        let best_network = if sealed_best || path.join(BEST_FILE).exists() {
            Some(checked(BEST_FILE)?)
        } else {
            None
        };
        let checkpoint = Checkpoint {
            position,
            network: checked(WEIGHTS_FILE)?,
            optimizer: checked(OPTIMIZER_FILE)?,
            best_network,
        };
        Ok((config, checkpoint))
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

    fn latest(dir: &Path) -> Result<Option<Resumable>, RunError> {
        CheckpointStore::latest(dir, Trust::Sealed, |_, _| Ok(()))
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut left: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        left
    }

    #[test]
    fn the_newest_is_loaded_the_one_before_stays_and_older_ones_go_except_the_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(tmp.path(), "epochs = 9\n".into(), 2);
        for (e, s) in [(1, 0), (2, 0), (3, 0), (3, 4)] {
            store.save(&checkpoint(e, s)).unwrap();
        }
        let latest = latest(tmp.path()).unwrap().unwrap();
        assert!(
            latest.path.ends_with("epoch-000003-step-000004"),
            "{:?}",
            latest.path
        );
        assert_eq!(latest.config, "epochs = 9\n");
        assert_eq!(latest.checkpoint.position, checkpoint(3, 4).position);
        assert_eq!(
            (latest.checkpoint.network, latest.checkpoint.optimizer),
            (vec![1, 2, 3], vec![4, 5])
        );
        assert!(latest.passed_over.is_empty());
        // Epoch 2 is kept (every 2nd), epoch 3 as the one before the newest; epoch 1 went.
        assert_eq!(
            names(tmp.path()),
            [
                "epoch-000002-step-000000",
                "epoch-000003-step-000000",
                "epoch-000003-step-000004"
            ]
        );
        assert_eq!(store.kept().unwrap().len(), 1);
    }

    #[test]
    fn a_save_after_resuming_from_an_older_one_drops_the_newer_ones_given_up() {
        // Resumed from epoch 2 after epoch 3's was damaged: saving mid-epoch 3 keeps itself and
        // epoch 2's, and drops the damaged epoch 3 (newer than where training now stands).
        let tmp = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(tmp.path(), String::new(), 0);
        for (e, s) in [(1, 0), (2, 0), (3, 0)] {
            store.save(&checkpoint(e, s)).unwrap();
        }
        store.save(&checkpoint(2, 5)).unwrap();
        assert_eq!(
            names(tmp.path()),
            ["epoch-000002-step-000000", "epoch-000002-step-000005"]
        );
    }

    #[test]
    fn a_damaged_or_edited_checkpoint_is_passed_over_for_the_one_before() {
        for damage in ["flip", "truncate", "position", "seal"] {
            let tmp = tempfile::tempdir().unwrap();
            let store = CheckpointStore::new(tmp.path(), "epochs = 9\n".into(), 0);
            store.save(&checkpoint(1, 0)).unwrap();
            let newest = store.save(&checkpoint(2, 0)).unwrap();
            match damage {
                "flip" => {
                    let path = newest.join(WEIGHTS_FILE);
                    let mut bytes = fs::read(&path).unwrap();
                    bytes[0] ^= 0xff;
                    bytes[2] ^= 0x01;
                    fs::write(&path, bytes).unwrap();
                }
                "truncate" => fs::write(newest.join(OPTIMIZER_FILE), [4]).unwrap(),
                // A run claiming 4 epochs after 2.
                "position" => {
                    let path = newest.join(POSITION_FILE);
                    let text = fs::read_to_string(&path).unwrap();
                    fs::write(
                        &path,
                        text.replace("\"epochs_done\": 2", "\"epochs_done\": 4"),
                    )
                    .unwrap();
                }
                _ => fs::remove_file(newest.join(SEAL_FILE)).unwrap(),
            }
            let latest = latest(tmp.path()).unwrap().unwrap();
            assert!(
                latest.path.ends_with("epoch-000001-step-000000"),
                "{damage}"
            );
            assert_eq!(latest.passed_over.len(), 1, "{damage}");
            let why = &latest.passed_over[0].1;
            let says = if damage == "seal" {
                "so nothing shows"
            } else {
                "has changed since it was written"
            };
            assert!(why.contains(says), "{damage}: {why}");
            // With both damaged, nothing is resumed, and each reason is given.
            fs::remove_file(latest.path.join(SEAL_FILE)).unwrap();
            let e = CheckpointStore::latest(tmp.path(), Trust::Sealed, |_, _| Ok(()))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("no checkpoint in") && e.contains("--restart"),
                "{e}"
            );
        }
    }

    #[test]
    fn an_unsealed_checkpoint_is_resumed_only_when_allowed_and_accept_can_refuse() {
        let tmp = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(tmp.path(), String::new(), 0);
        let path = store.save(&checkpoint(1, 0)).unwrap();
        fs::remove_file(path.join(SEAL_FILE)).unwrap();
        assert!(latest(tmp.path())
            .unwrap_err()
            .to_string()
            .contains("--allow-unsealed"));
        let allowed = CheckpointStore::latest(tmp.path(), Trust::AllowUnsealed, |_, _| Ok(()));
        assert!(allowed.unwrap().is_some());
        let refused = CheckpointStore::latest(tmp.path(), Trust::AllowUnsealed, |_, _| {
            Err("its weights are not finite".into())
        });
        assert!(refused
            .unwrap_err()
            .to_string()
            .contains("its weights are not finite"));
    }

    #[test]
    fn an_incomplete_checkpoint_is_never_the_latest() {
        let tmp = tempfile::tempdir().unwrap();
        let store = CheckpointStore::new(tmp.path(), String::new(), 0);
        store.save(&checkpoint(1, 0)).unwrap();
        // A save killed halfway leaves only its temporary directory.
        fs::create_dir(tmp.path().join(INCOMPLETE)).unwrap();
        let latest = latest(tmp.path()).unwrap().unwrap();
        assert!(latest.path.ends_with("epoch-000001-step-000000"));
        assert!(
            CheckpointStore::latest(&tmp.path().join("none"), Trust::Sealed, |_, _| Ok(()))
                .unwrap()
                .is_none()
        );
    }
}
