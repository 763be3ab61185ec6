//! `gradcheck trace --model RUN`: backpropagation on a picture or a test image, through a
//! run's own network, cost, learning rate and frozen layers.

use std::path::{Path, PathBuf};

use data::{ImageDataset, Split};
use gradcheck::trace::{self, Example, RunTrace, Trace};
use gradcheck::{Comparison, GradcheckError};
use model::{Cost, MlpConfig};
use run::Trust;

use crate::{default_backend, gradcheck, shipped_mnist};

/// A run in `dir` of the network `config`, with seeded weights, trained (so to speak) with
/// `cost` at η = 0.7, its config's extra lines `extra` (top-level keys, then tables).
fn run_of(dir: &Path, config: &MlpConfig, cost: Cost, top: &str, tables: &str) {
    let network = config.init_seeded(3, &default_backend().device().unwrap());
    let writer = run::RunWriter::create(dir).unwrap();
    writer.write_network(&network, cost).unwrap();
    writer
        .write(
            "config.toml",
            format!(
                "data_dir = {:?}\ncost = \"{}\"\n{top}\n[model]\nhidden = {:?}\noutputs = {}\n\
                 activation = \"{}\"\n[optimizer]\nkind = \"sgd\"\nlearning_rate = 0.7\n{tables}",
                shipped_mnist(),
                cost.name(),
                config.hidden,
                config.outputs,
                config.activation.name(),
            ),
        )
        .unwrap();
    writer.commit().unwrap();
}

/// MNIST test image `index` as a 96×96 picture, dark on white, saved in `dir`.
fn picture(dir: &Path, index: usize) -> PathBuf {
    let test = ImageDataset::load(&shipped_mnist(), Split::Test).unwrap();
    let path = dir.join(format!("test-{index}.png"));
    testkit::digit_picture(test.image(index))
        .save(&path)
        .unwrap();
    path
}

fn options(dir: &Path, example: Example, label: Option<&str>) -> RunTrace {
    RunTrace {
        dir: dir.to_path_buf(),
        trust: Trust::Sealed,
        example,
        label: label.map(str::to_string),
        eta: None,
        data_dir: shipped_mnist(),
        backend: default_backend(),
    }
}

/// The output layer's activations.
fn outputs(t: &Trace) -> &[f64] {
    &t.layers[t.layers.len() - 1].a
}

#[test]
fn a_picture_is_traced_through_the_run_as_infer_reads_it() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("run");
    let config = MlpConfig::new([16]);
    run_of(&dir, &config, Cost::Quadratic, "", "");
    let png = picture(scratch.path(), 0);
    let t = trace::from_run(&options(&dir, Example::Picture(png.clone()), Some("1"))).unwrap();

    // The picture as `infer` and `serve` prepare it, and the target the label names.
    let prepared = data::preprocess::load_digit(&png).unwrap();
    assert_eq!(t.x, prepared.map(f64::from).to_vec());
    assert_eq!(t.y.iter().position(|&y| y == 1.0), Some(1));
    assert_eq!(t.y.iter().sum::<f64>(), 1.0);
    // The run's own learning rate, weights and cost.
    assert_eq!(t.eta, 0.7);
    assert_eq!(t.network.sizes(), &[784, 16, 10]);
    assert_eq!(t.cost, Cost::Quadratic);
    // The outputs are Burn's for the run's network (f32 there, f64 here).
    let device = default_backend().device().unwrap();
    let saved = run::SavedRun::load(&dir, &device).unwrap();
    let predictor =
        model::Predictor::new(&saved.network, saved.spec.cost, default_backend()).unwrap();
    let image = burn::tensor::Tensor::<2>::from_data(
        burn::tensor::TensorData::new(prepared.to_vec(), [1, 784]),
        predictor.device(),
    );
    let burn = predictor.predict(image).unwrap().remove(0).outputs;
    for (mine, burn) in outputs(&t).iter().zip(&burn) {
        assert!((mine - f64::from(*burn)).abs() < 1e-5, "{mine} vs {burn}");
    }

    // BP2's two halves: δ = (Σ_j W·δ) · σ'(z), the sum shown as it is.
    let hidden = &t.layers[0];
    let sums = hidden.weighted_error.as_ref().unwrap();
    let sp = hidden.f_prime.as_ref().unwrap();
    for k in 0..16 {
        assert_eq!(hidden.delta[k], sums[k] * sp[k]);
    }
    // Burn's autodiff agrees with the hand derivation on this example.
    let agreement = t.autodiff.unwrap();
    assert!(agreement.passed, "{agreement:?}");
    assert!(agreement.max_rel_error < 1e-4, "{agreement:?}");
    // One step towards the label lowers its cost.
    assert!(t.cost_after < t.cost_before);

    let text = t.text();
    for needle in [
        "which should be 1, through the run",
        "Σ_j W·δ = ∂C/∂a",
        "Burn's autodiff (loss.backward()",
        "all other",
        "= Δz",
        "η = 0.7",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn the_parts_of_each_output_change_add_up_to_it() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("run");
    run_of(&dir, &MlpConfig::new([12]), Cost::Quadratic, "", "");
    let t = trace::from_run(&options(&dir, Example::TestImage(1), None)).unwrap();
    // A test image's own digit is the target: image 1 is a 2.
    assert_eq!(t.y[2], 1.0);
    let text = t.text();
    // "Δb (x) plus every unit's push (y) = z = Δz", and z is the printed Δz of that output.
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| l.contains("plus every unit's push"))
    {
        let numbers: Vec<f64> = line
            .split(|c: char| !(c.is_ascii_digit() || "+-.e".contains(c)))
            .filter_map(|w| w.parse().ok())
            .collect();
        let [db, pushes, total] = numbers[..] else {
            panic!("three numbers expected in {line}")
        };
        assert!((db + pushes - total).abs() < 1e-8, "{line}");
        checked += 1;
    }
    assert!(checked >= 1, "{text}");
}

