//! The `train` command as a library: its arguments, the run it makes, and the files it
//! writes. It returns what happened ([`Plan`] to an [`Observer`], then [`Trained`]); the binary
//! prints.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use data::{Labelled, IMAGE_PIXELS};
use model::place::RunPlace;
use model::run::{RunWriter, CONFIG_FILE, CURVES_FILE, METRICS_FILE, REPORT_FILE};
use model::{Backend, Score};
use serde::Serialize;

use crate::checkpoint::{Checkpoint, CheckpointStore};
use crate::config::{default_out_dir, Keep};
use crate::trainer::{evaluate, fit_from, EpochMetrics, Fitted, Observer, Splits};
use crate::transfer::{self, StartedFrom};
use crate::{TrainConfig, TrainError};

/// Train the digits network on MNIST, as a TOML config describes.
#[derive(Debug, Clone, Parser)]
#[command(name = "train", version)]
pub struct Args {
    /// The training config (see configs/mlp.toml for every key, explained).
    #[arg(long, value_name = "FILE", required_unless_present = "resume")]
    pub config: Option<PathBuf>,

    /// Where to write the run [default: artifacts/NAME, for a config file NAME.toml].
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub out: Option<PathBuf>,

    /// Continue the interrupted run whose destination is DIR, from its last checkpoint, with
    /// the config it started with.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,

    /// Discard the checkpoints of an interrupted run in the destination and start afresh.
    #[arg(long, conflicts_with = "resume")]
    pub restart: bool,

    /// Override the config's number of epochs.
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,

    /// Override the config's seed.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// Backend to run on: flex, ndarray, wgpu or cuda (must be compiled in) [default: the
    /// config's `backend`, else the first compiled in].
    #[arg(long, value_name = "NAME", alias = "device")]
    pub backend: Option<Backend>,

    /// Override the config's data directory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// One plain line per epoch even on a terminal (no progress bar).
    #[arg(long)]
    pub plain: bool,

    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,

    /// Train nothing: draw the config's `[augment]` distortions into this PNG file (the first
    /// training image of each digit, then eight distorted copies of it, as eight epochs would
    /// draw them) and exit.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["resume", "out"])]
    pub augmentation_picture: Option<PathBuf>,
}

/// Distorted copies per digit in `--augmentation-picture`.
const PICTURE_COPIES: usize = 8;

/// `--augmentation-picture FILE`: draws the config's distortions of the first training image of
/// each class (each digit), as epochs 1 to 8 would, into FILE (written aside, then moved into
/// place).
pub fn augmentation_picture(args: &Args, file: &Path) -> Result<PathBuf, TrainError> {
    let config = resolve_config(args)?;
    let path = args.config.clone().unwrap_or_default();
    let augment = config.augment.ok_or_else(|| TrainError::ConfigValue {
        path: path.clone(),
        key: "augment".to_string(),
        message: "is absent, so there are no distortions to draw; add an [augment] table \
                  (configs/best.toml has one)"
            .to_string(),
    })?;
    let (splits, names) = load_splits(&config)?;
    let train = &splits.train;
    let distorter = data::augment::Distorter::new(augment.distortion(), config.seed);
    let mut scratch = data::augment::Scratch::default();
    let mut rows = Vec::new();
    // The first training image of each class (each digit, for MNIST).
    for class in 0..names.len().min(usize::from(u8::MAX)) as u8 {
        let Some(index) = (0..train.len()).find(|&i| train.label(i) == class) else {
            continue;
        };
        let image = train.image(index);
        let mut row = vec![image
            .iter()
            .map(|&p| data::scale_pixel(p))
            .collect::<Vec<f32>>()];
        for epoch in 1..=PICTURE_COPIES {
            let mut out = vec![0f32; IMAGE_PIXELS];
            distorter.distort(image, epoch, index, &mut out, &mut scratch);
            row.push(out);
        }
        rows.push(row);
    }
    let png = pictures::augmentation_png(&rows).map_err(|source| TrainError::DrawPicture {
        path: file.to_path_buf(),
        source,
    })?;
    model::place::write_file(file, &png).map_err(|source| TrainError::WritePicture {
        path: file.to_path_buf(),
        source,
    })?;
    Ok(file.to_path_buf())
}

