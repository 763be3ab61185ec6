//! `infer --pictures`: the network drawn beside its figures. The numbers come from the one
//! prediction path ([`model::Predictor`]) and the run's files; the drawing is the `pictures`
//! crate's.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use data::{ImageBatcher, ImageDataset, IMAGE_PIXELS};
use model::{ModelError, Prediction, Predictor};
use pictures::{ClassRow, Mistake, Page};
use run::{Report, SavedRun, CONFIG_FILE, CURVES_FILE, PICTURES_DIR};
use serde::Serialize;

use crate::eval::{dataset_pixels, ConfusionReport};
use crate::InferError;

/// Hidden units drawn at most: beyond a hundred tiles the picture stops being readable.
pub const HIDDEN_CAP: usize = 100;
/// Mistakes drawn at most, the most confidently wrong first.
pub const MISTAKES_CAP: usize = 100;

/// The heatmap of the confusion matrix.
pub(crate) const CONFUSION_FILE: &str = "confusion.svg";
/// The first layer's weights, one tile per unit.
pub(crate) const HIDDEN_FILE: &str = "hidden.png";
/// The test images the network got wrong.
pub(crate) const MISTAKES_FILE: &str = "mistakes.png";
/// The page showing the pictures with the figures.
pub(crate) const INDEX_FILE: &str = "index.html";

/// What `--pictures` drew, and where.
#[derive(Debug, Clone, Serialize)]
pub struct Drawn {
    /// The directory the pictures are in.
    #[serde(serialize_with = "crate::cli::lossy_path")]
    pub dir: PathBuf,
    /// The files written there, `index.html` last.
    pub files: Vec<String>,
    /// First-layer units drawn, of how many.
    pub hidden_drawn: usize,
    pub hidden_units: usize,
    /// Mistakes drawn, of how many.
    pub mistakes_drawn: usize,
    pub mistakes: usize,
}

impl fmt::Display for Drawn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pictures: {} ({}; {} of {} hidden units, {} of {} mistakes drawn)",
            self.dir.join(INDEX_FILE).display(),
            self.files.join(", "),
            self.hidden_drawn,
            self.hidden_units,
            self.mistakes_drawn,
            self.mistakes
        )
    }
}

/// Where `--pictures` draws: the directory given, else the run's `pictures/`. A directory
/// inside the run under another name is refused: the run could no longer be replaced by the
/// next `train` (a run directory holds only a run's files).
pub fn pictures_dir(asked: Option<&Path>, run: &Path) -> Result<PathBuf, InferError> {
    let Some(dir) = asked else {
        return Ok(run.join(PICTURES_DIR));
    };
    // `infer --pictures my.png` meant the image: clap gives it to --pictures.
    let image_name = dir
        .extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| ["png", "jpg", "jpeg"].contains(&x.to_ascii_lowercase().as_str()));
    if dir.is_file() || (image_name && !dir.is_dir()) {
        let what = if dir.is_file() {
            "a file"
        } else {
            "an image's name"
        };
        return Err(InferError::PicturesIsAFile {
            path: dir.to_path_buf(),
            what,
        });
    }
    // Where the directory is (or would be), resolved: the run's own folder, or any folder in
    // it but its pictures/, is refused.
    let resolved = resolve(dir);
    if let (Some(resolved), Ok(run_dir)) = (resolved, run.canonicalize()) {
        let allowed = run_dir.join(PICTURES_DIR);
        if resolved.starts_with(&run_dir) && !resolved.starts_with(&allowed) {
            return Err(InferError::PicturesInRun {
                dir: dir.to_path_buf(),
                run: run.to_path_buf(),
            });
        }
    }
    Ok(dir.to_path_buf())
}

/// `path` made absolute, `.` and `..` taken out lexically, and the part of it that exists
/// resolved through its links: where a directory not made yet would be.
fn resolve(path: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let absolute = std::env::current_dir().ok()?.join(path);
    let mut lexical = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        rest.push(existing.file_name()?.to_owned());
        existing = existing.parent()?;
    }
    let mut resolved = existing.canonicalize().ok()?;
    resolved.extend(rest.iter().rev());
    Some(resolved)
}

