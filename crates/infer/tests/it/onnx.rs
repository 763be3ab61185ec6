//! `infer --onnx`: the exported model, run by onnxruntime (a runtime that is not ours) on the
//! 10,000 test images, gives the outputs `infer` gives, for an mlp-shaped and a relu-shaped run;
//! and the file goes only where it may.
//!
//! The comparison needs Python with `onnx` and `onnxruntime` (`DIGITS_ONNX_PYTHON`, else
//! `python3`): skipped with a message where they are missing, required where `CI` is set
//! (.ci/run makes a venv with both).

use std::path::Path;
use std::process::Command;

use burn::prelude::*;
use clap::Parser;
use data::{ImageDataset, Split};
use infer::cli::{Args, Output};
use model::{Activation, Cost, MlpConfig, Predictor};
use run::SavedRun;
use serde_json::Value;

fn infer(args: &[&str]) -> Result<Output, infer::InferError> {
    let all = std::iter::once("infer").chain(args.iter().copied());
    infer::cli::run(&Args::try_parse_from(all).unwrap())
}

/// A sealed run of `config` in `dir`, its weights drawn from `seed`; `model_toml` is its
/// `[model]` table.
fn seeded_run(dir: &Path, config: MlpConfig, cost: Cost, model_toml: &str, seed: u64) {
    seeded_run_with(dir, config, cost, model_toml, seed, "");
}

/// [`seeded_run`] with `extra`, more keys of its config.
fn seeded_run_with(
    dir: &Path,
    config: MlpConfig,
    cost: Cost,
    model_toml: &str,
    seed: u64,
    extra: &str,
) {
    let backend = model::Backend::resolve(None).unwrap();
    let network = config.init_seeded(seed, &backend.device().unwrap());
    let writer = run::RunWriter::create(dir).unwrap();
    writer.write_network(&network, cost).unwrap();
    let toml = format!(
        "data_dir = {:?}\ncost = \"{}\"\n{extra}\n[model]\n{model_toml}\n",
        testkit::shipped_data(),
        cost.name()
    );
    writer.write("config.toml", toml).unwrap();
    writer.commit().unwrap();
}

/// Our outputs for every test image, as `infer` computes them, written as float32.
fn our_outputs(run_dir: &Path, file: &Path) -> usize {
    let backend = model::Backend::resolve(None).unwrap();
    let device = backend.device().unwrap();
    let run = SavedRun::load(run_dir, &device).unwrap();
    let predictor = Predictor::new(&run.network, run.spec.cost, backend).unwrap();
    let test = ImageDataset::load(&testkit::shipped_data(), Split::Test).unwrap();
    let pixels = infer::dataset_pixels(&test, 0..test.len());
    let images = Tensor::<2>::from_data(TensorData::new(pixels, [test.len(), 784]), &device);
    let answers = predictor.predict(images).unwrap();
    let bytes: Vec<u8> = answers
        .iter()
        .flat_map(|a| a.outputs.iter().flat_map(|v| v.to_le_bytes()))
        .collect();
    std::fs::write(file, bytes).unwrap();
    answers.len()
}

#[test]
fn onnxruntime_gives_our_outputs_for_every_test_image() {
    let python = match testkit::python_with(&["numpy", "onnx", "onnxruntime"]) {
        Ok(python) => python,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("the ONNX check is required in CI: {why} (.ci/run makes the venv)")
        }
        Err(why) => {
            eprintln!("skipped: the ONNX check needs Python with onnx and onnxruntime: {why}");
            return;
        }
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx_check.py");
    let images = testkit::shipped_data().join("t10k-images-idx3-ubyte.gz");
    let tmp = tempfile::tempdir().unwrap();
    let digits: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    let four = ["zero", "one, the first odd", "two \"pair\"", "three"].map(String::from);
    let shapes = [
        // configs/mlp.toml's shape and cost, and configs/relu.toml's.
        (
            "mlp",
            MlpConfig::new([128]),
            Cost::Quadratic,
            "hidden = [128]",
            &digits[..],
            "",
        ),
        (
            "relu",
            MlpConfig::new([256, 256]).with_activation(Activation::Relu),
            Cost::CrossEntropy,
            "hidden = [256, 256]\nactivation = \"relu\"",
            &digits[..],
            "",
        ),
        // No hidden layer, four classes with names a comma or a quote would break.
        (
            "four",
            MlpConfig {
                outputs: 4,
                ..MlpConfig::new([])
            },
            Cost::CrossEntropy,
            "hidden = []\noutputs = 4",
            &four[..],
            r#"classes = [0, 1, 2, 3]
class_names = ["zero", "one, the first odd", "two \"pair\"", "three"]"#,
        ),
    ];
    for (seed, (name, config, cost, toml, names, extra)) in (3..).zip(shapes) {
        let dir = tmp.path().join(name);
        seeded_run_with(&dir, config, cost, toml, seed, extra);
        let file = tmp.path().join(format!("{name}.onnx"));
        let said = infer(&[
            "--model",
            dir.to_str().unwrap(),
            "--onnx",
            file.to_str().unwrap(),
        ])
        .unwrap()
        .to_string();
        assert!(
            said.starts_with(&format!("wrote {}", file.display())),
            "{said}"
        );
        let ours = tmp.path().join(format!("{name}.f32"));
        let count = our_outputs(&dir, &ours);
        let out = Command::new(&python)
            .arg(&script)
            .args([&file, &ours, &images])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: the check failed:\n{stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report: Value = serde_json::from_str(stdout.trim()).unwrap();
        eprintln!("{name}: {report}");
        assert_eq!(report["checker"], "ok");
        assert_eq!(report["images"], count);
        assert_eq!(report["argmax_same"], count, "{name}: {report}");
        let diff = report["max_abs_diff"].as_f64().unwrap();
        assert!(diff < 1e-5, "{name}: outputs differ by {diff}");
        assert_eq!(report["class_names"], serde_json::json!(names), "{name}");
        assert_eq!(report["input_shape"], serde_json::json!(["N", 784]));
    }
}

#[test]
fn the_model_file_goes_only_where_it_may() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    seeded_run(
        &dir,
        MlpConfig::new([8]),
        Cost::Quadratic,
        "hidden = [8]",
        1,
    );
    let weights = dir.join("model.bpk");
    let before = std::fs::read(&weights).unwrap();
    let run = dir.to_str().unwrap();
    // A typo that names the run's weights, or a directory, is refused and nothing changes.
    let err = infer(&["--model", run, "--onnx", weights.to_str().unwrap()]).unwrap_err();
    assert!(err.to_string().contains("is not an .onnx file"), "{err}");
    assert_eq!(std::fs::read(&weights).unwrap(), before);
    let err = infer(&["--model", run, "--onnx", tmp.path().to_str().unwrap()]).unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");
    // An earlier export is replaced; a new directory is made; no temporary file is left.
    let file = tmp.path().join("out/digits.onnx");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"old").unwrap();
    let Output::Exported(e) = infer(&["--model", run, "--onnx", file.to_str().unwrap()]).unwrap()
    else {
        panic!("not an export");
    };
    let written = std::fs::read(&file).unwrap();
    assert_eq!(e.bytes, written.len());
    assert_ne!(written, b"old");
    let names: Vec<_> = std::fs::read_dir(file.parent().unwrap()).unwrap().collect();
    assert_eq!(names.len(), 1, "a temporary file was left");
    // --onnx does one thing: with images or --index it is a usage error.
    let all = ["infer", "--model", run, "--onnx", "x.onnx", "--index", "0"];
    assert!(Args::try_parse_from(all).is_err());
}
