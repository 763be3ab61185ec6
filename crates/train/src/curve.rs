//! The evidence of transfer learning: for one target config (its data, classes and network,
//! and an `[init]` table naming the base run), test accuracy against labelled examples per
//! class, for three ways of training: from scratch, fine-tuning every layer of the base, and
//! fine-tuning with the base's hidden layers frozen. Each count of examples is trained with
//! several seeds; nothing is written but `curve.csv` and `curve.svg`. The table is rewritten
//! after every training, so an interrupted curve keeps what it had measured.

use std::fmt;
use std::path::{Path, PathBuf};

use clap::Parser;
use data::Labelled;
use model::{Backend, BackendArg};
use serde::Serialize;

use crate::config::{Keep, Overrides};
use crate::trainer::{evaluate, fit, Silent};
use crate::Splits;
use crate::{transfer, TrainConfig, TrainError};

/// Measure what starting from a trained network is worth: test accuracy against labelled
/// examples per class, from scratch and from the config's `[init]` base run.
#[derive(Debug, Clone, Parser)]
#[command(name = "curve", version)]
pub struct CurveArgs {
    /// The target config: its data, `classes`, network and optimizer, and an `[init]` table
    /// naming the base run (`reset_output` as the classes need).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// Labelled training examples per class to measure at; `all` for every image.
    #[arg(long, value_delimiter = ',', default_value = "1,5,10,50,100,500,all")]
    pub counts: Vec<Examples>,

    /// Seeds each count is trained with (the choice of examples, the fresh weights, the batch
    /// order).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub seeds: Vec<u64>,

    /// Override the config's number of epochs.
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,

    /// Epochs for the `all` count [default: as the others]: a few-shot config trains many
    /// cheap epochs, which on every image would take hours.
    #[arg(long, value_name = "N")]
    pub all_epochs: Option<usize>,

    #[command(flatten)]
    pub backend: BackendArg,

    /// Start from an `[init]` run that has no seal (written before seals, or its seal deleted).
    #[arg(long)]
    pub allow_unsealed: bool,

    /// Where `curve.csv` and `curve.svg` go [default: artifacts/curve-NAME, for a config
    /// NAME.toml].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Examples per class: a number, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Examples {
    PerClass(usize),
    All,
}

impl std::str::FromStr for Examples {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "all" => Ok(Examples::All),
            n => match n.parse::<usize>() {
                Ok(0) | Err(_) => Err(format!(
                    "{n:?} is not a count of examples per class: give a number from 1, or `all`"
                )),
                Ok(n) => Ok(Examples::PerClass(n)),
            },
        }
    }
}

/// One way of training that the curve compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Way {
    /// Fresh random weights: the config without its `[init]` table.
    Scratch,
    /// The base run's weights, every layer trained (`freeze = 0`).
    FineTune,
    /// The base run's weights, its hidden layers frozen: only the output layer trains.
    Frozen,
}

impl Way {
    const ALL: [Way; 3] = [Way::Scratch, Way::FineTune, Way::Frozen];

    /// The name in the CSV: `scratch`, `fine_tune`, `frozen`.
    pub fn name(self) -> &'static str {
        match self {
            Way::Scratch => "scratch",
            Way::FineTune => "fine_tune",
            Way::Frozen => "frozen",
        }
    }

    /// The name in the picture's legend.
    fn label(self) -> &'static str {
        match self {
            Way::Scratch => "from scratch",
            Way::FineTune => "from the base, every layer fine-tuned",
            Way::Frozen => "from the base, hidden layers frozen",
        }
    }

    /// `config` changed to train this way.
    fn apply(self, config: &TrainConfig) -> TrainConfig {
        let mut config = config.clone();
        let hidden = config.model.hidden.len();
        match self {
            Way::Scratch => config.init = None,
            Way::FineTune => config.init.iter_mut().for_each(|i| i.freeze = 0),
            Way::Frozen => config.init.iter_mut().for_each(|i| i.freeze = hidden),
        }
        config
    }
}

/// One training measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    pub way: Way,
    /// The examples per class asked for (`None`: all).
    pub per_class: Option<usize>,
    pub seed: u64,
    /// Training images used (all classes together).
    pub train_images: usize,
    /// Epochs trained.
    pub epochs: usize,
    pub test_accuracy: f64,
}

