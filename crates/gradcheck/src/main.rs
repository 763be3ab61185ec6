//! `gradcheck`: parse the arguments, run the command, print its output as text or JSON.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use gradcheck::cli::{run, run_trace, run_train, Cli, Command, TrainObserver};
use gradcheck::training::{EpochRecord, TrainOptions, Training};

/// Exit status: 0 when every check passed, 1 when one failed, 2 when the check could not run.
fn main() -> ExitCode {
    match check() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Writes `text` to standard output. A reader that stops early (`| head`) is no failure: a
/// check's verdict stands in the exit status, and training goes on, so a write error is
/// ignored rather than a panic.
fn print(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// `gradcheck train`'s text as it goes: the header, then a line per epoch as it ends. With
/// `--json`, nothing until the end.
struct EpochLines {
    json: bool,
    /// When the first step ended, and when a progress line was last printed.
    started: Option<std::time::Instant>,
    last: Option<std::time::Instant>,
}

impl TrainObserver for EpochLines {
    fn started(&mut self, options: &TrainOptions) {
        if !self.json {
            print(&format!("{}\n", Training::header(options)));
            if let Some(note) = gradcheck::size::note(&options.sizes) {
                print(&format!("{note}\n"));
            }
        }
    }

    fn epoch_done(&mut self, record: &EpochRecord, epochs: usize) {
        if !self.json {
            print(&format!("{}\n", record.line(epochs)));
        }
    }

    /// On long work (a large network), a line every 10 s: which step, and how long it has run.
    fn step_done(&mut self, epoch: usize, step: usize, of: usize) {
        let started = *self.started.get_or_insert_with(std::time::Instant::now);
        let now = std::time::Instant::now();
        if !self.json && now.duration_since(self.last.unwrap_or(started)).as_secs() >= 10 {
            self.last = Some(now);
            print(&format!(
                "  epoch {epoch}: step {step} of {of} done ({:.0} s so far)\n",
                now.duration_since(started).as_secs_f64()
            ));
        }
    }
}

/// Runs what the arguments ask for and prints its output; whether every comparison of the
/// check passed (a trace or a training run always passes).
fn check() -> anyhow::Result<bool> {
    match Cli::parse().command() {
        Command::Check(args) => {
            let json = args.json;
            let checked = run(args)?;
            if json {
                print(&format!("{}\n", checked.report.to_json()));
            } else {
                print(&format!("{checked}\n"));
            }
            Ok(checked.report.passed)
        }
        Command::Trace(args) => {
            let trace = run_trace(&args)?;
            if args.json {
                print(&format!("{}\n", trace.to_json()));
            } else {
                print(&trace.text());
            }
            Ok(true)
        }
        Command::Train(args) => {
            let training = run_train(
                &args,
                &mut EpochLines {
                    json: args.json,
                    started: None,
                    last: None,
                },
            )?;
            if args.json {
                let mut json = serde_json::to_value(&training)?;
                json["warning"] = training.warning().into();
                print(&format!("{json}\n"));
            } else {
                print(&format!("{}\n", training.summary()));
            }
            Ok(true)
        }
    }
}
