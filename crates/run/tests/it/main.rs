//! A run directory as an earlier version of `train` wrote it still reads: the network, its
//! seal, report, metrics and checkpoints.

use std::path::{Path, PathBuf};

use run::{CheckpointStore, EpochMetrics, Keep, Report, SavedRun, METRICS_FILE};

/// A run written by `train` on 2026-12-03, before this crate existed (784-4-3, cross-entropy,
/// three classes, `keep = "best"`, a checkpoint kept per epoch; its `data_dir` rewritten).
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-2026-12-03")
}

fn device() -> burn::prelude::Device {
    let backend = match std::env::var("DIGITS_TEST_BACKEND") {
        Ok(name) if !name.is_empty() => name.parse().expect("DIGITS_TEST_BACKEND names a backend"),
        _ => model::Backend::default_compiled().expect("a backend is compiled in"),
    };
    backend.device().expect("the test backend has a device")
}

#[test]
fn a_run_written_before_this_crate_loads_whole() {
    let run = SavedRun::load(&fixture(), &device()).unwrap();
    assert_eq!(run.network.sizes(), [784, 4, 3]);
    assert_eq!(run.spec.class_names(), ["3", "5", "8"]);
    assert_eq!(run.spec.classes.as_deref(), Some(&[3, 5, 8][..]));

    let report = Report::read(&fixture())
        .unwrap()
        .expect("the run has a report");
    assert_eq!((report.kept, report.kept_epoch), (Keep::Best, Some(1)));
    assert_eq!(
        (report.test_correct, report.test_images),
        (Some(2626), 2876)
    );
    assert_eq!(report.layers, [784, 4, 3]);
    // Written back, it is the file it was read from, to the byte.
    let text = std::fs::read_to_string(fixture().join("report.json")).unwrap();
    assert_eq!(report.to_json().unwrap(), text);

    let path = fixture().join(METRICS_FILE);
    let csv = std::fs::read_to_string(&path).unwrap();
    let history = EpochMetrics::from_csv(&csv, &path).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].validation_accuracy, Some(0.914));
    assert_eq!(EpochMetrics::to_csv(&history), csv);
}

#[test]
fn a_checkpoint_written_before_this_crate_resumes_when_allowed() {
    // Written before checkpoints were sealed: refused unless the user allows it.
    let dir = fixture().join("checkpoints");
    let refused = CheckpointStore::latest(&dir, run::Trust::Sealed, |_, _| Ok(())).unwrap_err();
    assert!(
        refused.to_string().contains("--allow-unsealed"),
        "{refused}"
    );
    let resumable = CheckpointStore::latest(&dir, run::Trust::AllowUnsealed, |_, _| Ok(()))
        .unwrap()
        .expect("the run kept its checkpoints");
    let (path, config, checkpoint) = (resumable.path, resumable.config, resumable.checkpoint);
    assert!(path.ends_with("epoch-000002-step-000000"), "{path:?}");
    assert!(config.contains("keep = \"best\""), "{config}");
    let position = checkpoint.position;
    assert_eq!((position.epochs_done, position.step), (2, 330));
    assert_eq!(position.history.len(), 2);
    assert_eq!(position.best.map(|b| b.epoch), Some(1));
    // The checkpoint's weights are the network's, in the same format.
    let spec = run::RunSpec::read(&fixture()).unwrap();
    let network = model::network_from_bytes(&spec.model, checkpoint.network, &device()).unwrap();
    assert_eq!(network.sizes(), [784, 4, 3]);
    assert!(checkpoint.best_network.is_some());
}