impl fmt::Display for CurvePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self
            .per_class
            .map_or_else(|| "all".to_string(), |n| n.to_string());
        write!(
            f,
            "{:<9} {count:>5} per class  seed {:<3} {:>6} images  {:>3} epochs  test accuracy \
             {:6.2}%",
            self.way.name(),
            self.seed,
            self.train_images,
            self.epochs,
            100.0 * self.test_accuracy
        )
    }
}

/// The measured curve, and where it was written.
#[derive(Debug, Clone, Serialize)]
pub struct Curve {
    pub out_dir: PathBuf,
    pub classes: Vec<String>,
    pub points: Vec<CurvePoint>,
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "wrote {} and {}",
            self.out_dir.join(CSV_FILE).display(),
            self.out_dir.join(SVG_FILE).display()
        )
    }
}

/// The table of a curve.
pub const CSV_FILE: &str = "curve.csv";
/// The picture of a curve.
pub const SVG_FILE: &str = "curve.svg";

/// Runs `curve`: trains every way at every count with every seed, tells `progress` of each
/// result, and writes `curve.csv` and `curve.svg`.
pub fn run(args: &CurveArgs, progress: &mut dyn FnMut(&CurvePoint)) -> Result<Curve, TrainError> {
    let config = curve_config(args)?;
    let Some(init) = config.init.clone() else {
        return Err(TrainError::CurveNeedsInit {
            config: args.config.clone(),
        });
    };
    let backend = Backend::resolve(config.backend)?;
    // The base must fit before any training starts.
    let trust = run::Trust::allowing_unsealed(args.allow_unsealed);
    let source = transfer::load_source(&init, &backend.device()?, trust)?;
    for way in [Way::FineTune, Way::Frozen] {
        transfer::plan(&init, &way.apply(&config), &source)?;
    }
    let data = Labelled::load(&config.data_dir, config.classes.as_deref())?;
    if data.test.is_empty() {
        return Err(TrainError::EmptyDataset("test set"));
    }
    // The config's names: those of the data, or those it gives classes the files only number.
    let names = config.class_names.clone().unwrap_or(data.names);
    let out_dir = (args.out.clone()).unwrap_or_else(|| default_out_dir(&args.config));
    let mut points = Vec::new();
    for &count in &args.counts {
        for &seed in &args.seeds {
            let train = match count {
                Examples::PerClass(n) => data.train.per_class(n, &names, seed)?,
                Examples::All => data.train.clone(),
            };
            let splits = Splits {
                validation: train.head(0),
                train,
                test: data.test.clone(),
            };
            for way in Way::ALL {
                let point = train_point(args, &config, &splits, way, count, seed, backend)?;
                points.push(point.clone());
                write_atomically(&out_dir, CSV_FILE, &csv(&points))?;
                progress(&point);
            }
        }
    }
    let title = format!(
        "{}: {}, {} seed{}",
        args.config
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
        classes_title(&names),
        args.seeds.len(),
        if args.seeds.len() == 1 { "" } else { "s" }
    );
    write_atomically(&out_dir, CSV_FILE, &csv(&points))?;
    write_atomically(&out_dir, SVG_FILE, &svg(&title, &points, names.len()))?;
    Ok(Curve {
        out_dir,
        classes: names,
        points,
    })
}

/// The target config with the command line applied, resolved: trained without validation
/// (every image of the training split is a candidate example) and to the last epoch.
fn curve_config(args: &CurveArgs) -> Result<TrainConfig, TrainError> {
    let mut config = TrainConfig::load(&args.config)?;
    Overrides {
        epochs: args.epochs,
        backend: args.backend.choice,
        ..Overrides::default()
    }
    .apply(&mut config);
    for (flag, value) in [("all-epochs", args.all_epochs), ("epochs", args.epochs)] {
        if value == Some(0) {
            return Err(TrainError::Flag {
                flag,
                message: "is 0: give at least 1",
            });
        }
    }
    config.validation = 0;
    config.keep = Keep::Last;
    config.per_class = None;
    config.finish(&args.config)
}

