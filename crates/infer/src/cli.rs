//! The `infer` command as a library: evaluate a trained run on the test set, show test images,
//! or read digits from image files. [`run()`] returns an [`Output`]; the binary prints it, as
//! text or JSON.

use std::fmt;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use clap::Parser;
use data::{ImageDataset, IMAGE_PIXELS, IMAGE_SIDE};
use model::{Backend, BackendArg, Cost, Prediction, Predictor};
use run::SavedRun;
use serde::Serialize;

use crate::draw::{draw, draw_seen, pictures_dir, Drawn};
use crate::eval::{dataset_pixels, evaluate, ConfusionReport};
use crate::{Exported, InferError};
use data::preprocess::load_digit;

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

    /// Load a run that has no seal (written before seals, or its seal deleted): nothing then
    /// shows its weights and config are the ones `train` wrote.
    #[arg(long)]
    pub allow_unsealed: bool,

    /// Show test image N as text art, with the prediction and the ten output activations
    /// (repeatable).
    #[arg(long, value_name = "N")]
    pub index: Vec<usize>,

    /// MNIST directory [default: the one the run was trained on, else data/mnist].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(flatten)]
    pub backend: BackendArg,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Also draw into DIR: for an evaluation, the confusion matrix, the first layer's
    /// weights, the test images it gets wrong, and an index.html showing them with the figures;
    /// with --index or images, each input as the network sees it, with its hidden activations
    /// and outputs [default DIR: the run's pictures/].
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    pub pictures: Option<Option<PathBuf>>,

    /// Write the network as an ONNX model to FILE instead (input `pixels` [N, 784] in 0..1,
    /// output `outputs` [N, classes]: sigma(z) for a quadratic-cost run, softmax probabilities
    /// for cross-entropy; the class names in its metadata), for onnxruntime and other runtimes.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["images", "index", "pictures"])]
    pub onnx: Option<PathBuf>,
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

/// The network's answer for one image, as `infer` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// The predicted class (its output's index).
    pub prediction: usize,
    /// The predicted class's name (`"7"`, `"sneaker"`).
    pub name: String,
    /// Every output's activation, in order.
    pub activations: Vec<f32>,
    /// The image as the network saw it: 784 pixels in 0..1.
    #[serde(skip)]
    pub pixels: Vec<f32>,
    /// Every output's name, in order.
    #[serde(skip)]
    pub names: Vec<String>,
    /// The picture of it `--pictures` drew.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "lossy_optional_path"
    )]
    pub picture: Option<PathBuf>,
}

/// One image shown: a test image by index or an image file, with the network's answer.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Shown {
    TestImage {
        index: usize,
        label: u8,
        /// The label's name.
        label_name: String,
        correct: bool,
        #[serde(flatten)]
        answer: Answer,
    },
    ImageFile {
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        #[serde(flatten)]
        answer: Answer,
    },
    /// An image that could not be read, and why: the other images are still answered.
    Unreadable {
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        error: String,
    },
}

/// A path as text, whatever bytes its name has (a name that is not UTF-8 is shown with
/// replacement characters rather than failing the whole output).
pub(crate) fn lossy_path<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

fn lossy_optional_path<S: serde::Serializer>(
    path: &Option<PathBuf>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match path {
        Some(path) => lossy_path(path, s),
        None => s.serialize_none(),
    }
}

/// The outputs as bars, each with its class's name, the predicted one marked.
fn activations_text(
    f: &mut fmt::Formatter<'_>,
    activations: &[f32],
    predicted: usize,
    names: &[String],
) -> fmt::Result {
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(1);
    for (d, a) in activations.iter().enumerate() {
        let bar = "#".repeat((a.clamp(0.0, 1.0) * 30.0).round() as usize);
        let mark = if d == predicted { " <" } else { "" };
        let name = names.get(d).map_or_else(|| d.to_string(), String::clone);
        writeln!(f, "  {name:>width$}: {a:.4} {bar}{mark}")?;
    }
    Ok(())
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let answer = match self {
            Shown::TestImage {
                index,
                label_name,
                correct,
                answer,
                ..
            } => {
                let verdict = if *correct { "right" } else { "wrong" };
                let name = &answer.name;
                writeln!(
                    f,
                    "test image {index}: label {label_name}, predicted {name} ({verdict})"
                )?;
                answer
            }
            Shown::ImageFile { path, answer } => {
                writeln!(f, "{}: predicted {}", path.display(), answer.name)?;
                answer
            }
            Shown::Unreadable { path, error } => {
                return writeln!(f, "{}: error: {error}", path.display());
            }
        };
        f.write_str(&text_art(&answer.pixels))?;
        activations_text(f, &answer.activations, answer.prediction, &answer.names)?;
        if let Some(picture) = &answer.picture {
            writeln!(f, "  picture: {}", picture.display())?;
        }
        Ok(())
    }
}

