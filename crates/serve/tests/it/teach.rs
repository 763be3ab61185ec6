//! Teach mode: drawings saved into an image folder that `train` reads, and nothing written
//! anywhere else, or at all when a request is bad or teach mode is off.

use std::path::{Path, PathBuf};

use clap::Parser;
use data::{ImageDataset, Split};
use serve::api::Answer;
use serve::guard::AllowedHosts;
use serve::runs::Runs;
use serve::teach::{Folder, Forgotten, Taught, TeachDir, MAX_PER_DIGIT, TEST_EVERY};
use serve::{App, Limits, Settings};

use crate::{backend, call_app, canvas_png, fixture, get, png, post, post_png, s, train};

/// The fixture's runs, saving into `dir` (none: `--no-teach`).
fn teaching(dir: Option<&Path>, limits: Limits) -> App {
    let fx = fixture();
    let runs = Runs::open(&fx.small(), &fx.artifacts, backend()).expect("the fixture loads");
    App::with(
        runs,
        Settings {
            limits,
            teach: dir.map(TeachDir::new),
            hosts: AllowedHosts::new(["digits.lan"]),
        },
    )
}

/// MNIST test image `index` drawn as a canvas draws: 280×280, black on white, with soft
/// (anti-aliased) edges, which preparing a second time would change.
fn drawn_png(index: usize) -> Vec<u8> {
    let sharp = image::load_from_memory(&canvas_png(index))
        .unwrap()
        .to_luma8();
    png(image::DynamicImage::ImageLuma8(image::imageops::blur(
        &sharp, 2.0,
    )))
}

/// Every visible file under `dir` (not the lock file), relative to it, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_name() == serve::teach::LOCK_FILE {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn taught(reply: &crate::Reply) -> Taught {
    assert_eq!(reply.status, 200, "{}", reply.text);
    serde_json::from_value(reply.json.clone()).unwrap()
}

#[tokio::test]
async fn a_drawing_is_saved_as_the_picture_predict_prepares_and_as_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    let app = teaching(Some(&dir), Limits::default());
    let picture = drawn_png(0);

    let reply = call_app(app.clone(), post_png("/api/teach?label=7", picture.clone())).await;
    let t = taught(&reply);
    assert_eq!((t.digit, t.split.as_str()), (7, "train"));
    assert_eq!(t.file, "train/7/0001.png");
    assert_eq!(t.original, "originals/7/0001.png");
    assert_eq!((t.folder.counts[7].train, t.folder.counts[7].drawn), (1, 1));
    assert!(!t.folder.ready, "nine digits are missing");
    assert!(t
        .folder
        .next
        .contains("still missing: 0, 1, 2, 3, 4, 5, 6, 8 and 9"));
    assert_eq!(files(&dir), ["originals/7/0001.png", "train/7/0001.png"]);

    // The saved PNG is the 28×28 picture the network is given for the same upload, and
    // `data::preprocess` (what `train` reads an image folder with) reads it back as itself.
    let predicted = call_app(app.clone(), post_png("/api/predict", picture.clone())).await;
    let answer: Answer = serde_json::from_value(predicted.json).unwrap();
    let saved = dir.join(&t.file);
    let read_back = data::preprocess::load_digit(&saved).unwrap();
    assert_eq!(read_back.to_vec(), answer.input);
    let decoded = image::open(&saved).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (28, 28));
    // The original is the upload's picture, pixel for pixel (re-encoded: nothing else an
    // upload carries is kept).
    let kept = image::open(dir.join(&t.original)).unwrap().to_luma8();
    let sent = image::load_from_memory(&picture).unwrap().to_luma8();
    assert_eq!(kept, sent);

    // GET counts the same.
    let reply = call_app(app, get("/api/teach")).await;
    let folder: Folder = serde_json::from_value(reply.json).unwrap();
    assert_eq!(folder.counts, t.folder.counts);
    assert_eq!(folder.folder, dir.display().to_string());
}

