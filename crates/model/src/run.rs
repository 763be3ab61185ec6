//! A training run on disk: the directory `train` writes and `infer` reads.
//!
//! ```text
//! artifacts/mlp/
//!   model.bpk     the trained weights (Burn's burnpack format)
//!   config.toml   the resolved training config; its `[model]` table and `cost` rebuild the network
//!   metrics.csv   one row per epoch
//!   report.json   the summary: test accuracy, epochs, time, backend
//! ```
//!
//! A run is written into a staging directory beside its destination and moved into place only
//! once complete ([`RunWriter::commit`], with [`crate::place`]), so an interrupted run never
//! leaves new weights beside an old config, or a half-written file in place of a good one.

use std::fs;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::ModuleRecord;
use serde::Deserialize;

use crate::place::{PlaceLock, RunPlace};
use crate::{Cost, Mlp, MlpConfig, ModelError};

/// The weights file of a run.
pub const WEIGHTS_FILE: &str = "model.bpk";
/// The resolved config of a run.
pub const CONFIG_FILE: &str = "config.toml";
/// The per-epoch metrics of a run.
pub const METRICS_FILE: &str = "metrics.csv";
/// The summary of a run.
pub const REPORT_FILE: &str = "report.json";

/// Checkpoints a run chose to keep (`keep_checkpoint_every`), one directory each.
pub const CHECKPOINTS_DIR: &str = "checkpoints";

const RUN_FILES: [&str; 5] = [
    WEIGHTS_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    REPORT_FILE,
    CHECKPOINTS_DIR,
];

/// The part of a run's `config.toml` needed to rebuild and use its network.
#[derive(Debug, Clone, Deserialize)]
pub struct RunSpec {
    /// The network's shape and activation.
    pub model: MlpConfig,
    /// The cost it was trained with, which fixes the output layer.
    pub cost: Cost,
    /// The data directory it was trained on (absolute once resolved by `train`).
    pub data_dir: Option<PathBuf>,
}

/// A trained network loaded from a run directory.
#[derive(Debug)]
pub struct SavedRun {
    pub dir: PathBuf,
    pub spec: RunSpec,
    pub network: Mlp,
}

impl SavedRun {
    /// Loads the run in `dir` onto `device`: reads `config.toml`, builds the network it
    /// describes and loads `model.bpk` into it, checking that every tensor fits.
    pub fn load(dir: &Path, device: &Device) -> Result<SavedRun, ModelError> {
        if !dir.is_dir() {
            return Err(ModelError::RunNotFound {
                dir: dir.to_path_buf(),
            });
        }
        let config_path = dir.join(CONFIG_FILE);
        let weights_path = dir.join(WEIGHTS_FILE);
        for path in [&config_path, &weights_path] {
            if !path.is_file() {
                return Err(ModelError::RunFileMissing { path: path.clone() });
            }
        }
        let text = fs::read_to_string(&config_path).map_err(|source| ModelError::Io {
            path: config_path.clone(),
            source,
        })?;
        let spec: RunSpec = toml::from_str(&text).map_err(|source| ModelError::BadRunConfig {
            path: config_path.clone(),
            source,
        })?;
        spec.model.validate()?;
        let bytes = fs::read(&weights_path).map_err(|source| ModelError::Io {
            path: weights_path.clone(),
            source,
        })?;
        let network = network_from_bytes(&spec.model, bytes, device).map_err(|e| match e {
            burn::store::RecordError::Validation(detail) => ModelError::WeightsDoNotFit {
                weights: weights_path.clone(),
                config: config_path.clone(),
                detail,
            },
            burn::store::RecordError::Io(detail) => ModelError::BadWeights {
                path: weights_path.clone(),
                detail,
            },
        })?;
        Ok(SavedRun {
            dir: dir.to_path_buf(),
            spec,
            network,
        })
    }
}

/// The network's parameters in Burn's burnpack format.
pub fn network_to_bytes(network: &Mlp) -> Result<Vec<u8>, ModelError> {
    let bytes = network
        .clone()
        .into_record()
        .into_bytes()
        .map_err(ModelError::Encode)?;
    Ok(bytes.to_vec())
}

