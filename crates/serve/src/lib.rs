//! Draw a digit: a web page that reads handwriting live, and the JSON API it uses.
//!
//! `serve` loads a trained run once and answers over HTTP (axum on tokio):
//!
//! - `GET /`: the page ([`page`]), one HTML file with its script and styles, embedded in the
//!   binary; it fetches nothing from elsewhere.
//! - `POST /api/predict`: a PNG or JPEG picture (prepared by `infer`'s
//!   [`infer::preprocess::decode_digit`], so the page, the API and `infer IMAGE` give the same
//!   answer for the same picture) or JSON `{"pixels": [784 numbers in 0..1]}`; the answer with
//!   its outputs, the 28×28 input and every hidden layer's activations ([`api`]).
//! - `GET /api/runs`: the runs under `artifacts/` with their shape and accuracy ([`runs`]).
//! - `GET /health`.
//!
//! Bad input gets a 4xx status and `{"error": "..."}` ([`ApiError`]), never a panic. Networks
//! are shared across requests (loaded once, others on first use and kept, a few at a time);
//! decoding and prediction run on tokio's blocking pool, a bounded number at once, so that the
//! executor keeps answering while a large picture is prepared. No state is kept per request.
//!
//! This crate uses `model` for the network and its runs and `infer` for preprocessing; it
//! never trains.

pub mod api;
pub mod app;
pub mod cli;
mod error;
pub mod page;
pub mod runs;

pub use app::{router, App, Limits};
pub use error::{ApiError, ServeError};