#[tokio::test]
async fn bad_labels_and_bodies_are_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    let app = teaching(
        Some(&dir),
        Limits {
            body_bytes: 64 * 1024,
            ..Limits::default()
        },
    );
    for (query, status, says) in [
        ("?label=10", 422, "one digit from 0 to 9, not \"10\""),
        ("?label=x", 422, "not \"x\""),
        ("?label=..%2F", 422, "not \"../\""),
        ("?label=..%2F..%2Fetc", 422, "not \"../../etc\""),
        ("?label=-1", 422, "not \"-1\""),
        ("?label=", 422, "not \"\""),
        ("", 422, "label=D"),
        ("?label=7&label=8", 400, ""),
    ] {
        let reply = call_app(
            app.clone(),
            post_png(&format!("/api/teach{query}"), drawn_png(0)),
        )
        .await;
        assert_eq!(reply.status, status, "{query}: {}", reply.text);
        assert!(reply.error().contains(says), "{query}: {}", reply.text);
    }
    // A blank canvas, garbage, JSON pixels, no body, a body over the limit.
    let blank = png(image::DynamicImage::ImageLuma8(
        image::GrayImage::from_pixel(280, 280, image::Luma([255])),
    ));
    for (body, content_type, status, says) in [
        (blank, "image/png", 422, "blank"),
        (b"not a picture".to_vec(), "image/png", 400, "cannot decode"),
        (
            br#"{"pixels": [0]}"#.to_vec(),
            "application/json",
            400,
            "PNG or JPEG",
        ),
        (Vec::new(), "image/png", 400, "no body"),
        (vec![0u8; 65 * 1024], "image/png", 413, "over the limit"),
    ] {
        let reply = call_app(app.clone(), post("/api/teach?label=3", content_type, body)).await;
        assert_eq!(reply.status, status, "{says}: {}", reply.text);
        assert_eq!(reply.content_type, "application/json");
        assert!(reply.error().contains(says), "{says}: {}", reply.text);
    }
    assert!(!dir.exists(), "nothing written: {:?}", files(&dir));
}

#[tokio::test]
async fn with_no_teach_the_endpoints_say_so_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let app = teaching(None, Limits::default());
    for request in [
        post_png("/api/teach?label=7", drawn_png(0)),
        get("/api/teach"),
    ] {
        let reply = call_app(app.clone(), request).await;
        assert_eq!(reply.status, 403, "{}", reply.text);
        assert!(reply.error().contains("--no-teach"), "{}", reply.text);
    }
    assert!(files(tmp.path()).is_empty());
    // The flags: --teach-dir names the folder, --no-teach turns it off, not both.
    let args = serve::cli::Args::try_parse_from(["serve"]).unwrap();
    assert_eq!(args.teach_dir, PathBuf::from("data/mine"));
    assert!(!args.no_teach);
    assert!(
        serve::cli::Args::try_parse_from(["serve", "--no-teach"])
            .unwrap()
            .no_teach
    );
    assert!(serve::cli::Args::try_parse_from(["serve", "--no-teach", "--teach-dir", "x"]).is_err());
}

#[tokio::test]
async fn drawings_at_once_never_overwrite_each_other_even_from_two_servers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    // Two applications on one folder: two server processes, each with its own lock.
    let (a, b) = (
        teaching(Some(&dir), Limits::default()),
        teaching(Some(&dir), Limits::default()),
    );
    let picture = drawn_png(1);
    let requests = (0..8).map(|k| {
        let app = if k % 2 == 0 { a.clone() } else { b.clone() };
        call_app(app, post_png("/api/teach?label=2", picture.clone()))
    });
    let replies = futures_util::future::join_all(requests).await;
    let mut saved: Vec<String> = replies.iter().map(|r| taught(r).file).collect();
    saved.sort();
    saved.dedup();
    assert_eq!(saved.len(), 8, "eight names: {saved:?}");
    let all = files(&dir);
    assert_eq!(all.len(), 16, "eight drawings and their originals: {all:?}");
    assert!(all.iter().all(|f| !f.contains(".tmp")), "{all:?}");
}

