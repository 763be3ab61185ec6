//! The `serve` command as a library: its arguments, and [`start`], which loads the run, binds
//! the address and returns a [`Server`] ready to run.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use model::BackendArg;
use tokio::net::TcpListener;

use crate::runs::Runs;
use crate::teach::TeachDir;
use crate::{router, App, Limits, ServeError};

/// Serve a page where you draw a digit and a trained network reads it live, and the JSON API
/// the page uses.
#[derive(Debug, Clone, Parser)]
#[command(name = "serve", version)]
pub struct Args {
    /// The run directory written by `train`, answering when a request names no run.
    #[arg(long, value_name = "DIR", default_value = "artifacts/mlp")]
    pub model: PathBuf,

    /// Where the other runs the page can switch to are (each directory with a trained run).
    #[arg(long, value_name = "DIR", default_value = "artifacts")]
    pub artifacts: PathBuf,

    /// The address to listen on. The default answers this machine only; 0.0.0.0:8000 answers
    /// anyone who can reach it. Port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,

    #[command(flatten)]
    pub backend: BackendArg,

    /// Largest request body, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().body_bytes)]
    pub body_limit: usize,

    /// Longest a request may take, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub timeout: f64,

    /// Where teach mode saves the digits drawn on the page, as an image folder
    /// (`train/<digit>/`, `test/<digit>/`, `originals/<digit>/`) that
    /// `train --config configs/mine.toml` fine-tunes on. Created at the first drawing.
    #[arg(long, value_name = "DIR", default_value = crate::teach::DEFAULT_DIR)]
    pub teach_dir: PathBuf,

    /// Save nothing: teach mode is off, and its endpoints answer 403.
    #[arg(long, conflicts_with = "teach_dir")]
    pub no_teach: bool,
}

/// A server bound to its address, with its run loaded.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    app: App,
    addr: SocketAddr,
}

impl Server {
    /// The address it listens on (the port chosen, when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then finishes the requests under way.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        axum::serve(self.listener, router(self.app))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServeError::Serve)
    }
}

impl fmt::Display for Server {
    /// What the server says when it starts: the run, and where to open the page.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runs = self.app.runs();
        let run = &runs.default_run().run;
        write!(
            f,
            "serve: {} ({} network, {} cost) on {}",
            run.dir.display(),
            run.spec.model.shape(),
            run.spec.cost.name(),
            runs.backend()
        )?;
        if !self.addr.ip().is_loopback() {
            write!(
                f,
                "\nlistening on {}: anyone who can reach this machine on port {} can use the \
                 page and the API (there is no login){}",
                self.addr.ip(),
                self.addr.port(),
                if self.app.teach().is_ok() {
                    ", and save drawings into the teach folder (--no-teach stops that)"
                } else {
                    ""
                }
            )?;
        }
        let host = if self.addr.ip().is_unspecified() {
            format!("127.0.0.1:{}", self.addr.port())
        } else {
            self.addr.to_string()
        };
        match self.app.teach() {
            Ok(teach) => write!(
                f,
                "\nteach mode saves drawings into {} (--no-teach: off)",
                teach.dir().display()
            )?,
            Err(_) => write!(f, "\nteach mode is off (--no-teach)")?,
        }
        write!(f, "\nopen http://{host}/  (Ctrl-C stops)")
    }
}

/// Loads the run (the errors `infer` gives for a missing or damaged one) and binds the address.
pub async fn start(args: &Args) -> Result<Server, ServeError> {
    let backend = args.backend.resolve()?;
    let (model, artifacts) = (args.model.clone(), args.artifacts.clone());
    let runs = tokio::task::spawn_blocking(move || Runs::open(&model, &artifacts, backend))
        .await
        .map_err(|e| ServeError::Serve(std::io::Error::other(e)))??;
    let limits = Limits {
        body_bytes: args.body_limit,
        timeout: Duration::try_from_secs_f64(args.timeout)
            .ok()
            .filter(|t| !t.is_zero())
            .unwrap_or(Limits::default().timeout),
        ..Limits::default()
    };
    let listener = TcpListener::bind(args.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: args.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: args.addr,
        source,
    })?;
    Ok(Server {
        listener,
        app: App::with_teach(
            runs,
            limits,
            (!args.no_teach).then(|| TeachDir::new(&args.teach_dir)),
        ),
        addr,
    })
}
