//! `train`: parse the arguments, show progress, print the outcome.

mod progress;

use clap::Parser;
use train::{Observer, Silent};

use progress::Progress;

fn main() -> anyhow::Result<()> {
    let args = train::cli::Args::parse();
    let quiet = args.quiet;
    let mut observer: Box<dyn Observer> = if quiet {
        Box::new(Silent)
    } else {
        Box::new(Progress::for_stdout(args.plain))
    };
    let trained = train::cli::run(args, observer.as_mut())?;
    drop(observer);
    if !quiet {
        use std::io::Write;
        // A closed pipe loses nothing: the run is already written.
        let _ = writeln!(std::io::stdout(), "{trained}");
    }
    Ok(())
}
