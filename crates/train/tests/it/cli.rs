//! The `train` binary on bad input: each mistake stops it before any training, with a message
//! that names the thing and the fix, and a failing exit code.

use std::fs;
use std::path::Path;
use std::process::Command;

/// Runs `train` with a config made from GOOD by `edit`; returns (success, stderr).
fn train(dir: &Path, config: &str, extra: &[&str]) -> (bool, String) {
    let path = dir.join("c.toml");
    fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_train"))
        .arg("--config")
        .arg(&path)
        .arg("--out")
        .arg(dir.join("run"))
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fails_with(config: &str, extra: &[&str], expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, stderr) = train(tmp.path(), config, extra);
    assert!(!ok, "should fail: {config}");
    for e in expected {
        assert!(stderr.contains(e), "expected {e:?} in:\n{stderr}");
    }
    assert!(
        !tmp.path().join("run").exists(),
        "nothing written for a failed run"
    );
}

fn good() -> String {
    tests::minimal_config(&tests::shipped_data().display().to_string(), 1)
}

#[test]
fn unknown_key() {
    fails_with(
        &good().replace("learning_rate", "lerning_rate"),
        &[],
        &["c.toml", "unknown field `lerning_rate`", "learning_rate"],
    );
}

#[test]
fn wrong_value() {
    fails_with(
        &good().replace("batch_size = 10", "batch_size = 0"),
        &[],
        &["`batch_size` must be at least 1"],
    );
    fails_with(
        &good().replace("= 3.0", "= -1.0"),
        &[],
        &["`optimizer.learning_rate` is -1"],
    );
    fails_with(
        &good(),
        &["--epochs", "0"],
        &["`epochs` must be at least 1"],
    );
}

#[test]
fn missing_config_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--config", "/nonexistent/x.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read config /nonexistent/x.toml"),
        "{stderr}"
    );
}

#[test]
fn missing_data_directory() {
    fails_with(
        &tests::minimal_config("/nonexistent/mnist", 1),
        &[],
        &["/nonexistent/mnist does not exist", "data/mnist"],
    );
}

#[test]
fn validation_larger_than_the_training_set() {
    fails_with(
        &good().replace("epochs = 1", "epochs = 1\nvalidation = 60000"),
        &[],
        &["cannot hold out 60000 validation images from a training set of 60000"],
    );
}

#[test]
fn backend_not_compiled_in() {
    // CUDA cannot be built here, so no test build has it.
    fails_with(
        &good(),
        &["--backend", "cuda"],
        &["backend `cuda` is not compiled", "--features cuda"],
    );
    fails_with(&good(), &["--backend", "tpu"], &["unknown backend `tpu`"]);
}

#[test]
fn output_directory_that_is_not_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    fs::create_dir(&run).unwrap();
    fs::write(run.join("thesis.tex"), "precious").unwrap();
    let (ok, stderr) = train(tmp.path(), &good(), &[]);
    assert!(!ok);
    assert!(
        stderr.contains("thesis.tex") && stderr.contains("will not be replaced"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(run.join("thesis.tex")).unwrap(),
        "precious"
    );
}

#[test]
fn inputs_and_outputs_must_fit_the_data() {
    fails_with(
        &good().replace("hidden = [30]", "inputs = 100\nhidden = [30]"),
        &[],
        &["`model.inputs` is 100, but the data has 784"],
    );
    fails_with(
        &good().replace("hidden = [30]", "outputs = 3\nhidden = [30]"),
        &[],
        &["`model.outputs` is 3, but the data has 10"],
    );
}