/// Builds the network `config` describes on `device` and loads burnpack `bytes` into it.
pub fn network_from_bytes(
    config: &MlpConfig,
    bytes: Vec<u8>,
    device: &Device,
) -> Result<Mlp, burn::store::RecordError> {
    let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))?;
    config.init(device).try_load_record(record)
}

/// Writes a run into a staging directory, then moves it into place in one step. While it
/// exists it holds the destination's lock (see [`crate::place`]): a second writer is refused.
#[derive(Debug)]
pub struct RunWriter {
    /// Held until the run is committed (or the writer dropped).
    lock: Option<PlaceLock>,
    staging: PathBuf,
    committed: bool,
}

impl RunWriter {
    /// Prepares to write the run `dest`. Refuses a `dest` that exists and holds anything other
    /// than a previous run's files, so that `--out` can never replace an unrelated directory,
    /// and a `dest` another run is writing.
    pub fn create(dest: &Path) -> Result<RunWriter, ModelError> {
        let place = RunPlace::new(dest)?;
        let dest = place.dest();
        if dest.exists() {
            let foreign = fs::read_dir(dest)
                .map_err(|source| ModelError::Io {
                    path: dest.to_path_buf(),
                    source,
                })?
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|name| !RUN_FILES.contains(&name.as_str()));
            if let Some(file) = foreign {
                return Err(ModelError::NotARunDir {
                    dir: dest.to_path_buf(),
                    file,
                });
            }
        }
        let lock = place.lock()?;
        let staging = lock.fresh_staging()?;
        Ok(RunWriter {
            lock: Some(lock),
            staging,
            committed: false,
        })
    }

    /// Where the run is being written until [`RunWriter::commit`].
    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }

    /// The destination and its private directory (where checkpoints go).
    pub fn place(&self) -> &RunPlace {
        self.held().place()
    }

    /// The directory the run will occupy.
    pub fn dest(&self) -> &Path {
        self.place().dest()
    }

    fn held(&self) -> &PlaceLock {
        self.lock
            .as_ref()
            .expect("a writer holds its lock until it is consumed by commit")
    }

    /// Writes (or replaces) one file of the run.
    pub fn write(&self, file: &str, bytes: impl AsRef<[u8]>) -> Result<(), ModelError> {
        let path = self.staging.join(file);
        fs::write(&path, bytes).map_err(|source| ModelError::Io { path, source })
    }

    /// Writes the network's weights.
    pub fn write_network(&self, network: &Mlp) -> Result<(), ModelError> {
        self.write(WEIGHTS_FILE, network_to_bytes(network)?)
    }

    /// Moves the finished run into place, replacing a previous run in the destination in one
    /// step, and removes what the run kept beside it (its checkpoints and lock).
    pub fn commit(mut self) -> Result<PathBuf, ModelError> {
        crash_point("before-swap");
        self.held().swap_in(&self.staging)?;
        self.committed = true;
        crash_point("after-swap");
        let dest = self.dest().to_path_buf();
        if let Some(lock) = self.lock.take() {
            lock.finish()?;
        }
        Ok(dest)
    }
}

/// A test hook: the process dies here, as if killed, when `DIGITS_TEST_CRASH_AT` names this
/// point (`before-swap`, `after-swap`). The tests use it to show that the destination holds a
/// complete run whatever moment a run dies at.
fn crash_point(name: &str) {
    if std::env::var("DIGITS_TEST_CRASH_AT").is_ok_and(|at| at == name) {
        std::process::abort();
    }
}

