//! `gradcheck trace`: Mazur's published numbers, an MNIST image, and the subcommand.

use gradcheck::trace::{self, MnistTrace};
use model::{Activation, Cost};

use crate::{default_backend, gradcheck, shipped_mnist};

/// Equal to the digits Mazur's post gives: |a − b| at most half a unit in the last place.
fn to_digits(value: f64, published: f64, decimals: i32) {
    let half_ulp = 0.5 * 10f64.powi(-decimals);
    assert!(
        (value - published).abs() <= half_ulp,
        "{value} is not {published} to {decimals} decimals"
    );
}

#[test]
fn mazurs_example_gives_his_published_numbers() {
    let t = trace::mazur().unwrap();
    // "E_total = 0.298371109"
    to_digits(t.cost_before, 0.298371109, 9);
    // Output layer: W²[0][0] is w5 (h1 → o1). "∂E_total/∂w5 = 0.082167041"
    to_digits(t.gradients.weights[1][0], 0.082167041, 9);
    // After one step with η = 0.5: "w5+ = 0.35891648", "w1+ = 0.149780716"
    to_digits(t.stepped.params.weights[1][0], 0.35891648, 8);
    to_digits(t.stepped.params.weights[0][0], 0.149780716, 9);
    // and the others of the post: w6+ = 0.408666186, w7+ = 0.511301270, w8+ = 0.561370121,
    // w2+ = 0.19956143, w3+ = 0.24975114, w4+ = 0.29950229 (Burn's layout: [w5, w7, w6, w8]).
    to_digits(t.stepped.params.weights[1][2], 0.408666186, 9);
    to_digits(t.stepped.params.weights[1][1], 0.511301270, 9);
    to_digits(t.stepped.params.weights[1][3], 0.561370121, 9);
    to_digits(t.stepped.params.weights[0][2], 0.19956143, 8);
    to_digits(t.stepped.params.weights[0][1], 0.24975114, 8);
    to_digits(t.stepped.params.weights[0][3], 0.29950229, 8);
    // BP2's weighted sum before the σ' product: "∂E_total/∂out_h1 = 0.036350306".
    let sums = t.layers[0].weighted_error.as_ref().unwrap();
    to_digits(sums[0], 0.036350306, 9);
    // His biases stay; the error falls.
    assert_eq!(t.stepped.params.biases, t.network.params.biases);
    assert!(t.cost_after < t.cost_before);

    let text = t.text();
    for line in [
        "cost C = +0.298371109",
        "∂C/∂w5 = W2[0][0] (h1→o1) = +0.082167041",
        "w5 = W2[0][0] = +0.400000000 → +0.358916480",
        "w1 = W1[0][0] = +0.150000000 → +0.149780716",
        "∂E/∂out_h1 = +0.036350306",
        // His post's error after the step, 0.291027924, is not what his new weights give.
        "cost C = +0.298371109 → +0.291027774",
        "Mazur's post prints 0.291027924 here",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
}

/// ∂E/∂w5 as the library computes it.
fn t_w5_gradient() -> f64 {
    trace::mazur().unwrap().gradients.weights[1][0]
}

fn mnist_trace(index: usize, eta: f64, activation: Activation, cost: Cost) -> MnistTrace {
    MnistTrace {
        index,
        sizes: vec![784, 30, 10],
        activation,
        cost,
        seed: 7,
        eta,
        data_dir: shipped_mnist(),
        backend: default_backend(),
        init: model::Init::ScaledNormal,
    }
}

#[test]
fn the_classic_first_initialisation_saturates_a_wide_layer() {
    // N(0, 1) weights on 784 inputs: most of 100 sigmoid units start with σ'(z) ≈ 0 (the
    // saturation exercise of docs/learn.md); the scaled draw leaves them unsaturated.
    let trace = |init| {
        let options = MnistTrace {
            sizes: vec![784, 100, 10],
            init,
            ..mnist_trace(0, 0.5, Activation::Sigmoid, Cost::Quadratic)
        };
        trace::mnist(&options).unwrap().text()
    };
    let saturated = |text: &str| -> usize {
        let line = text
            .lines()
            .find(|l| l.contains("saturated (σ'(z) < 0.01"))
            .unwrap_or_else(|| panic!("no saturation line in\n{text}"));
        line.split_whitespace().next().unwrap().parse().unwrap()
    };
    assert!(saturated(&trace(model::Init::Normal)) > 50);
    assert_eq!(saturated(&trace(model::Init::ScaledNormal)), 0);
}

#[test]
fn one_small_step_on_an_mnist_image_lowers_its_cost() {
    for (activation, cost) in [
        (Activation::Sigmoid, Cost::Quadratic),
        (Activation::Relu, Cost::CrossEntropy),
    ] {
        let t = trace::mnist(&mnist_trace(3, 0.05, activation, cost)).unwrap();
        assert_eq!(t.layers.len(), 2);
        assert_eq!(t.layers[1].a.len(), 10);
        assert!(
            t.cost_after < t.cost_before,
            "{activation:?} {cost:?}: {} → {}",
            t.cost_before,
            t.cost_after
        );
        // The trace's gradients are the hand-written pass's, which the check compares with Burn.
        let label = t.y.iter().position(|&y| y == 1.0).unwrap();
        assert_eq!(t.gradients, t.network.backprop(cost, &t.x, label));
        let text = t.text();
        assert!(text.contains("WHY THE OUTPUT MOVED"), "{text}");
    }
    let err = trace::mnist(&mnist_trace(
        10_000,
        0.05,
        Activation::Sigmoid,
        Cost::Quadratic,
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("--index 10000"), "{err}");
}

#[test]
fn the_trace_subcommand_prints_and_the_check_stays_the_default() {
    let out = gradcheck(&["trace", "--mazur"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("w5 = W2[0][0] = +0.400000000 → +0.358916480"),
        "{text}"
    );

    let out = gradcheck(&["trace", "--index", "0", "--seed", "3"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("MNIST test image 0 (a 7)"), "{text}");

    let out = gradcheck(&["trace", "--mazur", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["layers"][1]["dc_dw"][0], t_w5_gradient());
    assert!(v["cost_after"].as_f64() < v["cost_before"].as_f64());

    // `check` names the default.
    let out = gradcheck(&[
        "check", "--layers", "4,3,2", "--random", "--batch", "2", "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // A trace needs an input; errors exit with status 2.
    assert_eq!(gradcheck(&["trace"]).status.code(), Some(2));
    let out = gradcheck(&["trace", "--index", "10000"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = gradcheck(&["trace", "--index", "0", "--data-dir", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no/such/dir") && err.contains("--mazur"),
        "{err}"
    );
}
