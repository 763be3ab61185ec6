//! The application: its shared state ([`App`]), the routes, and the layers around them (the
//! body limit, the timeouts, and JSON bodies for the errors those layers answer).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::guard::{self, AllowedHosts};
use crate::runs::Runs;
use crate::teach::TeachDir;
use crate::{api, explain, page, ApiError};

/// Pictures of more pixels than this are large: decoded in a lane of their own, within a budget
/// of pixels, so that they never hold up the drawings the page sends (78,400 pixels) or a phone
/// photo it scaled down (under a megapixel).
pub const LARGE_PIXELS: u64 = 2_000_000;
/// The pixels of large pictures being decoded at once: one picture at the 64-megapixel limit,
/// or several smaller ones.
pub const PIXEL_BUDGET: u64 = data::preprocess::MAX_PIXELS;

/// The bounds every request is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, in bytes (a larger one is answered 413).
    pub body_bytes: usize,
    /// Longest a request may take, body included (then 408); also how long a connection may
    /// take to send a request's headers, or idle between requests, before it is closed.
    pub timeout: Duration,
    /// Decodings and predictions at once; the others wait their turn.
    pub workers: usize,
    /// Connections at once; more wait to be accepted until one closes.
    pub connections: usize,
    /// How long a large picture waits for its turn before the answer is 503 (try again).
    pub large_wait: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 1 << 20,
            timeout: Duration::from_secs(10),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            connections: crate::server::connection_cap(),
            large_wait: Duration::from_secs(2),
        }
    }
}

impl Limits {
    /// The error for a body over [`Limits::body_bytes`].
    pub fn too_large(&self) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is over the limit of {} bytes; send a smaller picture (the \
                 page sends its canvas as a PNG of a few kilobytes)",
                self.body_bytes
            ),
        )
    }
}

/// How the application is set up besides its runs.
#[derive(Debug, Default)]
pub struct Settings {
    pub limits: Limits,
    /// Where teach mode saves drawings; `None` (`--no-teach`): teach mode is off, and its
    /// endpoints say so.
    pub teach: Option<TeachDir>,
    /// The host names answered besides addresses and `localhost` (`--allowed-host`).
    pub hosts: AllowedHosts,
}

/// What every request shares: the runs and the settings. Cloning it is cheap.
#[derive(Debug, Clone)]
pub struct App(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    runs: Runs,
    limits: Limits,
    teach: Option<TeachDir>,
    hosts: Arc<AllowedHosts>,
    /// One permit per decoding or prediction under way.
    workers: Arc<Semaphore>,
    /// Large pictures: one permit per decoding under way (one worker fewer than the others
    /// have, so that a core stays for them)...
    large: Arc<Semaphore>,
    /// ...and one per megapixel being decoded, [`PIXEL_BUDGET`] in all.
    pixels: Arc<Semaphore>,
}

impl App {
    /// The application over `runs`, without teach mode ([`App::with`] sets it up).
    pub fn new(runs: Runs, limits: Limits) -> App {
        App::with(
            runs,
            Settings {
                limits,
                ..Settings::default()
            },
        )
    }

    /// The application over `runs`, set up by `settings`.
    pub fn with(runs: Runs, settings: Settings) -> App {
        let Settings {
            limits,
            teach,
            hosts,
        } = settings;
        App(Arc::new(Shared {
            runs,
            limits,
            teach,
            hosts: Arc::new(hosts),
            workers: Arc::new(Semaphore::new(limits.workers.max(1))),
            large: Arc::new(Semaphore::new(limits.workers.saturating_sub(1).max(1))),
            pixels: Arc::new(Semaphore::new(megapixels(PIXEL_BUDGET) as usize)),
        }))
    }

    /// The host names answered besides addresses and `localhost`.
    pub fn hosts(&self) -> &AllowedHosts {
        &self.0.hosts
    }

    pub fn runs(&self) -> &Runs {
        &self.0.runs
    }

    pub fn limits(&self) -> &Limits {
        &self.0.limits
    }