/// One point of the curve: the config trained `way` on `splits` from `seed`, and tested.
fn train_point(
    args: &CurveArgs,
    config: &TrainConfig,
    splits: &Splits,
    way: Way,
    count: Examples,
    seed: u64,
    backend: Backend,
) -> Result<CurvePoint, TrainError> {
    let mut run = way.apply(config);
    run.seed = seed;
    if count == Examples::All {
        run.epochs = args.all_epochs.unwrap_or(run.epochs);
    }
    let fitted = fit(&run, splits, backend, &mut Silent)?;
    let score = evaluate(&fitted.network, run.cost, &splits.test, backend)?;
    Ok(CurvePoint {
        way,
        per_class: match count {
            Examples::PerClass(n) => Some(n),
            Examples::All => None,
        },
        seed,
        train_images: splits.train.len(),
        epochs: run.epochs,
        test_accuracy: score.accuracy,
    })
}

/// The classes in the picture's title: all of them when short (`classes 5, 6, 7, 8, 9`), else
/// the count and the first and last (`10 classes, T-shirt/top to Ankle boot`).
fn classes_title(names: &[String]) -> String {
    let all = names.join(", ");
    match (names.first(), names.last()) {
        (Some(first), Some(last)) if all.chars().count() > 40 => {
            format!("{} classes, {first} to {last}", names.len())
        }
        _ => format!("classes {all}"),
    }
}

/// `artifacts/curve-NAME` for a config `NAME.toml`.
fn default_out_dir(config: &Path) -> PathBuf {
    let stem = config
        .file_stem()
        .map_or_else(|| "run".into(), |s| s.to_string_lossy().into_owned());
    Path::new("artifacts").join(format!("curve-{stem}"))
}

/// One row per training: `way,per_class,seed,train_images,epochs,test_accuracy` (`per_class`
/// is `all` for every image).
pub fn csv(points: &[CurvePoint]) -> String {
    let mut csv = String::from("way,per_class,seed,train_images,epochs,test_accuracy\n");
    for p in points {
        let count = p
            .per_class
            .map_or_else(|| "all".to_string(), |n| n.to_string());
        csv.push_str(&format!(
            "{},{count},{},{},{},{}\n",
            p.way.name(),
            p.seed,
            p.train_images,
            p.epochs,
            p.test_accuracy
        ));
    }
    csv
}

/// The picture: per way, the mean and spread over seeds at each count. `all` sits at the mean
/// number of training images per class.
pub fn svg(title: &str, points: &[CurvePoint], classes: usize) -> String {
    let series = Way::ALL
        .iter()
        .map(|&way| {
            let mut counts: Vec<Option<usize>> = points
                .iter()
                .filter(|p| p.way == way)
                .map(|p| p.per_class)
                .collect();
            counts.dedup();
            let mut points: Vec<pictures::LabelPoint> = counts
                .iter()
                .map(|&count| {
                    let at: Vec<&CurvePoint> = points
                        .iter()
                        .filter(|p| p.way == way && p.per_class == count)
                        .collect();
                    let acc = at.iter().map(|p| p.test_accuracy);
                    let n = at.len().max(1) as f64;
                    let images = at.iter().map(|p| p.train_images as f64).sum::<f64>() / n;
                    pictures::LabelPoint {
                        per_class: count.map_or(images / classes.max(1) as f64, |c| c as f64),
                        mean: acc.clone().sum::<f64>() / n,
                        min: acc.clone().fold(f64::INFINITY, f64::min),
                        max: acc.fold(f64::NEG_INFINITY, f64::max),
                    }
                })
                .collect();
            points.sort_by(|a, b| a.per_class.total_cmp(&b.per_class));
            pictures::LabelSeries {
                name: way.label().to_string(),
                points,
            }
        })
        .collect::<Vec<_>>();
    pictures::labels_curve_svg(title, &series)
}

/// Writes `dir/name` whole or not at all ([`run::write_file`]).
fn write_atomically(dir: &Path, name: &str, text: &str) -> Result<(), TrainError> {
    let path = dir.join(name);
    run::write_file(&path, text.as_bytes())
        .map_err(|source| TrainError::WriteCurve { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_names_few_classes_and_counts_many() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            classes_title(&names(&["5", "6", "7", "8", "9"])),
            "classes 5, 6, 7, 8, 9"
        );
        let clothes = [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
        ];
        assert_eq!(
            classes_title(&names(&[&clothes[..], &["Ankle boot"]].concat())),
            "7 classes, T-shirt/top to Ankle boot"
        );
    }
}
