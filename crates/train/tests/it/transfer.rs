//! Transfer learning: a run that starts from another run (`[init]`), freezes its first layers,
//! and trains on some of the classes, a few images of each.

use std::fs;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use clap::Parser;
use run::SavedRun;
use train::cli::{run, Args};
use train::{Silent, TrainError};

/// A slice of MNIST, and a base run trained on it (784-24-16-10), in a temporary directory.
struct Base {
    tmp: tempfile::TempDir,
    data: PathBuf,
}

/// The config every run here starts from: `small_config` with two hidden layers.
fn config(data: &Path, epochs: usize) -> String {
    testkit::small_config(data, epochs).replace("hidden = [24]", "hidden = [24, 16]")
}

impl Base {
    fn new() -> Base {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("mnist");
        testkit::mnist_slice(&data, 1_200, 300);
        let base = Base { tmp, data };
        base.train("base.toml", &config(&base.data, 2), "base")
            .expect("the base run trains");
        base
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Trains the config `text` (written as `file`) into `out`.
    fn train(&self, file: &str, text: &str, out: &str) -> Result<train::Trained, TrainError> {
        fs::write(self.path(file), text).unwrap();
        let mut argv: Vec<String> = ["train", "--quiet", "--config"].map(String::from).to_vec();
        argv.push(self.path(file).display().to_string());
        argv.extend(["--out".into(), self.path(out).display().to_string()]);
        argv.extend(testkit::backend_args());
        run(Args::parse_from(argv), &mut Silent)
    }

    /// A config that fine-tunes the base run: `init` is the `[init]` table's body (its
    /// `from` is relative to the config, as users write it), `top` keys go first.
    fn fine_tune(&self, top: &str, init: &str, epochs: usize) -> String {
        format!(
            "{top}\n{}\n[init]\nfrom = \"base\"\n{init}\n",
            config(&self.data, epochs)
        )
    }

    fn load(&self, out: &str) -> SavedRun {
        let backend = model::Backend::resolve(None).unwrap();
        SavedRun::load(&self.path(out), &backend.device().unwrap()).unwrap()
    }
}

/// A tensor's bytes, as stored.
fn bytes<const D: usize>(t: Tensor<D>) -> Vec<u8> {
    t.into_data().as_bytes().to_vec()
}

/// Each layer's (weight bytes, bias bytes).
fn layers(run: &SavedRun) -> Vec<(Vec<u8>, Vec<u8>)> {
    run.network
        .layers
        .iter()
        .map(|l| (bytes(l.weight.val()), bytes(l.bias.as_ref().unwrap().val())))
        .collect()
}

#[test]
fn frozen_layers_come_out_byte_identical_and_the_others_learn() {
    let b = Base::new();
    // Adam with weight decay: a frozen parameter must get no step, no moment, no decay.
    let adam = "[optimizer]\nkind = \"adam\"\nlearning_rate = 0.01\nweight_decay = 0.01\n";
    let text = b
        .fine_tune("", "freeze = 2", 2)
        .replace("[optimizer]\nkind = \"sgd\"\nlearning_rate = 3.0\n", adam);
    assert!(text.contains("adam"), "{text}");
    let tuned = b.train("tuned.toml", &text, "tuned").unwrap();
    let started = tuned.report.started_from.as_ref().unwrap();
    assert_eq!((started.copied_layers, started.frozen_layers), (3, 2));

    let (base, tuned_run) = (layers(&b.load("base")), layers(&b.load("tuned")));
    assert_eq!(base[0], tuned_run[0], "layer 1 is frozen: the same bytes");
    assert_eq!(base[1], tuned_run[1], "layer 2 is frozen: the same bytes");
    assert_ne!(
        base[2].0, tuned_run[2].0,
        "the output layer's weights learned"
    );
    assert_ne!(
        base[2].1, tuned_run[2].1,
        "the output layer's biases learned"
    );

    // Without freezing, every layer moves.
    let all = b.fine_tune("", "", 1);
    b.train("all.toml", &all, "all").unwrap();
    let free = layers(&b.load("all"));
    assert_ne!(base[0].0, free[0].0);
    assert_ne!(base[1].0, free[1].0);

    // The report and the resolved config say where the run started.
    let report = fs::read_to_string(b.path("tuned/report.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&report).unwrap();
    let from = &json["started_from"];
    assert_eq!(from["frozen_layers"], 2, "{report}");
    assert!(from["run"].as_str().unwrap().ends_with("base"), "{report}");
    let resolved = fs::read_to_string(b.path("tuned/config.toml")).unwrap();
    assert!(
        resolved.contains("[init]") && resolved.contains("freeze = 2"),
        "{resolved}"
    );
    // Runs that do not start from another say nothing of it.
    let plain = fs::read_to_string(b.path("base/report.json")).unwrap();
    assert!(
        !plain.contains("started_from") && !plain.contains("class_names"),
        "{plain}"
    );
}

#[test]
fn new_classes_get_a_fresh_output_layer_and_their_names() {
    let b = Base::new();
    let top = "classes = [5, 6, 7, 8, 9]\nper_class = 20\n";
    let text = b
        .fine_tune(top, "freeze = 1\nreset_output = true", 10)
        .replace("validation = 200", "validation = 100");
    let tuned = b.train("five.toml", &text, "five").unwrap();
    let r = &tuned.report;
    assert_eq!(r.train_images, 5 * 20);
    assert_eq!(r.layers, vec![784, 24, 16, 5]);
    assert_eq!(
        r.class_names.as_deref(),
        Some(&["5", "6", "7", "8", "9"].map(String::from)[..])
    );
    assert!(r.test_images < 300, "test images of the five classes only");
    let run = b.load("five");
    assert_eq!(run.spec.class_names(), vec!["5", "6", "7", "8", "9"]);
    // The first layer is the base's, to the byte; the fresh output layer is 16→5.
    assert_eq!(layers(&run)[0], layers(&b.load("base"))[0]);
    assert_eq!(run.network.layers[2].weight.dims(), [16, 5]);

    // MNIST's files number their classes; a config may name them, as configs/fashion.toml
    // names Fashion-MNIST's clothes. The names travel with the run, and `infer` uses them.
    let named = "classes = [7, 3]\nclass_names = [\"seven\", \"three\"]\n";
    let text = b.fine_tune(named, "reset_output = true", 5);
    let tuned = b.train("named.toml", &text, "named").unwrap();
    let names = ["seven", "three"].map(String::from);
    assert_eq!(tuned.report.class_names.as_deref(), Some(&names[..]));
    assert_eq!(b.load("named").spec.class_names(), names);
    // Names for the numbered classes that the base answers with differ from its own:
    // reset_output is needed, as for other classes.
    let text = b.fine_tune(named, "", 1);
    let e = b.train("renamed.toml", &text, "renamed").unwrap_err();
    assert!(e.to_string().contains("reset_output = true"), "{e}");

    // Without reset_output the class counts clash, and the error says what to set.
    let text = b.fine_tune(top, "", 1);
    let e = b
        .train("clash.toml", &text, "clash")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("10 outputs") && e.contains("5 classes") && e.contains("reset_output = true"),
        "{e}"
    );
    assert!(!b.path("clash").exists());
}

#[test]
fn what_cannot_start_a_run_is_named() {
    let b = Base::new();
    let fails = |text: String, expected: &[&str]| {
        let e = model::error_chain(&b.train("bad.toml", &text, "bad").unwrap_err());
        for x in expected {
            assert!(e.contains(x), "expected {x:?} in: {e}");
        }
        assert!(!b.path("bad").exists(), "nothing written: {e}");
    };
    // A layer of another shape: named, with both shapes.
    fails(
        b.fine_tune("", "", 1)
            .replace("hidden = [24, 16]", "hidden = [30, 16]"),
        &["layer 1", "784→24", "784→30"],
    );
    fails(
        b.fine_tune("", "reset_output = true", 1)
            .replace("hidden = [24, 16]", "hidden = [24, 16, 8]"),
        &["layer 3", "16→10", "16→8"],
    );
    fails(
        b.fine_tune("", "reset_output = true", 1)
            .replace("hidden = [24, 16]", "hidden = [24, 16, 10, 4]"),
        &["too few layers", "784-24-16-10"],
    );
    fails(
        b.fine_tune("", "", 1)
            .replace("[model]", "[model]\nactivation = \"relu\""),
        &["sigmoid", "relu"],
    );
    // Freezing every layer would train nothing.
    fails(
        b.fine_tune("", "freeze = 3", 1),
        &["`init.freeze`", "3 layers", "at most 2"],
    );
    fails(
        b.fine_tune("", "freeze = 99", 1),
        &["`init.freeze`", "is 99"],
    );
    // `from` must be a run.
    fs::create_dir(b.path("empty")).unwrap();
    fails(
        b.fine_tune("", "", 1)
            .replace("from = \"base\"", "from = \"empty\""),
        &["`init.from`", "empty", "config.toml"],
    );
    fails(
        b.fine_tune("", "", 1)
            .replace("from = \"base\"", "from = \"base/model.bpk\""),
        &["`init.from`", "model.bpk"],
    );
    fails(
        b.fine_tune("", "", 1)
            .replace("from = \"base\"", "from = \"nowhere\""),
        &["`init.from`", "nowhere"],
    );
    fails(b.fine_tune("", "froze = 1", 1), &["unknown field `froze`"]);
    fails(
        b.fine_tune("", "freeze = 1", 1)
            .replace("from = \"base\"\n", ""),
        &["missing field `from`"],
    );
    // The same number of classes in another order: the output layer would name them wrongly.
    fails(
        b.fine_tune("classes = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]", "", 1),
        &["reset_output = true", "\"9\", \"8\""],
    );
    // Classes and few-shot limits.
    fails(
        b.fine_tune("classes = [5, 5]", "", 1),
        &["`classes`", "5 twice"],
    );
    fails(
        b.fine_tune("classes = [3, 10]", "", 1),
        &["`classes`", "10", "0 to 9"],
    );
    fails(b.fine_tune("classes = []", "", 1), &["`classes`", "empty"]);
    fails(b.fine_tune("per_class = 0", "", 1), &["`per_class`", "0"]);
    // Names for classes that MNIST's files only number: one each, printable, none twice.
    fails(
        b.fine_tune("class_names = [\"cat\", \"dog\"]", "reset_output = true", 1),
        &["`class_names`", "names 2 classes", "answers 10"],
    );
    fails(
        b.fine_tune(
            "classes = [0, 1]\nclass_names = [\"cat\", \"cat\"]",
            "reset_output = true",
            1,
        ),
        &["`class_names`", "\"cat\"", "given once"],
    );
    fails(
        b.fine_tune(
            "classes = [0, 1]\nclass_names = [\"cat\", \" \"]",
            "reset_output = true",
            1,
        ),
        &["`class_names`", "not empty"],
    );
    fails(
        b.fine_tune("per_class = 5000", "", 1),
        &["fewer than `per_class` = 5000", "training images"],
    );
}

#[test]
fn the_curve_trains_every_way_at_every_count_and_draws_it() {
    use train::curve::{run as curve, CurveArgs, Examples, Way};
    let b = Base::new();
    let text = b.fine_tune("classes = [5, 6, 7, 8, 9]", "reset_output = true", 2);
    fs::write(b.path("curve.toml"), &text).unwrap();
    let mut argv: Vec<String> = ["curve", "--counts", "1,5", "--seeds", "1,2", "--config"]
        .map(String::from)
        .to_vec();
    argv.push(b.path("curve.toml").display().to_string());
    argv.extend(["--out".into(), b.path("curve").display().to_string()]);
    argv.extend(testkit::backend_args());
    let args = CurveArgs::parse_from(argv);
    assert_eq!(
        args.counts,
        vec![Examples::PerClass(1), Examples::PerClass(5)]
    );
    let mut told = 0;
    let c = curve(&args, &mut |_| told += 1).unwrap();
    assert_eq!((c.points.len(), told), (2 * 2 * 3, 12));
    assert_eq!(c.classes, vec!["5", "6", "7", "8", "9"]);
    for p in &c.points {
        assert_eq!(p.train_images, 5 * p.per_class.unwrap(), "{p:?}");
        assert!((0.0..=1.0).contains(&p.test_accuracy), "{p:?}");
    }
    for way in [Way::Scratch, Way::FineTune, Way::Frozen] {
        assert_eq!(c.points.iter().filter(|p| p.way == way).count(), 4);
    }
    let csv = fs::read_to_string(b.path("curve/curve.csv")).unwrap();
    assert_eq!(csv.lines().count(), 13, "{csv}");
    assert!(csv.starts_with("way,per_class,seed,train_images,epochs,test_accuracy\n"));
    assert!(csv.contains("\nfrozen,5,2,25,2,"), "{csv}");
    let svg = fs::read_to_string(b.path("curve/curve.svg")).unwrap();
    assert_eq!(svg.matches("<polyline class=\"mean\"").count(), 3, "{svg}");
    assert!(svg.contains("hidden layers frozen") && svg.ends_with("</svg>\n"));
    // The mean at 5 per class of the frozen way is the mean of its two seeds.
    let frozen: Vec<f64> = c
        .points
        .iter()
        .filter(|p| p.way == Way::Frozen && p.per_class == Some(5))
        .map(|p| p.test_accuracy)
        .collect();
    let mean = (frozen[0] + frozen[1]) / 2.0;
    assert!(
        svg.contains(&format!("data-series=\"from the base, hidden layers frozen\" data-per-class=\"5\" data-mean=\"{mean}\"")),
        "{svg}"
    );

    // `all` trains on every image, for `--all-epochs`; the table grows after each training.
    let mut argv: Vec<String> = ["curve", "--counts", "1,all", "--seeds", "3", "--config"]
        .map(String::from)
        .to_vec();
    argv.push(b.path("curve.toml").display().to_string());
    argv.extend(["--all-epochs".into(), "1".into(), "--out".into()]);
    argv.push(b.path("curve-all").display().to_string());
    argv.extend(testkit::backend_args());
    let mut rows = Vec::new();
    let c = curve(&CurveArgs::parse_from(argv), &mut |_| {
        let csv = fs::read_to_string(b.path("curve-all/curve.csv")).unwrap();
        rows.push(csv.lines().count() - 1);
    })
    .unwrap();
    assert_eq!(rows, (1..=6).collect::<Vec<_>>());
    let all: Vec<_> = c.points.iter().filter(|p| p.per_class.is_none()).collect();
    assert_eq!(all.len(), 3);
    let train = data::ImageDataset::load(&b.data, data::Split::Train).unwrap();
    let fives = train.labels().iter().filter(|&&l| l >= 5).count();
    assert!(all.iter().all(|p| p.epochs == 1 && p.train_images == fives));
    assert!(c
        .points
        .iter()
        .filter(|p| p.per_class == Some(1))
        .all(|p| p.epochs == 2));
    let csv = fs::read_to_string(b.path("curve-all/curve.csv")).unwrap();
    assert!(
        csv.contains(&format!("\nscratch,all,3,{fives},1,")),
        "{csv}"
    );

    // A config without a base run has nothing to compare.
    fs::write(b.path("plain.toml"), config(&b.data, 1)).unwrap();
    let plain =
        CurveArgs::parse_from(["curve", "--config", b.path("plain.toml").to_str().unwrap()]);
    let e = curve(&plain, &mut |_| ()).unwrap_err().to_string();
    assert!(e.contains("[init]"), "{e}");
    // Counts are numbers from 1, or `all`.
    for bad in ["0", "ten", "5,-1"] {
        assert!(CurveArgs::try_parse_from(["curve", "--config", "x", "--counts", bad]).is_err());
    }
}