/// The `report.json` of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Fraction of the test images classified right, in 0..1.
    pub test_accuracy: f64,
    pub test_loss: f64,
    /// Test images classified right.
    pub test_correct: usize,
    pub epochs: usize,
    /// Wall time of training, per-epoch validation included.
    pub train_seconds: f64,
    /// Mean wall time of an epoch's training steps.
    pub seconds_per_epoch: f64,
    /// The backend the run actually used.
    pub backend: String,
    /// Validation accuracy after the last epoch (`null` without validation images).
    pub final_validation_accuracy: Option<f64>,
    /// The best epoch's validation accuracy, and which epoch (`null` without validation).
    pub best_validation_accuracy: Option<f64>,
    pub best_validation_epoch: Option<usize>,
    /// Which weights `model.bpk` holds: `last` or `best`.
    pub kept: Keep,
    /// The epoch whose weights `model.bpk` holds.
    pub kept_epoch: usize,
    pub parameters: usize,
    pub layers: Vec<usize>,
    pub train_images: usize,
    pub validation_images: usize,
    pub test_images: usize,
    pub seed: u64,
    /// The names of the network's outputs, when the data's classes are not the ten digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    /// Training images per class, when the config chose a few of each (`per_class`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_class: Option<usize>,
    /// The run whose network this one started from (`[init]`), and what it copied and froze.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_from: Option<StartedFrom>,
}

/// What a run is about to do, known once its config is resolved and its data loaded: what
/// observers show before the first epoch.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The network's shape, `784-128-10`.
    pub shape: String,
    pub activation: &'static str,
    pub cost: &'static str,
    /// The optimizer in short: `sgd η=3`.
    pub optimizer: String,
    pub batch_size: usize,
    pub epochs: usize,
    pub seed: u64,
    pub train_images: usize,
    pub validation_images: usize,
    pub test_images: usize,
    pub data_dir: PathBuf,
    pub load_seconds: f64,
    pub backend: Backend,
    /// The step a resumed run continues from.
    pub resumed_at: Option<usize>,
    /// The network's weights and biases.
    pub parameters: usize,
    /// Copies of the parameters the optimizer keeps (Adam's two moments, SGD's velocity).
    pub optimizer_copies: usize,
    /// The distortions of the training images, described (`None` without `[augment]`).
    pub augment: Option<String>,
    /// The classes' names, when they are not the ten digits.
    pub class_names: Option<Vec<String>>,
    /// Training images per class, when the config chose a few of each.
    pub per_class: Option<usize>,
    /// The run this one starts from (`[init]`).
    pub started_from: Option<StartedFrom>,
}

/// Parameters of a network with these layer sizes.
fn parameters(sizes: &[usize]) -> usize {
    sizes.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
}

/// Networks above this many parameters get a word on what they will cost.
const LARGE_NETWORK: usize = 10_000_000;

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "train: {} network, {} hidden units, {} cost, {}, batch {}, {}, seed {}",
            self.shape,
            self.activation,
            self.cost,
            self.optimizer,
            self.batch_size,
            epochs(self.epochs),
            self.seed
        )?;
        writeln!(
            f,
            "data: {} training, {} validation, {} test images from {} (loaded in {:.2} s)",
            self.train_images,
            self.validation_images,
            self.test_images,
            self.data_dir.display(),
            self.load_seconds
        )?;
        if let Some(augment) = &self.augment {
            writeln!(
                f,
                "augment: {augment}, drawn afresh for each training image every epoch"
            )?;
        }
        if let Some(names) = &self.class_names {
            writeln!(f, "classes: {}", names.join(", "))?;
        }
        if let Some(n) = self.per_class {
            writeln!(
                f,
                "few-shot: {n} training images per class, chosen from the seed"
            )?;
        }
        if let Some(from) = &self.started_from {
            writeln!(f, "{from}")?;
        }
        write!(f, "backend: {}", self.backend)?;
        if let Some(step) = self.resumed_at {
            write!(f, "\nresuming from its checkpoint after step {step}")?;
        }
        if self.parameters > LARGE_NETWORK {
            // Weights, their gradients, and the optimizer's copies, in f32.
            let bytes = (4 * self.parameters * (2 + self.optimizer_copies)) as f64;
            write!(
                f,
                "\nnote: {:.1} million parameters: about {:.1} GB for the weights, their \
                 gradients and the optimizer's state, and every step multiplies them all; on a \
                 CPU an epoch will take minutes or more",
                self.parameters as f64 / 1e6,
                bytes / 1e9
            )?;
        }
        Ok(())
    }
}

