//! Property tests: whatever text a config holds, reading it gives a config or an error that
//! names the file, never a panic.

use std::path::Path;

use proptest::prelude::*;
use train::TrainConfig;

/// Values of every TOML type, some sensible, most not.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:?}")),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        any::<bool>().prop_map(|v| v.to_string()),
        "[a-z_]{0,12}".prop_map(|s| format!("{s:?}")),
        proptest::collection::vec(any::<i32>(), 0..4).prop_map(|v| format!("{v:?}")),
        Just("{}".to_string()),
    ]
}

/// The shared minimal config with one line's value replaced, a line removed, or a line added.
fn edited_config() -> impl Strategy<Value = String> {
    let good = testkit::minimal_config("data", 1);
    let lines: Vec<String> = good.lines().map(String::from).collect();
    let n = lines.len();
    (0..n, value(), 0u8..3, "[a-z_]{1,10}").prop_map(move |(at, v, how, key)| {
        let mut lines = lines.clone();
        match how {
            0 => {
                if let Some((k, _)) = lines[at].split_once(" = ") {
                    lines[at] = format!("{k} = {v}");
                }
            }
            1 => {
                lines.remove(at);
            }
            _ => lines.insert(at, format!("{key} = {v}")),
        }
        lines.join("\n")
    })
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(testkit::proptest_cases())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_is_a_config_or_an_error_naming_the_file(text in "\\PC{0,400}") {
        if let Err(e) = TrainConfig::parse(&text, Path::new("x.toml")) {
            prop_assert!(e.to_string().contains("x.toml"), "{e}");
        }
    }

    #[test]
    fn edited_configs_are_valid_or_named_errors(text in edited_config()) {
        match TrainConfig::parse(&text, Path::new("x.toml")) {
            // Whatever parses has passed validation: usable numbers.
            Ok(c) => {
                prop_assert!(c.epochs >= 1 && c.batch_size >= 1);
                prop_assert!(c.optimizer.learning_rate().is_finite());
            }
            Err(e) => prop_assert!(e.to_string().contains("x.toml"), "{e}"),
        }
    }
}
