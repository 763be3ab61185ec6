//! `POST /api/explain?label=D`: backpropagation on a drawing, through the served run.

use serve::api::Answer;
use serve::explain::{Explained, UNITS_SHOWN};

use crate::{bar_pixels, call, canvas_png, fixture, pixels_json, post_json, post_png};

/// How closely Burn's numbers follow from one another: to rounding in f64, or in f32 on a
/// backend without f64 (NdArray, wgpu).
fn tolerance(e: &Explained) -> f64 {
    if e.autodiff_precision == "f64" {
        1e-9
    } else {
        1e-5
    }
}

async fn explained(uri: &str, png: Vec<u8>) -> Explained {
    let reply = call(post_png(uri, png)).await;
    assert_eq!(reply.status, 200, "{uri}: {}", reply.text);
    serde_json::from_value(reply.json).unwrap()
}

#[tokio::test]
async fn a_drawing_is_explained_against_the_digit_it_should_have_been() {
    let read: Answer =
        serde_json::from_value(call(post_png("/api/predict", canvas_png(0))).await.json).unwrap();
    // Asked why it is not a 4 (the drawing is a 7).
    let e = explained("/api/explain?label=4", canvas_png(0)).await;
    assert_eq!(
        (e.run.as_str(), e.label.as_str(), e.target),
        ("small", "4", 4)
    );
    assert_eq!(
        (e.cost_kind.as_str(), e.outputs_kind.as_str()),
        ("quadratic", "sigmoid")
    );
    // The same input and outputs as /api/predict gives for the same picture.
    assert_eq!(e.input, read.input);
    assert_eq!(e.prediction, read.prediction);
    for (a, b) in e.outputs.iter().zip(&read.outputs) {
        assert!((a - f64::from(*b)).abs() < 1e-5, "{a} against {b}");
    }
    // y is one-hot at 4; a − y; the quadratic cost ½‖a − y‖².
    assert_eq!(e.y.iter().position(|&y| y == 1.0), Some(4));
    for k in 0..10 {
        assert_eq!(e.a_minus_y[k], e.outputs[k] - e.y[k]);
    }
    let tol = tolerance(&e);
    let half: f64 = 0.5 * e.a_minus_y.iter().map(|d| d * d).sum::<f64>();
    assert!((e.cost - half).abs() < tol, "{} against {half}", e.cost);
    // One object per weight layer, hidden first: 784-24-10.
    let shape: Vec<(&str, usize)> = e
        .layers
        .iter()
        .map(|l| (l.kind.as_str(), l.z.len()))
        .collect();
    assert_eq!(shape, vec![("hidden", 24), ("output", 10)]);
    // BP1 for the quadratic cost: δ = (a − y) σ'(z), with σ' = a(1 − a).
    let out = &e.layers[1];
    for k in 0..10 {
        let a = out.activation[k];
        assert!((out.delta[k] - e.a_minus_y[k] * a * (1.0 - a)).abs() < tol);
    }
    // The units shown, each with 784 numbers, their gradient the input scaled by δ.
    assert_eq!(e.first_layer_gradient.len(), UNITS_SHOWN);
    for u in &e.first_layer_gradient {
        assert_eq!(u.delta, e.layers[0].delta[u.unit]);
        for k in 0..784 {
            let expected = f64::from(e.input[k]) * u.delta;
            assert!((u.image[k] - expected).abs() <= 1e-7 * (1.0 + expected.abs()));
            let after = u.weights_before[k] - e.eta * u.image[k];
            assert!((u.weights_after[k] - after).abs() <= 1e-6 * (1.0 + after.abs()));
        }
    }
    // The run's learning rate (3.0 in the fixture's config), one step, and a lower cost.
    assert_eq!(e.eta, 3.0);
    assert!(e.after_step.cost < e.cost);
    assert_eq!(e.after_step.outputs.len(), 10);
    // Burn's autodiff and the hand derivation agree on this example.
    assert!(e.autodiff_agrees, "{}", e.autodiff_max_rel_error);
    assert!(e.autodiff_max_rel_error < 1e-3);

    // Nothing was changed: the run reads the picture as before.
    let again: Answer =
        serde_json::from_value(call(post_png("/api/predict", canvas_png(0))).await.json).unwrap();
    assert_eq!(again.outputs, read.outputs);
}