/// A finished run: where it was written, its report and its history. Displayed, it is the
/// closing lines `train` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Trained {
    pub out_dir: PathBuf,
    pub report: Report,
    pub history: Vec<EpochMetrics>,
}

impl fmt::Display for Trained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.report;
        writeln!(
            f,
            "test accuracy {:.2}% ({} of {} images) after {} in {:.1} s ({:.2} s per epoch)",
            100.0 * r.test_accuracy,
            r.test_correct,
            r.test_images,
            epochs(r.epochs),
            r.train_seconds,
            r.seconds_per_epoch
        )?;
        write!(f, "wrote {}", self.out_dir.display())
    }
}

/// `1 epoch`, `30 epochs`.
fn epochs(n: usize) -> String {
    format!("{n} epoch{}", if n == 1 { "" } else { "s" })
}

/// A CSV field that may be empty (no validation images).
fn optional(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn metrics_csv(history: &[EpochMetrics]) -> String {
    let mut csv = String::from(
        "epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,learning_rate,seconds\n",
    );
    for m in history {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{}",
            m.epoch,
            m.train_loss,
            m.train_accuracy,
            optional(m.validation_loss),
            optional(m.validation_accuracy),
            m.learning_rate,
            m.seconds
        );
    }
    csv
}

/// The training curves, from the same numbers as `metrics.csv`.
pub fn curves_svg(history: &[EpochMetrics]) -> String {
    let rows: Vec<pictures::EpochRow> = history
        .iter()
        .map(|m| pictures::EpochRow {
            epoch: m.epoch,
            train_loss: m.train_loss,
            train_accuracy: m.train_accuracy,
            validation_accuracy: m.validation_accuracy,
            learning_rate: m.learning_rate,
        })
        .collect();
    pictures::curves_svg(&rows)
}

