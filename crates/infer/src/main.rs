use clap::Parser;

fn main() -> anyhow::Result<()> {
    let args = infer::cli::Args::parse();
    println!("{}", infer::cli::run(&args)?);
    Ok(())
}