#[tokio::test]
async fn an_unusable_folder_is_a_json_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    for dir in [file.clone(), file.join("mine")] {
        let app = teaching(Some(&dir), Limits::default());
        for request in [
            post_png("/api/teach?label=1", drawn_png(2)),
            get("/api/teach"),
        ] {
            let reply = call_app(app.clone(), request).await;
            assert_eq!(reply.status, 500, "{}", reply.text);
            assert_eq!(reply.content_type, "application/json");
            assert!(
                reply
                    .error()
                    .contains(&format!("teach folder {}", dir.display()))
                    && reply.error().contains("--teach-dir"),
                "{}",
                reply.text
            );
        }
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a folder");
    // A folder it may not write to (unless the tests run as root, who may).
    let locked = tmp.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    set_mode(&locked, 0o555);
    if std::fs::write(locked.join("probe"), "").is_err() {
        let dir = locked.join("mine");
        let app = teaching(Some(&dir), Limits::default());
        let reply = call_app(app, post_png("/api/teach?label=1", drawn_png(2))).await;
        assert_eq!(reply.status, 500, "{}", reply.text);
        assert!(
            reply.error().contains("cannot write to the teach folder"),
            "{}",
            reply.text
        );
    }
    set_mode(&locked, 0o755);
}

#[tokio::test]
async fn a_digit_with_the_most_drawings_takes_no_more() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    let full = dir.join("train/3");
    std::fs::create_dir_all(&full).unwrap();
    for k in 0..MAX_PER_DIGIT {
        std::fs::write(full.join(format!("{k}.png")), "").unwrap();
    }
    let app = teaching(Some(&dir), Limits::default());
    let reply = call_app(app.clone(), post_png("/api/teach?label=3", drawn_png(0))).await;
    assert_eq!(reply.status, 507, "{}", reply.text);
    assert!(
        reply.error().contains("1000 drawings of 3"),
        "{}",
        reply.text
    );
    assert_eq!(files(&dir).len(), MAX_PER_DIGIT, "nothing added");
    // Other digits still take drawings.
    taught(&call_app(app, post_png("/api/teach?label=4", drawn_png(0))).await);
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

#[tokio::test]
async fn a_folder_made_by_teaching_loads_and_fine_tunes_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    let app = teaching(Some(&dir), Limits::default());
    // Ten drawings of each digit, as the README's story has them.
    let test = ImageDataset::load(&testkit::shipped_data(), Split::Test).unwrap();
    let mut last = None;
    for digit in 0..10u8 {
        let of_digit = (0..test.len()).filter(|&i| test.label(i) == digit);
        for index in of_digit.take(10) {
            let reply = call_app(
                app.clone(),
                post_png(&format!("/api/teach?label={digit}"), drawn_png(index)),
            )
            .await;
            last = Some(taught(&reply));
        }
    }
    let folder = last.unwrap().folder;
    assert!(folder.ready, "{}", folder.next);
    assert!(folder.next.contains("configs/mine.toml"));
    let per_test = 10 / TEST_EVERY;
    assert!(folder
        .counts
        .iter()
        .all(|c| (c.train, c.test) == (10 - per_test, per_test)));

    let loaded = data::ImageFolder::load(&dir).unwrap();
    let names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    assert_eq!(
        loaded.names, names,
        "the digits, as MNIST names its classes"
    );
    assert_eq!((loaded.train.len(), loaded.test.len()), (80, 20));

    // The base's output layer is kept (the same ten names), as configs/mine.toml keeps it.
    let config = tmp.path().join("mine.toml");
    let text = testkit::small_config(&dir, 3).replace("validation = 200", "validation = 0")
        + &format!("\n[init]\nfrom = \"{}\"\n", s(&fixture().small()));
    std::fs::write(&config, text).unwrap();
    let out = tmp.path().join("artifacts/mine");
    train(&config, &out);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert!(report["test_accuracy"].as_f64().is_some(), "{report}");
}

