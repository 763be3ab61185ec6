//! What can go wrong: [`ApiError`] for a request (a status and a message, sent as JSON), and
//! [`ServeError`] for starting the server.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// A request that cannot be answered: the status and a message for the person who sent it,
/// sent as `{"error": "<message>"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds after which to ask again, sent as `Retry-After` (a 503 when the server is busy).
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: the request is malformed (not JSON, the wrong number of pixels, an undecodable
    /// picture).
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 422: the request is well formed but holds no digit to read (a blank canvas, a speck).
    pub fn unreadable(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 503 with `Retry-After`: the server is busy (with large pictures), try again later.
    pub fn busy(message: impl Into<String>, retry_after: u32) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }

    /// 500: the server's fault, not the request's.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

/// The body of every error response.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody<'a> {
    pub error: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: &self.message,
            }),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// What stops the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Model(#[from] model::ModelError),

    #[error(transparent)]
    Run(#[from] run::RunError),

    #[error(
        "the network in {dir} takes {inputs} inputs and gives {outputs} outputs, but a digit \
         picture has 784 pixels and there are 10 digits; its config.toml's `[model]` was \
         changed: train it again"
    )]
    NotADigitNetwork {
        dir: std::path::PathBuf,
        inputs: usize,
        outputs: usize,
    },

    #[error(
        "cannot listen on {addr} (choose another address with --addr HOST:PORT; port 0 picks \
         a free one)"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    #[error("the server stopped")]
    Serve(#[source] std::io::Error),

    /// An argument out of its range (arguments made in code; parsing checks them first).
    #[error("--{flag}: {why}")]
    Argument { flag: &'static str, why: String },
}
