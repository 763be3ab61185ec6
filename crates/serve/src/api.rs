//! The JSON API: what `POST /api/predict` accepts and answers, `POST`, `GET` and `DELETE`
//! `/api/teach` (teach mode: [`crate::teach`]), and `GET /api/runs` and `GET /health`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use burn::prelude::*;
use data::preprocess::{decode_digit_bytes, DigitError};
use data::IMAGE_PIXELS;
use model::{Predictor, Traced};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::runs::{outputs_kind, Loaded, RunInfo};
use crate::teach::{parse_digit, Folder, Forgotten, Taught};
use crate::ApiError;

/// `POST /api/predict`'s query: which run answers (the default when absent).
#[derive(Debug, Deserialize)]
pub struct RunQuery {
    pub run: Option<String>,
}

/// A JSON request: the network's input itself, 28×28 values row by row, 0 for background and
/// 1 for ink (as `input` in an answer). No preprocessing is applied.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelsRequest {
    pub pixels: Vec<f64>,
}

/// The answer to `POST /api/predict`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The class read: the index of the largest output.
    pub prediction: usize,
    /// Its name: the digit, or the name the run gives its class (a run trained on an image
    /// folder or on named classes, such as Fashion-MNIST's `Sneaker`).
    pub class: String,
    /// The names of the outputs, in order: `"0"` to `"9"` for a digit network.
    pub classes: Vec<String>,
    /// The ten outputs, in the order of `classes`.
    pub outputs: Vec<f32>,
    /// What the outputs are: `sigmoid` activations (each in 0..1 on its own; the quadratic
    /// cost) or `softmax` probabilities (summing to 1; cross-entropy).
    pub outputs_kind: String,
    /// The 784 pixels the network was given (the picture after preprocessing), row by row.
    pub input: Vec<f32>,
    /// Each hidden layer's activations, first to last.
    pub hidden: Vec<Vec<f32>>,
    /// The hidden layers' activation: `sigmoid` or `relu`.
    pub hidden_activation: String,
    /// The run that answered.
    pub run: String,
}

/// `GET /health`'s answer.
#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    /// The default run.
    pub run: String,
    pub backend: &'static str,
    /// Whether teach mode is on (it is off with `--no-teach`).
    pub teach: bool,
    /// The largest request body, in bytes: a page scales a larger picture down first.
    pub body_limit: usize,
}

/// `GET /api/runs`'s answer.
#[derive(Debug, Serialize)]
pub struct RunList {
    pub runs: Vec<RunInfo>,
}

/// The 784 network inputs from a JSON request's body, each checked.
pub fn pixels_from_json(body: &[u8]) -> Result<Vec<f32>, ApiError> {
    let request: PixelsRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not JSON of the form {{\"pixels\": [784 numbers from 0 to 1]}}: {e}"
        ))
    })?;
    let pixels = request.pixels;
    if pixels.len() != IMAGE_PIXELS {
        return Err(ApiError::bad_request(format!(
            "expected {IMAGE_PIXELS} pixels (28×28, row by row), got {}",
            pixels.len()
        )));
    }
    if let Some((i, v)) = pixels
        .iter()
        .enumerate()
        .find(|(_, v)| !(0.0..=1.0).contains(*v))
    {
        return Err(ApiError::bad_request(format!(
            "pixel {i} is {v}; pixels must be numbers from 0 (background) to 1 (ink)"
        )));
    }
    if pixels.iter().all(|&v| v == 0.0) {
        return Err(ApiError::unreadable(
            "the pixels are blank (all 0): there is no digit to read",
        ));
    }
    let pixels: Vec<f32> = pixels.into_iter().map(|v| v as f32).collect();
    // The rule a picture is held to, so that a speck is refused however it is sent.
    data::preprocess::check_input(&pixels).map_err(|e| {
        ApiError::unreadable(format!(
            "the pixels do not look like a digit: {}",
            model::error_chain(&e)
        ))
    })?;
    Ok(pixels)
}

/// The 784 network inputs from a picture's bytes, prepared exactly as `infer IMAGE` prepares
/// a file.
pub fn pixels_from_image(body: &[u8]) -> Result<Vec<f32>, ApiError> {
    Ok(prepare_image(body)?.map(data::scale_pixel).to_vec())
}

/// A picture's bytes prepared as `infer IMAGE` prepares a file, as stored pixels (0 =
/// background, 255 = full ink): what [`pixels_from_image`] scales, and what teach mode saves.
pub fn prepare_image(body: &[u8]) -> Result<[u8; IMAGE_PIXELS], ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the request has no body: send a PNG or JPEG picture, or JSON {\"pixels\": [...]}",
        ));
    }
    decode_digit_bytes(body).map_err(|e| {
        let message = model::error_chain(&e);
        match e {
            DigitError::Decode(_) => ApiError::bad_request(format!(
                "{message} (send a PNG or JPEG picture, or JSON with Content-Type: \
                 application/json)"
            )),
            DigitError::TooLarge { .. } | DigitError::NotADigit(_) => ApiError::unreadable(message),
        }
    })
}

/// How many pixels a picture's header says it has (read without decoding it); 0 when the
/// header cannot be read (decoding will say why).
pub fn picture_pixels(body: &[u8]) -> u64 {
    image::ImageReader::new(std::io::Cursor::new(body))
        .with_guessed_format()
        .ok()
        .and_then(|reader| reader.into_dimensions().ok())
        .map_or(0, |(w, h)| u64::from(w) * u64::from(h))
}

/// Whether a request's body is JSON: said by its content type, or seen from its first
/// character (no picture format starts with `{`).
fn is_json(headers: &HeaderMap, body: &[u8]) -> bool {
    let said = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    said || body.trim_ascii_start().first() == Some(&b'{')
}