/// The test images `predictor` gets wrong, the most confidently wrong first, at most `cap` of
/// them, and how many there are in all.
pub fn mistakes(
    predictor: &Predictor,
    test: &ImageDataset,
    cap: usize,
) -> Result<(Vec<Mistake>, usize), InferError> {
    // (index, said, confidence) of every mistake; pixels only for those drawn.
    let mut wrong: Vec<(usize, usize, f32)> = Vec::new();
    let mut index = 0;
    let batcher = ImageBatcher::new(predictor.outputs());
    for batch in batcher.in_order(test, predictor.batch_size(), predictor.device()) {
        for answer in predictor.predict(batch.images)? {
            if answer.class != usize::from(test.label(index)) {
                let confidence = answer
                    .outputs
                    .get(answer.class)
                    .copied()
                    .unwrap_or(f32::NAN);
                wrong.push((index, answer.class, confidence));
            }
            index += 1;
        }
    }
    let total = wrong.len();
    // The order `pictures::mistakes_png` draws in (it sorts again; the sort is stable).
    wrong.sort_by(|a, b| b.2.total_cmp(&a.2));
    wrong.truncate(cap);
    let drawn = wrong
        .into_iter()
        .map(|(i, said, confidence)| Mistake {
            pixels: dataset_pixels(test, std::iter::once(i)),
            truth: test.label(i),
            said: said as u8,
            confidence,
        })
        .collect();
    Ok((drawn, total))
}

/// The first layer's weights `[inputs, units]`, row-major, and the number of units.
pub fn first_layer(run: &SavedRun) -> Result<(Vec<f32>, usize), InferError> {
    let Some(layer) = run.network.layers.first() else {
        return Ok((Vec::new(), 0));
    };
    let w = layer.weight.val();
    let units = w.dims()[1];
    let values: Vec<f32> = w
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .map_err(ModelError::Readback)?;
    Ok((values, units))
}

/// The run's `report.json` as key and value pairs for the page (empty if it cannot be read:
/// the page is still worth having without it).
fn report_summary(run: &Path) -> Vec<(String, String)> {
    match Report::read(run) {
        Ok(Some(report)) => report.fields(),
        _ => Vec::new(),
    }
}

/// Writes `dir/file` whole or not at all: a picture being redrawn is never half written.
fn write(dir: &Path, file: &str, bytes: impl AsRef<[u8]>) -> Result<(), InferError> {
    let path = dir.join(file);
    run::write_file(&path, bytes.as_ref())
        .map_err(|source| InferError::WritePicture { path, source })
}