impl Drop for RunWriter {
    fn drop(&mut self) {
        if !self.committed {
            // A run that failed leaves nothing half-written behind; its checkpoints stay, to
            // resume from, and with none the private directory goes too.
            let _ = fs::remove_dir_all(&self.staging);
            if let Some(lock) = self.lock.take() {
                lock.abandon();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        crate::tests::test_backend().device().unwrap()
    }

    const CONFIG: &str =
        "data_dir = \"/data\"\ncost = \"quadratic\"\nepochs = 3\n\n[model]\nhidden = [6]\n";

    fn write_run(dest: &Path, hidden: usize) -> Mlp {
        let net = MlpConfig::new([hidden]).init(&device());
        let w = RunWriter::create(dest).unwrap();
        w.write_network(&net).unwrap();
        w.write(CONFIG_FILE, CONFIG).unwrap();
        w.commit().unwrap();
        net
    }

    #[test]
    fn saved_run_loads_the_same_network() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("run");
        let net = write_run(&dest, 6);
        let run = SavedRun::load(&dest, &device()).unwrap();
        assert_eq!(run.spec.cost, Cost::Quadratic);
        assert_eq!(run.spec.data_dir.as_deref(), Some(Path::new("/data")));
        let x = Tensor::<2>::ones([2, 784], &device());
        let a: Vec<f32> = net.forward(x.clone()).into_data().try_to_vec().unwrap();
        let b: Vec<f32> = run.network.forward(x).into_data().try_to_vec().unwrap();
        assert_eq!(a, b);
        // Nothing is left beside the run.
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["run"]);
    }

    #[test]
    fn weights_that_do_not_fit_the_config_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("run");
        write_run(&dest, 6);
        // Retrain with a different hidden layer, but keep the old config.
        let other = MlpConfig::new([7]).init(&device());
        fs::write(dest.join(WEIGHTS_FILE), network_to_bytes(&other).unwrap()).unwrap();
        let err = SavedRun::load(&dest, &device()).unwrap_err().to_string();
        assert!(
            err.contains("model.bpk does not fit") && err.contains("config.toml"),
            "{err}"
        );
        assert!(err.contains("run `train` again"), "{err}");
    }

    #[test]
    fn damaged_weights_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("run");
        write_run(&dest, 6);
        fs::write(dest.join(WEIGHTS_FILE), b"not a burnpack file").unwrap();
        let err = SavedRun::load(&dest, &device()).unwrap_err().to_string();
        assert!(
            err.contains("model.bpk is not a readable weights file"),
            "{err}"
        );
    }

    #[test]
    fn missing_run_says_to_train_first() {
        let tmp = tempfile::tempdir().unwrap();
        let err = SavedRun::load(&tmp.path().join("nothing"), &device())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no trained model") && err.contains("cargo run -p train"),
            "{err}"
        );
        fs::create_dir(tmp.path().join("empty")).unwrap();
        let err = SavedRun::load(&tmp.path().join("empty"), &device())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("config.toml is missing") && err.contains("cargo run -p train"),
            "{err}"
        );
    }

    #[test]
    fn bad_config_in_a_run_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("run");
        write_run(&dest, 6);
        fs::write(
            dest.join(CONFIG_FILE),
            "cost = \"hinge\"\n[model]\nhidden = [6]\n",
        )
        .unwrap();
        let err = SavedRun::load(&dest, &device()).unwrap_err().to_string();
        assert!(
            err.contains("config.toml") && err.contains("hinge"),
            "{err}"
        );
    }

    #[test]
    fn failed_run_leaves_the_previous_one_intact() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("run");
        write_run(&dest, 6);
        let before = fs::read(dest.join(WEIGHTS_FILE)).unwrap();
        {
            let w = RunWriter::create(&dest).unwrap();
            w.write_network(&MlpConfig::new([7]).init(&device()))
                .unwrap();
            // dropped without commit: the run failed
        }
        assert_eq!(fs::read(dest.join(WEIGHTS_FILE)).unwrap(), before);
        assert!(SavedRun::load(&dest, &device()).is_ok());
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["run"], "no staging directory is left");
    }

    #[test]
    fn unrelated_directory_is_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
        let err = RunWriter::create(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains("notes.txt") && err.contains("not a training run"),
            "{err}"
        );
        assert!(tmp.path().join("notes.txt").exists());
    }
}
