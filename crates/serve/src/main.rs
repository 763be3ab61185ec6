//! `serve`: parse the arguments, load the run, say where the page is, serve until Ctrl-C.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = serve::cli::Args::parse();
    let server = match serve::cli::start(&args).await {
        Ok(server) => server,
        Err(e) => anyhow::bail!("{}", model::describe_error(&e)),
    };
    println!("{server}");
    server
        .run(async {
            // Without a signal handler the server runs until killed, which is no worse.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await?;
    Ok(())
}
