//! The `train` command as a library: its arguments, then [`prepare`] (the config resolved, the
//! destination claimed, the data loaded: a [`Prepared`] run whose [`Plan`] the binary shows) and
//! [`Prepared::train`] (the fit, the test, the run written). Nothing is printed here.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use data::IMAGE_PIXELS;
use model::{Backend, BackendArg};
use run::{Checkpoint, CheckpointStore, RunPlace, RunWriter, StartedFrom, Trust, CONFIG_FILE};

use crate::config::{default_out_dir, Overrides};
use crate::plan::{parameters, Plan};
use crate::splits::load_splits;
use crate::trained::{report, write_run, Trained};
use crate::trainer::{evaluate, fit_from, Observer};
use crate::{transfer, Splits, TrainConfig, TrainError};

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

    /// Override the optimizer's learning rate η. With --resume it may only be lowered (after a
    /// divergence); the run records where.
    #[arg(long, value_name = "ETA")]
    pub learning_rate: Option<f64>,

    #[command(flatten)]
    pub backend: BackendArg,

    /// Override the config's data directory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// One plain line per epoch even on a terminal (no progress bar).
    #[arg(long)]
    pub plain: bool,

    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,

    /// Load a run (`[init] from`) or resume a checkpoint that has no seal (written before
    /// seals, or its seal deleted): nothing then shows its files are the ones written.
    #[arg(long)]
    pub allow_unsealed: bool,

    /// Train nothing: draw the config's `[augment]` distortions into this PNG file (the first
    /// training image of each digit, then eight distorted copies of it, as eight epochs would
    /// draw them) and exit.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["resume", "out"])]
    pub augmentation_picture: Option<PathBuf>,
}

impl Args {
    /// Whether what has no seal may be loaded.
    pub fn trust(&self) -> Trust {
        Trust::allowing_unsealed(self.allow_unsealed)
    }

    /// What the command line changes in the config.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            epochs: self.epochs,
            seed: self.seed,
            backend: self.backend.choice,
            data_dir: self.data_dir.clone(),
            learning_rate: self.learning_rate,
        }
    }

    /// The `--config` file with the command line applied, resolved.
    pub fn resolve_config(&self) -> Result<TrainConfig, TrainError> {
        let path = self.config.as_deref().unwrap_or(Path::new("config.toml"));
        TrainConfig::resolve(path, &self.overrides())
    }
}

/// `--augmentation-picture FILE`: the config's distortions drawn into FILE.
pub fn augmentation_picture(args: &Args, file: &Path) -> Result<PathBuf, TrainError> {
    let config = args.resolve_config()?;
    let path = args.config.clone().unwrap_or_default();
    crate::picture::augmentation_picture(&config, &path, file)
}

/// Runs `train`: [`prepare`], then [`Prepared::train`].
pub fn run(args: Args, observer: &mut dyn Observer) -> Result<Trained, TrainError> {
    prepare(&args)?.train(observer)
}

/// A run ready to train: its config resolved, its destination claimed (no other process writes
/// there now), its data loaded and checked against the network.
pub struct Prepared {
    config: TrainConfig,
    out_dir: PathBuf,
    resume: Option<Checkpoint>,
    backend: Backend,
    writer: RunWriter,
    store: CheckpointStore,
    splits: Splits,
    started_from: Option<StartedFrom>,
    plan: Plan,
}

/// Prepares the run the command line asks for: a fresh one, or `--resume`'s.
pub fn prepare(args: &Args) -> Result<Prepared, TrainError> {
    let (config, out_dir, resume, passed_over) = match &args.resume {
        Some(dir) => resume_start(args, dir)?,
        None => {
            let config = args.resolve_config()?;
            let out_dir = args.out.clone().unwrap_or_else(|| {
                default_out_dir(args.config.as_deref().unwrap_or(Path::new("run")))
            });
            (config, out_dir, None, Vec::new())
        }
    };
    let backend = Backend::resolve(config.backend)?;
    // Claim the output first: a bad --out, or another run writing there, fails before minutes
    // of training.
    let (writer, store) = claim(&config, &out_dir, resume.is_none(), args.restart)?;
    // A run that starts from another is checked against it before the data is read. A resumed
    // one continues from its checkpoint and never reads the source again (it may have changed).
    let started_from = match &config.init {
        Some(init) if resume.is_none() => {
            let source = transfer::load_source(init, &backend.device()?, args.trust())?;
            Some(transfer::plan(init, &config, &source)?)
        }
        Some(init) => Some(transfer::started_from(init, &config.model)),
        None => None,
    };
    let load_start = Instant::now();
    let splits = load_fitting_splits(&config)?;
    let plan = Plan {
        shape: config.model.shape(),
        activation: config.model.activation.name(),
        cost: config.cost.name(),
        optimizer: config.optimizer.describe(),
        batch_size: config.batch_size,
        batch_parts: config.batch_parts,
        epochs: config.epochs,
        seed: config.seed,
        train_images: splits.train.len(),
        validation_images: splits.validation.len(),
        test_images: splits.test.len(),
        data_dir: config.data_dir.clone(),
        load_seconds: load_start.elapsed().as_secs_f64(),
        backend,
        resumed_at: resume.as_ref().map(|c| c.position.step),
        passed_over,
        rate_changes: resume
            .as_ref()
            .map(|c| c.position.rate_changes.clone())
            .unwrap_or_default(),
        parameters: parameters(&config.model.sizes()),
        optimizer_copies: config.optimizer.state_copies(),
        augment: config.augment.as_ref().map(|a| a.describe()),
        class_names: config.class_names.clone(),
        per_class: config.per_class,
        started_from: started_from.clone(),
    };
    Ok(Prepared {
        config,
        out_dir,
        resume,
        backend,
        writer,
        store,
        splits,
        started_from,
        plan,
    })
}

