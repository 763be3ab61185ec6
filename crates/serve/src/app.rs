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

use crate::runs::Runs;
use crate::teach::TeachDir;
use crate::{api, page, ApiError};

/// The bounds every request is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, in bytes (a larger one is answered 413).
    pub body_bytes: usize,
    /// Longest a request may take, body included (then 408).
    pub timeout: Duration,
    /// Decodings and predictions at once; the others wait their turn.
    pub workers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 1 << 20,
            timeout: Duration::from_secs(10),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
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

/// What every request shares: the runs and the limits. Cloning it is cheap.
#[derive(Debug, Clone)]
pub struct App(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    runs: Runs,
    limits: Limits,
    /// Where teach mode saves drawings; `None` with `--no-teach`.
    teach: Option<TeachDir>,
    /// One permit per decoding or prediction under way.
    workers: Arc<Semaphore>,
}

impl App {
    /// The application over `runs`, without teach mode ([`App::with_teach`] adds it).
    pub fn new(runs: Runs, limits: Limits) -> App {
        App::with_teach(runs, limits, None)
    }

    /// The application over `runs`, saving taught drawings into `teach` (none: teach mode
    /// is off, and its endpoints say so).
    pub fn with_teach(runs: Runs, limits: Limits, teach: Option<TeachDir>) -> App {
        App(Arc::new(Shared {
            runs,
            limits,
            teach,
            workers: Arc::new(Semaphore::new(limits.workers.max(1))),
        }))
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
    Router::new()
        .route("/", get(page::index))
        .route("/api/predict", post(api::predict))
        .route("/api/runs", get(api::runs))
        .route("/api/teach", post(api::teach).get(api::teach_folder))
        .route("/health", get(api::health))
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
