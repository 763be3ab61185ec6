//! `train`: parse the arguments, show progress, stop cleanly on Ctrl-C, print the outcome.
//!
//! Exit status: 0 when the run was written, 1 when it failed, 2 for a usage error (clap), 130
//! when interrupted (after saving a checkpoint that `--resume` continues).

#![forbid(unsafe_code)]

mod progress;

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser;
use train::{EpochMetrics, Observer, TrainError};

use progress::Progress;

/// Signals received: the first asks training to stop after its current step, the second ends
/// the process at once.
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// Progress (or none, with `--quiet`), and the stop request.
struct Cli {
    progress: Option<Progress>,
}

impl Observer for Cli {
    fn epoch_started(&mut self, epoch: usize, batches: usize) {
        if let Some(p) = &mut self.progress {
            p.epoch_started(epoch, batches);
        }
    }
    fn batch_done(&mut self) {
        if let Some(p) = &mut self.progress {
            p.batch_done();
        }
    }
    fn epoch_done(&mut self, metrics: &EpochMetrics) {
        if let Some(p) = &mut self.progress {
            p.epoch_done(metrics);
        }
    }
    fn should_stop(&self) -> bool {
        SIGNALS.load(Ordering::Relaxed) > 0
    }
}

fn main() -> ExitCode {
    let args = train::cli::Args::parse();
    let quiet = args.quiet;
    // SIGINT and SIGTERM: the first lets the current step finish and a checkpoint be written.
    let _ = ctrlc::set_handler(|| {
        if SIGNALS.fetch_add(1, Ordering::SeqCst) > 0 {
            std::process::exit(130);
        }
    });
    if let Some(file) = args.augmentation_picture.clone() {
        return match train::cli::augmentation_picture(&args, &file) {
            Ok(path) => {
                if !quiet {
                    let _ = writeln!(std::io::stdout(), "wrote {}", path.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {:#}", anyhow::Error::from(e));
                ExitCode::from(1)
            }
        };
    }
    let mut cli = Cli {
        progress: (!quiet).then(|| Progress::for_stdout(args.plain)),
    };
    let outcome = train::cli::prepare(&args).and_then(|prepared| {
        if let Some(progress) = &mut cli.progress {
            progress.show_plan(prepared.plan());
        }
        prepared.train(&mut cli)
    });
    // The progress bar is cleared before anything else is printed.
    drop(cli);
    match outcome {
        Ok(trained) => {
            if !quiet {
                // A closed pipe loses nothing: the run is already written.
                let _ = writeln!(std::io::stdout(), "{trained}");
            }
            ExitCode::SUCCESS
        }
        Err(e @ TrainError::Interrupted { .. }) => {
            // An interruption has no cause: its message is the whole story.
            eprintln!("{e}");
            if let TrainError::Interrupted {
                dest: Some(dir), ..
            } = &e
            {
                let exe = std::env::args().next().unwrap_or_else(|| "train".into());
                eprintln!("to continue: {exe} --resume {}", dir.display());
            }
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {:#}", anyhow::Error::from(e));
            ExitCode::FAILURE
        }
    }
}