/// Applies the command line's overrides to a config.
fn apply_overrides(args: &Args, config: &mut TrainConfig) {
    if let Some(epochs) = args.epochs {
        config.epochs = epochs;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if args.backend.is_some() {
        config.backend = args.backend;
    }
}

/// Validates a config with the command line applied, resolves its backend, and makes its data
/// directory absolute, so that the saved config finds the data from anywhere.
pub(crate) fn finish_config(
    mut config: TrainConfig,
    path: &Path,
) -> Result<TrainConfig, TrainError> {
    config.validate(path)?;
    config.backend = Some(Backend::resolve(config.backend)?);
    if let Ok(abs) = std::path::absolute(&config.data_dir) {
        config.data_dir = abs;
    }
    // `keep = "best"` judges epochs by validation images: held out (`validation`), or an image
    // folder's own `validation/`.
    let own_validation =
        data::is_image_folder(&config.data_dir) && config.data_dir.join("validation").is_dir();
    if config.keep == Keep::Best && config.validation == 0 && !own_validation {
        return Err(TrainError::ConfigValue {
            path: path.to_path_buf(),
            key: "keep".into(),
            message: "is \"best\", which needs validation images to judge by; set `validation` \
                      above 0, give the image folder a `validation/`, or keep = \"last\""
                .into(),
        });
    }
    if let Some(init) = &mut config.init {
        if let Ok(abs) = std::path::absolute(&init.from) {
            init.from = abs;
        }
    }
    // The classes the network answers with: the data's (the digits, or an image folder's), or
    // those `classes` keeps.
    let all = data::class_names(&config.data_dir)?;
    let names = match &config.classes {
        Some(classes) => {
            data::check_classes(classes, &all).map_err(|source| TrainError::ConfigClasses {
                path: path.to_path_buf(),
                source,
            })?;
            classes
                .iter()
                .map(|&c| all[usize::from(c)].clone())
                .collect()
        }
        None => all,
    };
    if !config.outputs_given {
        config.model.outputs = names.len();
    }
    // MNIST's files number their classes; a config may name them (Fashion-MNIST's clothes,
    // stored in the same files). An image folder's classes are named by its folders.
    let names = match &config.class_names {
        Some(given) if !data::is_image_folder(&config.data_dir) => {
            if given.len() != names.len() {
                return Err(TrainError::ConfigValue {
                    path: path.to_path_buf(),
                    key: "class_names".into(),
                    message: format!(
                        "names {} classes, but the network answers {} ({names:?}): give one \
                         name for each, in label order",
                        given.len(),
                        names.len()
                    ),
                });
            }
            if let Some(bad) = given.iter().enumerate().find_map(|(i, n)| {
                (n.trim().is_empty() || n.chars().any(char::is_control) || given[..i].contains(n))
                    .then_some(n)
            }) {
                return Err(TrainError::ConfigValue {
                    path: path.to_path_buf(),
                    key: "class_names".into(),
                    message: format!(
                        "has {bad:?}: each name must be printable text, not empty, and given once"
                    ),
                });
            }
            given.clone()
        }
        _ => names,
    };
    let ten_digits = names == data::digit_names();
    match &config.class_names {
        Some(given) if *given != names => {
            return Err(TrainError::ConfigValue {
                path: path.to_path_buf(),
                key: "class_names".into(),
                message: format!(
                    "is {given:?}, but the data's classes are {names:?}; remove the key (train \
                     writes it)"
                ),
            })
        }
        _ => config.class_names = (!ten_digits).then_some(names),
    }
    Ok(config)
}

/// Applies the command line to the config read from `--config`.
pub fn resolve_config(args: &Args) -> Result<TrainConfig, TrainError> {
    let path = args.config.as_deref().unwrap_or(Path::new("config.toml"));
    let mut config = TrainConfig::load(path)?;
    apply_overrides(args, &mut config);
    finish_config(config, path)
}

/// What a run starts from: a fresh network, or the checkpoint of an interrupted run.
struct Start {
    config: TrainConfig,
    out_dir: PathBuf,
    resume: Option<Checkpoint>,
}

/// The config and checkpoint that `--resume DIR` continues, checked against the command line.
fn resume_start(args: &Args, dir: &Path) -> Result<Start, TrainError> {
    let place = RunPlace::new(dir)?;
    let checkpoints = place.checkpoints_dir();
    let Some((path, text, checkpoint)) = CheckpointStore::latest(&checkpoints)? else {
        return Err(TrainError::NothingToResume {
            dir: dir.to_path_buf(),
            checkpoints,
        });
    };
    let config_path = path.join(crate::checkpoint::CONFIG_FILE);
    let saved = TrainConfig::parse(&text, &config_path)?;
    let mut asked = match &args.config {
        Some(file) => TrainConfig::load(file)?,
        None => saved.clone(),
    };
    apply_overrides(args, &mut asked);
    let asked = finish_config(asked, args.config.as_deref().unwrap_or(&config_path))?;
    if let Some((key, given, was)) = first_difference(&asked, &saved) {
        return Err(TrainError::ResumeMismatch {
            key,
            given,
            saved: was,
            checkpoint: config_path,
        });
    }
    Ok(Start {
        config: saved,
        out_dir: dir.to_path_buf(),
        resume: Some(checkpoint),
    })
}

/// The first key (dotted for tables) whose value differs between two configs, with both
/// values.
fn first_difference(a: &TrainConfig, b: &TrainConfig) -> Option<(String, String, String)> {
    fn walk(prefix: &str, a: &toml::Value, b: &toml::Value) -> Option<(String, String, String)> {
        match (a, b) {
            (toml::Value::Table(a), toml::Value::Table(b)) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                keys.into_iter().find_map(|k| {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    match (a.get(k), b.get(k)) {
                        (Some(x), Some(y)) => walk(&key, x, y),
                        (x, y) => {
                            let show = |v: Option<&toml::Value>| {
                                v.map_or("(absent)".to_string(), |v| v.to_string())
                            };
                            Some((key, show(x), show(y)))
                        }
                    }
                })
            }
            _ if a == b => None,
            _ => Some((prefix.to_string(), a.to_string(), b.to_string())),
        }
    }
    let a = toml::Value::try_from(a).ok()?;
    let b = toml::Value::try_from(b).ok()?;
    walk("", &a, &b)
}

