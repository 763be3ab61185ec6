//! The project's proof that its gradients are right, and its lesson in backpropagation.
//!
//! Training trusts Burn's autodiff. This crate derives the same gradients by hand and checks
//! that all three opinions agree, on the very network and cost that training uses:
//!
//! - [`manual`]: the network's forward and backward passes (sigmoid or ReLU hidden layers)
//!   written out in f64, in plain Rust, with the derivation (the four equations of
//!   backpropagation) in its docs.
//! - [`autodiff`]: the real [`model::Mlp`] built by [`model::MlpConfig::init`], cast to f64 (or
//!   left in f32), its cost from [`model::Cost::loss`], its gradients from `loss.backward()`.
//! - [`finite`]: central finite differences of the hand-written cost, which need no calculus.
//! - [`mod@compare`] and [`Report`]: the largest absolute and relative errors per layer, weights and
//!   biases apart, each against a tolerance suited to how the gradients were computed.
//! - [`suite`]: all of it on one network and batch; the `gradcheck` binary prints the table.
//!
//! ```no_run
//! use gradcheck::suite::{run, DataSource, Options};
//! let report = run(&Options::new(DataSource::Mnist("data/mnist".into()))?)?;
//! print!("{}", report.table());
//! assert!(report.passed);
//! # Ok::<(), gradcheck::GradcheckError>(())
//! ```
//!
//! To *learn* backpropagation rather than check it, [`trace`] takes one example through a
//! network and prints every number: per layer z, a, a − y, σ'(z) and δ, then ∂C/∂b, the largest
//! ∂C/∂w, one gradient step, the new cost and outputs, and which hidden units moved the output
//! most. `gradcheck trace --mazur` reproduces Matt Mazur's "A Step by Step Backpropagation
//! Example" number for number (his w1…w8 named as in the post); `gradcheck trace --index N` an
//! MNIST test image through the check's seeded network. The check itself is the default
//! command, also named `gradcheck check`.
//!
//! A check that can never fail proves nothing, so [`fault::Fault`] computes the hand-written
//! gradients with a deliberate mistake in them; the tests show that the check then fails and
//! names the layer.

#![forbid(unsafe_code)]

pub mod autodiff;
mod batch;
pub mod cli;
pub mod compare;
mod error;
pub mod explain;
pub mod fault;
pub mod finite;
pub mod manual;
mod per_layer;
mod report;
pub mod size;
pub mod suite;
pub mod trace;
pub mod training;

pub use batch::{Batch, DataKind};
pub use compare::{compare, Case, Check, Comparison, Tolerance};
pub use error::GradcheckError;
pub use per_layer::{ParamKind, PerLayer};
pub use report::{Losses, Report};
