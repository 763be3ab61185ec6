//! `gradcheck train`: the hand-written backward pass trains, and Burn's autodiff, stepped beside
//! it on the same batches, stays on the same trajectory.

use gradcheck::training::{train, TrainOptions};

use crate::{default_backend, gradcheck, shipped_mnist};

/// Nielsen's network and training, on the first `images` training images.
fn short(images: usize, epochs: usize) -> TrainOptions {
    TrainOptions {
        epochs,
        train_images: images,
        test_images: 1000,
        ..TrainOptions::nielsen(shipped_mnist(), default_backend())
    }
}

#[test]
fn the_hand_written_gradients_train_the_network() {
    let (mut seen, mut steps) = (Vec::new(), Vec::new());
    let run = train(&short(3000, 2), &mut |p| match p {
        gradcheck::training::Progress::Epoch(e) => seen.push(e.epoch),
        gradcheck::training::Progress::Step { epoch, step, of } => steps.push((epoch, step, of)),
    })
    .unwrap();
    assert_eq!(seen, vec![1, 2], "every epoch is reported as it ends");
    // And every step, for progress on long work.
    assert_eq!(steps.len(), 600);
    assert_eq!(steps[0], (1, 1, 300));
    assert_eq!(steps[599], (2, 300, 300));
    let [first, second] = run.epochs.as_slice() else {
        panic!("two epochs: {:?}", run.epochs)
    };
    assert_eq!((first.steps, second.steps), (300, 300));
    // From N(0, 1) weights (chance: 10%; the text's network starts slowly, saturated), 600
    // steps of η = 3 already read most test digits, and the cost falls.
    assert!(second.mean_cost < first.mean_cost, "{run:?}");
    assert!(second.accuracy() > first.accuracy(), "{run:?}");
    assert!(run.accuracy() > 0.5, "{}", run.summary());
    assert!(run.autodiff.is_none());
}

#[test]
fn burns_autodiff_follows_the_same_trajectory_in_f64() {
    let options = TrainOptions {
        against_autodiff: true,
        max_steps: Some(300),
        ..short(3000, 1)
    };
    let run = match train(&options, &mut |_| {}) {
        Ok(run) => run,
        Err(e) if !options.backend.supports_f64() => {
            // NdArray computes sigmoid in f32 and wgpu has no f64: the check cannot run there,
            // and says where it can.
            assert!(e.to_string().contains("--backend flex"), "{e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let a = run.autodiff.expect("the trajectory was compared");
    assert_eq!(a.steps, 300);
    // After 300 steps of η = 3, the two copies differ by rounding alone. (A wrong derivation
    // parts them at the first step, by far more: see the fault tests for gradients.)
    assert!(a.max_abs_diff < 1e-11, "{a:?}");
    assert!(a.max_rel_diff < 1e-9, "{a:?}");
    assert!(a.max_cost_rel_diff < 1e-12, "{a:?}");
    assert!(
        a.max_abs_diff > 0.0,
        "f64 rounding differs somewhere: {a:?}"
    );
}

#[test]
fn the_train_subcommand_prints_epochs_and_json_and_refuses_nonsense() {
    let common = ["--train-images", "500", "--test-images", "200"];
    let out = gradcheck(&[&["train", "--epochs", "2"], &common[..]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Hand-written backpropagation training 784-30-10"),
        "{text}"
    );
    assert!(
        text.contains("epoch   2/2") && text.contains("test accuracy"),
        "{text}"
    );
    assert!(!text.contains("warning:"), "{text}");

    // ReLU with the classic defaults does not learn, and is told so with settings that work
    // (the sigmoid network above learned, and was told nothing).
    let relu = ["train", "--epochs", "1", "--activation", "relu", "--json"];
    let out = gradcheck(&[&relu[..], &common[..]].concat());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warning = json["warning"].as_str().unwrap_or_default();
    assert!(
        warning.contains("no better than guessing") && warning.contains("--init scaled_normal"),
        "{json}"
    );

    // Stopped inside an epoch by --steps, the summary counts steps, not a whole epoch.
    let out = gradcheck(&[&["train", "--epochs", "2", "--steps", "70"], &common[..]].concat());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("after 70 steps (20 of epoch 2's 50)"),
        "{text}"
    );

    let out = gradcheck(&[&["train", "--epochs", "1", "--json"], &common[..]].concat());
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["epochs"][0]["steps"], 50);
    assert_eq!(json["network"], serde_json::json!([784, 30, 10]));
    assert_eq!(json["train_images"], 500);

    for (args, says) in [
        (
            &["train", "--epochs", "0"][..],
            "--epochs must be at least 1",
        ),
        (&["train", "--layers", "784,30,5"], "10 outputs"),
        (&["train", "--eta=-3"], "no learning rate"),
        (&["train", "--init", "zeros"], "unknown init"),
        (&["train", "--data-dir", "/nonexistent"], "/nonexistent"),
    ] {
        let out = gradcheck(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
