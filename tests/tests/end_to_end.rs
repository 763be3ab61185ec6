//! From data to predictions: train a small network on a slice of MNIST into a temporary
//! directory, then evaluate and use it with `infer`, as a user would with the two commands.

use std::fs;
use std::path::Path;

use cli_args::{infer_args, train_args};
use serde_json::Value;
use testkit::{backend_args, mnist_slice, small_config};

// Every command of the README and docs/learn.md, run as written.
mod docs;

/// Argument lists, parsed as the binaries parse theirs.
mod cli_args {
    use clap::Parser;

    pub(crate) fn train_args(args: &[&str]) -> train::cli::Args {
        let mut all = vec!["train".to_string()];
        all.extend(args.iter().map(|s| s.to_string()));
        all.extend(testkit::backend_args());
        train::cli::Args::try_parse_from(all).expect("valid train arguments")
    }

    pub(crate) fn infer_args(args: &[&str]) -> infer::cli::Args {
        let mut all = vec!["infer".to_string()];
        all.extend(args.iter().map(|s| s.to_string()));
        all.extend(testkit::backend_args());
        infer::cli::Args::try_parse_from(all).expect("valid infer arguments")
    }
}

/// Runs `infer` in process and renders its output as the binary prints it: JSON with
/// `--json`, else text.
fn infer_run(args: &infer::cli::Args) -> Result<String, infer::InferError> {
    let output = infer::cli::run(args)?;
    if args.json {
        output.to_json()
    } else {
        Ok(output.to_string())
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Trains the small config for `epochs` on a 2,000/500 slice; returns (temp dir, run dir).
fn trained(epochs: usize) -> (tempfile::TempDir, std::path::PathBuf, train::Trained) {
    trained_with(epochs, |c| c)
}

/// As [`trained`], with the config text changed by `edit`.
fn trained_with(
    epochs: usize,
    edit: impl Fn(String) -> String,
) -> (tempfile::TempDir, std::path::PathBuf, train::Trained) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("mnist");
    mnist_slice(&data, 2_000, 500);
    let config = tmp.path().join("small.toml");
    fs::write(&config, edit(small_config(&data, epochs))).unwrap();
    let out = tmp.path().join("run");
    let summary = train::cli::run(
        train_args(&["--config", s(&config), "--out", s(&out), "--quiet"]),
        &mut train::Silent,
    )
    .expect("training the small config succeeds");
    (tmp, out, summary)
}

#[test]
fn train_then_infer() {
    let (_tmp, out, summary) = trained(3);

    // The run's files.
    for file in ["model.bpk", "config.toml", "metrics.csv", "report.json"] {
        assert!(out.join(file).is_file(), "{file} written");
    }
    let report: Value =
        serde_json::from_str(&fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let test_accuracy = report["test_accuracy"].as_f64().unwrap();
    // 1,800 images, 3 epochs: far better than chance (10%), far from perfect.
    assert!(
        test_accuracy > 0.6 && test_accuracy < 1.0,
        "test accuracy {test_accuracy}"
    );
    assert_eq!(report["epochs"], 3);
    assert!(report["train_seconds"].as_f64().unwrap() > 0.0);
    let backend = report["backend"].as_str().unwrap().to_string();
    if let Some(wanted) = backend_args().get(1) {
        assert_eq!(&backend, wanted, "the run names the backend it used");
    }
    let csv = fs::read_to_string(out.join("metrics.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4, "header and one row per epoch:\n{csv}");
    assert!(
        rows[0].starts_with("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy")
    );
    // Learning lowers the training cost.
    let loss = |row: &str| row.split(',').nth(1).unwrap().parse::<f64>().unwrap();
    assert!(loss(rows[3]) < loss(rows[1]), "{csv}");
    assert_eq!(summary.history.len(), 3);

    // infer evaluates the same network on the same test images: the same accuracy.
    let json = infer_run(&infer_args(&["--model", s(&out), "--json"])).unwrap();
    let eval: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(eval["images"], 500);
    assert!(
        (eval["accuracy"].as_f64().unwrap() - test_accuracy).abs() < 1e-9,
        "{json}"
    );
    assert_eq!(eval["backend"].as_str().unwrap(), backend);
    let confusion = eval["confusion"].as_array().unwrap();
    assert_eq!(confusion.len(), 10);
    let total: u64 = confusion
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    let diagonal: u64 = (0..10).map(|i| confusion[i][i].as_u64().unwrap()).sum();
    assert_eq!(total, 500);
    assert_eq!(diagonal, eval["correct"].as_u64().unwrap());
    assert_eq!(eval["precision"].as_array().unwrap().len(), 10);
    assert_eq!(eval["recall"].as_array().unwrap().len(), 10);

    // Text output: accuracy and the confusion matrix.
    let text = infer_run(&infer_args(&["--model", s(&out)])).unwrap();
    assert!(
        text.contains("accuracy") && text.contains("confusion matrix"),
        "{text}"
    );

    // One test image: text art, prediction, ten activations.
    let shown = infer_run(&infer_args(&["--model", s(&out), "--index", "0"])).unwrap();
    assert!(
        shown.starts_with("test image 0: label 7, predicted"),
        "{shown}"
    );
    assert!(shown.contains("@@"), "the digit is drawn:\n{shown}");
    let json = infer_run(&infer_args(&[
        "--model",
        s(&out),
        "--index",
        "0",
        "--index",
        "3",
        "--json",
    ]))
    .unwrap();
    let v: Value = serde_json::from_str(&json).unwrap();
    let preds = v["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 2);
    assert_eq!(preds[0]["label"], 7);
    assert_eq!(preds[0]["activations"].as_array().unwrap().len(), 10);

    let err = infer_run(&infer_args(&["--model", s(&out), "--index", "500"])).unwrap_err();
    assert!(err.to_string().contains("no test image 500"), "{err}");
}

#[test]
fn infer_reads_a_digit_from_a_png() {
    let (tmp, out, _) = trained(3);
    // Test image 0 (a 7), drawn dark on light, 4× larger, with a wide margin.
    let mnist = data::ImageDataset::load(&tmp.path().join("mnist"), data::Split::Test).unwrap();
    let pixels = mnist.image(0);
    let img = image::GrayImage::from_fn(160, 140, |x, y| {
        let (px, py) = (x as i64 / 4 - 6, y as i64 / 4 - 3);
        let v = if (0..28).contains(&px) && (0..28).contains(&py) {
            pixels[(py * 28 + px) as usize]
        } else {
            0
        };
        image::Luma([255 - v])
    });
    let path = tmp.path().join("seven.png");
    img.save(&path).unwrap();

    let by_index: Value = serde_json::from_str(
        &infer_run(&infer_args(&["--model", s(&out), "--index", "0", "--json"])).unwrap(),
    )
    .unwrap();
    let by_file: Value = serde_json::from_str(
        &infer_run(&infer_args(&["--model", s(&out), s(&path), "--json"])).unwrap(),
    )
    .unwrap();
    let p = &by_file["predictions"][0];
    assert_eq!(p["path"].as_str().unwrap(), s(&path));
    // The preprocessed picture reads like the original test image.
    assert_eq!(
        p["prediction"], by_index["predictions"][0]["prediction"],
        "{by_file} vs {by_index}"
    );

    let blank = tmp.path().join("blank.png");
    image::GrayImage::from_pixel(30, 30, image::Luma([255]))
        .save(&blank)
        .unwrap();
    // A picture that is not a digit is answered with the reason, in its place.
    let err = infer_run(&infer_args(&["--model", s(&out), s(&blank)])).unwrap();
    assert!(
        err.contains("blank.png does not look like a picture of a digit") && err.contains("blank"),
        "{err}"
    );

    let not_image = tmp.path().join("notes.png");
    fs::write(&not_image, "hello").unwrap();
    let err = infer_run(&infer_args(&["--model", s(&out), s(&not_image)])).unwrap();
    assert!(
        err.contains("cannot read image") && err.contains("notes.png"),
        "{err}"
    );
}

#[test]
fn same_seed_same_run() {
    let (_a, _, first) = trained(2);
    let (_b, _, second) = trained(2);
    let losses = |s: &train::Trained| s.history.iter().map(|m| m.train_loss).collect::<Vec<_>>();
    if testkit::bit_reproducible() {
        assert_eq!(first.report.test_accuracy, second.report.test_accuracy);
        assert_eq!(
            losses(&first),
            losses(&second),
            "bit-identical training on one backend"
        );
    } else {
        // Same weights and batches; only the order of the GPU's parallel sums differs.
        let (a, b) = (losses(&first), losses(&second));
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-5 * x.abs().max(1e-3), "{a:?} vs {b:?}");
        }
        let gap = (first.report.test_accuracy - second.report.test_accuracy).abs();
        assert!(gap <= 0.01, "test accuracy moved by {gap}");
    }
}

#[test]
fn failed_run_keeps_the_previous_one() {
    let (tmp, out, _) = trained(1);
    let before: Vec<Vec<u8>> = ["model.bpk", "config.toml", "report.json"]
        .iter()
        .map(|f| fs::read(out.join(f)).unwrap())
        .collect();
    // A second run into the same directory fails on its data (a damaged labels file).
    let data = tmp.path().join("mnist");
    fs::write(data.join("train-labels-idx1-ubyte.gz"), b"\x1f\x8b damaged").unwrap();
    let config = tmp.path().join("small.toml");
    let err = train::cli::run(
        train_args(&["--config", s(&config), "--out", s(&out), "--quiet"]),
        &mut train::Silent,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("train-labels-idx1-ubyte.gz"),
        "{err}"
    );
    let after: Vec<Vec<u8>> = ["model.bpk", "config.toml", "report.json"]
        .iter()
        .map(|f| fs::read(out.join(f)).unwrap())
        .collect();
    assert_eq!(before, after, "the previous run is untouched");
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no staging directory left: {leftovers:?}"
    );
    // And the old run still works (only the training labels were damaged).
    let json = infer_run(&infer_args(&["--model", s(&out), "--json"])).unwrap();
    assert!(json.contains("\"images\":500"), "{json}");
}

#[test]
fn infer_without_a_run_says_to_train_first() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing");
    let err = infer_run(&infer_args(&["--model", s(&missing)]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no trained model") && err.contains("cargo run -p train"),
        "{err}"
    );
}

#[test]
fn keep_best_keeps_the_best_epochs_weights() {
    let (tmp, out, trained) = trained_with(4, |c| {
        c.replace("validation = 200", "validation = 200\nkeep = \"best\"")
    });
    let data = tmp.path().join("mnist");
    let report: Value =
        serde_json::from_str(&fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["kept"], "best");
    let best_epoch = report["best_validation_epoch"].as_u64().unwrap();
    assert_eq!(report["kept_epoch"].as_u64().unwrap(), best_epoch);
    let best = trained
        .history
        .iter()
        .map(|m| m.validation_accuracy.unwrap())
        .fold(0.0, f64::max);
    assert_eq!(report["best_validation_accuracy"].as_f64().unwrap(), best);
    // The saved network scores on the validation images exactly as its epoch did.
    let backend =
        model::Backend::resolve(testkit::backend_name().map(|b| b.parse().unwrap())).unwrap();
    let saved = run::SavedRun::load(&out, &backend.device().unwrap()).unwrap();
    let mnist = data::Mnist::load(&data).unwrap();
    let (_, validation) = mnist.train.split_validation(200, 5).unwrap();
    let score = train::evaluate(&saved.network, saved.spec.cost, &validation, backend).unwrap();
    if testkit::bit_reproducible() {
        assert_eq!(score.accuracy, best);
    } else {
        // A GPU sums in no fixed order: a near tie may fall the other way.
        assert!(
            (score.accuracy - best).abs() <= 1.0 / 200.0,
            "{} vs {best}",
            score.accuracy
        );
    }
}

/// `keep = "best"` judges by validation images: none held out and none of an image folder's
/// own is an error naming the fixes; an image folder's `validation/` is enough.
#[test]
fn keep_best_needs_validation_images_of_either_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let mnist = tmp.path().join("mnist");
    testkit::mnist_slice(&mnist, 300, 50);
    let config = tmp.path().join("best.toml");
    // Ten epochs of a few steps each: enough for any backend to tell a 1 from a 7.
    let best = |dir: &std::path::Path| {
        small_config(dir, 10).replace("validation = 200", "validation = 0\nkeep = \"best\"")
    };
    fs::write(&config, best(&mnist)).unwrap();
    let args = || train_args(&["--config", s(&config), "--out", s(&tmp.path().join("run"))]);
    let e = train::cli::run(args(), &mut train::Silent)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`keep`") && e.contains("validation/") && e.contains("keep = \"last\""),
        "{e}"
    );
    // An image folder with a `validation/` of its own: its images judge the epochs.
    let folder = tmp.path().join("pictures");
    testkit::image_folder(&folder, &[("one", 1), ("seven", 7)], 60, 5);
    for name in ["one", "seven"] {
        let (from, to) = (
            folder.join("test").join(name),
            folder.join("validation").join(name),
        );
        fs::create_dir_all(&to).unwrap();
        for entry in fs::read_dir(&from).unwrap() {
            let path = entry.unwrap().path();
            fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
    fs::write(&config, best(&folder)).unwrap();
    let trained = train::cli::run(args(), &mut train::Silent).unwrap();
    assert_eq!(trained.report.validation_images, 10);
    assert!(trained.report.best_validation_epoch.is_some());
}

#[test]
fn without_validation_images_nothing_pretends_to_be_measured() {
    let (_tmp, out, trained) = trained_with(2, |c| c.replace("validation = 200", "validation = 0"));
    let line = trained.history[0].line(2);
    assert!(
        line.contains("validation       -") && !line.contains("NaN"),
        "{line}"
    );
    let report = fs::read_to_string(out.join("report.json")).unwrap();
    let v: Value = serde_json::from_str(&report).unwrap();
    assert!(v["best_validation_epoch"].is_null() && v["best_validation_accuracy"].is_null());
    assert!(!report.contains("NaN"), "{report}");
    let csv = fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(!csv.contains("NaN"), "{csv}");
}

/// MNIST's files number their classes; a config may name them (configs/fashion.toml names
/// Fashion-MNIST's clothes), and `infer` evaluates the run on the same files by those names.
#[test]
fn named_classes_of_mnist_files_are_named_by_infer() {
    let names = "class_names = [\"zero\", \"one\", \"two\", \"three\", \"four\", \"five\", \
                 \"six\", \"seven\", \"eight\", \"nine\"]\n";
    let (_tmp, out, trained) = trained_with(2, |c| format!("{names}{c}"));
    assert_eq!(trained.report.class_names.as_ref().unwrap()[7], "seven");
    let eval = infer_run(&infer_args(&["--model", s(&out), "--json"])).unwrap();
    let eval: Value = serde_json::from_str(&eval).unwrap();
    assert_eq!(eval["per_digit"][9]["name"], "nine", "{eval}");
    let text = infer_run(&infer_args(&["--model", s(&out), "--index", "0"])).unwrap();
    assert!(text.contains("seven"), "{text}");
}

/// An image folder, trained on for one epoch and used through `infer`: the classes are the
/// folders' names, everywhere a user sees them.
#[test]
fn an_image_folder_round_trip_names_its_classes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("pictures");
    testkit::image_folder(&data, &[("one", 1), ("seven", 7), ("zero", 0)], 40, 10);
    let config = tmp.path().join("folder.toml");
    let text = small_config(&data, 1).replace("validation = 200", "validation = 12");
    fs::write(&config, text).unwrap();
    let out = tmp.path().join("run");
    let trained = train::cli::run(
        train_args(&["--config", s(&config), "--out", s(&out), "--quiet"]),
        &mut train::Silent,
    )
    .unwrap();
    let names = ["one", "seven", "zero"].map(String::from).to_vec();
    assert_eq!(trained.report.class_names.as_ref(), Some(&names));
    assert_eq!(trained.report.layers, vec![784, 24, 3]);
    assert_eq!(
        (trained.report.train_images, trained.report.test_images),
        (120 - 12, 30)
    );
    assert!(
        data.join(data::CACHE_FILE).is_file(),
        "prepared images cached"
    );
    let resolved = fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        resolved.contains("class_names = [") && resolved.contains("\"seven\","),
        "{resolved}"
    );

    // Evaluation: a 3×3 confusion matrix, rows and columns named.
    let eval = infer_run(&infer_args(&["--model", s(&out), "--json"])).unwrap();
    let eval: Value = serde_json::from_str(&eval).unwrap();
    assert_eq!(eval["images"], 30);
    let named: Vec<&str> = eval["per_digit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["one", "seven", "zero"]);
    let text = infer_run(&infer_args(&["--model", s(&out)])).unwrap();
    assert!(
        text.contains("rows: true class") && text.contains("seven"),
        "{text}"
    );

    // A picture file: the answer is a class name, and the outputs are listed by name.
    let picture = data.join("test/seven/0.png");
    let said = infer_run(&infer_args(&["--model", s(&out), s(&picture)])).unwrap();
    let first = said.lines().next().unwrap();
    assert!(
        names
            .iter()
            .any(|n| first.ends_with(&format!("predicted {n}"))),
        "{said}"
    );
    assert!(
        said.contains(" zero: ") && said.contains("seven: "),
        "{said}"
    );

    // The pictures: the confusion heatmap rows and columns are the folders' names.
    let drawn = tmp.path().join("pictures-of-run");
    infer_run(&infer_args(&["--model", s(&out), "--pictures", s(&drawn)])).unwrap();
    let heatmap = fs::read_to_string(drawn.join("confusion.svg")).unwrap();
    assert!(
        heatmap.contains(">seven</text>") && heatmap.contains("rows are the true class"),
        "{heatmap}"
    );
    assert_eq!(heatmap.matches("class=\"count\"").count(), 9);
    let index = fs::read_to_string(drawn.join("index.html")).unwrap();
    assert!(index.contains("confusion.svg"), "{index}");

    // A folder whose classes are named otherwise is other data, and infer says so.
    let other = tmp.path().join("other");
    testkit::image_folder(&other, &[("a", 1), ("b", 7), ("c", 0)], 2, 2);
    let e = infer_run(&infer_args(&["--model", s(&out), "--data-dir", s(&other)]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("\"a\"") && e.contains("\"seven\"") && e.contains("--data-dir"),
        "{e}"
    );
}
