//! The `serve` command as a library: its arguments, and [`start`], which loads the run, binds
//! the address and returns a [`Server`] ready to run.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use model::BackendArg;
use tokio::net::TcpListener;

use crate::guard::AllowedHosts;
use crate::runs::Runs;
use crate::teach::TeachDir;
use crate::{router, App, Limits, ServeError, Settings};

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
    /// anyone who can reach it. Port 0 picks a free port. HOST may be a name (localhost:8000).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8000", value_parser = listen_addr)]
    pub addr: SocketAddr,

    /// A host name the page may be opened under, besides IP addresses and localhost (which
    /// are always answered): this machine's name on your network, such as `pc.lan`. Others
    /// are refused, a guard against DNS rebinding. Repeat it for more names; `.example.org`
    /// allows that domain and the names under it.
    #[arg(long = "allowed-host", value_name = "NAME", value_parser = host_name_arg)]
    pub allowed_hosts: Vec<String>,

    #[command(flatten)]
    pub backend: BackendArg,

    /// Largest request body, in bytes (1024 to 1 GiB).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().body_bytes, value_parser = body_limit)]
    pub body_limit: usize,

    /// Longest a request may take, in seconds (0.1 to 3600).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = seconds)]
    pub timeout: f64,

    /// Where teach mode saves the digits drawn on the page, as an image folder
    /// (`train/<digit>/`, `test/<digit>/`, `originals/<digit>/`) that
    /// `train --config configs/mine.toml` fine-tunes on. Created at the first drawing.
    #[arg(long, value_name = "DIR", default_value = crate::teach::DEFAULT_DIR)]
    pub teach_dir: PathBuf,

    /// Load runs that have no seal (written before seals, or their seal deleted): nothing then
    /// shows their weights and config are the ones `train` wrote.
    #[arg(long)]
    pub allow_unsealed: bool,

    /// Save nothing: teach mode is off, and its endpoints answer 403.
    #[arg(long, conflicts_with = "teach_dir")]
    pub no_teach: bool,
}

/// `--addr`'s value: an address and port, or a host name and port (`localhost:8000`), resolved
/// once here (an IPv4 address first, where the name has one).
fn listen_addr(value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse() {
        return Ok(addr);
    }
    let usage = || {
        format!(
            "{value:?} is not HOST:PORT: give an address and a port, such as 127.0.0.1:8000, \
             0.0.0.0:8000 or localhost:8000"
        )
    };
    let (host, port) = value.rsplit_once(':').ok_or_else(usage)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(usage());
    }
    let found: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&(host, 0))
        .map_err(|e| format!("cannot find the address of {host:?}: {e}"))?
        .collect();
    let port = port.parse::<u16>().map_err(|_| usage())?;
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or(found.first())
        .map(|a| SocketAddr::new(a.ip(), port))
        .ok_or_else(|| format!("{host:?} has no address"))
}

/// `--timeout`'s value: seconds, more than 0 and at most an hour.
fn seconds(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.1..=3600.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "{value:?} is not a number of seconds from 0.1 to 3600 (the default is 10)"
        )),
    }
}

/// `--body-limit`'s value: bytes, from 1024 (a small drawing's PNG) to 1 GiB.
fn body_limit(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1024..=1 << 30).contains(&n) => Ok(n),
        _ => Err(format!(
            "{value:?} is not a number of bytes from 1024 to 1073741824 (the default is {}, \
             and the page's drawings are a few kilobytes)",
            Limits::default().body_bytes
        )),
    }
}

/// `--allowed-host`'s value: a host name alone (no scheme, port, path or wildcard), since it is
/// compared with the name part of each request's `Host`.
fn host_name_arg(value: &str) -> Result<String, String> {
    let name = value.trim();
    let valid = !name.is_empty()
        && !name.trim_start_matches('.').is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if valid {
        Ok(name.to_string())
    } else {
        Err(format!(
            "{value:?} is not a host name: give the name alone, such as pc.lan (no http://, no \
             :port; IP addresses and localhost are always allowed), or .example.org for a \
             domain and the names under it"
        ))
    }
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
        let limits = *self.app.limits();
        crate::server::serve(self.listener, router(self.app), limits, shutdown).await;
        Ok(())
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
            let names = self.app.hosts().names();
            write!(
                f,
                "\nopen it from another machine by this machine's IP address \
                 (http://ADDRESS:{}/); {}",
                self.addr.port(),
                if names.is_empty() {
                    "to open it by a name, name it with --allowed-host NAME (other names are \
                     refused: DNS rebinding)"
                        .to_string()
                } else {
                    format!("or by the names {}", names.join(", "))
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
    let trust = run::Trust::allowing_unsealed(args.allow_unsealed);
    let runs =
        tokio::task::spawn_blocking(move || Runs::open_with(&model, &artifacts, backend, trust))
            .await
            .map_err(|e| ServeError::Serve(std::io::Error::other(e)))??;
    let limits = Limits {
        // Checked when the arguments were parsed; arguments made in code are held to the same.
        timeout: Duration::from_secs_f64(seconds(&args.timeout.to_string()).map_err(|why| {
            ServeError::Argument {
                flag: "timeout",
                why,
            }
        })?),
        body_bytes: body_limit(&args.body_limit.to_string()).map_err(|why| {
            ServeError::Argument {
                flag: "body-limit",
                why,
            }
        })?,
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
        app: App::with(
            runs,
            Settings {
                limits,
                teach: (!args.no_teach).then(|| TeachDir::new(&args.teach_dir)),
                hosts: AllowedHosts::new(&args.allowed_hosts),
            },
        ),
        addr,
    })
}
