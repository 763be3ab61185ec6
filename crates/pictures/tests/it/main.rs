//! The pictures say what their numbers say: colours follow weights, cells hold the counts,
//! points sit at the metrics, and the mistakes picture holds the images it claims.

use pictures::*;

fn decode(png: &[u8]) -> image::RgbImage {
    image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .unwrap()
        .to_rgb8()
}

/// Parses `svg` as XML (a malformed picture fails here).
fn parse(svg: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"))
}

fn rows() -> Vec<EpochRow> {
    vec![
        EpochRow {
            epoch: 1,
            train_loss: 0.31415926535,
            train_accuracy: 0.9012,
            validation_accuracy: Some(0.93),
            learning_rate: 3.0,
        },
        EpochRow {
            epoch: 2,
            train_loss: 0.125,
            train_accuracy: 0.955,
            validation_accuracy: Some(0.9511),
            learning_rate: 1.5,
        },
        EpochRow {
            epoch: 3,
            train_loss: 0.0625,
            train_accuracy: 0.97,
            validation_accuracy: Some(0.96),
            learning_rate: 0.75,
        },
    ]
}

#[test]
fn each_curve_point_holds_its_epochs_number_and_sits_in_order() {
    let rows = rows();
    let svg = curves_svg(&rows);
    let doc = parse(&svg);
    let series = |name: &str| -> Vec<(usize, f64, f64, f64)> {
        doc.descendants()
            .filter(|n| n.has_tag_name("circle") && n.attribute("data-series") == Some(name))
            .map(|n| {
                let get = |a: &str| n.attribute(a).unwrap();
                (
                    get("data-epoch").parse().unwrap(),
                    get("data-value").parse().unwrap(),
                    get("cx").parse().unwrap(),
                    get("cy").parse().unwrap(),
                )
            })
            .collect()
    };
    type Pick = fn(&EpochRow) -> Option<f64>;
    let picks: [(&str, Pick); 4] = [
        ("train_loss", |r| Some(r.train_loss)),
        ("train_accuracy", |r| Some(r.train_accuracy)),
        ("validation_accuracy", |r| r.validation_accuracy),
        ("learning_rate", |r| Some(r.learning_rate)),
    ];
    for (name, pick) in picks {
        let points = series(name);
        assert_eq!(points.len(), rows.len(), "{name}");
        for (p, r) in points.iter().zip(&rows) {
            assert_eq!(p.0, r.epoch, "{name}");
            assert_eq!(p.1, pick(r).unwrap(), "{name}");
        }
        // Later epochs to the right; a larger value higher up (smaller y), a smaller lower.
        for w in points.windows(2) {
            assert!(w[1].2 > w[0].2, "{name}: x grows with the epoch");
            assert_eq!(
                w[1].1 > w[0].1,
                w[1].3 < w[0].3,
                "{name}: y follows the value"
            );
        }
    }
    // Both accuracies share one axis: the same value, the same height.
    let train = series("train_accuracy");
    let validation = series("validation_accuracy");
    assert!(validation[1].3 > train[1].3, "0.9511 is drawn below 0.955");
    assert!(validation[0].3 < train[0].3, "0.93 is drawn above 0.9012");
    for label in ["training loss", "learning rate", "accuracy", "epoch"] {
        assert!(svg.contains(label), "{label}");
    }
}

