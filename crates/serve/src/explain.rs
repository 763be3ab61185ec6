//! `POST /api/explain?label=D`: why the served network read a drawing as it did, and what one
//! step of gradient descent toward the digit D would change. Backpropagation on the reader's
//! own drawing, through the network being served: the page's "show me why".
//!
//! The numbers are Burn's, on a copy of the run's network ([`gradcheck::explain`]): its forward
//! pass, `loss.backward()` and one step of plain gradient descent of size η on this one
//! example. The hand derivation (BP1–BP4, in f64) recomputes the gradients and the answer
//! carries the largest relative difference. Nothing is saved and the served run is not changed.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};

pub use gradcheck::explain::UnitGradient;

use crate::api::with_input;
use crate::app::App;
use crate::runs::{outputs_kind, Loaded};
use crate::ApiError;

/// How many first-layer units an answer shows, those with the largest |δ|.
pub const UNITS_SHOWN: usize = 6;

/// The largest step size a request may ask for.
pub const LARGEST_ETA: f64 = 100.0;

/// `POST /api/explain`'s query.
#[derive(Debug, Deserialize)]
pub struct ExplainQuery {
    /// The class the drawing should have been read as, by its name (a digit).
    pub label: Option<String>,
    /// Which run explains (the default when absent).
    pub run: Option<String>,
    /// The step's size η (the run's learning rate when absent).
    pub eta: Option<f64>,
}

/// One weight layer of the answer, hidden layers first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// `hidden` or `output`.
    pub kind: String,
    /// z = a·W + b, one per unit.
    pub z: Vec<f64>,
    /// The unit's activation: the hidden activation of z, or at the output σ(z) or softmax(z).
    pub activation: Vec<f64>,
    /// δ = ∂C/∂z, one per unit (empty for a frozen layer).
    pub delta: Vec<f64>,
    /// Frozen by the run's `[init] freeze`: no δ, and the step leaves it alone.
    pub frozen: bool,
}

/// The outputs after one step on this example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AfterStep {
    pub outputs: Vec<f64>,
    pub cost: f64,
    /// The class the stepped network reads.
    pub prediction: usize,
    pub class: String,
}

/// The answer to `POST /api/explain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explained {
    /// The run that explains.
    pub run: String,
    /// The class asked about, by name, and its index.
    pub label: String,
    pub target: usize,
    /// The names of the outputs, in order.
    pub classes: Vec<String>,
    /// The class read now, and its name.
    pub prediction: usize,
    pub class: String,
    /// The outputs a (`sigmoid` or `softmax`: see `outputs_kind`), the target y (one-hot) and
    /// a − y, one per class.
    pub outputs: Vec<f64>,
    pub outputs_kind: String,
    pub y: Vec<f64>,
    pub a_minus_y: Vec<f64>,
    /// The run's cost (`quadratic` or `cross_entropy`) and its value on this example.
    pub cost_kind: String,
    pub cost: f64,
    /// The hidden layers' activation.
    pub hidden_activation: String,
    pub layers: Vec<Layer>,
    /// The first layer's units with the largest |δ|, largest first (none when it is frozen):
    /// each `{unit, delta, activation, image, weights_before, weights_after}`, the image
    /// ∂C/∂w for its 784 incoming weights (the input scaled by δ), the weights before and after
    /// the step (`weights_before − eta · image`).
    pub first_layer_gradient: Vec<UnitGradient>,
    /// The step's size.
    pub eta: f64,
    pub after_step: AfterStep,
    /// Burn's gradients against the hand derivation's on this example: the largest relative
    /// difference, computed in `autodiff_precision` (`f64`, or `f32` on a backend without f64).
    pub autodiff_max_rel_error: f64,
    pub autodiff_precision: String,
    /// Whether that difference is within the tolerance of its precision.
    pub autodiff_agrees: bool,
    /// The 784 pixels the network was given.
    pub input: Vec<f32>,
}