impl Prepared {
    /// What the run is about to do.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Trains as prepared (continuing the checkpoint of a resumed run), evaluates on the test
    /// set, and writes the run. `observer` is told of progress.
    pub fn train(self, observer: &mut dyn Observer) -> Result<Trained, TrainError> {
        let Prepared {
            config,
            out_dir,
            resume,
            backend,
            writer,
            store,
            splits,
            started_from,
            ..
        } = self;
        let fitted = fit_from(&config, &splits, backend, observer, resume, Some(&store))
            .map_err(|e| at_destination(e, &out_dir, &store))?;
        let test = evaluate(&fitted.network, config.cost, &splits.test, backend)?;
        let classes = config.model.outputs;
        let run = crate::learned::Run {
            accuracy: test.accuracy,
            test_labels: splits.test.labels(),
            classes,
            train_images: splits.train.len(),
            epochs: config.epochs,
            batch_size: config.batch_size,
        };
        if let Some(verdict) = crate::learned::judge(run, || config.optimizer.suspect()) {
            // Nothing to resume: the run finished, and failed.
            let _ = std::fs::remove_dir_all(store.dir());
            return Err(TrainError::NotLearned {
                accuracy: test.accuracy,
                baseline: verdict.baseline,
                classes,
                advice: verdict.advice,
            });
        }
        let report = report(&config, &splits, &fitted, test, backend, started_from);
        write_run(writer, report, fitted, &config, &store)
    }
}

/// What `--resume` continues: the config, the destination, the checkpoint, and the newer
/// checkpoints passed over (damaged), each with why.
type ResumeStart = (
    TrainConfig,
    PathBuf,
    Option<Checkpoint>,
    Vec<(PathBuf, String)>,
);

/// The config and checkpoint that `--resume DIR` continues, checked against the command line:
/// the newest checkpoint that is whole (sealed, unless `--allow-unsealed`) and whose weights
/// are all finite.
fn resume_start(args: &Args, dir: &Path) -> Result<ResumeStart, TrainError> {
    if dir.is_file() {
        // A file of a run (its config.toml): the run is the folder; another file: a config.
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
        let advice = match parent {
            Some(run) if run.join(run::WEIGHTS_FILE).is_file() || run.join(CONFIG_FILE) == dir => {
                format!("did you mean `train --resume {}`?", run.display())
            }
            _ => format!(
                "to start a run from this config: `train --config {}`",
                dir.display()
            ),
        };
        return Err(TrainError::ResumeIsAFile {
            path: dir.to_path_buf(),
            advice,
        });
    }
    let place = RunPlace::new(dir)?;
    let checkpoints = place.checkpoints_dir();
    let backend = Backend::resolve(args.backend.choice)?;
    let device = backend.device()?;
    let finite = |checkpoint: &Checkpoint, text: &str| -> Result<(), String> {
        let config = TrainConfig::parse(text, Path::new(CONFIG_FILE)).map_err(|e| e.to_string())?;
        let network = model::network_from_bytes(&config.model, checkpoint.network.clone(), &device)
            .map_err(|e| format!("its weights cannot be read: {e}"))?;
        match run::non_finite_parameters(&network) {
            Ok(0) => Ok(()),
            Ok(n) => Err(format!("{n} of its weights are NaN or infinite")),
            Err(e) => Err(e.to_string()),
        }
    };
    let Some(resumable) = CheckpointStore::latest(&checkpoints, args.trust(), finite)? else {
        return Err(TrainError::NothingToResume {
            dir: dir.to_path_buf(),
            checkpoints,
        });
    };
    let run::Resumable {
        path,
        config: text,
        checkpoint,
        passed_over,
    } = resumable;
    let config_path = path.join(CONFIG_FILE);
    let saved = TrainConfig::parse(&text, &config_path)?;
    let asked = match &args.config {
        Some(file) => TrainConfig::load(file)?,
        None => saved.clone(),
    };
    let asked_path = args.config.as_deref().unwrap_or(&config_path);
    let asked = asked.resolve_parsed(asked_path, &args.overrides())?;
    // A lower learning rate is the one change a resumed run takes (after a divergence): the
    // rest must be the run's own.
    let (from, to) = (
        saved.optimizer.learning_rate(),
        asked.optimizer.learning_rate(),
    );
    let mut same_rate = asked.clone();
    same_rate.optimizer.set_learning_rate(from);
    // The data may have moved (`--data-dir`): where it is is not part of the run.
    same_rate.data_dir = saved.data_dir.clone();
    if to <= from && same_rate.first_difference(&saved).is_none() {
        let mut checkpoint = checkpoint;
        if to < from {
            let step = checkpoint.position.step;
            checkpoint
                .position
                .rate_changes
                .push(run::RateChange { step, from, to });
        }
        return Ok((asked, dir.to_path_buf(), Some(checkpoint), passed_over));
    }
    if to > from && same_rate.first_difference(&saved).is_none() {
        return Err(TrainError::ResumeRateRaised { from, to });
    }
    if let Some((key, given, was)) = same_rate.first_difference(&saved) {
        return Err(TrainError::ResumeMismatch {
            key,
            given,
            saved: was,
            checkpoint: config_path,
        });
    }
    Ok((saved, dir.to_path_buf(), Some(checkpoint), passed_over))
}

