//! `load`: a bounded load test of `serve` on loopback. It sends a fixed number of
//! `POST /api/predict` requests (by default 20,000, 32 in flight), each a 280×280 drawing as
//! the page sends it, then reports throughput, latency percentiles and errors, and stops. The
//! server is started here on a free port unless `--url` names one already running on this
//! machine. Exit status 1 when any of those requests failed.
//!
//! `--large N` adds N clients that send, over and over while the drawings are sent, a legal
//! but large picture (8000×8000 pixels, the 64-megapixel limit, in a PNG of about 80 KB): the
//! drawings' latency is then what a person drawing gets while others send such pictures, and
//! the large ones' answers are counted (200, or 503 "busy, retry" when they must wait).
//!
//! `cargo run --release -p serve --bin load` (figures in BENCHMARKS.md).

#![forbid(unsafe_code)]

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::body::Bytes;
use clap::{Parser, ValueEnum};
use data::{ImageDataset, Split};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Send a bounded number of prediction requests to `serve` on loopback and report
/// throughput, latency and errors.
#[derive(Debug, Parser)]
#[command(name = "load")]
struct Args {
    /// A server already running on this machine, e.g. http://127.0.0.1:8000 [default: start
    /// one here, on a free loopback port, with --model].
    #[arg(long, value_name = "URL")]
    url: Option<Uri>,

    /// The run the server started here answers with.
    #[arg(long, value_name = "DIR", default_value = "artifacts/mlp")]
    model: PathBuf,

    /// The backend of the server started here.
    #[command(flatten)]
    backend: model::BackendArg,

    /// Requests to send in all.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    requests: usize,

    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 32)]
    concurrency: usize,

    /// What each request carries: a PNG drawing (as the page sends) or JSON pixels.
    #[arg(long, value_enum, default_value_t = Payload::Png)]
    body: Payload,

    /// The MNIST directory the drawing is taken from (test image 0, a 7).
    #[arg(long, value_name = "DIR", default_value = "data/mnist")]
    data_dir: PathBuf,

    /// Clients sending a large picture (8000×8000) over and over beside the drawings.
    #[arg(long, value_name = "N", default_value_t = 0)]
    large: usize,
}