#[tokio::test]
async fn eta_is_the_one_asked_for_and_a_bigger_step_moves_further() {
    let small = explained("/api/explain?label=7&eta=0.1", canvas_png(0)).await;
    let large = explained("/api/explain?label=7&eta=10", canvas_png(0)).await;
    assert_eq!((small.eta, large.eta), (0.1, 10.0));
    assert_eq!(small.cost, large.cost);
    let moved = |e: &Explained| (e.after_step.outputs[7] - e.outputs[7]).abs();
    assert!(moved(&large) > moved(&small));
}

#[tokio::test]
async fn a_named_run_explains_with_its_own_classes_cost_and_activation() {
    let e = explained("/api/explain?run=deep&label=seven", canvas_png(0)).await;
    assert_eq!(
        (e.run.as_str(), e.label.as_str(), e.target),
        ("deep", "seven", 7)
    );
    assert_eq!(e.cost_kind, "cross_entropy");
    assert_eq!(e.hidden_activation, "relu");
    let sizes: Vec<usize> = e.layers.iter().map(|l| l.delta.len()).collect();
    assert_eq!(sizes, vec![16, 8, 10]);
    // Softmax with cross-entropy: δ at the output is a − y itself, and C = −ln a_label.
    assert_eq!(e.layers[2].delta.len(), 10);
    let tol = tolerance(&e);
    for k in 0..10 {
        assert!((e.layers[2].delta[k] - e.a_minus_y[k]).abs() < tol);
    }
    assert!((e.cost + e.outputs[7].ln()).abs() < tol);
    // ReLU: a hidden unit that is off (z ≤ 0) passes no error back.
    for layer in &e.layers[..2] {
        for (z, d) in layer.z.iter().zip(&layer.delta) {
            if *z < 0.0 {
                assert_eq!(*d, 0.0);
            }
        }
    }
    assert!(e.autodiff_agrees);
    // A digit is not one of this run's classes: its classes are named.
    let reply = call(post_png("/api/explain?run=deep&label=7", canvas_png(0))).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(
        reply.error().contains("zero, one, two"),
        "{}",
        reply.error()
    );
}

#[tokio::test]
async fn json_pixels_are_explained_too() {
    let reply = call(post_json(
        "/api/explain?label=1",
        pixels_json(&bar_pixels()),
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["target"], 1);
    assert_eq!(reply.json["input"].as_array().unwrap().len(), 784);
}

#[tokio::test]
async fn bad_requests_are_refused_with_what_to_send() {
    let _ = fixture();
    for (uri, status, says) in [
        ("/api/explain", 422, "label=D"),
        ("/api/explain?label=10", 422, "no class \"10\""),
        ("/api/explain?label=x", 422, "0, 1, 2"),
        ("/api/explain?label=1&eta=0", 422, "above 0"),
        ("/api/explain?label=1&eta=-3", 422, "above 0"),
        ("/api/explain?label=1&eta=1e9", 422, "at most 100"),
        ("/api/explain?label=1&eta=NaN", 422, "above 0"),
        ("/api/explain?label=1&eta=fast", 400, "eta"),
        ("/api/explain?label=1&run=nope", 404, "no run named"),
        ("/api/explain?label=1&run=notes", 422, "no trained network"),
    ] {
        let reply = call(post_png(uri, canvas_png(0))).await;
        assert_eq!(reply.status, status, "{uri}: {}", reply.text);
        assert!(reply.error().contains(says), "{uri}: {}", reply.error());
    }
    // The body is held to the same rules as /api/predict's: a blank picture, a speck.
    let blank = call(post_json("/api/explain?label=1", pixels_json(&[0.0; 784]))).await;
    assert_eq!(blank.status, 422, "{}", blank.text);
    let reply = call(post_png("/api/explain?label=1", b"not a picture".to_vec())).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
}
