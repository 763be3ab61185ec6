//! The `infer` command: evaluate a trained run on the test set, show test images, or read
//! digits from image files.

use std::path::{Path, PathBuf};

use clap::Parser;
use data::{MnistDataset, Split, IMAGE_PIXELS, IMAGE_SIDE};
use model::run::SavedRun;
use model::Backend;
use serde_json::json;

use crate::eval::{dataset_pixels, predict, Evaluation, Prediction};
use crate::preprocess::load_digit;
use crate::InferError;

/// Use a trained digits network: evaluate it on the 10,000 test images (the default), show
/// test images with --index, or read the digits in image files.
#[derive(Debug, Clone, Parser)]
#[command(name = "infer", version)]
pub struct Args {
    /// Image files (PNG or JPEG, any size, dark-on-light or light-on-dark) to read digits from.
    #[arg(value_name = "IMAGE")]
    pub images: Vec<PathBuf>,

    /// The run directory written by `train`.
    #[arg(long, value_name = "DIR", default_value = "artifacts/mlp")]
    pub model: PathBuf,

    /// Show test image N as text art, with the prediction and the ten output activations
    /// (repeatable).
    #[arg(long, value_name = "N")]
    pub index: Vec<usize>,

    /// MNIST directory [default: the one the run was trained on, else data/mnist].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Backend to run on: flex, ndarray, wgpu or cuda (must be compiled in).
    #[arg(long, value_name = "NAME", alias = "device")]
    pub backend: Option<Backend>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Characters from background to full ink.
const RAMP: &[u8] = b" .:-=+*#%@";

/// A 28×28 image (values 0..1) as text: two characters per pixel, so it looks square.
pub fn text_art(pixels: &[f32]) -> String {
    let mut s = String::with_capacity(IMAGE_PIXELS * 2 + IMAGE_SIDE);
    for row in pixels.chunks(IMAGE_SIDE) {
        for &v in row {
            let level = ((v.clamp(0.0, 1.0) * (RAMP.len() - 1) as f32).round()) as usize;
            let c = RAMP[level] as char;
            s.push(c);
            s.push(c);
        }
        s.push('\n');
    }
    s
}

fn activations_text(p: &Prediction) -> String {
    let mut s = String::new();
    for (d, a) in p.activations.iter().enumerate() {
        let bar = "#".repeat((a.clamp(0.0, 1.0) * 30.0).round() as usize);
        let mark = if d == p.digit as usize { " <" } else { "" };
        s.push_str(&format!("  {d}: {a:.4} {bar}{mark}\n"));
    }
    s
}

fn data_dir(args: &Args, run: &SavedRun) -> PathBuf {
    args.data_dir
        .clone()
        .or_else(|| run.spec.data_dir.clone())
        .unwrap_or_else(|| Path::new("data/mnist").to_path_buf())
}

/// Runs `infer`, returning what it printed (text or JSON).
pub fn run(args: &Args) -> Result<String, InferError> {
    let backend = Backend::resolve(args.backend)?;
    let device = backend.device()?;
    let run = SavedRun::load(&args.model, &device)?;
    let cost = run.spec.cost;
    let mut text = String::new();
    let mut json_items = Vec::new();

    if !args.index.is_empty() {
        let test = MnistDataset::load(&data_dir(args, &run), Split::Test)?;
        for &index in &args.index {
            if index >= test.len() {
                return Err(InferError::IndexOutOfRange {
                    index,
                    len: test.len(),
                });
            }
            let pixels = dataset_pixels(&test, std::iter::once(index));
            let p = predict(&run.network, cost, &pixels, backend)?.remove(0);
            let label = test.label(index);
            json_items.push(json!({
                "index": index,
                "label": label,
                "prediction": p.digit,
                "correct": label == p.digit,
                "activations": p.activations,
            }));
            text.push_str(&format!(
                "test image {index}: label {label}, predicted {} ({})\n{}{}\n",
                p.digit,
                if label == p.digit { "right" } else { "wrong" },
                text_art(&pixels),
                activations_text(&p)
            ));
        }
    }

    for path in &args.images {
        let pixels = load_digit(path)?;
        let p = predict(&run.network, cost, &pixels, backend)?.remove(0);
        json_items.push(json!({
            "path": path,
            "prediction": p.digit,
            "activations": p.activations,
        }));
        text.push_str(&format!(
            "{}: predicted {}\n{}{}\n",
            path.display(),
            p.digit,
            text_art(&pixels),
            activations_text(&p)
        ));
    }

    if args.index.is_empty() && args.images.is_empty() {
        let test = MnistDataset::load(&data_dir(args, &run), Split::Test)?;
        let pixels = dataset_pixels(&test, 0..test.len());
        let digits: Vec<u8> = predict(&run.network, cost, &pixels, backend)?
            .iter()
            .map(|p| p.digit)
            .collect();
        let eval = Evaluation::score(test.labels(), &digits);
        if args.json {
            let mut value =
                serde_json::to_value(&eval).map_err(|e| InferError::Encode(e.to_string()))?;
            value["model"] = json!(run.dir);
            value["backend"] = json!(backend.name());
            value["precision"] = json!(eval
                .per_digit
                .iter()
                .map(|d| d.precision)
                .collect::<Vec<_>>());
            value["recall"] = json!(eval.per_digit.iter().map(|d| d.recall).collect::<Vec<_>>());
            return Ok(value.to_string());
        }
        return Ok(format!(
            "model {} ({} network, {} cost) on {backend}\n{}",
            run.dir.display(),
            run.spec
                .model
                .sizes()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join("-"),
            cost.name(),
            eval.to_text()
        ));
    }
    if args.json {
        return Ok(
            json!({ "model": run.dir, "backend": backend.name(), "predictions": json_items })
                .to_string(),
        );
    }
    Ok(text)
}