/// Draws the run's network into `dir`: `confusion.svg` from `report`, `hidden.png` from the
/// first layer, `mistakes.png` from the test set, the run's `curves.svg` copied beside them,
/// and `index.html` showing them all with the figures.
pub fn draw(
    dir: &Path,
    run: &SavedRun,
    predictor: &Predictor,
    test: &ImageDataset,
    report: &ConfusionReport,
) -> Result<Drawn, InferError> {
    fs::create_dir_all(dir).map_err(|source| InferError::WritePicture {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();

    let precision: Vec<f64> = report.per_class.iter().map(|d| d.precision).collect();
    let recall: Vec<f64> = report.per_class.iter().map(|d| d.recall).collect();
    // The heatmap names the classes as the text output does: digits, or the run's names.
    let names: Vec<String> = report.per_class.iter().map(|d| d.name.clone()).collect();
    let svg = pictures::confusion_svg(&report.confusion, &names, &precision, &recall);
    write(dir, CONFUSION_FILE, svg)?;
    files.push(CONFUSION_FILE.to_string());

    let (weights, units) = first_layer(run)?;
    let hidden_drawn = units.min(HIDDEN_CAP);
    let png = pictures::hidden_png(&weights, units, HIDDEN_CAP).map_err(InferError::Draw)?;
    write(dir, HIDDEN_FILE, png)?;
    files.push(HIDDEN_FILE.to_string());

    let digit = Captions::new(run);
    let (mut wrong, total) = mistakes(predictor, test, MISTAKES_CAP)?;
    for m in &mut wrong {
        (m.truth, m.said) = (digit.digit(m.truth), digit.digit(m.said));
    }
    let png = pictures::mistakes_png(&wrong, MISTAKES_CAP).map_err(InferError::Draw)?;
    write(dir, MISTAKES_FILE, png)?;
    files.push(MISTAKES_FILE.to_string());

    // The curves are the run's; a copy beside the page keeps the folder whole on its own.
    let curves = match fs::read(run.dir.join(CURVES_FILE)) {
        Ok(svg) => {
            write(dir, CURVES_FILE, svg)?;
            files.push(CURVES_FILE.to_string());
            true
        }
        Err(_) => false,
    };
    let drawn = Drawn {
        dir: dir.to_path_buf(),
        files,
        hidden_drawn,
        hidden_units: units,
        mistakes_drawn: wrong.len(),
        mistakes: total,
    };
    draw_index(drawn, run, report, &digit, curves)
}

/// The number each class is captioned with in the PNG pictures: for a run on some of the
/// digits, the digit each output stands for; for other classes, the output's index (the text
/// output and the JSON have the names).
struct Captions(Vec<String>);

impl Captions {
    fn new(run: &SavedRun) -> Captions {
        Captions(run.spec.class_names())
    }

    fn digit(&self, class: u8) -> u8 {
        (self.0.get(usize::from(class)))
            .and_then(|n| n.parse::<u8>().ok())
            .unwrap_or(class)
    }
}

/// Writes `index.html`, showing what `drawn` holds with the figures, and adds it.
fn draw_index(
    mut drawn: Drawn,
    run: &SavedRun,
    report: &ConfusionReport,
    digit: &Captions,
    curves: bool,
) -> Result<Drawn, InferError> {
    let per_class: Vec<ClassRow> = report
        .per_class
        .iter()
        .map(|d| ClassRow {
            digit: digit.digit(d.class),
            precision: d.precision,
            recall: d.recall,
            support: d.support,
        })
        .collect();
    let config = fs::read_to_string(run.dir.join(CONFIG_FILE)).ok();
    let summary = report_summary(&run.dir);
    let run_name = run.dir.to_string_lossy();
    let html = pictures::index_html(&Page {
        run: &run_name,
        accuracy: report.accuracy,
        correct: report.correct,
        images: report.images,
        per_class: &per_class,
        curves: curves.then_some(CURVES_FILE),
        confusion: Some(CONFUSION_FILE),
        hidden: Some((HIDDEN_FILE, drawn.hidden_drawn, drawn.hidden_units)),
        mistakes: Some((MISTAKES_FILE, drawn.mistakes_drawn, drawn.mistakes)),
        config: config.as_deref(),
        report: &summary,
    });
    write(&drawn.dir, INDEX_FILE, html)?;
    drawn.files.push(INDEX_FILE.to_string());
    Ok(drawn)
}

/// Draws one input as the network sees it into `dir/file` (an SVG): its pixels, the first
/// hidden layer's activations for it, and `answer`'s outputs. Returns the picture's path.
pub fn draw_seen(
    dir: &Path,
    file: &str,
    predictor: &Predictor,
    pixels: &[f32],
    answer: &Prediction,
    title: &str,
) -> Result<PathBuf, InferError> {
    let x = Tensor::<2>::from_data(
        TensorData::new(pixels.to_vec(), [1, IMAGE_PIXELS]),
        predictor.device(),
    );
    let hidden = predictor.first_hidden(x)?.pop().unwrap_or_default();
    fs::create_dir_all(dir).map_err(|source| InferError::WritePicture {
        path: dir.to_path_buf(),
        source,
    })?;
    let svg = pictures::seen_svg(pixels, &hidden, &answer.outputs, answer.class, title);
    write(dir, file, svg)?;
    Ok(dir.join(file))
}