/// Runs `train`: trains as the config says (or continues an interrupted run), evaluates on the
/// test set, writes the run. `observer` is told of progress; nothing is printed here.
pub fn run(args: Args, observer: &mut dyn Observer) -> Result<Trained, TrainError> {
    let start = match &args.resume {
        Some(dir) => resume_start(&args, dir)?,
        None => {
            let config = resolve_config(&args)?;
            let out_dir = args.out.clone().unwrap_or_else(|| {
                default_out_dir(args.config.as_deref().unwrap_or(Path::new("run")))
            });
            Start {
                config,
                out_dir,
                resume: None,
            }
        }
    };
    let Start {
        config,
        out_dir,
        resume,
    } = start;
    let backend = Backend::resolve(config.backend)?;
    // Claim the output first: a bad --out, or another run writing there, fails before minutes
    // of training.
    let writer = RunWriter::create(&out_dir)?;
    let config_toml = config.to_toml()?;
    let store = CheckpointStore::new(
        &writer.place().checkpoints_dir(),
        config_toml.clone(),
        config.keep_checkpoint_every,
    );
    if resume.is_none() {
        if let Some((path, text, checkpoint)) = CheckpointStore::latest(store.dir())? {
            if !args.restart {
                let epochs = TrainConfig::parse(&text, &path).map_or(0, |c| c.epochs);
                return Err(TrainError::InterruptedRunExists {
                    dir: out_dir.clone(),
                    epoch: checkpoint.position.epochs_done + 1,
                    epochs,
                    checkpoints: store.dir().to_path_buf(),
                });
            }
            std::fs::remove_dir_all(store.dir()).map_err(|source| TrainError::Checkpoint {
                path: store.dir().to_path_buf(),
                source,
            })?;
        }
    }
    writer.write(CONFIG_FILE, &config_toml)?;
    // A run that starts from another is checked against it before the data is read. A resumed
    // one continues from its checkpoint and never reads the source again (it may have changed).
    let started_from = match &config.init {
        Some(init) if resume.is_none() => {
            let source = transfer::load_source(init, &backend.device()?)?;
            Some(transfer::plan(init, &config, &source)?)
        }
        Some(init) => Some(StartedFrom::new(init, &config.model)),
        None => None,
    };

    let load_start = Instant::now();
    let (splits, names) = load_splits(&config)?;
    for (key, value, data) in [
        ("model.inputs", config.model.inputs, IMAGE_PIXELS),
        ("model.outputs", config.model.outputs, names.len()),
    ] {
        if value != data {
            return Err(TrainError::DoesNotFitData { key, value, data });
        }
    }
    observer.started(&Plan {
        shape: config.model.shape(),
        activation: config.model.activation.name(),
        cost: config.cost.name(),
        optimizer: config.optimizer.describe(),
        batch_size: config.batch_size,
        epochs: config.epochs,
        seed: config.seed,
        train_images: splits.train.len(),
        validation_images: splits.validation.len(),
        test_images: splits.test.len(),
        data_dir: config.data_dir.clone(),
        load_seconds: load_start.elapsed().as_secs_f64(),
        backend,
        resumed_at: resume.as_ref().map(|c| c.position.step),
        parameters: parameters(&config.model.sizes()),
        optimizer_copies: config.optimizer.state_copies(),
        augment: config.augment.as_ref().map(|a| a.describe()),
        class_names: config.class_names.clone(),
        per_class: config.per_class,
        started_from: started_from.clone(),
    });

    let fitted = fit_from(&config, &splits, backend, observer, resume, Some(&store)).map_err(
        |e| match e {
            TrainError::Interrupted {
                epoch,
                step,
                checkpoint,
                ..
            } => TrainError::Interrupted {
                epoch,
                step,
                checkpoint,
                dest: Some(out_dir.clone()),
            },
            TrainError::Diverged {
                epoch,
                step,
                rate,
                what,
                advice,
                ..
            } => TrainError::Diverged {
                epoch,
                step,
                rate,
                what,
                advice,
                resumable: matches!(CheckpointStore::latest(store.dir()), Ok(Some(_)))
                    .then(|| out_dir.clone()),
            },
            e => e,
        },
    )?;
    let test = evaluate(&fitted.network, config.cost, &splits.test, backend)?;
    let classes = config.model.outputs;
    if test.accuracy <= 1.5 / classes as f64 {
        // Nothing to resume: the run finished, and failed.
        let _ = std::fs::remove_dir_all(store.dir());
        return Err(TrainError::NotLearned {
            accuracy: test.accuracy,
            classes,
            advice: config.optimizer.suspect(),
        });
    }
    let mut report = Report::new(&config, &splits, &fitted, test, backend);
    report.started_from = started_from;
    writer.write_network(&fitted.network, config.cost)?;
    writer.write(METRICS_FILE, metrics_csv(&fitted.history))?;
    writer.write(CURVES_FILE, curves_svg(&fitted.history))?;
    let json = serde_json::to_string_pretty(&report).map_err(TrainError::EncodeReport)?;
    writer.write(REPORT_FILE, json + "\n")?;
    let kept = store.kept()?;
    if !kept.is_empty() {
        let into = writer.staging_dir().join(model::run::CHECKPOINTS_DIR);
        std::fs::create_dir(&into).map_err(|source| TrainError::Checkpoint {
            path: into.clone(),
            source,
        })?;
        for dir in kept {
            let name = dir.file_name().unwrap_or_default();
            std::fs::rename(&dir, into.join(name)).map_err(|source| TrainError::Checkpoint {
                path: dir.clone(),
                source,
            })?;
        }
    }
    let out_dir = writer.commit()?;
    Ok(Trained {
        out_dir,
        report,
        history: fitted.history,
    })
}

