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
/// The first layer's weights where training started, W₀.
pub(crate) const HIDDEN_START_FILE: &str = "hidden-start.png";
/// What training changed in them, W − W₀.
pub(crate) const HIDDEN_CHANGE_FILE: &str = "hidden-change.png";
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
    /// Where the first layer started (`hidden-start.png`), when that could be known.
    pub start: Option<String>,
    /// Why it could not (a base run that is gone).
    pub no_start: Option<String>,
    /// First-layer units whose weights moved by less than [`STILL_BELOW`] of their start.
    pub still: Option<usize>,
    /// The median of how far each unit's weights moved, ‖w − w₀‖ / ‖w₀‖.
    pub median_moved: Option<f64>,
    /// The first layer was frozen (`[init] freeze`): it is its start, unchanged.
    pub frozen: bool,
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
        )?;
        match (&self.start, self.still, &self.no_start) {
            (Some(start), Some(_), _) if self.frozen => write!(
                f,
                "\n  first layer frozen: it is its start ({start}), unchanged"
            ),
            (Some(start), Some(still), _) => write!(
                f,
                "\n  first layer against its start ({start}): {still} of {} units barely moved \
                 (under {:.0}%), the median unit by {:.0}%",
                self.hidden_units,
                100.0 * STILL_BELOW,
                100.0 * self.median_moved.unwrap_or(f64::NAN)
            ),
            (_, _, Some(why)) => {
                write!(f, "\n  no picture of where the first layer started: {why}")
            }
            _ => Ok(()),
        }
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

/// What [`draw_hidden`] drew: the first layer's units, and how they compare with where they
/// started (the fields of [`Drawn`] of the same names).
struct Hidden {
    units: usize,
    start: Option<String>,
    no_start: Option<String>,
    still: Option<usize>,
    median_moved: Option<f64>,
    frozen: bool,
}

/// Draws `hidden.png` (the first layer, its units that barely moved marked) and, where the
/// start is known, `hidden-start.png` (W₀) and `hidden-change.png` (W − W₀) into `dir`, adding
/// them to `files`. Where it is not, pictures of an earlier start are removed: they would be
/// stale.
fn draw_hidden(dir: &Path, run: &SavedRun, files: &mut Vec<String>) -> Result<Hidden, InferError> {
    let (weights, units) = first_layer(run)?;
    let png = |weights: &[f32], still: &[bool]| {
        pictures::hidden_png(weights, units, HIDDEN_CAP, still).map_err(InferError::Draw)
    };
    match start_of(run, units) {
        Ok(s) => {
            let moved = moved(&weights, &s.weights, units);
            let still: Vec<bool> = moved.iter().map(|&r| r < STILL_BELOW).collect();
            let mut sorted = moved;
            sorted.sort_by(f64::total_cmp);
            let change: Vec<f32> = weights
                .iter()
                .zip(&s.weights)
                .map(|(w, w0)| w - w0)
                .collect();
            write(dir, HIDDEN_FILE, png(&weights, &still)?)?;
            write(dir, HIDDEN_START_FILE, png(&s.weights, &[])?)?;
            write(dir, HIDDEN_CHANGE_FILE, png(&change, &still)?)?;
            files.extend([HIDDEN_FILE, HIDDEN_START_FILE, HIDDEN_CHANGE_FILE].map(String::from));
            Ok(Hidden {
                units,
                start: Some(s.what),
                no_start: None,
                still: Some(still.iter().filter(|&&b| b).count()),
                median_moved: sorted.get(sorted.len() / 2).copied(),
                frozen: s.frozen,
            })
        }
        Err(why) => {
            write(dir, HIDDEN_FILE, png(&weights, &[])?)?;
            files.push(HIDDEN_FILE.to_string());
            for stale in [HIDDEN_START_FILE, HIDDEN_CHANGE_FILE] {
                match fs::remove_file(dir.join(stale)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(InferError::WritePicture {
                            path: dir.join(stale),
                            source: e,
                        })
                    }
                    _ => {}
                }
            }
            Ok(Hidden {
                units,
                start: None,
                no_start: Some(why),
                still: None,
                median_moved: None,
                frozen: false,
            })
        }
    }
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

    let hidden = draw_hidden(dir, run, &mut files)?;

    let digit = Captions::new(run);
    let (mut wrong, total) = mistakes(predictor, test, MISTAKES_CAP)?;
    for m in &mut wrong {
        (m.truth, m.said) = (digit.digit(m.truth), digit.digit(m.said));
    }
    let kind = match run.spec.cost {
        model::Cost::Quadratic => pictures::OutputKind::Sigmoid,
        model::Cost::CrossEntropy => pictures::OutputKind::Softmax,
    };
    let png = pictures::mistakes_png(&wrong, MISTAKES_CAP, kind).map_err(InferError::Draw)?;
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
        hidden_drawn: hidden.units.min(HIDDEN_CAP),
        hidden_units: hidden.units,
        mistakes_drawn: wrong.len(),
        mistakes: total,
        start: hidden.start,
        no_start: hidden.no_start,
        still: hidden.still,
        median_moved: hidden.median_moved,
        frozen: hidden.frozen,
    };
    let frozen = drawn.frozen;
    draw_index(drawn, run, report, &digit, curves, frozen, kind)
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
    frozen: bool,
    kind: pictures::OutputKind,
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
        start: match (&drawn.start, drawn.still, &drawn.no_start) {
            (Some(what), Some(still), _) => Some(pictures::Start::Known {
                start_file: HIDDEN_START_FILE,
                change_file: HIDDEN_CHANGE_FILE,
                what,
                still,
                still_below: STILL_BELOW,
                median_moved: drawn.median_moved.unwrap_or(f64::NAN),
                frozen,
            }),
            (_, _, Some(why)) => Some(pictures::Start::Unknown(why)),
            _ => None,
        },
        outputs: kind,
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

