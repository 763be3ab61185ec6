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
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    crate::random_run(&dir);
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

fn infer_output(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_infer"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_readable_image_is_answered_and_each_bad_one_named() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    crate::random_run(&run);
    let good = tmp.path().join("seven.png");
    crate::seven().save(&good).unwrap();
    let notes = tmp.path().join("notes.png");
    std::fs::write(&notes, "hello").unwrap();
    let blank = tmp.path().join("blank.png");
    image::GrayImage::from_pixel(30, 30, image::Luma([255]))
        .save(&blank)
        .unwrap();
    let args = [
        "--model".as_ref(),
        run.as_os_str(),
        notes.as_os_str(),
        good.as_os_str(),
        blank.as_os_str(),
    ];
    let out = infer_output(&args);
    assert_eq!(out.status.code(), Some(1), "some images failed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{}: predicted", good.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}: error: cannot read image", notes.display())),
        "{text}"
    );
    assert!(
        text.contains("does not look like a picture of a digit"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 of the images could not be read"));

    let mut json_args = args.to_vec();
    json_args.push("--json".as_ref());
    let out = infer_output(&json_args);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = v["predictions"].as_array().unwrap();
    assert_eq!(p.len(), 3);
    assert!(p[0]["error"]
        .as_str()
        .unwrap()
        .contains("cannot read image"));
    assert!(p[1]["prediction"].is_u64());
    assert!(p[2]["error"].as_str().unwrap().contains("blank"));
}

#[test]
fn a_file_name_that_is_not_utf8_is_shown_not_fatal() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    crate::random_run(&run);
    let odd = tmp
        .path()
        .join(std::ffi::OsStr::from_bytes(b"seven-\xff.png"));
    crate::seven().save(&odd).unwrap();
    for json in [false, true] {
        let mut args = vec!["--model".as_ref(), run.as_os_str(), odd.as_os_str()];
        if json {
            args.push("--json".as_ref());
        }
        let out = infer_output(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("seven-\u{fffd}.png"), "{text}");
    }
}

#[test]
fn missing_or_empty_test_data_is_named_with_infers_own_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    crate::random_run(&run);
    let (ok, stderr) = infer(&[
        "--model",
        run.to_str().unwrap(),
        "--data-dir",
        "/nonexistent/mnist",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("/nonexistent/mnist") && stderr.contains("--data-dir"),
        "{stderr}"
    );
    // A directory whose test set holds no image: nothing to evaluate is an error, not 0 of 0.
    let empty = tmp.path().join("empty");
    testkit::mnist_slice(&empty, 10, 0);
    let (ok, stderr) = infer(&[
        "--model",
        run.to_str().unwrap(),
        "--data-dir",
        empty.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("test set") && stderr.contains("is empty"),
        "{stderr}"
    );
}

#[test]
fn a_run_whose_inputs_do_not_fit_mnist_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let mut config = model::MlpConfig::new([8]);
    config.inputs = 392;
    crate::random_run_of(&dir, config, "inputs = 392\nhidden = [8]");
    let (ok, stderr) = infer(&["--model", dir.to_str().unwrap(), "--index", "0"]);
    assert!(!ok);
    assert!(
        stderr.contains("takes 392 inputs") && stderr.contains("784"),
        "{stderr}"
    );
}

#[test]
fn a_run_on_some_classes_is_tested_on_them_and_answers_with_their_names() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let backend = model::Backend::resolve(None).unwrap();
    let config = model::MlpConfig {
        outputs: 3,
        ..model::MlpConfig::new([8])
    };
    let network = config.init(&backend.device().unwrap());
    let writer = run::RunWriter::create(&dir).unwrap();
    writer
        .write_network(&network, model::Cost::Quadratic)
        .unwrap();
    writer
        .write(
            "config.toml",
            format!(
                "data_dir = {:?}\ncost = \"quadratic\"\nclasses = [7, 2, 1]\n\
                 class_names = [\"7\", \"2\", \"1\"]\n[model]\nhidden = [8]\noutputs = 3\n",
                testkit::shipped_data()
            ),
        )
        .unwrap();
    writer.commit().unwrap();

    let args = |extra: &[&str]| {
        let mut argv = vec!["infer", "--model", dir.to_str().unwrap()];
        argv.extend(extra);
        <infer::cli::Args as clap::Parser>::parse_from(argv)
    };
    let out = infer::cli::run(&args(&[])).unwrap();
    let json: serde_json::Value = serde_json::from_str(&out.to_json().unwrap()).unwrap();
    let test = data::ImageDataset::load(&testkit::shipped_data(), data::Split::Test).unwrap();
    let of_three = test
        .labels()
        .iter()
        .filter(|&&l| [7, 2, 1].contains(&l))
        .count();
    assert_eq!(json["images"], of_three);
    assert_eq!(json["confusion"].as_array().unwrap().len(), 3);
    assert_eq!(json["per_digit"][0]["name"], "7");
    assert_eq!(json["per_digit"][0]["digit"], 0, "the output index");
    let text = out.to_string();
    assert!(text.contains("rows: true digit"), "{text}");

    // Test image 0 is a 7: labelled "7" (not 0, its label in the run), answered by name.
    let shown = infer::cli::run(&args(&["--index", "0"]))
        .unwrap()
        .to_string();
    assert!(
        shown.contains("test image 0: label 7, predicted "),
        "{shown}"
    );
    let said = shown.lines().next().unwrap();
    assert!(
        ["7", "2", "1"]
            .iter()
            .any(|n| said.contains(&format!("predicted {n} ("))),
        "{shown}"
    );

    // MNIST's files only number their classes: a run may name them (as configs/fashion.toml
    // names Fashion-MNIST's), and infer answers with its names.
    let config = dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let renamed = text.replace("[\"7\", \"2\", \"1\"]", "[\"a\", \"b\", \"c\"]");
    assert_ne!(renamed, text);
    std::fs::write(&config, renamed).unwrap();
    let json = infer::cli::run(&args(&["--json"]))
        .unwrap()
        .to_json()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["per_digit"][0]["name"], "a", "{json}");
    assert_eq!(json["images"], of_three);
}