#[test]
fn curves_without_validation_or_epochs_still_draw() {
    let mut rows = rows();
    for r in &mut rows {
        r.validation_accuracy = None;
    }
    let svg = curves_svg(&rows);
    parse(&svg);
    assert!(!svg.contains(r#"data-series="validation_accuracy""#));
    assert!(svg.contains("no validation images"));
    parse(&curves_svg(&rows[..1]));
    parse(&curves_svg(&[]));
}

#[test]
fn heatmap_cells_hold_the_counts() {
    let mut confusion = vec![vec![0u32; 10]; 10];
    for (t, row) in confusion.iter_mut().enumerate() {
        for (p, c) in row.iter_mut().enumerate() {
            *c = if t == p {
                900 + t as u32
            } else {
                (t * 10 + p) as u32
            };
        }
    }
    let precision: Vec<f64> = (0..10).map(|d| 0.9 + d as f64 / 100.0).collect();
    let mut recall: Vec<f64> = (0..10).map(|d| 0.8 + d as f64 / 100.0).collect();
    recall[3] = f64::NAN;
    let digits: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    let svg = confusion_svg(&confusion, &digits, &precision, &recall);
    assert!(svg.contains("rows are the true digit"));
    let doc = parse(&svg);
    let mut seen = 0;
    for n in doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("count"))
    {
        let t: usize = n.attribute("data-true").unwrap().parse().unwrap();
        let p: usize = n.attribute("data-said").unwrap().parse().unwrap();
        assert_eq!(n.text().unwrap(), confusion[t][p].to_string());
        seen += 1;
    }
    assert_eq!(seen, 100);
    let margin = |class: &str| -> Vec<String> {
        doc.descendants()
            .filter(|n| n.attribute("class") == Some(class))
            .map(|n| n.text().unwrap().to_string())
            .collect()
    };
    assert_eq!(margin("precision")[4], "94.0%");
    assert_eq!(margin("recall")[7], "87.0%");
    assert_eq!(margin("recall")[3], "–", "undefined is a dash");

    // Other classes, by their names (escaped), slanted when long; three of them, three rows.
    let names: Vec<String> = ["T-shirt/top", "Bag", "<Ankle> & boot"]
        .map(String::from)
        .to_vec();
    let small = vec![vec![5, 1, 0], vec![0, 7, 2], vec![1, 0, 9]];
    let svg = confusion_svg(&small, &names, &[0.8, 0.9, 0.7], &[0.9, 0.8, 0.85]);
    let doc = parse(&svg);
    assert!(svg.contains("rows are the true class") && svg.contains("rotate(-45"));
    assert!(svg.contains("&lt;Ankle&gt; &amp; boot"), "{svg}");
    let counts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("count"))
        .map(|n| n.text().unwrap())
        .collect();
    assert_eq!(counts, ["5", "1", "0", "0", "7", "2", "1", "0", "9"]);
    let labels: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("font-weight") == Some("bold"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(
        labels.iter().filter(|l| **l == "T-shirt/top").count(),
        2,
        "row and column"
    );
}

/// A tile's pixel colour at weight pixel `i` of hidden unit `unit`.
fn tile_pixel(image: &image::RgbImage, hidden_drawn: usize, unit: usize, i: usize) -> [u8; 3] {
    let columns = grid_columns(hidden_drawn);
    let (x0, y0) = hidden_tile_origin(unit, columns);
    let x = x0 + (i % 28) as u32 * HIDDEN_SCALE;
    let y = y0 + (i / 28) as u32 * HIDDEN_SCALE;
    // Every pixel of the block is the same.
    let p = image.get_pixel(x, y).0;
    assert_eq!(
        image
            .get_pixel(x + HIDDEN_SCALE - 1, y + HIDDEN_SCALE - 1)
            .0,
        p
    );
    p
}

#[test]
fn hidden_tiles_follow_the_weights_signs_and_sizes() {
    let hidden = 5;
    // Unit j's weight from pixel i, stored [784, hidden] row-major.
    let w = |i: usize, j: usize| -> f32 {
        match j {
            0 => (i as f32 - 392.0) / 392.0, // negative top, positive bottom
            1 => 0.0,                        // nothing: all white
            2 => 0.001 * if i == 100 { -4.0 } else { 1.0 }, // its own scale: -4 is the extreme
            3 => {
                if i.is_multiple_of(2) {
                    5.0
                } else {
                    -5.0
                }
            }
            _ => 1.0,
        }
    };
    let weights: Vec<f32> = (0..784 * hidden)
        .map(|k| w(k / hidden, k % hidden))
        .collect();
    let image = decode(&hidden_png(&weights, hidden, 4, &[]).unwrap());
    let columns = grid_columns(4) as u32;
    assert_eq!(columns, 2);
    let pitch = 28 * HIDDEN_SCALE + HIDDEN_GAP;
    assert_eq!(
        image.dimensions(),
        (
            HIDDEN_GAP + 2 * pitch,
            HIDDEN_GAP + 2 * (pitch + HIDDEN_LABEL_H)
        ),
        "4 of 5, each under a band with its number"
    );
    // The numbers are written in the band above each tile: dark pixels there, none elsewhere
    // in the gaps.
    let band_ink = |unit: usize| {
        let (x0, y0) = hidden_tile_origin(unit, 2);
        (x0..x0 + 28 * HIDDEN_SCALE)
            .flat_map(|x| (y0 - HIDDEN_LABEL_H..y0).map(move |y| (x, y)))
            .filter(|&(x, y)| image.get_pixel(x, y).0 == [0, 0, 0])
            .count()
    };
    assert!((0..4).all(|u| band_ink(u) > 5), "every tile is numbered");
    // "1" has fewer dark pixels than "0" in the 5×7 font: the numbers differ by unit.
    assert!(band_ink(1) < band_ink(0));
    let white = [255, 255, 255];
    // Unit 0: blue where negative, red where positive, deeper further from zero.
    let neg = tile_pixel(&image, 4, 0, 0);
    assert_eq!(neg, NEGATIVE, "its largest |w| is full colour");
    let pos = tile_pixel(&image, 4, 0, 783);
    assert!(pos[0] > pos[2] && pos[0] > pos[1], "red: {pos:?}");
    let mild = tile_pixel(&image, 4, 0, 200);
    assert!(
        mild[2] > mild[0] && mild[0] > neg[0],
        "paler blue: {mild:?}"
    );
    assert_eq!(tile_pixel(&image, 4, 0, 392), white, "zero is white");
    // Unit 1: all zero, all white.
    assert!((0..784).all(|i| tile_pixel(&image, 4, 1, i) == white));
    // Unit 2: scaled to itself, so its one -0.004 is full blue and 0.001 a quarter red.
    assert_eq!(tile_pixel(&image, 4, 2, 100), NEGATIVE);
    let quarter = tile_pixel(&image, 4, 2, 0);
    let expect = POSITIVE.map(|c| (255.0 + 0.25 * (f32::from(c) - 255.0)).round() as u8);
    assert_eq!(quarter, expect);
    // Unit 3: alternating signs, full strength.
    assert_eq!(tile_pixel(&image, 4, 3, 0), POSITIVE);
    assert_eq!(tile_pixel(&image, 4, 3, 1), NEGATIVE);
    // A unit marked still is framed in amber, and its label is longer; the others are not.
    let marked = decode(&hidden_png(&weights, hidden, 4, &[false, true]).unwrap());
    let (x1, y1) = hidden_tile_origin(1, 2);
    let (x0, y0) = hidden_tile_origin(0, 2);
    assert_eq!(marked.get_pixel(x1 - 1, y1 - 1).0, STILL);
    assert_eq!(marked.get_pixel(x1 + 40, y1 + 28 * HIDDEN_SCALE).0, STILL);
    assert_ne!(marked.get_pixel(x0 - 1, y0 - 1).0, STILL);
    assert_eq!(
        tile_pixel(&marked, 4, 3, 0),
        POSITIVE,
        "the tiles are the same"
    );
    // The wrong number of weights is refused.
    assert!(matches!(
        hidden_png(&weights[1..], hidden, 4, &[]),
        Err(DrawError::WeightsDoNotFit { .. })
    ));
}

/// Mistake `k` with a recognisable image: a bar at row `k`, ink `0.5 + k/100`.
fn mistake(k: usize, confidence: f32) -> Mistake {
    let mut pixels = vec![0.0; 784];
    for x in 0..28 {
        pixels[(k % 28) * 28 + x] = 0.5 + k as f32 / 100.0;
    }
    Mistake {
        pixels,
        truth: (k % 10) as u8,
        said: ((k + 1) % 10) as u8,
        confidence,
    }
}

#[test]
fn the_mistakes_picture_holds_the_images_it_claims_most_confident_first() {
    // Given in no order; drawn by confidence, 12 of 15.
    let items: Vec<Mistake> = (0..15)
        .map(|k| mistake(k, ((k * 7) % 15) as f32 / 15.0))
        .collect();
    let image = decode(&mistakes_png(&items, 12, OutputKind::Sigmoid).unwrap());
    let expected = most_confident_first(&items);
    assert!(expected
        .windows(2)
        .all(|w| w[0].confidence >= w[1].confidence));
    assert_eq!(
        image.dimensions(),
        (10 * MISTAKE_CELL_W, 2 * MISTAKE_CELL_H),
        "12 images: two rows of ten"
    );
    let side = 28 * MISTAKE_SCALE;
    let origin = |k: usize| {
        (
            (k % 10) as u32 * MISTAKE_CELL_W + (MISTAKE_CELL_W - side) / 2,
            (k / 10) as u32 * MISTAKE_CELL_H + 4,
        )
    };
    for (k, m) in expected.iter().take(12).enumerate() {
        let (x0, y0) = origin(k);
        for (i, &v) in m.pixels.iter().enumerate() {
            let g = (255.0 * (1.0 - v)).round() as u8;
            let (x, y) = (
                x0 + (i % 28) as u32 * MISTAKE_SCALE,
                y0 + (i / 28) as u32 * MISTAKE_SCALE,
            );
            for (dx, dy) in [(0, 0), (MISTAKE_SCALE - 1, MISTAKE_SCALE - 1)] {
                assert_eq!(
                    image.get_pixel(x + dx, y + dy).0,
                    [g, g, g],
                    "image {k} pixel {i}"
                );
            }
        }
    }
    // Cells 12..20 are empty: nothing more was drawn than claimed.
    for k in 12..20 {
        let (x0, y0) = origin(k);
        assert!((0..side).all(|d| image.get_pixel(x0 + d, y0 + d).0 == [255, 255, 255]));
    }
    // A sigmoid output is called an output, a softmax one a probability.
    assert_eq!(
        items[3].caption(OutputKind::Sigmoid),
        ["true 3 → said 4", "output 0.40"]
    );
    assert_eq!(
        items[3].caption(OutputKind::Softmax),
        ["true 3 → said 4", "probability 0.40"]
    );
    // Every character of both captions is in the font (none drawn as `?`), and each line fits
    // its cell.
    for kind in [OutputKind::Sigmoid, OutputKind::Softmax] {
        for line in items[3].caption(kind) {
            assert!(
                pictures::font::text_width(&line, 1) < MISTAKE_CELL_W,
                "{line}"
            );
            assert!(line.chars().all(pictures::font::has_glyph), "{line}");
        }
    }
    assert!(matches!(
        mistakes_png(
            &[Mistake {
                pixels: vec![0.0; 3],
                truth: 0,
                said: 1,
                confidence: 0.5
            }],
            5,
            OutputKind::Softmax
        ),
        Err(DrawError::PixelsDoNotFit { index: 0, len: 3 })
    ));
    // None at all: still a picture.
    decode(&mistakes_png(&[], 5, OutputKind::Sigmoid).unwrap());
}

#[test]
fn the_page_shows_the_numbers_and_escapes_the_config() {
    let digits: Vec<ClassRow> = (0..10)
        .map(|d| ClassRow {
            digit: d,
            precision: 0.5,
            recall: if d == 9 { f64::NAN } else { 0.25 },
            support: 100 + u32::from(d),
        })
        .collect();
    let report = vec![("test_accuracy".to_string(), "0.9712".to_string())];
    let html = index_html(&Page {
        run: "artifacts/<mlp>",
        accuracy: 0.9712,
        correct: 9712,
        images: 10_000,
        per_class: &digits,
        curves: Some("curves.svg"),
        confusion: Some("confusion.svg"),
        hidden: Some(("hidden.png", 100, 128)),
        start: Some(Start::Known {
            start_file: "hidden-start.png",
            change_file: "hidden-change.png",
            what: "the base run <base>",
            still: 7,
            still_below: 0.1,
            median_moved: 0.53,
            frozen: false,
        }),
        outputs: OutputKind::Softmax,
        mistakes: Some(("mistakes.png", 60, 288)),
        config: Some("name = \"a<b>\""),
        report: &report,
    });
    assert!(html.contains("97.12%") && html.contains("9712 of 10000"));
    assert!(html.contains("100 of 128 hidden units drawn"));
    assert!(html.contains("60 of 288 mistakes drawn"));
    assert!(html.contains("<td>109</td>") && html.contains("<td>25.0%</td>"));
    assert!(html.contains("a&lt;b&gt;") && !html.contains("a<b>"));
    assert!(html.contains("artifacts/&lt;mlp&gt;"));
    // Where the first layer started, and how much of it moved.
    assert!(html.contains("the base run &lt;base&gt;"));
    assert!(html.contains("7 of 128 units barely moved") && html.contains("under 10%"));
    assert!(html.contains("moved by 53%") && !html.contains("was frozen"));
    // A softmax run's mistakes are captioned with probabilities.
    assert!(html.contains("the probability it gave that answer"));
    for src in [
        "curves.svg",
        "confusion.svg",
        "hidden.png",
        "hidden-start.png",
        "hidden-change.png",
        "mistakes.png",
    ] {
        assert!(html.contains(&format!("src=\"{src}\"")), "{src}");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing fetched"
    );
}

#[test]
fn an_input_is_drawn_with_its_activations_and_outputs() {
    let mut pixels = vec![0.0f32; 784];
    pixels[30] = 1.0;
    pixels[31] = 0.5;
    let hidden = [0.0, 0.25, 1.0, 0.5];
    let outputs = [0.1, 0.2, 0.05, 0.9, 0.0, 0.0, 0.0, 0.0, 0.3, 0.0];
    let svg = seen_svg(&pixels, &hidden, &outputs, 3, "test image 18: label 3 <x>");
    let doc = parse(&svg);
    let with = |class: &str| -> Vec<roxmltree::Node<'_, '_>> {
        doc.descendants()
            .filter(|n| n.attribute("class") == Some(class))
            .collect()
    };
    let drawn: Vec<(&str, &str)> = with("pixel")
        .iter()
        .map(|n| (n.attribute("data-i").unwrap(), n.attribute("fill").unwrap()))
        .collect();
    assert_eq!(drawn, [("30", "#000000"), ("31", "#808080")]);
    let units = with("unit");
    assert_eq!(units.len(), 4);
    assert_eq!(units[2].attribute("fill"), Some("#000000"));
    assert_eq!(units[0].attribute("fill"), Some("#ffffff"));
    let bars = with("output");
    assert_eq!(bars.len(), 10);
    let width = |d: usize| -> f64 { bars[d].attribute("width").unwrap().parse().unwrap() };
    for (d, &v) in outputs.iter().enumerate() {
        assert_eq!(
            bars[d]
                .attribute("data-value")
                .unwrap()
                .parse::<f32>()
                .unwrap(),
            v
        );
        for (e, &w) in outputs.iter().enumerate() {
            assert_eq!(v > w, width(d) > width(e), "bars {d} and {e}");
        }
    }
    assert_eq!(
        bars[3].attribute("fill"),
        Some("#b2182b"),
        "the answer stands out"
    );
    assert_eq!(bars[8].attribute("fill"), Some("#4d4d4d"));
    assert!(svg.contains("label 3 &lt;x&gt;"));
}