#[tokio::test]
async fn a_run_trained_after_the_server_started_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let artifacts = tmp.path().join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let copy = |name: &str| {
        let to = artifacts.join(name);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(fixture().small()).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    };
    copy("small");
    let runs = Runs::open(&artifacts.join("small"), &artifacts, backend()).unwrap();
    let app = App::new(runs, Limits::default());
    let names = |reply: crate::Reply| -> Vec<String> {
        reply.json["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(call_app(app.clone(), get("/api/runs")).await),
        ["small"]
    );
    copy("mine");
    assert_eq!(
        names(call_app(app.clone(), get("/api/runs")).await),
        ["small", "mine"]
    );
    let reply = call_app(app, post_png("/api/predict?run=mine", drawn_png(0))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["run"], "mine");
}

/// A request with these headers besides its content type.
fn request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> axum::http::Request<axum::body::Body> {
    let mut builder = axum::http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(axum::body::Body::from(body)).unwrap()
}

#[tokio::test]
async fn other_websites_cannot_write_and_nothing_is_written_then() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    let app = teaching(Some(&dir), Limits::default());
    let picture = drawn_png(0);
    let host = ("host", "127.0.0.1:8000");
    // What another website can make a browser send unasked, and what a rebinding page sends.
    for (headers, status, says) in [
        (
            vec![
                host,
                ("content-type", "text/plain"),
                ("origin", "http://evil.example"),
            ],
            403,
            "another website (Origin: http://evil.example)",
        ),
        (
            vec![host, ("content-type", "text/plain")],
            415,
            "not \"text/plain\"",
        ),
        (
            vec![host, ("content-type", "application/x-www-form-urlencoded")],
            415,
            "image/png, image/jpeg, application/json",
        ),
        (vec![host], 415, "not none"),
        (
            vec![host, ("content-type", "image/png"), ("origin", "null")],
            403,
            "Origin: null",
        ),
        (
            vec![
                host,
                ("content-type", "image/png"),
                ("sec-fetch-site", "cross-site"),
            ],
            403,
            "Sec-Fetch-Site: cross-site",
        ),
        (
            vec![("host", "rebind.example"), ("content-type", "image/png")],
            403,
            "--allowed-host rebind.example",
        ),
        (
            vec![
                ("host", "rebind.example:8000"),
                ("content-type", "image/png"),
                ("origin", "http://rebind.example:8000"),
            ],
            403,
            "DNS rebinding",
        ),
    ] {
        let reply = call_app(
            app.clone(),
            request("POST", "/api/teach?label=3", &headers, picture.clone()),
        )
        .await;
        assert_eq!(reply.status, status, "{headers:?}: {}", reply.text);
        assert_eq!(reply.content_type, "application/json");
        assert!(reply.error().contains(says), "{headers:?}: {}", reply.text);
    }
    // The preflight a browser sends before a cross-site image/png is not answered with
    // permission, so the browser sends nothing.
    let preflight = request(
        "OPTIONS",
        "/api/teach?label=3",
        &[
            host,
            ("origin", "http://evil.example"),
            ("access-control-request-method", "POST"),
        ],
        Vec::new(),
    );
    let reply = call_app(app.clone(), preflight).await;
    assert!(reply.status.is_client_error(), "{}", reply.text);
    assert!(!reply.text.contains("access-control-allow"));
    assert!(!dir.exists(), "nothing written: {:?}", files(&dir));

    // The page itself, curl, and a name given with --allowed-host may write.
    for headers in [
        vec![
            host,
            ("content-type", "image/png"),
            ("origin", "http://127.0.0.1:8000"),
            ("sec-fetch-site", "same-origin"),
        ],
        vec![("host", "localhost:8000"), ("content-type", "image/png")],
        vec![
            ("host", "digits.lan:8000"),
            ("content-type", "image/png"),
            ("origin", "http://digits.lan:8000"),
        ],
    ] {
        let reply = call_app(
            app.clone(),
            request("POST", "/api/teach?label=3", &headers, picture.clone()),
        )
        .await;
        assert_eq!(reply.status, 200, "{headers:?}: {}", reply.text);
    }
    assert_eq!(files(&dir).len(), 6);

    // Reads stay open to local clients, whatever they send; a foreign Host is refused there
    // too (a rebinding page would read them).
    for uri in ["/", "/api/teach", "/api/runs", "/health"] {
        let reply = call_app(app.clone(), request("GET", uri, &[host], Vec::new())).await;
        assert_eq!(reply.status, 200, "{uri}");
        let reply = call_app(
            app.clone(),
            request("GET", uri, &[("host", "rebind.example")], Vec::new()),
        )
        .await;
        assert_eq!(reply.status, 403, "{uri}");
    }
    let reply = call_app(
        app.clone(),
        request(
            "POST",
            "/api/predict",
            &[host, ("content-type", "application/x-www-form-urlencoded")],
            picture,
        ),
    )
    .await;
    assert_eq!(
        reply.status, 200,
        "curl --data-binary reads: {}",
        reply.text
    );
}

