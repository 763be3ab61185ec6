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
