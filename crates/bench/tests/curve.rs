//! `bench curve` end to end, on a few-shot slice of the shipped MNIST: the curve file, its
//! partial twin, and a failed run that leaves an earlier curve alone.

use std::path::Path;
use std::process::Command;

fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bench"))
}

/// `bench curve --config CONFIG [ARGS] --out OUT`, run to its end.
fn curve(config: &Path, args: &[&str], out: &Path) -> std::process::Output {
    bench()
        .args(["curve", "--config"])
        .arg(config)
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// A config that trains 784-8-10 on 20 images of each digit (the test set stays whole).
fn tiny_config(dir: &Path) -> std::path::PathBuf {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist");
    let config = dir.join("tiny.toml");
    let text = format!(
        "data_dir = {data:?}\nseed = 3\nepochs = 3\nbatch_size = 10\nper_class = 20\n\
         validation = 0\ncost = \"cross_entropy\"\n[model]\nhidden = [8]\nactivation = \"relu\"\n\
         [optimizer]\nkind = \"adam\"\nlearning_rate = 0.01\n"
    );
    std::fs::write(&config, text).unwrap();
    config
}

#[test]
fn the_curve_has_a_row_per_epoch_and_replaces_the_file_only_when_done() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path());
    let out = dir.path().join("curves/tiny.csv");
    let run = curve(&config, &["--target", "10,100"], &out);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let summary = String::from_utf8(run.stdout).unwrap();
    assert!(summary.contains("seed 3, 3 epochs"), "{summary}");
    assert!(
        summary.contains("10%: first at epoch 1, held from epoch "),
        "{summary}"
    );
    assert!(summary.contains("100%: not reached"), "{summary}");
    assert!(stderr.contains("epoch   3/3  test"), "{stderr}");

    let csv = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "epoch,test_accuracy,train_loss,learning_rate,seconds"
    );
    assert_eq!(rows.len(), 4, "{csv}");
    for (i, row) in rows[1..].iter().enumerate() {
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(fields[0], (i + 1).to_string(), "{csv}");
        let accuracy: f64 = fields[1].parse().unwrap();
        // 200 training images teach a [8] network something: above chance on 10,000 tests.
        assert!(accuracy > 0.2 && accuracy <= 1.0, "{csv}");
    }
    assert!(!dir.path().join("curves/tiny.csv.partial").exists());

    // A run that fails (a config key that does not exist) leaves the finished curve as it was.
    std::fs::write(&config, "epochs = 2\nbogus = 1\n").unwrap();
    let failed = curve(&config, &[], &out);
    assert!(!failed.status.success());
    let error = String::from_utf8_lossy(&failed.stderr);
    assert!(error.contains("bogus"), "{error}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), csv);
}

#[test]
fn a_partial_curve_or_a_directory_is_never_written_over() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path());
    let out = dir.path().join("tiny.csv");
    // Left by an interrupted run, or being written by another one.
    let partial = dir.path().join("tiny.csv.partial");
    std::fs::write(&partial, "epoch,test_accuracy\n1,0.5\n").unwrap();
    let run = curve(&config, &[], &out);
    assert!(!run.status.success());
    let error = String::from_utf8_lossy(&run.stderr);
    assert!(error.contains("tiny.csv.partial exists"), "{error}");
    assert_eq!(
        std::fs::read_to_string(&partial).unwrap(),
        "epoch,test_accuracy\n1,0.5\n"
    );
    assert!(!out.exists());

    let run = curve(&config, &[], dir.path());
    assert!(!run.status.success());
    let error = String::from_utf8_lossy(&run.stderr);
    assert!(error.contains("is a directory"), "{error}");
}

#[test]
fn a_target_that_is_not_a_percentage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_config(dir.path());
    // Refused before anything trains.
    let run = bench()
        .args(["curve", "--config"])
        .arg(&config)
        .args(["--target", "993"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    let error = String::from_utf8_lossy(&run.stderr);
    assert!(
        error.contains("--target 993 is not a percentage"),
        "{error}"
    );
}