/// The config's training, validation and test images, and the names of their classes.
///
/// The validation images are the data's own (an image folder's `validation/`), else held
/// out of the training images (`validation` of them); a few-shot run (`per_class`) then
/// chooses its training images from those that remain. Validation and test sets keep every
/// image of the run's classes.
pub fn load_splits(config: &TrainConfig) -> Result<(Splits, Vec<String>), TrainError> {
    let data = Labelled::load(&config.data_dir, config.classes.as_deref())?;
    // The data's names, or those the config gives classes that MNIST's files only number.
    let names = config.class_names.clone().unwrap_or(data.names);
    let (train, validation) = match data.validation {
        Some(validation) => (data.train, validation),
        None if config.validation == 0 => (data.train.clone(), data.train.head(0)),
        None => data
            .train
            .split_validation(config.validation, config.seed)?,
    };
    let train = match config.per_class {
        Some(n) => train.per_class(n, &names, config.seed)?,
        None => train,
    };
    if data.test.is_empty() {
        return Err(TrainError::EmptyDataset("test set"));
    }
    Ok((
        Splits {
            train,
            validation,
            test: data.test,
        },
        names,
    ))
}

impl Report {
    fn new(
        config: &TrainConfig,
        splits: &Splits,
        fitted: &Fitted,
        test: Score,
        backend: Backend,
    ) -> Report {
        let last = fitted.history.last();
        Report {
            test_accuracy: test.accuracy,
            test_loss: test.loss,
            test_correct: test.correct,
            epochs: config.epochs,
            train_seconds: fitted.seconds,
            seconds_per_epoch: fitted.history.iter().map(|m| m.seconds).sum::<f64>()
                / fitted.history.len().max(1) as f64,
            backend: backend.name().to_string(),
            final_validation_accuracy: last.and_then(|m| m.validation_accuracy),
            best_validation_accuracy: fitted.best.map(|b| b.validation_accuracy),
            best_validation_epoch: fitted.best.map(|b| b.epoch),
            kept: config.keep,
            kept_epoch: fitted.kept_epoch,
            parameters: burn::module::Module::num_params(&fitted.network),
            layers: config.model.sizes(),
            train_images: splits.train.len(),
            validation_images: splits.validation.len(),
            test_images: splits.test.len(),
            seed: config.seed,
            class_names: config.class_names.clone(),
            per_class: config.per_class,
            started_from: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(parameters: usize, optimizer_copies: usize) -> Plan {
        Plan {
            shape: "784-100000-10".into(),
            activation: "sigmoid",
            cost: "quadratic",
            optimizer: "adam η=0.001".into(),
            batch_size: 32,
            epochs: 1,
            seed: 1,
            train_images: 55_000,
            validation_images: 5_000,
            test_images: 10_000,
            data_dir: PathBuf::from("data/mnist"),
            load_seconds: 0.2,
            backend: Backend::Flex,
            resumed_at: None,
            parameters,
            optimizer_copies,
            augment: None,
            class_names: None,
            per_class: None,
            started_from: None,
        }
    }

    #[test]
    fn a_large_network_is_told_what_it_will_cost() {
        let sizes = [784, 100_000, 10];
        let text = plan(parameters(&sizes), 2).to_string();
        assert!(
            text.contains("note: 79.5 million parameters: about 1.3 GB"),
            "{text}"
        );
        let small = plan(parameters(&[784, 128, 10]), 0).to_string();
        assert!(!small.contains("note:"), "{small}");
        assert_eq!(parameters(&[784, 128, 10]), 784 * 128 + 128 + 128 * 10 + 10);
    }
}