#[tokio::test]
async fn a_speck_is_refused_by_teach_and_predict_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    let app = teaching(Some(&dir), Limits::default());
    // A tap on the page: a 20-pixel dot on the 280-pixel canvas.
    let dot = png(image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(
        280,
        280,
        |x, y| {
            let d = ((x as f32 - 150.0).powi(2) + (y as f32 - 90.0).powi(2)).sqrt();
            image::Luma([if d <= 10.0 { 0 } else { 255 }])
        },
    )));
    for uri in ["/api/teach?label=8", "/api/predict"] {
        let reply = call_app(app.clone(), post_png(uri, dot.clone())).await;
        assert_eq!(reply.status, 422, "{uri}: {}", reply.text);
        assert!(reply.error().contains("speck"), "{uri}: {}", reply.text);
    }
    assert!(!dir.exists(), "nothing written: {:?}", files(&dir));
}

#[tokio::test]
async fn a_drawing_saved_by_mistake_is_removed_with_its_original() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    let app = teaching(Some(&dir), Limits::default());
    let mut saved = Vec::new();
    for _ in 0..TEST_EVERY {
        let reply = call_app(app.clone(), post_png("/api/teach?label=4", drawn_png(4))).await;
        saved.push(taught(&reply));
    }
    assert_eq!(saved[TEST_EVERY - 1].file, "test/4/0005.png");
    let remove = |file: &str| {
        request(
            "DELETE",
            &format!("/api/teach?file={file}"),
            &[],
            Vec::new(),
        )
    };

    let reply = call_app(app.clone(), remove("train/4/0002.png")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let gone: Forgotten = serde_json::from_value(reply.json).unwrap();
    assert_eq!(gone.file, "train/4/0002.png");
    assert_eq!(gone.originals, ["originals/4/0002.png"]);
    assert_eq!(
        (gone.folder.counts[4].train, gone.folder.counts[4].drawn),
        (3, 4)
    );
    assert!(
        !files(&dir).iter().any(|f| f.contains("0002")),
        "{:?}",
        files(&dir)
    );

    // Again: it is gone. Names that are not drawings touch nothing.
    let reply = call_app(app.clone(), remove("train/4/0002.png")).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    for bad in [
        "train/4/../../x.png",
        "originals/4/0001.png",
        "train/44/0001.png",
        "train/4/0001.jpg",
        "train/4/1.png",
        "train%2F4%2F..%2F0001.png",
        "/etc/passwd",
        "",
    ] {
        let reply = call_app(app.clone(), remove(bad)).await;
        assert_eq!(reply.status, 422, "{bad}: {}", reply.text);
    }
    let reply = call_app(
        app.clone(),
        request("DELETE", "/api/teach", &[], Vec::new()),
    )
    .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    // Another website cannot remove one.
    let reply = call_app(
        app.clone(),
        request(
            "DELETE",
            "/api/teach?file=test/4/0005.png",
            &[
                ("host", "127.0.0.1:8000"),
                ("origin", "http://evil.example"),
            ],
            Vec::new(),
        ),
    )
    .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert_eq!(files(&dir).len(), 8, "{:?}", files(&dir));

    // The next drawing takes the next free number, never an old one's.
    let reply = call_app(app.clone(), post_png("/api/teach?label=4", drawn_png(4))).await;
    let next = taught(&reply);
    // (four drawn: the fifth of the digit goes to test/, numbered past 0005)
    assert_eq!(next.file, "test/4/0006.png");
    assert_eq!(next.folder.counts[4].drawn, 5);
    // With teach mode off, nothing is removed.
    let off = teaching(None, Limits::default());
    let reply = call_app(off, remove("train/4/0001.png")).await;
    assert_eq!(reply.status, 403);
    assert!(dir.join("train/4/0001.png").exists());
}

