//! Draw a digit: a web page that reads handwriting live, and the JSON API it uses.
//!
//! `serve` loads a trained run once and answers over HTTP (axum on tokio):
//!
//! - `GET /`: the page (`src/page.rs` and `assets/index.html`), one HTML file with its script
//!   and styles, embedded in the binary; it fetches nothing from elsewhere.
//! - `POST /api/predict`: a PNG or JPEG picture (prepared by
//!   [`data::preprocess::decode_digit`], as `infer IMAGE` prepares a file, so the page, the API
//!   and `infer` give the same answer for the same picture) or JSON
//!   `{"pixels": [784 numbers in 0..1]}`; the answer with its outputs, the 28×28 input and every
//!   hidden layer's activations ([`api`]).
//! - `POST /api/explain?label=D`: the same body; why the network read it as it did and what one
//!   step of gradient descent toward D would change: every layer's z, a and δ, the first
//!   layer's gradient for the units that matter most, the outputs after the step, computed by
//!   Burn's autodiff and checked against the hand derivation ([`explain`], with
//!   [`gradcheck::explain`]). Nothing is saved.
//! - `POST /api/teach?label=D`: teach mode: a picture of the digit D, prepared the same way,
//!   saved as a 28×28 PNG (and the original) into an image folder, `data/mine` by default, that
//!   `train` can fine-tune on; `GET /api/teach` counts what it holds, and
//!   `DELETE /api/teach?file=train/7/0003.png` removes a drawing saved by mistake ([`teach`]).
//!   Writes come only from the page itself or from programs such as `curl` ([`guard`]).
//! - `GET /api/runs`: the runs under `artifacts/` with their shape and accuracy, read afresh
//!   at each request, so a run trained while the server runs appears ([`runs`]).
//! - `GET /health`: the default run, the backend, whether teach mode is on, the body limit.
//!
//! Every request must name in its `Host` an address, `localhost`, or a name given with
//! `--allowed-host` ([`guard`]: DNS rebinding).
//! Bad input gets a 4xx status and `{"error": "..."}` ([`ApiError`]), never a panic. Networks
//! are shared across requests (loaded once, others on first use and kept, a few at a time);
//! decoding and prediction run on tokio's blocking pool, a bounded number at once, so that the
//! executor keeps answering while a large picture is prepared. No state is kept per request;
//! the only files it writes are teach mode's, under the teach folder (`--no-teach`: none).
//!
//! This crate uses `model` for the network, `run` to list and load runs, `data` for
//! preprocessing and `gradcheck` for the explanation; it never trains (teach mode only saves pictures for `train`). Start reading
//! at [`cli::start`], then [`router`].

#![forbid(unsafe_code)]

pub mod api;
mod app;
pub mod cli;
mod error;
pub mod explain;
pub mod guard;
mod page;
pub mod runs;
mod server;
pub mod teach;

pub use app::{
    router, App, Limits, Settings, LARGE_PIXELS, MAX_HEADER_BYTES, MAX_URI_BYTES, PIXEL_BUDGET,
};
pub use error::{ApiError, ServeError};
