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
    testkit::minimal_config(&testkit::shipped_data().display().to_string(), 1)
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
        &testkit::minimal_config("/nonexistent/mnist", 1),
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

#[test]
fn distortions_out_of_range_or_unknown_are_named() {
    for (table, expected) in [
        ("rotation = -5.0", "`augment.rotation` is -5"),
        (
            "scale = 1.5",
            "`augment.scale` is 1.5; it must be from 0 to 0.9",
        ),
        ("translate = nan", "`augment.translate` is NaN"),
        (
            "elastic_alpha = 34.0\nelastic_sigma = 0.1",
            "`augment.elastic_sigma` is 0.1",
        ),
        ("elastic = 34.0", "unknown field `elastic`"),
    ] {
        fails_with(
            &format!("{}\n[augment]\n{table}\n", good()),
            &[],
            &["c.toml", expected],
        );
    }
}

#[test]
fn the_augmentation_picture_is_drawn_without_training() {
    let tmp = tempfile::tempdir().unwrap();
    let picture = tmp.path().join("augmentation.png");
    let config = format!(
        "{}\n[augment]\nrotation = 12.0\nelastic_alpha = 34.0\n",
        good()
    );
    let path = tmp.path().join("c.toml");
    fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_train"))
        .arg("--config")
        .arg(&path)
        .arg("--augmentation-picture")
        .arg(&picture)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = image::open(&picture).unwrap().to_rgb8();
    // Ten rows (one per digit) of nine 84-pixel images, under a line of text.
    let side = 28 * pictures::AUGMENT_SCALE;
    assert!(
        png.height() >= 10 * side && png.height() < 11 * side,
        "{}",
        png.height()
    );
    assert!(
        png.width() >= 9 * side && png.width() < 10 * side,
        "{}",
        png.width()
    );
    assert!(!tmp.path().join("artifacts").exists(), "nothing trained");

    // A config without [augment] has nothing to draw, and says so.
    fs::write(&path, good()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_train"))
        .arg("--config")
        .arg(&path)
        .arg("--augmentation-picture")
        .arg(tmp.path().join("none.png"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`augment` is absent") && err.contains("configs/best.toml"),
        "{err}"
    );
    assert!(!tmp.path().join("none.png").exists());
}
