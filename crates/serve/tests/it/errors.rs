//! Every bad request gets a 4xx status and `{"error": "<the reason>"}`, and never a panic.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serve::Limits;

use crate::{
    app_with, bar_pixels, call, call_app, canvas_png, get, pixels_json, png, post, post_json,
    post_png, Reply,
};

/// The reply is `status` with a JSON error containing every one of `words`.
fn assert_error(reply: &Reply, status: u16, words: &[&str]) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.content_type, "application/json", "{}", reply.text);
    let error = reply.error();
    for word in words {
        assert!(error.contains(word), "{word:?} not in {error:?}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = app_with(Limits {
        body_bytes: 4096,
        ..Limits::default()
    });
    // Its length said up front: refused before it is read.
    let big = vec![0u8; 5000];
    let reply = call_app(app.clone(), post_png("/api/predict", big.clone())).await;
    assert_error(&reply, 413, &["over the limit of 4096 bytes"]);
    // Streamed without a length: refused when it passes the limit.
    let chunks = futures_stream(vec![vec![0u8; 3000], vec![0u8; 3000]]);
    let request = Request::post("/api/predict")
        .header("content-type", "image/png")
        .body(Body::from_stream(chunks))
        .unwrap();
    let reply = call_app(app.clone(), request).await;
    assert_error(&reply, 413, &["over the limit of 4096 bytes"]);
    // The default limit is 1 MiB.
    let reply = call(post_png("/api/predict", vec![0u8; (1 << 20) + 1])).await;
    assert_error(&reply, 413, &["over the limit of 1048576 bytes"]);
}

fn futures_stream(
    chunks: Vec<Vec<u8>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::iter(chunks.into_iter().map(Ok))
}

#[tokio::test]
async fn garbage_bytes_are_an_undecodable_picture() {
    let reply = call(post_png(
        "/api/predict",
        b"hello, this is not a picture".to_vec(),
    ))
    .await;
    assert_error(&reply, 400, &["cannot decode the image", "PNG or JPEG"]);
    // A PNG cut short.
    let mut cut = canvas_png(0);
    cut.truncate(cut.len() / 2);
    let reply = call(post_png("/api/predict", cut)).await;
    assert_error(&reply, 400, &["cannot decode the image"]);
    let reply = call(post_png("/api/predict", Vec::new())).await;
    assert_error(&reply, 400, &["no body"]);
}

#[tokio::test]
async fn a_blank_canvas_has_no_digit() {
    let white =
        image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(280, 280, image::Luma([255])));
    let reply = call(post_png("/api/predict", png(white))).await;
    assert_error(
        &reply,
        422,
        &["does not look like a picture of a digit", "blank"],
    );
    let reply = call(post_json("/api/predict", pixels_json(&[0.0; 784]))).await;
    assert_error(&reply, 422, &["blank"]);
}

#[tokio::test]
async fn a_speck_or_a_sliver_is_not_a_digit() {
    let speck = image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(280, 280, |x, y| {
        image::Luma([if (x, y) == (140, 140) { 0 } else { 255 }])
    }));
    let reply = call(post_png("/api/predict", png(speck))).await;
    assert_error(&reply, 422, &["speck"]);
    let sliver =
        image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(400, 4, image::Luma([0])));
    let reply = call(post_png("/api/predict", png(sliver))).await;
    assert_error(&reply, 422, &["too small"]);
    // JSON pixels are held to the same rule: two pixels of ink are a speck.
    let mut two = vec![0.0; 784];
    two[400] = 1.0;
    two[401] = 1.0;
    let reply = call(post_json("/api/predict", pixels_json(&two))).await;
    assert_error(&reply, 422, &["speck", "2×1 pixels of a 28-pixel picture"]);
}

#[tokio::test]
async fn the_wrong_number_of_pixels_is_refused() {
    for n in [0, 783, 785] {
        let reply = call(post_json("/api/predict", pixels_json(&vec![0.5; n]))).await;
        assert_error(&reply, 400, &["expected 784 pixels", &format!("got {n}")]);
    }
}

#[tokio::test]
async fn pixels_outside_0_to_1_or_nan_are_refused() {
    let mut pixels = bar_pixels();
    pixels[100] = 1.5;
    let reply = call(post_json("/api/predict", pixels_json(&pixels))).await;
    assert_error(&reply, 400, &["pixel 100 is 1.5", "from 0", "to 1"]);
    pixels[100] = -0.25;
    let reply = call(post_json("/api/predict", pixels_json(&pixels))).await;
    assert_error(&reply, 400, &["pixel 100 is -0.25"]);
    // JSON has no NaN or infinity: sent anyway, they are not JSON.
    for bad in ["NaN", "Infinity", "1e999", "\"0.5\"", "null"] {
        let body = format!("{{\"pixels\": [{bad}{}]}}", ", 0".repeat(783));
        let reply = call(post_json("/api/predict", body)).await;
        assert_error(&reply, 400, &["not JSON of the form", "784 numbers"]);
    }
    let reply = call(post_json("/api/predict", "{\"pixels\": 7}".into())).await;
    assert_error(&reply, 400, &["not JSON of the form"]);
    let reply = call(post_json("/api/predict", "{\"pixel\": []}".into())).await;
    assert_error(&reply, 400, &["unknown field `pixel`"]);
    let reply = call(post_json("/api/predict", "{".into())).await;
    assert_error(&reply, 400, &["not JSON of the form"]);
}

