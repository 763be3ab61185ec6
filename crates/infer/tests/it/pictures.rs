//! `infer --pictures`: what it draws holds the numbers it claims, beside a page that refers only
//! to files beside it, and the run stays a run.

use std::path::Path;

use clap::Parser;
use data::{ImageDataset, Split};
use infer::cli::{Args, Output, Shown};
use infer::{first_layer, mistakes, HIDDEN_CAP, MISTAKES_CAP};
use pictures::{HIDDEN_SCALE, MISTAKE_CELL_H, MISTAKE_CELL_W, MISTAKE_SCALE};
use run::SavedRun;

fn infer(args: &[&str]) -> Result<Output, infer::InferError> {
    let all = std::iter::once("infer").chain(args.iter().copied());
    infer::cli::run(&Args::try_parse_from(all).unwrap())
}

fn decode(path: &Path) -> image::RgbImage {
    image::open(path).unwrap().to_rgb8()
}

/// The `src` and `href` values of a page.
fn references(html: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|key| {
            html.match_indices(key).map(move |(at, _)| {
                let rest = &html[at + key.len()..];
                rest[..rest.find('"').unwrap()].to_string()
            })
        })
        .collect()
}

#[test]
fn the_pictures_hold_the_runs_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    crate::random_run(&run);
    let run_s = run.to_str().unwrap();
    let Output::Evaluation(e) = infer(&["--model", run_s, "--pictures"]).unwrap() else {
        panic!("an evaluation");
    };
    let drawn = e.pictures.clone().expect("pictures drawn");
    let dir = run.join("pictures");
    assert_eq!(drawn.dir, dir);
    let text = Output::Evaluation(e.clone()).to_string();
    assert!(
        text.ends_with(&format!(
            "pictures: {} (confusion.svg, hidden.png, mistakes.png, index.html; 8 of 8 hidden \
             units, {} of {} mistakes drawn)\n  no picture of where the first layer started: \
             its config names no seed to draw its start from",
            dir.join("index.html").display(),
            drawn.mistakes_drawn,
            drawn.mistakes
        )),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&Output::Evaluation(e.clone()).to_json().unwrap()).unwrap();
    assert_eq!(json["pictures"]["dir"], dir.to_str().unwrap());

    // The page refers only to files beside it, and every picture parses.
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let refs = references(&html);
    assert_eq!(
        refs.len(),
        3,
        "{refs:?}: no curves.svg in a run not made by train"
    );
    for r in &refs {
        assert!(!r.contains('/') && dir.join(r).is_file(), "{r}");
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "svg") {
            let svg = std::fs::read_to_string(&path).unwrap();
            roxmltree::Document::parse(&svg).unwrap_or_else(|err| panic!("{path:?}: {err}"));
        }
    }
    assert!(html.contains(&format!(
        "{} of {} mistakes drawn",
        drawn.mistakes_drawn, drawn.mistakes
    )));

    // The heatmap's cells are the evaluation's counts.
    let svg = std::fs::read_to_string(dir.join("confusion.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let cells: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("count"))
        .collect();
    assert_eq!(cells.len(), 100);
    for n in cells {
        let t: usize = n.attribute("data-true").unwrap().parse().unwrap();
        let p: usize = n.attribute("data-said").unwrap().parse().unwrap();
        assert_eq!(n.text().unwrap(), e.report.confusion[t][p].to_string());
    }

    // The mistakes are the evaluation's: as many as it got wrong, most confident first, the
    // very test images.
    assert_eq!(drawn.mistakes, e.report.images - e.report.correct);
    assert_eq!(drawn.mistakes_drawn, drawn.mistakes.min(MISTAKES_CAP));
    let backend = model::Backend::resolve(None).unwrap();
    let saved = SavedRun::load(&run, &backend.device().unwrap()).unwrap();
    let predictor = model::Predictor::new(&saved.network, saved.spec.cost, backend).unwrap();
    let test = ImageDataset::load(&testkit::shipped_data(), Split::Test).unwrap();
    let (wrong, total) = mistakes(&predictor, &test, MISTAKES_CAP).unwrap();
    assert_eq!(total, drawn.mistakes);
    assert!(wrong.windows(2).all(|w| w[0].confidence >= w[1].confidence));
    assert!(wrong.iter().all(|m| m.truth != m.said));
    let image = decode(&dir.join("mistakes.png"));
    let side = 28 * MISTAKE_SCALE;
    for (k, m) in wrong.iter().enumerate() {
        let x0 = (k % 10) as u32 * MISTAKE_CELL_W + (MISTAKE_CELL_W - side) / 2;
        let y0 = (k / 10) as u32 * MISTAKE_CELL_H + 4;
        for (i, &v) in m.pixels.iter().enumerate() {
            let g = (255.0 * (1.0 - v)).round() as u8;
            let (x, y) = (
                x0 + (i % 28) as u32 * MISTAKE_SCALE,
                y0 + (i / 28) as u32 * MISTAKE_SCALE,
            );
            assert_eq!(image.get_pixel(x, y).0, [g, g, g], "mistake {k}, pixel {i}");
        }
    }

    // Each tile of hidden.png follows its unit's weights: zero white, negative blue, positive
    // red, the tile's largest |w| full colour.
    let (weights, units) = first_layer(&saved).unwrap();
    assert_eq!(
        (units, drawn.hidden_units, drawn.hidden_drawn),
        (8, 8, 8.min(HIDDEN_CAP))
    );
    let image = decode(&dir.join("hidden.png"));
    let columns = pictures::grid_columns(8);
    for unit in 0..8 {
        let tile: Vec<f32> = (0..784).map(|i| weights[i * units + unit]).collect();
        let largest = tile.iter().fold(0f32, |m, w| m.max(w.abs()));
        let (x0, y0) = pictures::hidden_tile_origin(unit, columns);
        for (i, &w) in tile.iter().enumerate() {
            let x = x0 + (i % 28) as u32 * HIDDEN_SCALE;
            let y = y0 + (i / 28) as u32 * HIDDEN_SCALE;
            // Blue for negative, red for positive, mixed from white in proportion to
            // |w| / largest.
            let t = w / largest;
            let target = if t < 0.0 {
                pictures::NEGATIVE
            } else {
                pictures::POSITIVE
            };
            let expected = target.map(|c| 255.0 + t.abs() * (f32::from(c) - 255.0));
            let got = image.get_pixel(x, y).0;
            for (g, e) in got.iter().zip(expected) {
                assert!(
                    (f32::from(*g) - e).abs() <= 0.5,
                    "unit {unit} pixel {i}: {got:?} for w/max {t}"
                );
            }
            if w.abs() == largest {
                assert_eq!(got, target, "unit {unit}: the largest |w| is full colour");
            }
        }
    }

    // The run is still a run: the next `train` may replace it.
    drop(saved);
    let writer = run::RunWriter::create(&run).expect("pictures/ belongs to a run");
    drop(writer);
}

#[test]
fn pictures_go_where_asked_but_never_loose_in_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    crate::random_run(&run);
    let elsewhere = tmp.path().join("pics");
    let Output::Evaluation(e) = infer(&[
        "--model",
        run.to_str().unwrap(),
        "--pictures",
        elsewhere.to_str().unwrap(),
    ])
    .unwrap() else {
        panic!("an evaluation");
    };
    assert_eq!(e.pictures.unwrap().dir, elsewhere);
    assert!(elsewhere.join("index.html").is_file() && !run.join("pictures").exists());
    let inside = run.join("pics");
    let err = infer(&[
        "--model",
        run.to_str().unwrap(),
        "--pictures",
        inside.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(
        matches!(err, infer::InferError::PicturesInRun { .. }),
        "{err}"
    );
    assert!(!inside.exists());
    // The run's own folder, however it is named.
    for own in [run.clone(), run.join("."), run.join("pictures/..")] {
        let err = infer(&[
            "--model",
            run.to_str().unwrap(),
            "--pictures",
            own.to_str().unwrap(),
        ])
        .unwrap_err();
        assert!(
            matches!(err, infer::InferError::PicturesInRun { .. }),
            "{own:?}: {err}"
        );
    }
    assert!(!run.join("index.html").exists());
    let missing = tmp.path().join("missing.PNG");
    let err = infer(&[
        "--model",
        run.to_str().unwrap(),
        "--pictures",
        missing.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(
        matches!(
            err,
            infer::InferError::PicturesIsAFile {
                what: "an image's name",
                ..
            }
        ),
        "{err}"
    );
    assert!(!missing.exists());
    // `--pictures my.png`: the image was meant, and is not taken for a directory.
    let seven = tmp.path().join("seven.png");
    crate::seven().save(&seven).unwrap();
    let err = infer(&[
        "--model",
        run.to_str().unwrap(),
        "--pictures",
        seven.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(
        matches!(
            err,
            infer::InferError::PicturesIsAFile { what: "a file", .. }
        ) && err.to_string().contains("--pictures=DIR"),
        "{err}"
    );
}

#[test]
fn a_test_image_is_drawn_as_the_network_sees_it() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    crate::random_run(&run);
    let seven = tmp.path().join("seven.png");
    crate::seven().save(&seven).unwrap();
    let out = infer(&[
        "--model",
        run.to_str().unwrap(),
        "--index",
        "7",
        seven.to_str().unwrap(),
        "--pictures",
    ])
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&out.to_json().unwrap()).unwrap();
    let text = out.to_string();
    let Output::Shown(shown) = out else {
        panic!("images shown");
    };
    for (p, file) in json["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(["test-7.svg", "image-1.svg"])
    {
        let path = run.join("pictures").join(file);
        assert_eq!(p["picture"], path.to_str().unwrap());
        assert!(
            text.contains(&format!("picture: {}", path.display())),
            "{text}"
        );
        let svg = std::fs::read_to_string(&path).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let of = |class: &str| -> Vec<f32> {
            doc.descendants()
                .filter(|n| n.attribute("class") == Some(class))
                .map(|n| n.attribute("data-value").unwrap().parse().unwrap())
                .collect()
        };
        let outputs: Vec<f32> = p["activations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(of("output"), outputs, "{file}");
        let hidden = of("unit");
        assert_eq!(hidden.len(), 8);
        assert!(
            hidden.iter().all(|a| (0.0..=1.0).contains(a)),
            "sigmoid: {hidden:?}"
        );
    }
    // The pixels drawn are the test image's.
    let Shown::TestImage { answer, .. } = &shown.predictions[0] else {
        panic!("a test image");
    };
    let svg = std::fs::read_to_string(run.join("pictures/test-7.svg")).unwrap();
    let inked = svg.matches(r#"class="pixel""#).count();
    assert_eq!(inked, answer.pixels.iter().filter(|&&v| v > 0.0).count());
}

/// A run in `dir` whose network is the one `seed_drawn` draws, and whose config says it was
/// drawn from `seed`, with `extra` config lines (an `[init]` table) after `[model]`.
fn seeded_run(dir: &Path, seed_drawn: u64, seed: u64, extra: &str) {
    let backend = model::Backend::resolve(None).unwrap();
    let config = model::MlpConfig::new([8]);
    let network = config.init_seeded(seed_drawn, &backend.device().unwrap());
    crate::write_run(
        dir,
        &network,
        &format!(
            "data_dir = {:?}\nseed = {seed}\nbackend = \"{}\"\ncost = \"quadratic\"\n\
             [model]\nhidden = [8]\n{extra}",
            testkit::shipped_data(),
            backend.name()
        ),
    );
}

fn pictures_of(dir: &Path) -> (infer::Drawn, String) {
    let Output::Evaluation(e) = infer(&["--model", dir.to_str().unwrap(), "--pictures"]).unwrap()
    else {
        panic!("an evaluation");
    };
    let html = std::fs::read_to_string(dir.join("pictures/index.html")).unwrap();
    (e.pictures.expect("pictures drawn"), html)
}

/// [`pictures_of`] for a run whose files were edited after its seal.
fn pictures_of_unsealed(dir: &Path) -> (infer::Drawn, String) {
    let all = [
        "--model",
        dir.to_str().unwrap(),
        "--pictures",
        "--allow-unsealed",
    ];
    let Output::Evaluation(e) = infer(&all).unwrap() else {
        panic!("an evaluation");
    };
    let html = std::fs::read_to_string(dir.join("pictures/index.html")).unwrap();
    (e.pictures.expect("pictures drawn"), html)
}

/// Whether tile `unit` of a picture of 8 tiles is framed as still.
fn framed(image: &image::RgbImage, unit: usize) -> bool {
    let (x0, y0) = pictures::hidden_tile_origin(unit, pictures::grid_columns(8));
    image.get_pixel(x0 - 1, y0 - 1).0 == pictures::STILL
}

#[test]
fn where_the_first_layer_started_is_drawn_beside_it() {
    let tmp = tempfile::tempdir().unwrap();
    // Weights just as the seed drew them: the start is drawn again exactly, nothing moved.
    let unmoved = tmp.path().join("unmoved");
    seeded_run(&unmoved, 5, 5, "");
    let (drawn, html) = pictures_of(&unmoved);
    assert_eq!(drawn.still, Some(8), "{drawn}");
    assert_eq!(drawn.median_moved, Some(0.0));
    assert!(
        drawn.start.as_deref().unwrap().contains("seed (5"),
        "{drawn}"
    );
    for file in ["hidden.png", "hidden-start.png", "hidden-change.png"] {
        assert!(
            drawn.files.iter().any(|f| f == file),
            "{file}: {:?}",
            drawn.files
        );
        assert!(
            html.contains(&format!("src=\"{file}\"")),
            "{file} on the page"
        );
    }
    assert!(html.contains("8 of 8 units barely moved"), "{html}");
    let now = decode(&unmoved.join("pictures/hidden.png"));
    let start = decode(&unmoved.join("pictures/hidden-start.png"));
    let change = decode(&unmoved.join("pictures/hidden-change.png"));
    let columns = pictures::grid_columns(8);
    for unit in 0..8 {
        assert!(framed(&now, unit) && framed(&change, unit) && !framed(&start, unit));
        let (x0, y0) = pictures::hidden_tile_origin(unit, columns);
        for i in 0..784 {
            let (x, y) = (x0 + (i % 28) * HIDDEN_SCALE, y0 + (i / 28) * HIDDEN_SCALE);
            assert_eq!(now.get_pixel(x, y), start.get_pixel(x, y), "unit {unit}");
            assert_eq!(change.get_pixel(x, y).0, [255, 255, 255], "W − W₀ = 0");
        }
    }

    // Weights drawn from another seed than the config says: every unit "moved" (by about
    // √2 of its size), none is marked.
    let moved = tmp.path().join("moved");
    seeded_run(&moved, 6, 5, "");
    let (drawn, _) = pictures_of(&moved);
    assert_eq!(drawn.still, Some(0), "{drawn}");
    let median = drawn.median_moved.unwrap();
    assert!((1.2..1.7).contains(&median), "{median}");
    let now = decode(&moved.join("pictures/hidden.png"));
    assert!((0..8).all(|unit| !framed(&now, unit)));

    // Trained on a GPU backend this build lacks: its generator cannot be run again here, so no
    // start is drawn rather than a wrong one.
    if !model::Backend::Wgpu.is_compiled() {
        let gpu = tmp.path().join("gpu");
        seeded_run(&gpu, 5, 5, "");
        let config = std::fs::read_to_string(gpu.join("config.toml")).unwrap();
        let backend = model::Backend::resolve(None).unwrap();
        let edited = config.replace(
            &format!("backend = \"{}\"", backend.name()),
            "backend = \"wgpu\"",
        );
        assert_ne!(edited, config);
        std::fs::write(gpu.join("config.toml"), edited).unwrap();
        let (drawn, _) = pictures_of_unsealed(&gpu);
        let why = drawn.no_start.unwrap();
        assert!(
            why.contains("trained on wgpu") && why.contains("--features wgpu"),
            "{why}"
        );
    }

    // A run fine-tuned from `unmoved` with its first layer frozen: the base's tiles are its
    // start, and nothing in that layer moved, by design.
    let tuned = tmp.path().join("tuned");
    seeded_run(
        &tuned,
        5,
        9,
        &format!(
            "[init]\nfrom = {:?}\nfreeze = 1\nreset_output = true\n",
            unmoved.to_str().unwrap()
        ),
    );
    let (drawn, html) = pictures_of(&tuned);
    assert!(
        drawn.start.as_deref().unwrap().starts_with("the base run "),
        "{drawn}"
    );
    assert_eq!(drawn.still, Some(8));
    assert!(drawn.frozen);
    assert!(drawn
        .to_string()
        .contains("first layer frozen: it is its start (the base run "));
    assert!(html.contains("This layer was frozen"), "{html}");
    assert_eq!(
        decode(&tuned.join("pictures/hidden-start.png")),
        decode(&unmoved.join("pictures/hidden-start.png")),
        "the base's tiles"
    );
    // Its base gone, the pictures are still drawn, and the page says why the start is not.
    std::fs::remove_dir_all(&unmoved).unwrap();
    let (drawn, html) = pictures_of(&tuned);
    assert_eq!(drawn.still, None);
    let why = drawn.no_start.clone().unwrap();
    assert!(
        why.contains("its base run") && why.contains("cannot be read"),
        "{why}"
    );
    assert!(html.contains("cannot be shown"), "{html}");
    // The pictures of the start drawn before are gone with it, not left stale.
    assert!(!tuned.join("pictures/hidden-start.png").exists());
    assert!(!tuned.join("pictures/hidden-change.png").exists());
    assert!(drawn.files.iter().all(|f| !f.starts_with("hidden-")));
}
