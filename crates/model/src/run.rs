//! A training run on disk: the directory `train` writes and `infer` reads.
//!
//! ```text
//! artifacts/mlp/
//!   model.bpk     the trained weights (Burn's burnpack format)
//!   config.toml   the resolved training config; its `[model]` table and `cost` rebuild the network
//!   metrics.csv   one row per epoch
//!   report.json   the summary: test accuracy, epochs, time, backend
//!   curves.svg    the training curves, drawn from metrics.csv
//!   pictures/     what `infer --pictures` drew of the network (optional)
//! ```
//!
//! A run is written into a staging directory beside its destination and moved into place only
//! once complete ([`RunWriter::commit`], with [`crate::place`]), so an interrupted run never
//! leaves new weights beside an old config, or a half-written file in place of a good one.

use std::fs;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};

use crate::place::{PlaceLock, RunPlace};
use crate::{Activation, Cost, Mlp, MlpConfig, ModelError};

/// The weights file of a run.
pub const WEIGHTS_FILE: &str = "model.bpk";
/// The resolved config of a run.
pub const CONFIG_FILE: &str = "config.toml";
/// The per-epoch metrics of a run.
pub const METRICS_FILE: &str = "metrics.csv";
/// The summary of a run.
pub const REPORT_FILE: &str = "report.json";

/// The seal of a run: what its network was when written (see [`Seal`]).
pub const SEAL_FILE: &str = "seal.toml";
/// The training curves of a run, drawn by `train`.
pub const CURVES_FILE: &str = "curves.svg";
/// Where `infer --pictures` draws a run's network by default.
pub const PICTURES_DIR: &str = "pictures";
/// Checkpoints a run chose to keep (`keep_checkpoint_every`), one directory each.
pub const CHECKPOINTS_DIR: &str = "checkpoints";

/// Everything a run directory may hold: a destination holding anything else is not a run, and
/// is never replaced.
const RUN_FILES: [&str; 8] = [
    WEIGHTS_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    REPORT_FILE,
    SEAL_FILE,
    CHECKPOINTS_DIR,
    CURVES_FILE,
    PICTURES_DIR,
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
    /// The classes of the data it was trained on, when not all (`classes` in the config):
    /// its test images are those of these classes, relabelled 0..k−1 in this order.
    #[serde(default)]
    pub classes: Option<Vec<u8>>,
    /// The names of its outputs, when not the ten digits (runs written before the key
    /// existed were trained on the digits).
    #[serde(default)]
    pub class_names: Option<Vec<String>>,
}

impl RunSpec {
    /// The name of each of the network's outputs: the config's `class_names`, else the
    /// outputs' indices, which for MNIST are the digits.
    pub fn class_names(&self) -> Vec<String> {
        match &self.class_names {
            Some(names) if names.len() == self.model.outputs => names.clone(),
            _ => (0..self.model.outputs).map(|c| c.to_string()).collect(),
        }
    }
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
        if dir.is_file() {
            return Err(ModelError::RunIsAFile {
                path: dir.to_path_buf(),
                dir: dir.parent().unwrap_or(Path::new(".")).to_path_buf(),
            });
        }
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
        if let Some(names) = spec
            .class_names
            .as_ref()
            .filter(|n| n.len() != spec.model.outputs)
        {
            return Err(ModelError::InvalidConfig(format!(
                "{}: `class_names` names {} classes, but the network has {} outputs; restore \
                 the file `train` wrote",
                config_path.display(),
                names.len(),
                spec.model.outputs
            )));
        }
        let bytes = fs::read(&weights_path).map_err(|source| ModelError::Io {
            path: weights_path.clone(),
            source,
        })?;
        Seal::check(dir, &spec, &bytes)?;
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
        let non_finite = non_finite_parameters(&network)?;
        if non_finite > 0 {
            return Err(ModelError::NonFiniteWeights {
                path: weights_path,
                count: non_finite,
            });
        }
        Ok(SavedRun {
            dir: dir.to_path_buf(),
            spec,
            network,
        })
    }
}