/// What `infer` found: an evaluation of the test set, or the images it was shown. Displayed,
/// it is `infer`'s text output; serialised, its `--json` output.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Output {
    Evaluation(Box<Evaluation>),
    Shown(ShownImages),
    Exported(Exported),
}

/// The network's results on the whole test set.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    #[serde(serialize_with = "lossy_path")]
    pub model: PathBuf,
    pub backend: Backend,
    /// The network's shape, `784-128-10`.
    #[serde(skip)]
    pub shape: String,
    #[serde(skip)]
    pub cost: Cost,
    #[serde(flatten)]
    pub report: ConfusionReport,
    /// Each class's precision, in output order: the digits 0 to 9 for MNIST (also in
    /// `per_digit`).
    pub precision: Vec<f64>,
    /// Each class's recall, in output order (also in `per_digit`).
    pub recall: Vec<f64>,
    /// What `--pictures` drew, and where.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pictures: Option<Drawn>,
}

/// The network's answers for the images asked about.
#[derive(Debug, Clone, Serialize)]
pub struct ShownImages {
    #[serde(serialize_with = "lossy_path")]
    pub model: PathBuf,
    pub backend: Backend,
    pub predictions: Vec<Shown>,
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Evaluation(e) => {
                writeln!(
                    f,
                    "model {} ({} network, {} cost) on {}",
                    e.model.display(),
                    e.shape,
                    e.cost.name(),
                    e.backend
                )?;
                write!(f, "{}", e.report)?;
                if let Some(drawn) = &e.pictures {
                    write!(f, "{drawn}")?;
                }
                Ok(())
            }
            Output::Shown(s) => {
                for shown in &s.predictions {
                    writeln!(f, "{shown}")?;
                }
                Ok(())
            }
            Output::Exported(e) => write!(f, "{e}"),
        }
    }
}

impl Output {
    /// How many of the images asked about could not be read (`infer` then exits non-zero).
    pub fn failures(&self) -> usize {
        match self {
            Output::Evaluation(_) | Output::Exported(_) => 0,
            Output::Shown(s) => s
                .predictions
                .iter()
                .filter(|p| matches!(p, Shown::Unreadable { .. }))
                .count(),
        }
    }

    /// The output as one line of JSON.
    pub fn to_json(&self) -> Result<String, InferError> {
        serde_json::to_string(self).map_err(InferError::Encode)
    }
}

fn data_dir(args: &Args, run: &SavedRun) -> PathBuf {
    args.data_dir
        .clone()
        .or_else(|| run.spec.data_dir.clone())
        .unwrap_or_else(|| Path::new("data/mnist").to_path_buf())
}

/// The MNIST test images `infer` evaluates on or shows, with `infer`'s own advice when they are
/// missing (its fix is `--data-dir`, not a config key). A run trained on some of the classes
/// is tested on those, labelled as it was trained.
fn test_images(args: &Args, run: &SavedRun) -> Result<ImageDataset, InferError> {
    let dir = data_dir(args, run);
    if !dir.is_dir() {
        return Err(InferError::NoTestData { dir });
    }
    let (test, names) = data::Labelled::load_test(&dir, run.spec.classes.as_deref())?;
    // An image folder names its classes; MNIST's files only number them, and the run may have
    // named them (Fashion-MNIST's clothes): then the count must agree.
    let differ = if data::is_image_folder(&dir) {
        names != run.spec.class_names()
    } else {
        names.len() != run.spec.class_names().len()
    };
    if differ {
        return Err(InferError::ClassesDiffer {
            dir,
            data: names,
            run: run.spec.class_names(),
        });
    }
    if test.is_empty() {
        return Err(InferError::EmptyTestSet { dir });
    }
    Ok(test)
}

/// The network's answer for one image given as 784 pixels in 0..1.
fn predict_one(predictor: &Predictor, pixels: &[f32]) -> Result<Prediction, InferError> {
    let x = Tensor::<2>::from_data(
        TensorData::new(pixels.to_vec(), [1, IMAGE_PIXELS]),
        predictor.device(),
    );
    let mut answers = predictor.predict(x)?;
    Ok(answers.remove(0))
}