/// Takes the destination: its writer (holding the lock) with the resolved config written, and
/// its checkpoint store. A fresh run refuses a destination with an interrupted run's
/// checkpoints, unless `--restart` discards them.
fn claim(
    config: &TrainConfig,
    out_dir: &Path,
    fresh: bool,
    restart: bool,
) -> Result<(RunWriter, CheckpointStore), TrainError> {
    let writer = RunWriter::create(out_dir)?;
    let config_toml = config.to_toml()?;
    let checkpoints = writer.place().checkpoints_dir();
    let store = CheckpointStore::new(
        &checkpoints,
        config_toml.clone(),
        config.keep_checkpoint_every,
    );
    if fresh && restart && store.dir().exists() {
        // Discarded unread: a damaged checkpoint must not stand in the way of starting afresh.
        std::fs::remove_dir_all(store.dir()).map_err(|source| TrainError::Checkpoint {
            path: store.dir().to_path_buf(),
            source,
        })?;
    } else if fresh && CheckpointStore::any(store.dir())? {
        // What it was doing, as its checkpoint says; one that cannot be read says why, and
        // that --restart discards it.
        let resumable = CheckpointStore::latest(store.dir(), Trust::AllowUnsealed, |_, _| Ok(()))?;
        let (epoch, epochs) = resumable.map_or((0, 0), |r| {
            let epochs = TrainConfig::parse(&r.config, &r.path).map_or(0, |c| c.epochs);
            (r.checkpoint.position.epochs_done + 1, epochs)
        });
        return Err(TrainError::InterruptedRunExists {
            dir: out_dir.to_path_buf(),
            epoch,
            epochs,
            checkpoints: store.dir().to_path_buf(),
        });
    }
    writer.write(CONFIG_FILE, &config_toml)?;
    Ok((writer, store))
}

/// The config's images, checked against the network's inputs and outputs.
fn load_fitting_splits(config: &TrainConfig) -> Result<Splits, TrainError> {
    let (splits, names) = load_splits(config)?;
    for (key, value, data) in [
        ("model.inputs", config.model.inputs, IMAGE_PIXELS),
        ("model.outputs", config.model.outputs, names.len()),
    ] {
        if value != data {
            return Err(TrainError::DoesNotFitData { key, value, data });
        }
    }
    Ok(splits)
}

/// A training error told where the run goes: an interrupted run names its destination (for
/// `--resume`), a diverged one too when a checkpoint of it remains.
fn at_destination(e: TrainError, out_dir: &Path, store: &CheckpointStore) -> TrainError {
    match e {
        TrainError::Interrupted {
            epoch,
            step,
            checkpoint,
            ..
        } => TrainError::Interrupted {
            epoch,
            step,
            checkpoint,
            dest: Some(out_dir.to_path_buf()),
        },
        TrainError::Diverged {
            epoch,
            step,
            rate,
            base_rate,
            what,
            advice,
            ..
        } => TrainError::Diverged {
            epoch,
            step,
            rate,
            base_rate,
            what,
            advice,
            resumable: matches!(
                CheckpointStore::latest(store.dir(), Trust::Sealed, |_, _| Ok(())),
                Ok(Some(_))
            )
            .then(|| out_dir.to_path_buf()),
        },
        e => e,
    }
}