    /// The teach folder, or the 403 that says teach mode is off.
    pub fn teach(&self) -> Result<&TeachDir, ApiError> {
        self.0.teach.as_ref().ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "teach mode is off: this server was started with --no-teach, so it saves no \
                 drawings (start it without --no-teach to teach it your handwriting)",
            )
        })
    }

    /// [`App::blocking`] for work on a picture of `pixels` pixels: a large one (over
    /// [`LARGE_PIXELS`]) waits in a lane of its own, within [`PIXEL_BUDGET`], at most
    /// [`Limits::large_wait`], and is then answered 503 with `Retry-After`; smaller ones go straight
    /// to the workers. So however many large pictures arrive at once, a drawing is answered as
    /// fast as when the server is idle, give or take the CPU the large ones use.
    pub async fn blocking_sized<T: Send + 'static>(
        &self,
        pixels: u64,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        if pixels <= LARGE_PIXELS {
            return self.blocking(work).await;
        }
        // A header claiming more than any picture may have is refused as decoding would refuse
        // it, without waiting for the lane (a few bytes must not hold up real photos).
        if pixels > data::preprocess::MAX_PIXELS {
            return Err(ApiError::unreadable(format!(
                "the picture says it has {pixels} pixels, over the limit of {}; scale it down \
                 (a digit needs a few hundred pixels a side)",
                data::preprocess::MAX_PIXELS
            )));
        }
        let units = megapixels(pixels.min(PIXEL_BUDGET));
        let busy = || {
            ApiError::busy(
                format!(
                    "the server is busy with other large pictures; try again in a second, or \
                     send a smaller picture (this one is {:.0} megapixels; a digit needs under \
                     one, and the page scales a picture to 1024 pixels a side)",
                    pixels as f64 / 1e6
                ),
                1,
            )
        };
        let permits = tokio::time::timeout(self.0.limits.large_wait, async {
            let lane = Arc::clone(&self.0.large).acquire_owned().await;
            let budget = Arc::clone(&self.0.pixels).acquire_many_owned(units).await;
            (lane, budget)
        })
        .await
        .map_err(|_| busy())?;
        let (Ok(lane), Ok(budget)) = permits else {
            return Err(ApiError::internal("the server is shutting down"));
        };
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop((lane, budget));
            result
        })
        .await
        .map_err(|_| ApiError::internal("the prediction failed unexpectedly"))?
    }

    /// Runs `work` on tokio's blocking pool once a worker is free, so that decoding a picture
    /// or loading a run never stalls the async executor, and at most [`Limits::workers`] such
    /// jobs (each bounded in memory by `infer`'s limits) run at once.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = Arc::clone(&self.0.workers)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal("the server is shutting down"))?;
        // The permit goes with the work: a request that times out or whose client leaves
        // stops waiting, but its work holds its place until it is done.
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|_| ApiError::internal("the prediction failed unexpectedly"))?
    }
}

/// The routes and their layers, ready to serve.
pub fn router(app: App) -> Router {
    let limits = *app.limits();
    let hosts = Arc::clone(&app.0.hosts);
    // The routes that write, each behind the same-origin rule (`guard`).
    let writes = Router::new()
        .route(
            "/api/teach",
            post(api::teach).delete(api::forget).get(api::teach_folder),
        )
        .route_layer(middleware::from_fn(guard::same_origin_writes));
    Router::new()
        .route("/", get(page::index))
        .route("/api/predict", post(api::predict))
        .route("/api/explain", post(explain::explain))
        .route("/api/runs", get(api::runs))
        .route("/health", get(api::health))
        .merge(writes)
        .fallback(not_found)
        .with_state(app)
        // Innermost first: the body limit is checked before the handler reads the body, the
        // timeouts bound the whole request and its body, and whatever answer those layers
        // (or axum itself: 405) give without a JSON body is given one.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(limits.body_bytes))
        .layer(RequestBodyTimeoutLayer::new(limits.timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.timeout,
        ))
        .layer(middleware::from_fn_with_state(limits, json_errors))
        // Before anything is read: a request naming a host this server does not answer to.
        .layer(middleware::from_fn_with_state(hosts, guard::check_host))
        // And before that, one whose address or headers are too long to be a client's.
        .layer(middleware::from_fn(sizes))
        .layer(middleware::from_fn(security_headers))
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "there is nothing at {}: the page is at /, the API at /api/predict, /api/teach, \
             /api/runs and /health",
            request.uri().path()
        ),
    )
}

/// Error answers without a JSON body (from the layers, or axum's 405) get one, so that every
/// error a client sees is `{"error": "..."}`.
async fn json_errors(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => limits.too_large(),
        StatusCode::REQUEST_TIMEOUT => ApiError::new(
            status,
            format!(
                "the request took longer than {} s",
                limits.timeout.as_secs_f64()
            ),
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::new(status, format!("{method} is not allowed here"))
        }
        _ => ApiError::new(
            status,
            status.canonical_reason().unwrap_or("error").to_lowercase(),
        ),
    };
    let mut json = error.into_response();
    // Keep what the layer said beyond the status (`Allow` on a 405).
    for (name, value) in response.headers() {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            json.headers_mut().insert(name, value.clone());
        }
    }
    json
}

/// The longest address (path and query) a request may have, in bytes: 414 beyond it.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most bytes a request's headers may take, names and values: 431 beyond it.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Requests whose address or headers are longer than any client of this API needs, refused
/// with a JSON error (hyper itself answers only what is far larger, or not HTTP at all, with
/// an empty 400, 414 or 431).
async fn sizes(request: Request, next: Next) -> Response {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!("the request's address is {uri} bytes, over the limit of {MAX_URI_BYTES}"),
        )
        .into_response();
    }
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "the request's headers take {headers} bytes, over the limit of \
                 {MAX_HEADER_BYTES}"
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// Every answer: no sniffing of types; the page may use only itself (its inline script and
/// styles, and the pictures it makes).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'",
        ),
    );
    response
}

/// Megapixels, rounded up: the pixel budget's unit.
fn megapixels(pixels: u64) -> u32 {
    u32::try_from(pixels.div_ceil(1_000_000))
        .unwrap_or(u32::MAX)
        .max(1)
}
