//! The `infer` binary on bad input: a missing or mismatched run, with a message saying what to do.

use std::process::Command;

fn infer(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_infer"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn missing_run_says_to_train_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("none");
    let (ok, stderr) = infer(&["--model", dir.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("no trained model in") && stderr.contains("cargo run -p train"),
        "{stderr}"
    );
}

#[test]
fn incomplete_run_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("config.toml"),
        "cost = \"quadratic\"\n[model]\n",
    )
    .unwrap();
    let (ok, stderr) = infer(&["--model", tmp.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("model.bpk is missing"), "{stderr}");
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    // A run with random weights is enough to print predictions.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let backend = model::Backend::resolve(None).unwrap();
    let network = model::MlpConfig::new([8]).init(&backend.device().unwrap());
    let writer = model::run::RunWriter::create(&dir).unwrap();
    writer.write_network(&network).unwrap();
    writer
        .write(
            "config.toml",
            format!(
                "data_dir = {:?}\ncost = \"quadratic\"\n[model]\nhidden = [8]\n",
                tests::shipped_data()
            ),
        )
        .unwrap();
    writer.commit().unwrap();
    // `infer --index ... | head -1`: the reader is gone before the output is written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_infer"))
        .args(["--model", dir.to_str().unwrap()])
        .args((0..200).flat_map(|i| ["--index".to_string(), i.to_string()]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