#[tokio::test]
async fn an_original_keeps_the_picture_and_nothing_else() {
    // A drawing with a megabyte of text in a PNG chunk: the text is not kept.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    let picture = drawn_png(0);
    let mut padded = picture[..picture.len() - 12].to_vec(); // up to IEND
    let text = vec![b'x'; 1 << 20];
    let mut chunk = Vec::new();
    chunk.extend_from_slice(&((text.len() + 8) as u32).to_be_bytes());
    let mut body = b"tEXtComment\0".to_vec();
    body.extend_from_slice(&text);
    chunk.extend_from_slice(&body[..4]);
    chunk.extend_from_slice(&body[4..]);
    let crc = crc32(&body);
    chunk.extend_from_slice(&crc.to_be_bytes());
    padded.extend_from_slice(&chunk);
    padded.extend_from_slice(&picture[picture.len() - 12..]);
    assert!(image::load_from_memory(&padded).is_ok(), "a valid PNG");
    // Over the default body limit of 1 MiB: sent to a server that takes 4 MiB.
    let app = teaching(
        Some(&dir),
        Limits {
            body_bytes: 4 << 20,
            ..Limits::default()
        },
    );
    let t = taught(&call_app(app, crate::post("/api/teach?label=7", "image/png", padded)).await);
    let kept = std::fs::metadata(dir.join(&t.original)).unwrap().len();
    assert!(kept < 64 * 1024, "the original kept is {kept} bytes");
    let pixels = image::open(dir.join(&t.original)).unwrap().to_luma8();
    assert_eq!(
        pixels,
        image::load_from_memory(&picture).unwrap().to_luma8()
    );
}

/// CRC-32 (PNG's), bit by bit.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn the_folder_takes_so_many_bytes_and_its_caps_hold_across_servers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    // A folder of at most 20 KB: drawings are taken until the next would pass it.
    let runs = || Runs::open(&fixture().small(), &fixture().artifacts, backend()).unwrap();
    let small = App::with(
        runs(),
        Settings {
            teach: Some(TeachDir::new(&dir).with_max_bytes(20_000)),
            ..Settings::default()
        },
    );
    let mut saved = 0;
    let refusal = loop {
        let reply = call_app(small.clone(), post_png("/api/teach?label=2", drawn_png(1))).await;
        if reply.status != 200 {
            break reply;
        }
        saved += 1;
        assert!(saved < 100, "the byte cap never came");
    };
    assert_eq!(refusal.status, 507, "{}", refusal.text);
    assert!(
        refusal.error().contains("the most it takes (20000 bytes)"),
        "{}",
        refusal.text
    );
    let total: u64 = files(&dir)
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).unwrap().len())
        .sum();
    assert!(total <= 20_000, "{total} bytes kept");

    // Two servers on one folder with room for one more drawing of 3: exactly one takes it.
    let dir = tmp.path().join("shared");
    let full = dir.join("train/3");
    std::fs::create_dir_all(&full).unwrap();
    for k in 0..MAX_PER_DIGIT - 1 {
        std::fs::write(full.join(format!("{k}.png")), "").unwrap();
    }
    let (a, b) = (
        teaching(Some(&dir), Limits::default()),
        teaching(Some(&dir), Limits::default()),
    );
    let replies = futures_util::future::join_all(
        [a, b]
            .into_iter()
            .map(|app| call_app(app, post_png("/api/teach?label=3", drawn_png(0)))),
    )
    .await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 507]);
    assert_eq!(
        files(&dir)
            .iter()
            .filter(|f| !f.starts_with("originals"))
            .count(),
        MAX_PER_DIGIT
    );
}