/// The index of `label` among the run's classes, or a 422 that lists them.
fn target_of(label: Option<&str>, classes: &[String]) -> Result<usize, ApiError> {
    let list = classes.join(", ");
    let Some(label) = label else {
        return Err(ApiError::unreadable(format!(
            "say which class the drawing should have been: POST /api/explain?label=D, with D \
             one of {list}"
        )));
    };
    classes.iter().position(|c| c == label).ok_or_else(|| {
        ApiError::unreadable(format!(
            "this run has no class {:?}: its classes are {list}",
            label.chars().take(40).collect::<String>()
        ))
    })
}

/// The step size: the one asked for, else the run's learning rate.
fn eta_of(asked: Option<f64>, loaded: &Loaded) -> Result<f64, ApiError> {
    match asked.or(loaded.run.spec.learning_rate()) {
        Some(eta) if eta.is_finite() && eta > 0.0 && eta <= LARGEST_ETA => Ok(eta),
        Some(eta) => Err(ApiError::unreadable(format!(
            "eta must be a step size above 0 and at most {LARGEST_ETA}, not {eta}"
        ))),
        None => Err(ApiError::unreadable(format!(
            "the run {:?} does not say its learning rate: give the step's size, as \
             &eta=0.5",
            loaded.name
        ))),
    }
}

fn arg_max(values: &[f64]) -> usize {
    (0..values.len())
        .max_by(|&p, &q| values[p].total_cmp(&values[q]))
        .unwrap_or(0)
}

/// The explanation of `loaded`'s answer to `input` against `label` (blocking).
pub fn explained(
    loaded: &Loaded,
    input: Vec<f32>,
    label: Option<&str>,
    eta: Option<f64>,
    app: &App,
) -> Result<Explained, ApiError> {
    let run = &loaded.run;
    let spec = &run.spec;
    let classes = spec.class_names();
    let target = target_of(label, &classes)?;
    let eta = eta_of(eta, loaded)?;
    let e = gradcheck::explain::explain(
        &run.network,
        app.runs().backend(),
        spec.cost,
        &input,
        target,
        eta,
        spec.frozen_layers(),
        UNITS_SHOWN,
    )
    .map_err(|e| ApiError::internal(model::error_chain(&e)))?;
    let count = e.layers.len();
    let layers = e
        .layers
        .into_iter()
        .enumerate()
        .map(|(l, layer)| Layer {
            kind: if l + 1 < count { "hidden" } else { "output" }.to_string(),
            z: layer.z,
            activation: layer.activation,
            delta: layer.delta,
            frozen: layer.frozen,
        })
        .collect();
    let prediction = arg_max(&e.outputs);
    let after = arg_max(&e.outputs_after);
    let name = |k: usize| classes.get(k).cloned().unwrap_or_default();
    Ok(Explained {
        run: loaded.name.clone(),
        label: name(target),
        target,
        prediction,
        class: name(prediction),
        a_minus_y: e.outputs.iter().zip(&e.y).map(|(a, y)| a - y).collect(),
        outputs: e.outputs,
        outputs_kind: outputs_kind(spec.cost).to_string(),
        y: e.y,
        cost_kind: spec.cost.name().to_string(),
        cost: e.cost,
        hidden_activation: spec.model.activation.name().to_string(),
        layers,
        first_layer_gradient: e.first_layer_gradient,
        eta,
        after_step: AfterStep {
            outputs: e.outputs_after,
            cost: e.cost_after,
            prediction: after,
            class: name(after),
        },
        autodiff_max_rel_error: e.agreement.max_rel_error,
        autodiff_precision: match e.agreement.comparison {
            gradcheck::Comparison::ManualVsAutodiffF32 => "f32",
            _ => "f64",
        }
        .to_string(),
        autodiff_agrees: e.agreement.passed,
        classes,
        input,
    })
}

/// `POST /api/explain?label=D[&run=NAME][&eta=X]`: the body as for `POST /api/predict`.
pub async fn explain(
    State(app): State<App>,
    query: Result<Query<ExplainQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Explained>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let ExplainQuery { label, run, eta } = query;
    let explained = with_input(&app, run, &headers, body, move |loaded, input, app| {
        explained(loaded, input, label.as_deref(), eta, app)
    })
    .await?;
    Ok(Json(explained))
}