#[test]
fn a_frozen_layer_is_where_bp2_stops_and_is_not_stepped() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("run");
    let config = MlpConfig::new([16, 12]);
    run_of(&dir, &config, Cost::Quadratic, "", "[init]\nfreeze = 1\n");
    let t = trace::from_run(&options(&dir, Example::TestImage(0), None)).unwrap();
    assert_eq!(t.frozen, 1);
    assert!(t.layers[0].delta.is_empty() && t.layers[0].weighted_error.is_none());
    assert!(t.gradients.weights[0].is_empty());
    assert_eq!(t.stepped.params.weights[0], t.network.params.weights[0]);
    assert_eq!(t.stepped.params.biases[0], t.network.params.biases[0]);
    // The layers above are stepped, and Burn agrees with them.
    assert_ne!(t.stepped.params.weights[1], t.network.params.weights[1]);
    assert!(t.autodiff.unwrap().passed);
    let text = t.text();
    assert!(text.contains("hidden layer 1: frozen ([init] freeze = 1): BP2 stops above it"));
    assert!(text.contains("layers 1 to 1 are frozen and not stepped"));
    let json = t.to_json();
    assert_eq!(json["frozen_layers"], 1);
    assert!(json["layers"][0]["delta"].is_null());
    assert!(json["layers"][1]["delta"].is_array());
}

#[test]
fn a_cross_entropy_run_of_two_classes_is_traced_with_its_own_outputs() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("run");
    let mut config = MlpConfig::new([8]).with_activation(model::Activation::Relu);
    config.outputs = 2;
    run_of(&dir, &config, Cost::CrossEntropy, "classes = [4, 9]", "");
    // Test image 4 is a 4: the run's first output.
    let t = trace::from_run(&options(&dir, Example::TestImage(4), None)).unwrap();
    assert_eq!(t.y, vec![1.0, 0.0]);
    assert!(
        (outputs(&t).iter().sum::<f64>() - 1.0).abs() < 1e-12,
        "softmax"
    );
    assert!(t.autodiff.unwrap().passed);
    assert!(t.text().contains("output 9"));
    // A test image of a digit the run does not know, and a label it has no output for.
    for (example, label) in [
        (Example::TestImage(0), None),
        (Example::TestImage(4), Some("7")),
    ] {
        match trace::from_run(&options(&dir, example, label)) {
            Err(GradcheckError::NoSuchClass { names, .. }) => assert_eq!(names, ["4", "9"]),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn the_command_traces_a_picture_and_refuses_what_it_cannot_trace() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("run");
    run_of(&dir, &MlpConfig::new([8]), Cost::Quadratic, "", "");
    let png = picture(scratch.path(), 0);
    let (run, pic) = (dir.to_str().unwrap(), png.to_str().unwrap());

    let out = gradcheck(&[
        "trace", "--model", run, pic, "--label", "7", "--json", "--eta", "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["eta"], 2.0);
    assert_eq!(json["y"][7], 1.0);
    assert!(json["layers"][0]["weighted_error"].is_array());
    assert!(json["autodiff_max_rel_error"].as_f64().unwrap() < 1e-4);
    assert_eq!(
        json["autodiff_comparison"].as_str(),
        Some(if default_backend().supports_f64() {
            Comparison::ManualVsAutodiffF64.name()
        } else {
            Comparison::ManualVsAutodiffF32.name()
        })
    );

    let not_a_picture = scratch.path().join("notes.txt");
    std::fs::write(&not_a_picture, "not a picture").unwrap();
    for (args, says) in [
        (vec!["trace", "--model", run, pic], "--label"),
        (
            vec!["trace", "--model", run, pic, "--label", "12"],
            "its outputs are 0, 1",
        ),
        (
            vec![
                "trace",
                "--model",
                run,
                not_a_picture.to_str().unwrap(),
                "--label",
                "1",
            ],
            "notes.txt",
        ),
        (
            vec!["trace", "--model", "no/such/run", "--index", "0"],
            "no/such/run",
        ),
        (vec!["trace", pic, "--label", "1"], "--model"),
        (
            vec![
                "trace", "--model", run, "--index", "0", "--layers", "784,10",
            ],
            "--layers",
        ),
    ] {
        let out = gradcheck(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?} should mention {says}: {err}");
    }
}
