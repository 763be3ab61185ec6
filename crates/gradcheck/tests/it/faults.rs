//! A check that cannot fail proves nothing: a deliberately wrong backward pass must be reported
//! as a failure that names the layer.

use gradcheck::fault::Fault;
use gradcheck::suite::{run, Options};
use gradcheck::{Comparison, ParamKind, Report};
use model::{Activation, Cost};

use crate::{comparisons, default_backend, random_options};

fn run_with(sizes: &[usize], activation: Activation, cost: Cost, fault: Fault) -> Report {
    run(&Options {
        costs: vec![cost],
        fault: Some(fault),
        ..random_options(sizes, activation, 5, default_backend())
    })
    .unwrap()
}

/// The layers with a failed check, for one comparison, highest first.
fn failed_layers(report: &Report, comparison: Comparison) -> Vec<usize> {
    let mut layers: Vec<usize> = report
        .failures()
        .filter(|c| c.comparison == comparison)
        .map(|c| c.layer)
        .collect();
    layers.sort_unstable_by(|a, b| b.cmp(a));
    layers.dedup();
    layers
}

#[test]
fn dropping_the_derivative_in_a_hidden_layer_fails_from_that_layer_down() {
    // Layers: 1 (6→5), 2 (5→4), 3 (4→3). Without f'(z²), δ² is wrong, and so is δ¹ (BP2
    // computes it from δ²); layer 3's gradients do not depend on it. In a ReLU layer the
    // dropped factor is the step, 0 for the units below their kink.
    for activation in [Activation::Sigmoid, Activation::Relu] {
        for cost in [Cost::Quadratic, Cost::CrossEntropy] {
            let fault = Fault::DropSigmoidPrime { layer: 2 };
            let r = run_with(&[6, 5, 4, 3], activation, cost, fault);
            assert!(!r.passed);
            for comparison in comparisons(&r) {
                assert_eq!(failed_layers(&r, comparison), vec![2, 1], "{}", r.table());
            }
            assert_eq!(r.highest_failing_layer(), Some(2));
            // The faulty layer is the highest one named, weights and biases both.
            let named: Vec<_> = r
                .failures()
                .filter(|c| c.layer == 2)
                .map(|c| c.param)
                .collect();
            assert!(named.contains(&ParamKind::Weight) && named.contains(&ParamKind::Bias));
            let table = r.table();
            assert!(table.contains("FAILED"), "{table}");
            assert!(table.contains("layer 2 (5→4) weight"), "{table}");
            assert!(table.contains("highest failing layer: 2."), "{table}");
        }
    }
}

#[test]
fn dropping_sigma_prime_in_the_quadratic_output_layer_fails_every_layer() {
    // The output layer is a sigmoid layer under the quadratic cost, whatever the hidden ones.
    for activation in [Activation::Sigmoid, Activation::Relu] {
        let fault = Fault::DropSigmoidPrime { layer: 2 };
        let r = run_with(&[5, 4, 3], activation, Cost::Quadratic, fault);
        for comparison in comparisons(&r) {
            assert_eq!(failed_layers(&r, comparison), vec![2, 1], "{}", r.table());
        }
    }
}

#[test]
fn swapping_two_layers_gradients_fails_exactly_those_layers() {
    // Layers 1 and 2 are both 5→5; layer 3 (5→3) is untouched.
    let fault = Fault::SwapLayers {
        first: 1,
        second: 2,
    };
    for activation in [Activation::Sigmoid, Activation::Relu] {
        let r = run_with(&[5, 5, 5, 3], activation, Cost::CrossEntropy, fault);
        assert!(!r.passed);
        for comparison in comparisons(&r) {
            assert_eq!(failed_layers(&r, comparison), vec![2, 1], "{}", r.table());
        }
        assert!(r.checks.iter().filter(|c| c.layer == 3).all(|c| c.passed));
    }
}

#[test]
fn a_fault_the_network_cannot_have_is_an_error() {
    let err = run(&Options {
        costs: vec![Cost::CrossEntropy],
        fault: Some(Fault::DropSigmoidPrime { layer: 2 }),
        ..random_options(&[5, 4, 3], Activation::Relu, 1, default_backend())
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("no σ' factor"), "{err}");
}