/// How many of the network's parameters are NaN or infinite.
fn non_finite_parameters(network: &Mlp) -> Result<usize, ModelError> {
    let mut count = 0;
    for layer in &network.layers {
        let mut tensors = vec![layer.weight.val().flatten::<1>(0, 1)];
        tensors.extend(layer.bias.as_ref().map(|b| b.val()));
        for t in tensors {
            let values: Vec<f32> = t
                .into_data()
                .convert::<f32>()
                .try_into_vec()
                .map_err(ModelError::Readback)?;
            count += values.iter().filter(|v| !v.is_finite()).count();
        }
    }
    Ok(count)
}

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
    fn of(network: &Mlp, cost: Cost, weights: &[u8]) -> Seal {
        Seal {
            weights_sha256: sha256_hex(weights),
            sizes: network.sizes(),
            activation: network.activation,
            cost,
        }
    }

    /// Checks the run in `dir` (its config read as `spec`, its weights as `weights`) against its
    /// seal, if it has one.
    fn check(dir: &Path, spec: &RunSpec, weights: &[u8]) -> Result<(), ModelError> {
        let path = dir.join(SEAL_FILE);
        if !path.is_file() {
            return Ok(());
        }
        let text = fs::read_to_string(&path).map_err(|source| ModelError::Io {
            path: path.clone(),
            source,
        })?;
        let seal: Seal = toml::from_str(&text).map_err(|source| ModelError::BadRunConfig {
            path: path.clone(),
            source,
        })?;
        if sha256_hex(weights) != seal.weights_sha256 {
            return Err(ModelError::WeightsChanged {
                path: dir.join(WEIGHTS_FILE),
                seal: path,
            });
        }
        let changed = |key: &str, now: String, was: String| ModelError::ConfigChanged {
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

/// The SHA-256 of `bytes`, as lowercase hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

    /// Writes the network's weights, and the seal (`seal.toml`) that `SavedRun::load` checks
    /// them and the config against: `cost` is the cost it was trained with.
    pub fn write_network(&self, network: &Mlp, cost: Cost) -> Result<(), ModelError> {
        let bytes = network_to_bytes(network)?;
        let seal = toml::to_string(&Seal::of(network, cost, &bytes))
            .map_err(|e| ModelError::InvalidConfig(e.to_string()))?;
        self.write(WEIGHTS_FILE, &bytes)?;
        self.write(
            SEAL_FILE,
            format!(
                "# What this run's network was when `train` wrote it. `infer` refuses the run if\n\
                 # model.bpk or the network config.toml describes no longer match.\n\n{seal}"
            ),
        )
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
        w.write_network(&net, Cost::Quadratic).unwrap();
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
        // Retrain with a different hidden layer, but keep the old config (in a run written
        // before seals, which checks the shapes alone).
        fs::remove_file(dest.join(SEAL_FILE)).unwrap();
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
        fs::remove_file(dest.join(SEAL_FILE)).unwrap();
        fs::write(dest.join(WEIGHTS_FILE), b"not a burnpack file").unwrap();
        let err = SavedRun::load(&dest, &device()).unwrap_err().to_string();
        assert!(
            err.contains("model.bpk is not a readable weights file"),
            "{err}"
        );
    }

    #[test]
    fn the_seal_catches_edited_weights_and_an_edited_network() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("run");
        write_run(&dest, 6);
        let good = fs::read(dest.join(WEIGHTS_FILE)).unwrap();
        // One flipped bit anywhere in the weights.
        let mut flipped = good.clone();
        let at = flipped.len() - 10;
        flipped[at] ^= 0x40;
        fs::write(dest.join(WEIGHTS_FILE), &flipped).unwrap();
        let err = SavedRun::load(&dest, &device()).unwrap_err().to_string();
        assert!(
            err.contains("model.bpk has changed") && err.contains("seal.toml"),
            "{err}"
        );
        fs::write(dest.join(WEIGHTS_FILE), &good).unwrap();
        // The config edited to another activation: the same shapes, another network.
        let config = fs::read_to_string(dest.join(CONFIG_FILE)).unwrap();
        fs::write(
            dest.join(CONFIG_FILE),
            config.replace("hidden = [6]", "hidden = [6]\nactivation = \"relu\""),
        )
        .unwrap();
        let err = SavedRun::load(&dest, &device()).unwrap_err().to_string();
        assert!(
            err.contains("`model.activation` is relu") && err.contains("trained as sigmoid"),
            "{err}"
        );
        fs::write(dest.join(CONFIG_FILE), config).unwrap();
        assert!(SavedRun::load(&dest, &device()).is_ok());
    }

    mod props {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(
                std::env::var("DIGITS_PROPTEST_CASES")
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(64)
            ))]

            #[test]
            fn arbitrary_bytes_as_weights_load_or_fail_cleanly(
                bytes in proptest::collection::vec(any::<u8>(), 0..4096),
            ) {
                let _ = network_from_bytes(&MlpConfig::new([6]), bytes, &device());
            }

            #[test]
            fn damaged_real_weights_load_or_fail_cleanly(
                edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
                cut in any::<usize>(),
            ) {
                let mut bytes = network_to_bytes(&MlpConfig::new([6]).init(&device())).unwrap();
                let len = bytes.len();
                for (at, v) in edits {
                    bytes[at % len] = v;
                }
                bytes.truncate(cut % (len + 1));
                let _ = network_from_bytes(&MlpConfig::new([6]), bytes, &device());
            }
        }
    }

    #[test]
    fn non_finite_weights_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("run");
        let mut net = MlpConfig::new([6]).init(&device());
        let mut w: Vec<f32> = net.layers[0].weight.val().into_data().try_to_vec().unwrap();
        w[..6].fill(f32::NAN);
        let w = Tensor::<2>::from_data(TensorData::new(w, [784, 6]), &device());
        net.layers[0].weight = burn::module::Param::from_tensor(w);
        let writer = RunWriter::create(&dest).unwrap();
        writer.write_network(&net, Cost::Quadratic).unwrap();
        writer.write(CONFIG_FILE, CONFIG).unwrap();
        writer.commit().unwrap();
        let err = SavedRun::load(&dest, &device()).unwrap_err().to_string();
        assert!(err.contains("6 weights that are NaN or infinite"), "{err}");
    }

    #[test]
    fn a_weights_file_for_a_run_directory_is_pointed_at_its_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("run");
        write_run(&dest, 6);
        let err = SavedRun::load(&dest.join(WEIGHTS_FILE), &device())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is a file") && err.contains(&format!("--model {}", dest.display())),
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
            w.write_network(&MlpConfig::new([7]).init(&device()), Cost::Quadratic)
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