/// A first layer's weights where training started, W₀, for the pictures beside W.
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    /// `[inputs, units]` row-major, as [`first_layer`] reads W.
    pub weights: Vec<f32>,
    /// What they are, for the page: the base run's first layer, or the seeded draw.
    pub what: String,
    /// Whether the layer was frozen (`[init] freeze`), so W = W₀ by design.
    pub frozen: bool,
}

/// Where the run's first layer started: the base run's first layer for a run that started from
/// one (`[init] from`, unless that layer was drawn afresh), else the network drawn again from
/// the run's seed, on the backend it was trained on where that is compiled in (the same seed
/// draws the same weights there). `Err` says why it cannot be known (a base run that is gone).
pub fn start_of(run: &SavedRun, units: usize) -> Result<Start, String> {
    let spec = &run.spec;
    let layers = run.network.layers.len();
    let frozen = spec.frozen_layers() > 0;
    let from_base = spec
        .init
        .as_ref()
        .and_then(|init| init.from.clone())
        .filter(|_| !(layers == 1 && spec.init.as_ref().is_some_and(|i| i.reset_output)));
    let trained_on = spec
        .backend
        .as_deref()
        .and_then(|name| name.parse::<model::Backend>().ok());
    let backend = trained_on
        .filter(|b| b.is_compiled())
        .map_or_else(model::Backend::default_compiled, Ok)
        .map_err(|e| model::error_chain(&e))?;
    // The CPU backends draw the same numbers from a seed; a GPU backend's generator is its own.
    let cpu = |b: model::Backend| matches!(b, model::Backend::Flex | model::Backend::Ndarray);
    let redrawable = trained_on.is_none_or(|t| t == backend || (cpu(t) && cpu(backend)));
    let device = backend.device().map_err(|e| model::error_chain(&e))?;
    let (network, what) = match from_base {
        Some(base) => {
            let saved = SavedRun::load_with(&base, &device, run::Trust::Sealed).map_err(|e| {
                format!(
                    "its base run {} cannot be read: {}",
                    base.display(),
                    model::error_chain(&e)
                )
            })?;
            (saved.network, format!("the base run {}", base.display()))
        }
        None => {
            let Some(seed) = spec.seed else {
                return Err("its config names no seed to draw its start from".to_string());
            };
            if !redrawable {
                return Err(format!(
                    "it was trained on {}, whose random numbers this build cannot draw again \
                     (build infer with --features {0})",
                    trained_on.map_or("", model::Backend::name)
                ));
            }
            (
                spec.model.init_seeded(seed, &device),
                format!(
                    "drawn again from its seed ({seed}, {})",
                    spec.model.init.name()
                ),
            )
        }
    };
    let Some(layer) = network.layers.first() else {
        return Err("the network has no layers".to_string());
    };
    let weights: Vec<f32> = layer
        .weight
        .val()
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .map_err(|e| format!("cannot read its start back: {e:?}"))?;
    if weights.len() != IMAGE_PIXELS * units {
        return Err(format!(
            "its start has {} first-layer weights, the run {}",
            weights.len(),
            IMAGE_PIXELS * units
        ));
    }
    Ok(Start {
        weights,
        what,
        frozen,
    })
}

/// A unit whose weights moved by less than this part of where they started "barely moved".
pub const STILL_BELOW: f64 = 0.1;

/// For each unit, how far its incoming weights moved from where they started:
/// ‖w − w₀‖ / ‖w₀‖ (0 when both are 0).
pub fn moved(now: &[f32], start: &[f32], units: usize) -> Vec<f64> {
    (0..units)
        .map(|j| {
            let (mut change, mut size) = (0.0f64, 0.0f64);
            for i in 0..now.len() / units.max(1) {
                let (w, w0) = (
                    f64::from(now[i * units + j]),
                    f64::from(start[i * units + j]),
                );
                change += (w - w0) * (w - w0);
                size += w0 * w0;
            }
            if size > 0.0 {
                (change / size).sqrt()
            } else if change > 0.0 {
                f64::INFINITY
            } else {
                0.0
            }
        })
        .collect()
}