/// The answer of `loaded`'s network for one image's 784 inputs (blocking).
pub fn answer(loaded: &Loaded, input: Vec<f32>, app: &App) -> Result<Answer, ApiError> {
    let run = &loaded.run;
    let predictor = Predictor::new(&run.network, run.spec.cost, app.runs().backend())
        .map_err(|e| ApiError::internal(model::error_chain(&e)))?;
    let x = Tensor::<2>::from_data(
        TensorData::new(input.clone(), [1, IMAGE_PIXELS]),
        predictor.device(),
    );
    let Traced { prediction, hidden } = predictor
        .trace(x)
        .map_err(|e| ApiError::internal(model::error_chain(&e)))?
        .pop()
        .ok_or_else(|| ApiError::internal("the network gave no answer"))?;
    let classes = run.spec.class_names();
    Ok(Answer {
        prediction: prediction.class,
        class: classes.get(prediction.class).cloned().unwrap_or_default(),
        classes,
        outputs: prediction.outputs,
        outputs_kind: outputs_kind(run.spec.cost).to_string(),
        input,
        hidden,
        hidden_activation: run.spec.model.activation.name().to_string(),
        run: loaded.name.clone(),
    })
}

/// `POST /api/predict`.
pub async fn predict(
    State(app): State<App>,
    query: Result<Query<RunQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Answer>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let answer = with_input(&app, query.run, &headers, body, |loaded, input, app| {
        answer(loaded, input, app)
    })
    .await?;
    Ok(Json(answer))
}

/// What `POST /api/predict` and `POST /api/explain` share: the body (a picture, or JSON
/// pixels) prepared into the network's 784 inputs and the run named by `run` (the default when
/// none), both on the blocking pool (in the lane for large pictures when the body is one), and
/// `then` called there with them.
pub(crate) async fn with_input<T: Send + 'static>(
    app: &App,
    run: Option<String>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    then: impl FnOnce(&Loaded, Vec<f32>, &App) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let body = body.map_err(|e| body_error(app, &e))?;
    let json = is_json(headers, &body);
    let pixels = if json {
        IMAGE_PIXELS as u64
    } else {
        picture_pixels(&body)
    };
    let worker = app.clone();
    app.blocking_sized(pixels, move || {
        let loaded = match &run {
            Some(name) => worker.runs().get(name)?,
            None => Arc::clone(worker.runs().default_run()),
        };
        let input = if json {
            pixels_from_json(&body)?
        } else {
            pixels_from_image(&body)?
        };
        then(&loaded, input, &worker)
    })
    .await
}

/// A body that could not be read: over the limit (413), or cut off.
pub(crate) fn body_error(app: &App, e: &BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        app.limits().too_large()
    } else {
        ApiError::new(
            e.status(),
            format!("cannot read the request body: {}", e.body_text()),
        )
    }
}

/// `GET /api/runs`.
pub async fn runs(State(app): State<App>) -> Result<Json<RunList>, ApiError> {
    let worker = app.clone();
    let runs = app.blocking(move || Ok(worker.runs().list())).await?;
    Ok(Json(RunList { runs }))
}

/// `GET /health`.
pub async fn health(State(app): State<App>) -> Json<Health> {
    Json(Health {
        status: "ok",
        run: app.runs().default_run().name.clone(),
        backend: app.runs().backend().name(),
        teach: app.teach().is_ok(),
        body_limit: app.limits().body_bytes,
    })
}

/// `POST /api/teach`'s query: which digit the picture is.
#[derive(Debug, Deserialize)]
pub struct TeachQuery {
    pub label: Option<String>,
}

/// `POST /api/teach?label=D`: a picture of the digit D, prepared as `POST /api/predict`
/// prepares it, saved into the teach folder (the 28×28 picture and the original).
pub async fn teach(
    State(app): State<App>,
    query: Result<Query<TeachQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Taught>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    app.teach()?;
    let digit = parse_digit(query.label.as_deref())?;
    let body = body.map_err(|e| body_error(&app, &e))?;
    if is_json(&headers, &body) {
        return Err(ApiError::bad_request(
            "teach mode saves pictures: send the drawing as a PNG or JPEG (Content-Type: \
             image/png), not JSON pixels",
        ));
    }
    let worker = app.clone();
    let taught = app
        .blocking_sized(picture_pixels(&body), move || {
            let prepared = prepare_image(&body)?;
            worker.teach()?.save(digit, &prepared, &body)
        })
        .await?;
    Ok(Json(taught))
}

/// `GET /api/teach`: what the teach folder holds.
pub async fn teach_folder(State(app): State<App>) -> Result<Json<Folder>, ApiError> {
    app.teach()?;
    let worker = app.clone();
    let folder = app.blocking(move || worker.teach()?.folder()).await?;
    Ok(Json(folder))
}

/// `DELETE /api/teach`'s query: the drawing to remove, as `POST /api/teach` named it.
#[derive(Debug, Deserialize)]
pub struct ForgetQuery {
    pub file: Option<String>,
}

/// `DELETE /api/teach?file=train/7/0003.png`: removes a drawing saved by mistake (a wrong
/// digit pressed), and its original.
pub async fn forget(
    State(app): State<App>,
    query: Result<Query<ForgetQuery>, QueryRejection>,
) -> Result<Json<Forgotten>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    app.teach()?;
    let file = query.file.ok_or_else(|| {
        ApiError::unreadable(
            "say which drawing to remove: DELETE /api/teach?file=train/7/0003.png, as \
             POST /api/teach named it",
        )
    })?;
    let worker = app.clone();
    let forgotten = app.blocking(move || worker.teach()?.forget(&file)).await?;
    Ok(Json(forgotten))
}