/// An 8000×8000 picture of a bar, black on white, as a PNG (about 80 KB: it compresses well,
/// and decoding it costs 64 megapixels).
fn large_picture() -> anyhow::Result<Bytes> {
    let picture = image::GrayImage::from_fn(8000, 8000, |x, y| {
        let ink = (3800..4200).contains(&x) && (1500..6500).contains(&y);
        image::Luma([if ink { 0 } else { 255 }])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageLuma8(picture)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(Bytes::from(png))
}

/// What the large-picture clients got: answers by status.
#[derive(Default)]
struct LargeTally {
    sent: usize,
    by_status: std::collections::BTreeMap<u16, usize>,
    failed: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Payload {
    Png,
    Json,
}

/// Test image 0 as the page would send it (280×280 PNG, black on white), or as JSON pixels.
fn payload(args: &Args) -> anyhow::Result<(Bytes, &'static str)> {
    let test = ImageDataset::load(&args.data_dir, Split::Test).with_context(|| {
        format!(
            "reading the MNIST test images in {}",
            args.data_dir.display()
        )
    })?;
    if test.is_empty() {
        bail!("{} has no test images", args.data_dir.display());
    }
    let img = test.image(0);
    Ok(match args.body {
        Payload::Png => {
            let picture = image::GrayImage::from_fn(280, 280, |x, y| {
                image::Luma([255 - img[(y / 10 * 28 + x / 10) as usize]])
            });
            let mut png = Vec::new();
            image::DynamicImage::ImageLuma8(picture)
                .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)?;
            (Bytes::from(png), "image/png")
        }
        Payload::Json => {
            let pixels: Vec<f32> = img.iter().map(|&p| data::scale_pixel(p)).collect();
            let json = serde_json::json!({ "pixels": pixels }).to_string();
            (Bytes::from(json), "application/json")
        }
    })
}

/// What the workers found.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.concurrency == 0 || args.requests == 0 {
        bail!("--requests and --concurrency must be at least 1");
    }
    let (body, content_type) = payload(&args)?;

    // The server: one named on loopback, or one started here.
    let (base, started, stop) = match &args.url {
        Some(url) => {
            let host = url.host().unwrap_or("");
            if !matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1") {
                bail!(
                    "--url must be on this machine (127.0.0.1, localhost or [::1]), not {host:?}"
                );
            }
            (
                url.to_string().trim_end_matches('/').to_string(),
                None,
                None,
            )
        }
        None => {
            let serve_args = serve::cli::Args::try_parse_from([
                "serve".to_string(),
                "--model".into(),
                args.model.to_string_lossy().into_owned(),
                "--addr".into(),
                "127.0.0.1:0".into(),
            ])?;
            let serve_args = serve::cli::Args {
                backend: args.backend,
                ..serve_args
            };
            let server = serve::cli::start(&serve_args).await?;
            let base = format!("http://{}", server.addr());
            let said = server.to_string();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let running = tokio::spawn(server.run(async {
                let _ = stopped.await;
            }));
            (base, Some((said, running)), Some(stop))
        }
    };
    let uri: Uri = format!("{base}/api/predict").parse()?;
    println!(
        "load: {} requests ({}, {} bytes each), {} in flight, to {uri}",
        args.requests,
        if args.body == Payload::Png {
            "png"
        } else {
            "json"
        },
        body.len(),
        args.concurrency
    );
    if let Some((said, _)) = &started {
        println!("{}", said.lines().next().unwrap_or(""));
    }

    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.concurrency)
        .build_http();
    let next = Arc::new(AtomicUsize::new(0));
    // The large pictures' clients, sending until the drawings are done.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let large = if args.large > 0 {
        let picture = large_picture()?;
        println!(
            "beside them: {} clients sending an 8000×8000 PNG ({} bytes) over and over",
            args.large,
            picture.len()
        );
        (0..args.large)
            .map(|_| {
                let (client, uri, picture, done) =
                    (client.clone(), uri.clone(), picture.clone(), done.clone());
                tokio::spawn(async move {
                    let mut tally = LargeTally::default();
                    while !done.load(Ordering::Relaxed) {
                        let request = Request::builder()
                            .method(Method::POST)
                            .uri(uri.clone())
                            .header("content-type", "image/png")
                            .body(Full::new(picture.clone()))
                            .expect("a well-formed request");
                        tally.sent += 1;
                        match client.request(request).await {
                            Ok(response) => {
                                let status = response.status().as_u16();
                                let _ = response.into_body().collect().await;
                                *tally.by_status.entry(status).or_default() += 1;
                                if status == 503 {
                                    // As Retry-After asks (1 s), a little sooner.
                                    tokio::time::sleep(Duration::from_millis(500)).await;
                                }
                            }
                            Err(_) => tally.failed += 1,
                        }
                    }
                    tally
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let begun = Instant::now();
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (client, next, uri, body) =
                (client.clone(), next.clone(), uri.clone(), body.clone());
            let total = args.requests;
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let request = Request::builder()
                        .method(Method::POST)
                        .uri(uri.clone())
                        .header("content-type", content_type)
                        .body(Full::new(body.clone()))
                        .expect("a well-formed request");
                    let sent = Instant::now();
                    let outcome = match client.request(request).await {
                        Ok(response) => {
                            let status = response.status();
                            match response.into_body().collect().await {
                                Ok(_) if status.is_success() => Ok(()),
                                Ok(b) => Err(format!(
                                    "{status}: {}",
                                    String::from_utf8_lossy(&b.to_bytes())
                                )),
                                Err(e) => Err(format!("reading the answer: {e}")),
                            }
                        }
                        Err(e) => Err(format!("sending: {e}")),
                    };
                    tally.latencies.push(sent.elapsed());
                    if let Err(e) = outcome {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(e);
                    }
                }
                tally
            })
        })
        .collect();
    let mut all = Tally::default();
    for worker in workers {
        let tally = worker.await?;
        all.latencies.extend(tally.latencies);
        all.errors += tally.errors;
        if all.first_error.is_none() {
            all.first_error = tally.first_error;
        }
    }
    let elapsed = begun.elapsed();
    all.latencies.sort();
    done.store(true, Ordering::Relaxed);
    let mut large_all = LargeTally::default();
    for client in large {
        let tally = client.await?;
        large_all.sent += tally.sent;
        large_all.failed += tally.failed;
        for (status, n) in tally.by_status {
            *large_all.by_status.entry(status).or_default() += n;
        }
    }

    println!(
        "throughput {:.0} requests/s ({} requests in {:.2} s)",
        all.latencies.len() as f64 / elapsed.as_secs_f64(),
        all.latencies.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "latency p50 {}, p90 {}, p99 {}, max {}",
        ms(percentile(&all.latencies, 50.0)),
        ms(percentile(&all.latencies, 90.0)),
        ms(percentile(&all.latencies, 99.0)),
        ms(percentile(&all.latencies, 100.0)),
    );
    println!("errors {}", all.errors);
    if args.large > 0 {
        let statuses: Vec<String> = large_all
            .by_status
            .iter()
            .map(|(status, n)| format!("{n} answered {status}"))
            .collect();
        println!(
            "large pictures: {} sent ({:.1}/s), {}{}",
            large_all.sent,
            large_all.by_status.get(&200).copied().unwrap_or(0) as f64 / elapsed.as_secs_f64(),
            statuses.join(", "),
            if large_all.failed > 0 {
                format!(", {} failed to send", large_all.failed)
            } else {
                String::new()
            }
        );
    }

    if let (Some(stop), Some((_, running))) = (stop, started) {
        let _ = stop.send(());
        running.await??;
    }
    if let Some(e) = all.first_error {
        bail!(
            "{} of {} requests failed; the first: {e}",
            all.errors,
            args.requests
        );
    }
    Ok(())
}
