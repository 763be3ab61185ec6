//! `gradcheck::explain`: Burn's forward pass, gradients and one step on one example (what
//! `serve`'s "show me why" shows), against the hand derivation of the same example.

use data::{ImageDataset, Split};
use gradcheck::explain::{explain, Explanation};
use gradcheck::trace::trace;
use model::{Activation, Cost, Mlp, MlpConfig};

use crate::{default_backend, shipped_mnist};

/// MNIST test image `index`, scaled as training scales it, and its digit.
fn test_image(index: usize) -> (Vec<f32>, usize) {
    let test = ImageDataset::load(&shipped_mnist(), Split::Test).unwrap();
    let x = test
        .image(index)
        .iter()
        .map(|&p| data::scale_pixel(p))
        .collect();
    (x, usize::from(test.label(index)))
}

/// A seeded network on the default backend's plain (not autodiff) device, as `serve` holds it.
fn network(hidden: &[usize], activation: Activation) -> Mlp {
    MlpConfig::new(hidden.to_vec())
        .with_activation(activation)
        .init_seeded(5, &default_backend().device().unwrap())
}

fn close(a: &[f64], b: &[f64], tolerance: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tolerance * (1.0 + y.abs()),
            "{what}[{i}]: {x} against {y}"
        );
    }
}

/// Burn's numbers against the hand trace of the same example: outputs, z, a and δ of every
/// layer, the cost before and after the step, the outputs after it.
fn agrees_with_the_hand_trace(e: &Explanation, network: &Mlp, cost: Cost, x: &[f32]) {
    let hand_network = gradcheck::autodiff::network_from_mlp(network).unwrap();
    let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let t = trace(&hand_network, cost, &x64, &e.y, e.eta, true, 0).unwrap();
    // f32 where the backend has no f64: the forward pass in f32 is good to about 1e-6.
    let tol = if e.agreement.comparison == gradcheck::Comparison::ManualVsAutodiffF64 {
        1e-10
    } else {
        1e-4
    };
    assert_eq!(e.layers.len(), t.layers.len());
    for (l, (burn, hand)) in e.layers.iter().zip(&t.layers).enumerate() {
        close(&burn.z, &hand.z, tol, &format!("z of layer {}", l + 1));
        close(
            &burn.activation,
            &hand.a,
            tol,
            &format!("a of layer {}", l + 1),
        );
        close(
            &burn.delta,
            &hand.delta,
            tol,
            &format!("δ of layer {}", l + 1),
        );
    }
    close(&e.outputs, &t.layers[t.layers.len() - 1].a, tol, "outputs");
    close(
        &[e.cost, e.cost_after],
        &[t.cost_before, t.cost_after],
        tol,
        "costs",
    );
    close(
        &e.outputs_after,
        &t.layers_after[t.layers.len() - 1].a,
        tol,
        "outputs after",
    );
    assert!(e.agreement.passed, "{:?}", e.agreement);
}

#[test]
fn the_explanation_is_burns_and_agrees_with_the_hand_derivation() {
    let (x, digit) = test_image(0);
    for (hidden, activation, cost) in [
        (vec![30], Activation::Sigmoid, Cost::Quadratic),
        (vec![24, 12], Activation::Relu, Cost::CrossEntropy),
    ] {
        let network = network(&hidden, activation);
        // Asked why it is not a 3 rather than its own digit (a 7): any class can be asked.
        let target = 3;
        assert_ne!(target, digit);
        let e = explain(&network, default_backend(), cost, &x, target, 0.5, 0, 5).unwrap();
        assert_eq!(e.target, target);
        assert_eq!(e.y.iter().position(|&y| y == 1.0), Some(target));
        agrees_with_the_hand_trace(&e, &network, cost, &x);
        // One small step toward 3 lowers the cost of calling it 3 (output 3 itself need not
        // rise: on an untrained network the step may spend more on the other outputs).
        assert!(e.cost_after < e.cost, "{} → {}", e.cost, e.cost_after);

        // The first layer's units with the largest |δ|, largest first; BP4 made visible.
        let first = &e.layers[0];
        assert_eq!(e.first_layer_gradient.len(), 5);
        let largest = first.delta.iter().fold(0.0_f64, |m, d| m.max(d.abs()));
        assert_eq!(e.first_layer_gradient[0].delta.abs(), largest);
        for pair in e.first_layer_gradient.windows(2) {
            assert!(pair[0].delta.abs() >= pair[1].delta.abs());
        }
        for unit in &e.first_layer_gradient {
            assert_eq!(unit.delta, first.delta[unit.unit]);
            assert_eq!(unit.activation, first.activation[unit.unit]);
            let scaled: Vec<f64> = x.iter().map(|&p| f64::from(p) * unit.delta).collect();
            close(&unit.image, &scaled, 1e-6, "∂C/∂W¹ = x·δ");
            let stepped: Vec<f64> = unit
                .weights_before
                .iter()
                .zip(&unit.image)
                .map(|(w, g)| w - e.eta * g)
                .collect();
            close(
                &unit.weights_after,
                &stepped,
                1e-6,
                "W¹ after = W¹ − η·∂C/∂W¹",
            );
            // Where the picture has no ink, the weight does not move.
            let blank = x.iter().position(|&p| p == 0.0).unwrap();
            assert_eq!(unit.weights_after[blank], unit.weights_before[blank]);
        }
    }
}

#[test]
fn a_frozen_layer_gets_no_error_and_is_not_stepped() {
    let (x, digit) = test_image(1);
    let network = network(&[20, 10], Activation::Sigmoid);
    let e = explain(
        &network,
        default_backend(),
        Cost::Quadratic,
        &x,
        digit,
        3.0,
        1,
        5,
    )
    .unwrap();
    assert!(e.layers[0].frozen && e.layers[0].delta.is_empty());
    assert!(!e.layers[1].frozen && e.layers[1].delta.len() == 10);
    assert!(e.first_layer_gradient.is_empty());
    // The hidden activations of the frozen layer are the same after the step, so any change
    // of the output came from the layers above.
    let hand_network = gradcheck::autodiff::network_from_mlp(&network).unwrap();
    let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let t = trace(&hand_network, Cost::Quadratic, &x64, &e.y, 3.0, true, 1).unwrap();
    assert_eq!(t.layers_after[0].a, t.layers[0].a);
    let tol = 1e-4;
    close(&e.outputs_after, &t.layers_after[2].a, tol, "outputs after");
    assert!(e.agreement.passed, "{:?}", e.agreement);
    assert!(e.cost_after < e.cost);
}

#[test]
fn a_class_the_network_has_no_output_for_is_refused() {
    let (x, _) = test_image(0);
    let network = network(&[8], Activation::Sigmoid);
    let e = explain(
        &network,
        default_backend(),
        Cost::Quadratic,
        &x,
        10,
        0.5,
        0,
        5,
    );
    assert!(e.is_err());
    let short = explain(
        &network,
        default_backend(),
        Cost::Quadratic,
        &x[..700],
        1,
        0.5,
        0,
        5,
    );
    assert!(short.is_err());
}
