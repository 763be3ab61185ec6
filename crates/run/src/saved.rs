//! A run read back: its network rebuilt from `config.toml` and loaded from `model.bpk`, every
//! tensor checked against the config and the seal.

use std::fs;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use model::{Mlp, ModelError};

use crate::error::io;
use crate::layout::{CONFIG_FILE, WEIGHTS_FILE};
use crate::seal::{Seal, Trust};
use crate::{RunError, RunSpec};

/// A trained network loaded from a run directory.
#[derive(Debug)]
pub struct SavedRun {
    pub dir: PathBuf,
    pub spec: RunSpec,
    pub network: Mlp,
}

impl SavedRun {
    /// Loads the run in `dir` onto `device`: reads `config.toml`, builds the network it
    /// describes and loads `model.bpk` into it, checking it against its seal (a run without
    /// one is refused) and that every tensor fits.
    pub fn load(dir: &Path, device: &Device) -> Result<SavedRun, RunError> {
        SavedRun::load_with(dir, device, Trust::Sealed)
    }

    /// [`SavedRun::load`], loading a run without a seal when `trust` allows it.
    pub fn load_with(dir: &Path, device: &Device, trust: Trust) -> Result<SavedRun, RunError> {
        if dir.is_file() {
            // `artifacts/mlp/model.bpk` names a run's file; `Cargo.toml` does not.
            let parent = dir.parent().map(|p| match p.as_os_str().is_empty() {
                true => Path::new("."),
                false => p,
            });
            let run = parent.filter(|p| p.join(CONFIG_FILE).is_file());
            return Err(RunError::RunIsAFile {
                path: dir.to_path_buf(),
                dir: run.map(Path::to_path_buf),
            });
        }
        if !dir.is_dir() {
            return Err(RunError::RunNotFound {
                dir: dir.to_path_buf(),
            });
        }
        let config_path = dir.join(CONFIG_FILE);
        let weights_path = dir.join(WEIGHTS_FILE);
        for path in [&config_path, &weights_path] {
            if !path.is_file() {
                return Err(RunError::RunFileMissing { path: path.clone() });
            }
        }
        let spec = RunSpec::read(dir)?;
        spec.model.validate()?;
        if let Some(names) = spec
            .class_names
            .as_ref()
            .filter(|n| n.len() != spec.model.outputs)
        {
            return Err(RunError::ClassNamesDoNotFit {
                path: config_path,
                names: names.len(),
                outputs: spec.model.outputs,
            });
        }
        let bytes = fs::read(&weights_path).map_err(io(&weights_path))?;
        Seal::check(dir, &spec, &bytes, trust)?;
        let network =
            model::network_from_bytes(&spec.model, bytes, device).map_err(|e| match e {
                burn::store::RecordError::Validation(detail) => RunError::WeightsDoNotFit {
                    weights: weights_path.clone(),
                    config: config_path.clone(),
                    detail,
                },
                burn::store::RecordError::Io(detail) => RunError::BadWeights {
                    path: weights_path.clone(),
                    detail,
                },
            })?;
        let non_finite = non_finite_parameters(&network)?;
        if non_finite > 0 {
            return Err(RunError::NonFiniteWeights {
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
pub fn non_finite_parameters(network: &Mlp) -> Result<usize, ModelError> {
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

#[cfg(test)]
mod tests {
    use model::{network_from_bytes, network_to_bytes, Cost, MlpConfig};

    use super::*;
    use crate::layout::SEAL_FILE;
    use crate::RunWriter;

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
        let err = SavedRun::load_with(&dest, &device(), Trust::AllowUnsealed)
            .unwrap_err()
            .to_string();
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
        let err = SavedRun::load_with(&dest, &device(), Trust::AllowUnsealed)
            .unwrap_err()
            .to_string();
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
        // Without its seal, an edited network is refused unless the user allows it: one
        // deleted file no longer turns the checks off.
        fs::remove_file(dest.join(SEAL_FILE)).unwrap();
        let err = SavedRun::load(&dest, &device()).unwrap_err().to_string();
        assert!(err.contains("--allow-unsealed"), "{err}");
        assert!(SavedRun::load_with(&dest, &device(), Trust::AllowUnsealed).is_ok());
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
    fn a_file_outside_any_run_gets_an_example_not_its_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("Cargo.toml");
        std::fs::write(&file, "[package]\n").unwrap();
        let err = SavedRun::load(&file, &device()).unwrap_err().to_string();
        assert!(
            err.contains("is a file") && err.contains("such as --model artifacts/mlp"),
            "{err}"
        );
        assert!(
            !err.contains(&format!("--model {}", tmp.path().display())),
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
        let err = SavedRun::load(&dest, &device()).unwrap_err();
        let cause = std::error::Error::source(&err).map(|e| e.to_string());
        assert!(
            err.to_string()
                .ends_with("config.toml does not describe a network")
                && cause.is_some_and(|c| c.contains("hinge")),
            "{err}: {:?}",
            std::error::Error::source(&err)
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