/// Runs `infer`: evaluates the run on the test set, or answers for the images asked about.
pub fn run(args: &Args) -> Result<Output, InferError> {
    let backend = args.backend.resolve()?;
    let trust = run::Trust::allowing_unsealed(args.allow_unsealed);
    let run = SavedRun::load_with(&args.model, &backend.device()?, trust)?;
    if run.spec.model.inputs != IMAGE_PIXELS {
        return Err(InferError::InputsDoNotFit {
            dir: run.dir.clone(),
            inputs: run.spec.model.inputs,
        });
    }
    if let Some(file) = &args.onnx {
        return crate::export::export(file, &run).map(Output::Exported);
    }
    let predictor = Predictor::new(&run.network, run.spec.cost, backend)?;
    if args.index.is_empty() && args.images.is_empty() {
        return evaluation(args, &run, &predictor, backend);
    }
    let asker = Asker {
        predictor: &predictor,
        names: run.spec.class_names(),
        pictures: match &args.pictures {
            Some(asked) => Some(pictures_dir(asked.as_deref(), &run.dir)?),
            None => None,
        },
    };
    let mut predictions = Vec::new();
    if !args.index.is_empty() {
        let test = test_images(args, &run)?;
        for &index in &args.index {
            predictions.push(asker.test_image(&test, index)?);
        }
    }
    // Every readable image is answered; one that is not is reported in its place.
    for (k, path) in args.images.iter().enumerate() {
        predictions.push(asker.image_file(path, k)?);
    }
    Ok(Output::Shown(ShownImages {
        model: run.dir.clone(),
        backend,
        predictions,
    }))
}

/// The run evaluated on its test images, and drawn if asked.
fn evaluation(
    args: &Args,
    run: &SavedRun,
    predictor: &Predictor,
    backend: Backend,
) -> Result<Output, InferError> {
    let test = test_images(args, run)?;
    let report = evaluate(predictor, &test, &run.spec.class_names())?;
    let pictures = match &args.pictures {
        Some(asked) => {
            let dir = pictures_dir(asked.as_deref(), &run.dir)?;
            Some(draw(&dir, run, predictor, &test, &report)?)
        }
        None => None,
    };
    Ok(Output::Evaluation(Box::new(Evaluation {
        model: run.dir.clone(),
        backend,
        shape: run.spec.model.shape(),
        cost: run.spec.cost,
        precision: report.per_class.iter().map(|d| d.precision).collect(),
        recall: report.per_class.iter().map(|d| d.recall).collect(),
        report,
        pictures,
    })))
}

/// Asks the network about single images: test images by index, and image files.
struct Asker<'a> {
    predictor: &'a Predictor<'a>,
    names: Vec<String>,
    /// Where the inputs' pictures go, if asked for.
    pictures: Option<PathBuf>,
}

impl Asker<'_> {
    /// A class's name.
    fn name(&self, class: usize) -> String {
        self.names
            .get(class)
            .map_or_else(|| class.to_string(), String::clone)
    }

    /// The network's answer for 784 pixels, drawn into `file` if asked, titled `title` and
    /// what the network said.
    fn answer(&self, pixels: Vec<f32>, file: String, title: &str) -> Result<Answer, InferError> {
        let said = predict_one(self.predictor, &pixels)?;
        let name = self.name(said.class);
        let picture = (self.pictures.as_deref())
            .map(|dir| {
                let title = format!("{title}said {name}");
                draw_seen(dir, &file, self.predictor, &pixels, &said, &title)
            })
            .transpose()?;
        Ok(Answer {
            prediction: said.class,
            name,
            activations: said.outputs,
            pixels,
            names: self.names.clone(),
            picture,
        })
    }

    /// Test image `index`, answered.
    fn test_image(&self, test: &ImageDataset, index: usize) -> Result<Shown, InferError> {
        if index >= test.len() {
            return Err(InferError::IndexOutOfRange {
                index,
                len: test.len(),
            });
        }
        let pixels = dataset_pixels(test, std::iter::once(index));
        let label = test.label(index);
        let label_name = self.name(usize::from(label));
        let title = format!("test image {index}: label {label_name}, ");
        let answer = self.answer(pixels, format!("test-{index}.svg"), &title)?;
        Ok(Shown::TestImage {
            index,
            label,
            label_name,
            correct: usize::from(label) == answer.prediction,
            answer,
        })
    }

    /// The `k`th image file (from 0), answered, or the reason it could not be read.
    fn image_file(&self, path: &Path, k: usize) -> Result<Shown, InferError> {
        let pixels = match load_digit(path) {
            Ok(pixels) => pixels.to_vec(),
            Err(e) => {
                return Ok(Shown::Unreadable {
                    path: path.to_path_buf(),
                    error: model::error_chain(&e),
                })
            }
        };
        let title = format!("{}: ", path.to_string_lossy());
        let answer = self.answer(pixels, format!("image-{}.svg", k + 1), &title)?;
        Ok(Shown::ImageFile {
            path: path.to_path_buf(),
            answer,
        })
    }
}
