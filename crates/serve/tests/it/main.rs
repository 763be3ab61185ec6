//! Integration tests of `serve` (one test binary: each extra one would link Burn again). The
//! router is called in process (`tower::ServiceExt::oneshot`), except where a real socket is the
//! point; the runs are trained here, small, not taken from `artifacts/` (the slow tier's
//! `hands` trains the default run in full, as configs/mlp.toml does).

mod agree;
mod api;
mod errors;
mod explain;
mod hands;
mod socket;
mod teach;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use clap::Parser;
use data::{ImageDataset, Split};
use http_body_util::BodyExt;
use serde_json::Value;
use serve::runs::Runs;
use serve::{router, App, Limits};
use tower::ServiceExt;

/// A directory of runs, as `artifacts/` would be: `small` (784-24-10, quadratic cost, the
/// default), `deep` (784-16-8-10, ReLU, cross-entropy, its classes named `zero` to `nine`, as
/// configs/fashion.toml names its clothes), and things that are not runs: `notes/`
/// (no weights), `.small.run/` (hidden, as a run being written is) and a file.
struct Fixture {
    _tmp: tempfile::TempDir,
    artifacts: PathBuf,
}

impl Fixture {
    fn small(&self) -> PathBuf {
        self.artifacts.join("small")
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Trains `config` into `out` with the `train` command's library, on the backend under test.
fn train(config: &Path, out: &Path) -> train::Trained {
    let mut args = vec!["train", "--config", s(config), "--out", s(out), "--quiet"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    args.extend(testkit::backend_args());
    let args = train::cli::Args::try_parse_from(args).expect("valid train arguments");
    train::cli::run(args, &mut train::Silent)
        .unwrap_or_else(|e| panic!("{} trains: {e}", config.display()))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("mnist");
        testkit::mnist_slice(&data, 2_000, 200);
        let artifacts = tmp.path().join("artifacts");
        std::fs::create_dir_all(&artifacts).unwrap();

        let small = tmp.path().join("small.toml");
        std::fs::write(&small, testkit::small_config(&data, 3)).unwrap();
        train(&small, &artifacts.join("small"));

        let deep = tmp.path().join("deep.toml");
        let names = "class_names = [\"zero\", \"one\", \"two\", \"three\", \"four\", \"five\", \
                     \"six\", \"seven\", \"eight\", \"nine\"]\n";
        let config = (names.to_string() + &testkit::small_config(&data, 1))
            .replace("cost = \"quadratic\"", "cost = \"cross_entropy\"")
            .replace("hidden = [24]", "hidden = [16, 8]\nactivation = \"relu\"")
            .replace("learning_rate = 3.0", "learning_rate = 0.1");
        std::fs::write(&deep, config).unwrap();
        train(&deep, &artifacts.join("deep"));

        std::fs::create_dir_all(artifacts.join("notes")).unwrap();
        std::fs::write(artifacts.join("notes/config.toml"), "not a run").unwrap();
        std::fs::create_dir_all(artifacts.join(".small.run")).unwrap();
        std::fs::write(artifacts.join("README.md"), "runs land here").unwrap();
        Fixture {
            _tmp: tmp,
            artifacts,
        }
    })
}

/// The backend under test (`DIGITS_TEST_BACKEND`, else the build's default).
fn backend() -> model::Backend {
    model::Backend::resolve(testkit::backend_name().map(|n| n.parse().expect("a backend name")))
        .expect("the backend under test is compiled in")
}

/// The application over the fixture's runs, `small` the default.
fn app_with(limits: Limits) -> App {
    let fx = fixture();
    let runs = Runs::open(&fx.small(), &fx.artifacts, backend()).expect("the fixture loads");
    App::new(runs, limits)
}

fn app() -> App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| app_with(Limits::default())).clone()
}

/// A response: status, content type and body as JSON (`Value::Null` when it is not JSON).
struct Reply {
    status: StatusCode,
    content_type: String,
    retry_after: Option<String>,
    text: String,
    json: Value,
}

impl Reply {
    fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }
}

async fn call_app(app: App, request: Request<Body>) -> Reply {
    let response = router(app).oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        retry_after,
        text,
        json,
    }
}

async fn call(request: Request<Body>) -> Reply {
    call_app(app(), request).await
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post(uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

fn post_png(uri: &str, png: Vec<u8>) -> Request<Body> {
    post(uri, "image/png", png)
}

fn post_json(uri: &str, json: String) -> Request<Body> {
    post(uri, "application/json", json)
}

/// `image` encoded as PNG.
fn png(image: image::DynamicImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    bytes
}

/// MNIST test image `index` as the page would send it: 280×280, black ink on white, 10× larger.
fn canvas_png(index: usize) -> Vec<u8> {
    let test = ImageDataset::load(&testkit::shipped_data(), Split::Test).unwrap();
    let img = test.image(index);
    png(image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(
        280,
        280,
        |x, y| image::Luma([255 - img[(y / 10 * 28 + x / 10) as usize]]),
    )))
}

/// A JSON body of these pixels.
fn pixels_json(pixels: &[f64]) -> String {
    serde_json::json!({ "pixels": pixels }).to_string()
}

/// A 28×28 input with a bar of ink: a crude "1".
fn bar_pixels() -> Vec<f64> {
    (0..784)
        .map(|i| {
            if (12..16).contains(&(i % 28)) && (4..24).contains(&(i / 28)) {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}
