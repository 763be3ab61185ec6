//! The `gradcheck` binary: its table, its JSON and its exit status.

use std::process::Output;

use serde_json::Value;

use crate::{default_backend, gradcheck};

fn json(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

const SMALL: [&str; 6] = ["--layers", "6,5,4,3", "--random", "--batch", "4", "--json"];

#[test]
fn json_has_the_documented_fields() {
    let out = gradcheck(&SMALL);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json(&out);
    assert_eq!(v["passed"], Value::Bool(true));
    assert_eq!(v["activation"], "sigmoid");
    assert_eq!(v["fd_skipped_at_kinks"], 0);
    let checks = v["checks"].as_array().unwrap();
    // Two costs × three comparisons (two without f64) × three layers × (weight, bias).
    let comparisons = if v["f64_skipped"].is_null() { 3 } else { 2 };
    assert_eq!(checks.len(), 2 * comparisons * 3 * 2);
    for c in checks {
        for field in [
            "comparison",
            "layer",
            "param",
            "compared",
            "max_abs_error",
            "max_rel_error",
            "tolerance",
            "passed",
        ] {
            assert!(c.get(field).is_some(), "missing {field} in {c}");
        }
        assert!(matches!(
            c["comparison"].as_str(),
            Some(
                "manual_vs_autodiff_f64" | "manual_vs_finite_difference" | "manual_vs_autodiff_f32"
            )
        ));
        assert!(matches!(c["param"].as_str(), Some("weight" | "bias")));
        assert!((1..=3).contains(&c["layer"].as_u64().unwrap()));
        assert!(c["max_rel_error"].as_f64().unwrap() <= c["tolerance"].as_f64().unwrap());
    }
}

#[test]
fn relu_is_checked_on_request_and_reported() {
    let mut args = SMALL.to_vec();
    args.extend(["--activation", "relu"]);
    let out = gradcheck(&args);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json(&out);
    assert_eq!(v["passed"], Value::Bool(true));
    assert_eq!(v["activation"], "relu");

    let out = gradcheck(&["--activation", "tanh"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("choose sigmoid or relu"), "{err}");
}

#[test]
fn an_injected_fault_fails_with_exit_status_1_and_names_the_layer() {
    let mut args = SMALL.to_vec();
    args.extend(["--inject-fault", "drop-sigmoid-prime:2"]);
    let out = gradcheck(&args);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = json(&out);
    assert_eq!(v["passed"], Value::Bool(false));
    assert_eq!(v["fault"], "drop-sigmoid-prime:2");
    let mut failed: Vec<u64> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == Value::Bool(false))
        .map(|c| c["layer"].as_u64().unwrap())
        .collect();
    failed.sort_unstable();
    failed.dedup();
    assert_eq!(
        failed,
        vec![1, 2],
        "layer 3 is above the fault and unaffected"
    );

    // A fault that does not fit the network is refused.
    let out = gradcheck(&[
        "--layers",
        "6,5,4,3",
        "--random",
        "--inject-fault",
        "swap-layers:1,2",
        "--cost",
        "quadratic",
    ]);
    assert_eq!(out.status.code(), Some(2), "layers 1 and 2 differ in shape");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("swap-layers:1,2") && err.contains("one shape"),
        "{err}"
    );
}

#[test]
fn the_default_run_checks_mnist_and_prints_the_table() {
    let out = gradcheck(&[]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{table}\n{out:?}");
    let header = format!(
        "Gradient check of the 784-30-10 sigmoid network (23860 parameters, seed 7) on 16 MNIST \
         test images; Burn backend {}",
        default_backend()
    );
    assert!(table.starts_with(&header), "{table}");
    // The f64 comparison is skipped on a backend without f64 (an NdArray-only build).
    let f64_runs = !table.contains("the f64 comparison was skipped");
    let mut parts = vec![
        "quadratic cost",
        "cross_entropy cost",
        "finite diff.",
        "autodiff f32",
    ];
    if f64_runs {
        parts.push("autodiff f64  1 (784→30)   weight    23520");
    }
    for part in parts {
        assert!(table.contains(part), "{part} missing:\n{table}");
    }
    let checks = if f64_runs { 24 } else { 16 };
    let verdict = format!("PASSED: all {checks} checks.");
    // The verdict, then how long the check took, and nothing after.
    let mut last = table.lines().rev();
    let took = last.next().unwrap_or_default();
    assert_eq!(last.next(), Some(verdict.as_str()), "{table}");
    let seconds = took
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(" s)"))
        .and_then(|t| t.parse::<f64>().ok());
    assert!(seconds.is_some_and(|s| s >= 0.0), "{took:?}");
}

#[test]
fn the_backend_flag_and_its_old_name_choose_the_backend() {
    let backend = default_backend().to_string();
    for flag in ["--backend", "--device"] {
        let mut args = SMALL.to_vec();
        args.extend([flag, backend.as_str()]);
        let out = gradcheck(&args);
        assert_eq!(out.status.code(), Some(0), "{flag}: {out:?}");
        assert_eq!(json(&out)["backend"], backend.as_str());
    }
    let out = gradcheck(&["--backend", "abacus"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("backend `abacus`"), "{err}");
}

#[test]
fn errors_exit_with_status_2_and_say_what_to_do() {
    let out = gradcheck(&["--data-dir", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no/such/dir") && err.contains("--random"),
        "{err}"
    );

    let out = gradcheck(&["--layers", "10,3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with 784"));

    // A check that would compare nothing is not run, let alone passed.
    let out = gradcheck(&["--fd-samples", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("compares nothing proves nothing"));
}
