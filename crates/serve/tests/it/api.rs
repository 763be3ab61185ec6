//! What the API answers for good requests, and the page.

use serde_json::Value;
use serve::api::Answer;

use crate::{bar_pixels, call, canvas_png, get, pixels_json, post_json, post_png};

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_picture_is_answered_with_outputs_input_and_hidden_layers() {
    let reply = call(post_png("/api/predict", canvas_png(0))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.content_type, "application/json");
    let answer: Answer = serde_json::from_value(reply.json.clone()).unwrap();
    assert_eq!(answer.run, "small");
    assert_eq!(answer.outputs_kind, "sigmoid");
    assert_eq!(answer.hidden_activation, "sigmoid");
    assert_eq!(answer.outputs.len(), 10);
    assert!(answer.outputs.iter().all(|v| (0.0..=1.0).contains(v)));
    // The prediction is the largest output, named by its digit.
    let top = answer.outputs[answer.prediction];
    assert!(answer.outputs.iter().all(|&v| v <= top));
    assert_eq!(
        answer.classes,
        (0..10).map(|d| d.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(answer.class, answer.prediction.to_string());
    // The input is the prepared 28×28 picture: ink in 0..1, background 0 at the corners.
    assert_eq!(answer.input.len(), 784);
    assert!(answer.input.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!((answer.input[0], answer.input[783]), (0.0, 0.0));
    assert!(answer.input.iter().any(|&v| v > 0.9));
    assert_eq!(answer.hidden.len(), 1);
    assert_eq!(answer.hidden[0].len(), 24);
    assert!(answer.hidden[0].iter().all(|v| (0.0..=1.0).contains(v)));
}

#[tokio::test]
async fn json_pixels_are_the_input_itself() {
    let pixels = bar_pixels();
    let reply = call(post_json("/api/predict", pixels_json(&pixels))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let input = floats(&reply.json["input"]);
    assert_eq!(input, pixels);
    assert!(reply.json["prediction"].as_u64().unwrap() < 10);
    // Sent without a content type, JSON is still told from a picture by its first character.
    let reply = call(post_json("/api/predict", pixels_json(&pixels))).await;
    assert_eq!(reply.status, 200);
    let untyped = axum::http::Request::post("/api/predict")
        .body(axum::body::Body::from(format!(" {}", pixels_json(&pixels))))
        .unwrap();
    let reply = call(untyped).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn another_run_is_chosen_by_name_and_says_what_its_outputs_are() {
    let reply = call(post_png("/api/predict?run=deep", canvas_png(1))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["run"], "deep");
    assert_eq!(reply.json["outputs_kind"], "softmax");
    assert_eq!(reply.json["hidden_activation"], "relu");
    let outputs = floats(&reply.json["outputs"]);
    assert!(
        (outputs.iter().sum::<f64>() - 1.0).abs() < 1e-4,
        "{outputs:?}"
    );
    let hidden: Vec<usize> = reply.json["hidden"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| layer.as_array().unwrap().len())
        .collect();
    assert_eq!(hidden, vec![16, 8]);
    // Its classes have names, and the answer is named.
    assert_eq!(reply.json["classes"][7], "seven");
    let prediction = reply.json["prediction"].as_u64().unwrap() as usize;
    assert_eq!(reply.json["class"], reply.json["classes"][prediction]);
    // Asked for again, it comes from the cache with the same answer; the default is unchanged.
    let again = call(post_png("/api/predict?run=deep", canvas_png(1))).await;
    assert_eq!(again.json, reply.json);
    let default = call(post_png("/api/predict?run=small", canvas_png(1))).await;
    assert_eq!(default.json["run"], "small");
}

#[tokio::test]
async fn runs_are_listed_with_shape_and_accuracy_and_non_runs_left_out() {
    let reply = call(get("/api/runs")).await;
    assert_eq!(reply.status, 200);
    let runs = reply.json["runs"].as_array().unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["small", "deep"]);
    let small = &runs[0];
    assert_eq!(small["shape"], "784-24-10");
    assert_eq!(small["default"], true);
    assert_eq!(small["cost"], "quadratic");
    assert_eq!(small["outputs_kind"], "sigmoid");
    assert_eq!(small["epochs"], 3);
    let accuracy = small["test_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.5 && accuracy <= 1.0, "{accuracy}");
    let deep = &runs[1];
    assert_eq!(deep["shape"], "784-16-8-10");
    assert_eq!(deep["activation"], "relu");
    assert_eq!(deep["outputs_kind"], "softmax");
    assert_eq!(deep["classes"][0], "zero");
    assert_eq!(small["classes"][0], "0");
    assert_eq!(deep["default"], false);
}

#[tokio::test]
async fn health_names_the_run_and_backend() {
    let reply = call(get("/health")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["status"], "ok");
    assert_eq!(reply.json["run"], "small");
    assert_eq!(reply.json["backend"], crate::backend().name());
    // The page asks before it shows teach mode, and scales a picture over the limit first.
    assert_eq!(reply.json["teach"], false);
    assert_eq!(
        reply.json["body_limit"],
        serve::Limits::default().body_bytes
    );
}

#[tokio::test]
async fn the_page_is_one_file_that_fetches_nothing_from_elsewhere() {
    let reply = call(get("/")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "text/html; charset=utf-8");
    let page = &reply.text;
    assert!(page.contains("<canvas id=\"canvas\""), "the drawing canvas");
    assert!(page.contains("/api/predict") && page.contains("/api/runs"));
    for outside in [
        "http://",
        "https://",
        "//cdn",
        "<script src",
        "@import",
        "url(",
    ] {
        assert!(!page.contains(outside), "the page refers to {outside}");
    }
    // Its one link, the icon, is empty data (so the browser asks for no /favicon.ico).
    assert_eq!(page.matches("<link").count(), 1);
    assert!(page.contains(r#"<link rel="icon" href="data:,">"#));
}

#[tokio::test]
async fn many_requests_at_once_are_all_answered_alike() {
    let png = canvas_png(2);
    let first = call(post_png("/api/predict", png.clone())).await;
    let replies = futures_join(
        (0..24)
            .map(|k| {
                let png = png.clone();
                tokio::spawn(async move {
                    if k % 3 == 0 {
                        call(post_png("/api/predict?run=deep", png)).await
                    } else {
                        call(post_png("/api/predict", png)).await
                    }
                })
            })
            .collect(),
    )
    .await;
    for (k, reply) in replies.iter().enumerate() {
        assert_eq!(reply.status, 200, "{}", reply.text);
        if k % 3 != 0 {
            assert_eq!(reply.json, first.json, "request {k}");
        }
    }
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<crate::Reply>>) -> Vec<crate::Reply> {
    let mut replies = Vec::new();
    for h in handles {
        replies.push(h.await.unwrap());
    }
    replies
}

#[tokio::test]
async fn a_digit_on_a_sheet_in_a_dark_surround_reads_as_the_digit_not_the_sheet() {
    // MNIST's test digits drawn black on a 400×400 white sheet inside an 800×600 grey-40
    // picture (a photo of paper on a desk): each reads as the same digit drawn plainly does.
    // Before the sheet was looked for, the whole sheet was taken for ink (a confident 8).
    let test = data::ImageDataset::load(&testkit::shipped_data(), data::Split::Test).unwrap();
    for index in 0..10 {
        let pixels = test.image(index);
        let sheet = image::GrayImage::from_fn(800, 600, |x, y| {
            let (u, v) = (x as i64 - 200, y as i64 - 100);
            if !(0..400).contains(&u) || !(0..400).contains(&v) {
                return image::Luma([40]);
            }
            let (px, py) = (u / 10 - 6, v / 10 - 6);
            let ink = if (0..28).contains(&px) && (0..28).contains(&py) {
                pixels[(py * 28 + px) as usize]
            } else {
                0
            };
            image::Luma([255 - ink])
        });
        let on_sheet = call(post_png(
            "/api/predict",
            crate::png(image::DynamicImage::ImageLuma8(sheet)),
        ))
        .await;
        let plain = call(post_png("/api/predict", crate::canvas_png(index))).await;
        assert_eq!(on_sheet.status, 200, "{}", on_sheet.text);
        assert_eq!(
            on_sheet.json["prediction"], plain.json["prediction"],
            "test image {index}"
        );
        let (a, b) = (
            floats(&on_sheet.json["input"]),
            floats(&plain.json["input"]),
        );
        let diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / 784.0;
        assert!(
            diff < 0.05,
            "test image {index}: inputs differ by {diff} on average"
        );
    }
}