#[tokio::test]
async fn an_unknown_run_is_404_and_names_the_runs() {
    for name in [
        "nope",
        "../../etc",
        "..",
        ".small.run",
        "README.md",
        "small/",
        "",
    ] {
        let uri = format!("/api/predict?run={}", percent_encode(name));
        let reply = call(post_png(&uri, canvas_png(0))).await;
        assert_error(&reply, 404, &["there is no run named", "small, deep"]);
        assert!(
            reply.error().contains(&format!("{name:?}")),
            "{}",
            reply.error()
        );
    }
    // A directory that is there but cannot answer says why.
    let reply = call(post_png("/api/predict?run=notes", canvas_png(0))).await;
    assert_error(
        &reply,
        422,
        &["\"notes\" cannot answer here", "no trained network"],
    );
    // Traversal in the path itself serves nothing either.
    for path in [
        "/../../etc/passwd",
        "/assets/../Cargo.toml",
        "/index.html",
        "/api/runs/small",
    ] {
        let reply = call(get(path)).await;
        assert_error(&reply, 404, &["there is nothing at"]);
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn wrong_methods_and_queries_get_json_errors() {
    let reply = call(get("/api/predict")).await;
    assert_error(&reply, 405, &["GET is not allowed"]);
    let reply = call(post("/api/runs", "text/plain", "x")).await;
    assert_error(&reply, 405, &["POST is not allowed"]);
    let reply = call(post_png("/api/predict?run=a&run=b", canvas_png(0))).await;
    assert_error(&reply, 400, &["run"]);
    assert_eq!(StatusCode::BAD_REQUEST, reply.status);
}

#[tokio::test]
async fn a_request_slower_than_the_timeout_is_408() {
    use futures_util::StreamExt;
    let app = app_with(Limits {
        timeout: std::time::Duration::from_millis(200),
        ..Limits::default()
    });
    // A body that starts and never finishes.
    let stalled = futures_util::stream::iter([Ok::<_, std::io::Error>(vec![0x89u8, b'P'])])
        .chain(futures_util::stream::pending());
    let request = Request::post("/api/predict")
        .header("content-type", "image/png")
        .body(Body::from_stream(stalled))
        .unwrap();
    let reply = call_app(app, request).await;
    assert_error(&reply, 408, &["took longer than 0.2 s"]);
}

#[tokio::test]
async fn a_run_of_other_classes_is_named_and_why_it_cannot_answer() {
    // A run of two classes beside the digit runs (its config says so; `serve` reads no more).
    let tmp = tempfile::tempdir().unwrap();
    let artifacts = tmp.path().join("artifacts");
    let two = artifacts.join("digits59");
    std::fs::create_dir_all(&two).unwrap();
    let small = crate::fixture().small();
    for entry in std::fs::read_dir(&small).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), two.join(entry.file_name())).unwrap();
        }
    }
    let config = std::fs::read_to_string(two.join("config.toml")).unwrap();
    let config = config.replace("outputs = 10", "outputs = 2");
    std::fs::write(
        two.join("config.toml"),
        format!("classes = [5, 9]\n{config}"),
    )
    .unwrap();
    let runs = serve::runs::Runs::open(&small, &artifacts, crate::backend()).unwrap();
    let app = serve::App::new(runs, serve::Limits::default());
    let reply = crate::call_app(app, post_png("/api/predict?run=digits59", canvas_png(0))).await;
    assert_error(
        &reply,
        422,
        &[
            "\"digits59\" cannot answer here",
            "answers 2 classes",
            "infer --model",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn large_pictures_wait_in_their_own_lane_and_drawings_go_on() {
    // Two workers, so large pictures get one decoding at a time; no waiting for it.
    let app = app_with(Limits {
        workers: 2,
        large_wait: std::time::Duration::ZERO,
        ..Limits::default()
    });
    // A 9-megapixel picture of a bar: large, legal, slow to decode.
    let large = png(image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(
        3000,
        3000,
        |x, y| {
            image::Luma([if (1400..1600).contains(&x) && (500..2500).contains(&y) {
                0
            } else {
                255
            }])
        },
    )));
    assert!(large.len() < serve::Limits::default().body_bytes);
    let larges: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(call_app(
                app.clone(),
                post_png("/api/predict", large.clone()),
            ))
        })
        .collect();
    let drawings: Vec<_> = (0..8)
        .map(|k| {
            tokio::spawn(call_app(
                app.clone(),
                post_png("/api/predict", canvas_png(k)),
            ))
        })
        .collect();
    for drawing in drawings {
        let reply = drawing.await.unwrap();
        assert_eq!(
            reply.status, 200,
            "a drawing beside large pictures: {}",
            reply.text
        );
    }
    let (mut answered, mut busy) = (0, 0);
    for large in larges {
        let reply = large.await.unwrap();
        match reply.status.as_u16() {
            200 => answered += 1,
            503 => {
                busy += 1;
                assert_eq!(reply.retry_after.as_deref(), Some("1"), "{}", reply.text);
                assert!(
                    reply.error().contains("busy with other large pictures"),
                    "{}",
                    reply.text
                );
            }
            other => panic!("a large picture answered {other}: {}", reply.text),
        }
    }
    assert!(
        answered >= 1 && busy >= 1,
        "{answered} answered, {busy} told to wait"
    );
}

#[tokio::test]
async fn an_address_or_headers_too_long_get_json_errors() {
    let long = format!("/api/runs?x={}", "a".repeat(serve::MAX_URI_BYTES));
    let reply = call(get(&long)).await;
    assert_error(&reply, 414, &["address", "over the limit"]);
    let mut request = get("/health");
    for k in 0..20 {
        request.headers_mut().insert(
            axum::http::HeaderName::from_bytes(format!("x-pad-{k}").as_bytes()).unwrap(),
            "b".repeat(1024).parse().unwrap(),
        );
    }
    let reply = call(request).await;
    assert_error(&reply, 431, &["headers take", "over the limit"]);
}
