//! Every command in the README and in `docs/learn.md`, run as written, checked against what the
//! text says it does, so that the documents cannot rot.
//!
//! The commands are read from the documents themselves: each line of a `sh` code block, each
//! inline code span that starts with `cargo run`, and each `python` code block as a whole
//! script (run by the Python of `DIGITS_ONNX_PYTHON`, else `python3`; skipped and said where a
//! module it imports is missing, except in CI for what .ci/run installs). Each must have an expectation in
//! [`EXPECTED`] (its exit status, what its output says, the files it writes), and each
//! expectation must still match a command in the documents: a new command without a check, or a
//! check whose command was edited away, fails the test.
//!
//! They run in order, as a reader would type them (a command given twice runs once), in a
//! scratch copy of the workspace's layout (`configs/`, `data/mnist`) whose configs train for
//! three epochs on a 10,000-image slice (5,000 for `gradcheck`'s commands, which train in f64
//! loops; few-shot configs train 25 epochs, distorted ones 10): the commands are the documents',
//! the training is shortened. `cargo run -p NAME` runs the binary
//! `NAME` of this very build (made by a nested `cargo test --no-run` with this build's profile,
//! features and target directory: a no-op when the suite built it already). A command that asks
//! for a backend this build lacks is skipped and said; the wgpu ones run in CI's wgpu step
//! (`DIGITS_TEST_BACKEND=wgpu`), and that step runs only those.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Where Debian's `dataset-fashion-mnist` puts Fashion-MNIST, which configs/fashion.toml reads:
/// the scratch workspace gets a slice of it, and its commands are skipped where it is not
/// installed (not in CI: `.ci/run` installs it).
const FASHION: &str = "/usr/share/datasets/fashion-mnist";

/// The documents whose commands must work, relative to the workspace root, in the order a
/// reader meets them: a guide's commands may use what an earlier one wrote (`serve` answers with
/// the run the README trained). Every guide in `docs/` must be here.
const DOCUMENTS: [&str; 8] = [
    "README.md",
    "docs/using.md",
    "docs/training.md",
    "docs/serve.md",
    "docs/best.md",
    "docs/transfer.md",
    "docs/gradcheck.md",
    "docs/learn.md",
];

/// What a documented command must do.
struct Expect {
    /// The command, as the documents write it (spaces collapsed, comments cut).
    command: &'static str,
    /// Its exit status.
    status: i32,
    /// Strings its standard output must contain.
    says: &'static [&'static str],
    /// Files (relative to the scratch root) it must leave behind.
    writes: &'static [&'static str],
    /// Whether it needs Burn to compute in f64, which only Flex does (see gradcheck's README
    /// section): skipped on a build without it.
    needs_f64: bool,
    /// Whether it is a server, which runs until stopped: it must print `says` and an
    /// `http://` address, answer `GET /health` there, and keep running for the commands after
    /// it (stopped when the test ends).
    server: bool,
}

const fn ok(
    command: &'static str,
    says: &'static [&'static str],
    writes: &'static [&'static str],
) -> Expect {
    Expect {
        command,
        status: 0,
        says,
        writes,
        needs_f64: false,
        server: false,
    }
}

/// Every documented command and what the text says it does.
const EXPECTED: &[Expect] = &[
    // README: the two commands, and using a run.
    ok(
        "cargo run -p train -- --config configs/mlp.toml",
        &["784-128-10", "test accuracy", "wrote artifacts/mlp"],
        &["artifacts/mlp/model.bpk", "artifacts/mlp/curves.svg"],
    ),
    ok(
        "cargo run -p infer",
        &["accuracy", "precision", "recall"],
        &[],
    ),
    ok("cargo run -p infer -- --json", &["\"accuracy\""], &[]),
    ok(
        "cargo run -p infer -- --index 0 --index 8",
        &["test image 0: label", "test image 8: label"],
        &[],
    ),
    ok(
        "cargo run -p infer -- my-digit.png photo.jpg",
        &["my-digit.png: predicted", "photo.jpg: predicted"],
        &[],
    ),
    ok(
        "cargo run -p train -- --config configs/relu.toml",
        &["784-256-256-10", "relu", "wrote artifacts/relu"],
        &["artifacts/relu/model.bpk"],
    ),
    ok(
        "cargo run -p infer -- --model artifacts/relu",
        &["accuracy"],
        &[],
    ),
    // README and docs/learn.md: use your network elsewhere.
    ok(
        "cargo run -p infer -- --model artifacts/mlp --onnx mlp.onnx",
        &[
            "wrote mlp.onnx (ONNX, opset 18, ",
            "output `outputs`: [N, 10] float32, sigmoid",
        ],
        &["mlp.onnx"],
    ),
    ok(
        concat!(
            "import gzip, numpy as np, onnxruntime as ort\n",
            "raw = gzip.open(\"data/mnist/t10k-images-idx3-ubyte.gz\").read()[16:]\n",
            "images = np.frombuffer(raw, np.uint8).reshape(-1, 784).astype(np.float32) / 255\n",
            "outputs = ort.InferenceSession(\"mlp.onnx\").run([\"outputs\"], {\"pixels\": images[:5]})[0]\n",
            "print(\"digits:\", outputs.argmax(1))",
        ),
        // (The README's run reads [7 2 1 0 4]; the 3-epoch run here need not.)
        &["digits: ["],
        &[],
    ),
    ok(
        concat!(
            "import gzip, numpy as np, onnx2torch, torch\n",
            "raw = gzip.open(\"data/mnist/t10k-images-idx3-ubyte.gz\").read()[16:]\n",
            "images = torch.tensor(np.frombuffer(raw, np.uint8).reshape(-1, 784)) / 255\n",
            "network = onnx2torch.convert(\"mlp.onnx\")\n",
            "print(\"digits:\", network(images[:5]).argmax(1))",
        ),
        &["digits: tensor(["],
        &[],
    ),
    ok(
        concat!(
            "import gzip, numpy as np, onnx\n",
            "raw = gzip.open(\"data/mnist/t10k-images-idx3-ubyte.gz\").read()[16:]\n",
            "a = np.frombuffer(raw, np.uint8).reshape(-1, 784)[:5] / 255\n",
            "w = {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(\"mlp.onnx\").graph.initializer}\n",
            "for l in (0, 1):  # layer 1 (784-128), then layer 2 (128-10)\n",
            "    a = 1 / (1 + np.exp(-(a @ w[f\"layers.{l}.weight\"] + w[f\"layers.{l}.bias\"])))\n",
            "print(\"digits:\", a.argmax(1))",
        ),
        &["digits: ["],
        &[],
    ),
    ok(
        "cargo run -p infer -- --pictures",
        &["accuracy"],
        &[
            "artifacts/mlp/pictures/index.html",
            "artifacts/mlp/pictures/hidden.png",
        ],
    ),
    ok(
        "cargo run -p infer -- --pictures docs/pictures",
        &["accuracy"],
        &["docs/pictures/confusion.svg", "docs/pictures/mistakes.png"],
    ),
    ok(
        "cargo run -p train --no-default-features --features ndarray -- --config configs/mlp.toml",
        &["backend: ndarray", "wrote artifacts/mlp"],
        &[],
    ),
    ok(
        "cargo run -p train --features wgpu -- --config configs/mlp.toml --backend wgpu",
        &["backend: wgpu", "wrote artifacts/mlp"],
        &[],
    ),
    ok(
        "cargo run -p infer --features wgpu -- --backend wgpu",
        &["accuracy"],
        &[],
    ),
    ok(
        "cargo run --release -p train -- --config configs/best.toml",
        &["784-800-10", "augment: rotation ±12°, scale ±12%, elastic α=34 σ=4", "wrote artifacts/best"],
        &["artifacts/best/model.bpk"],
    ),
    ok(
        "cargo run --release -p train -- --config configs/best-deep.toml",
        &["784-1000-500-10", "augment: rotation ±12°", "wrote artifacts/best-deep"],
        &["artifacts/best-deep/model.bpk"],
    ),
    ok(
        "cargo run --release -p bench -- curve --config configs/best.toml --out best.csv",
        &["configs/best.toml, seed 1", "99.3%: "],
        &["best.csv"],
    ),
    ok(
        "cargo run --release -p bench -- curve --config configs/best-deep.toml --out best-deep.csv",
        &["configs/best-deep.toml, seed 1", "99.4%: "],
        &["best-deep.csv"],
    ),
    ok(
        "cargo run --release -p train -- --config configs/best.toml --augmentation-picture docs/augmentation.png",
        &["wrote docs/augmentation.png"],
        &["docs/augmentation.png"],
    ),
    ok(
        "cargo run --release -p train -- --config configs/mlp-distorted.toml",
        &["784-128-10", "augment: rotation ±12°", "wrote artifacts/mlp-distorted"],
        &["artifacts/mlp-distorted/model.bpk"],
    ),
    ok(
        "cargo run -p train -- --config configs/digits04.toml",
        &["784-128-5", "wrote artifacts/digits04"],
        &["artifacts/digits04/model.bpk"],
    ),
    ok(
        "cargo run -p train -- --config configs/digits59.toml",
        &["few-shot: 10 training images per class", "wrote artifacts/digits59"],
        &["artifacts/digits59/model.bpk"],
    ),
    ok(
        "cargo run -p infer -- --model artifacts/digits59",
        &["accuracy"],
        &[],
    ),
    ok(
        "cargo run -p infer -- --model artifacts/digits59 --pictures",
        &["first layer frozen: it is its start (the base run "],
        &[
            "artifacts/digits59/pictures/hidden-start.png",
            "artifacts/digits59/pictures/hidden-change.png",
        ],
    ),
    ok(
        "cargo run -p train -- --config configs/digits59-tuned.toml",
        &["few-shot: 10 training images per class", "wrote artifacts/digits59-tuned"],
        &["artifacts/digits59-tuned/model.bpk"],
    ),
    ok(
        "cargo run -p infer -- --model artifacts/digits59-tuned --pictures",
        &["first layer against its start (the base run ", "units barely moved"],
        &["artifacts/digits59-tuned/pictures/hidden-change.png"],
    ),
    ok(
        "cargo run -p train --bin curve -- --config configs/digits59.toml --counts 1,5,10,50,100,500,all --seeds 1,2,3 --all-epochs 10",
        &["scratch", "frozen", "500 per class  seed 3", "all per class  seed 3"],
        &["artifacts/curve-digits59/curve.csv", "artifacts/curve-digits59/curve.svg"],
    ),
    ok(
        "cargo run -p train -- --config configs/fashion.toml",
        &["classes: T-shirt/top, Trouser", "few-shot: 10", "wrote artifacts/fashion"],
        &["artifacts/fashion/model.bpk"],
    ),
    ok(
        "cargo run -p infer -- --model artifacts/fashion",
        &["accuracy", "Ankle bo"],
        &[],
    ),
    ok(
        "cargo run -p train --bin curve -- --config configs/fashion.toml --counts 1,5,10,50,100,500,all --seeds 1,2,3 --all-epochs 10",
        &["fine_tune", "all per class  seed 3     6000 images   10 epochs"],
        &["artifacts/curve-fashion/curve.csv", "artifacts/curve-fashion/curve.svg"],
    ),
    Expect {
        command: "cargo run -p serve",
        status: 0,
        says: &["serve: artifacts/mlp (784-128-10 network, quadratic cost)"],
        writes: &[],
        needs_f64: false,
        server: true,
    },
    ok(
        "curl -s --data-binary @seven.png -H 'Content-Type: image/png' http://127.0.0.1:8000/api/predict",
        // (The README's run reads this 7 as a 7; the 3-epoch run here need not.)
        &["\"prediction\":", "\"outputs_kind\":\"sigmoid\"", "\"run\":\"mlp\""],
        &[],
    ),
    ok(
        "curl -s --data-binary @seven.png -H 'Content-Type: image/png' 'http://127.0.0.1:8000/api/explain?label=1'",
        &[
            "\"label\":\"1\"",
            "\"target\":1",
            "\"first_layer_gradient\":[{\"unit\":",
            "\"after_step\":{\"outputs\":",
            "\"autodiff_agrees\":true",
        ],
        &[],
    ),
    ok(
        "curl -s --data-binary @seven.png -H 'Content-Type: image/png' 'http://127.0.0.1:8000/api/teach?label=7'",
        // The scratch's data/mine holds ten drawings of each digit (train/7/0.png ...).
        &["\"digit\":7", "\"file\":\"train/7/0011.png\"", "\"ready\":true"],
        &["data/mine/train/7/0011.png", "data/mine/originals/7/0011.png"],
    ),
    ok(
        "cargo run -p train -- --config configs/mine.toml",
        &["data: 80 training, 0 validation, 20 test images", "starting from", "wrote artifacts/mine"],
        &["artifacts/mine/model.bpk"],
    ),
    ok(
        "cargo run --release -p serve --bin load",
        &["load: 20000 requests", "(20000 requests in", "errors 0\n"],
        &[],
    ),
    Expect {
        command: "cargo run -p serve --features wgpu -- --backend wgpu",
        status: 0,
        says: &["on wgpu"],
        writes: &[],
        needs_f64: false,
        server: true,
    },
    ok("cargo run -p gradcheck", &["PASSED"], &[]),
    ok(
        "cargo run -p gradcheck -- trace --mazur",
        // Mazur's published numbers: the total error, ∂E/∂w5, and w5 and w1 after one step.
        &["0.298371109", "0.082167041", "0.35891648", "0.149780716"],
        &[],
    ),
    // docs/learn.md
    ok(
        "cargo run -p train -- --config configs/nielsen.toml",
        &["784-30-10", "sgd η=3, batch 10", "wrote artifacts/nielsen"],
        &["artifacts/nielsen/model.bpk"],
    ),
    ok(
        "cargo run -p infer -- --model artifacts/nielsen --pictures",
        &["accuracy"],
        &[
            "artifacts/nielsen/pictures/index.html",
            "artifacts/nielsen/pictures/mistakes.png",
        ],
    ),
    ok(
        "cargo run -p gradcheck -- train",
        &[
            "784-30-10",
            "SGD η=3, batch 10",
            "epoch  30/30",
            "test accuracy",
        ],
        &[],
    ),
    Expect {
        command: "cargo run -p gradcheck -- train --against-autodiff --epochs 1 --steps 1000",
        status: 0,
        says: &["Burn's autodiff beside it", "every parameter agreed to"],
        writes: &[],
        needs_f64: true,
        server: false,
    },
    ok(
        "cargo run -p gradcheck -- trace --index 0",
        &["784-30-10", "δ"],
        &[],
    ),
    Expect {
        command: "cargo run -p gradcheck -- --inject-fault drop-sigmoid-prime:1",
        status: 1,
        says: &["FAILED", "highest failing layer: 1"],
        writes: &[],
        needs_f64: false,
        server: false,
    },
    Expect {
        command: "cargo run -p gradcheck -- --cost quadratic --inject-fault drop-sigmoid-prime:2",
        status: 1,
        says: &["FAILED", "highest failing layer: 2"],
        writes: &[],
        needs_f64: false,
        server: false,
    },
    ok(
        "cargo run -p gradcheck -- train --layers 784,100,10 --init normal --epochs 3",
        &["784-100-10", "normal init", "epoch   3/3"],
        &[],
    ),
    ok(
        "cargo run -p gradcheck -- train --layers 784,100,10 --init scaled_normal --epochs 3",
        &["784-100-10", "scaled_normal init", "epoch   3/3"],
        &[],
    ),
    ok(
        "cargo run -p gradcheck -- train --steps 500",
        &["quadratic cost", "after 1 epoch in"],
        &[],
    ),
    ok(
        "cargo run -p gradcheck -- train --steps 500 --cost cross_entropy --eta 0.5",
        &["cross_entropy cost", "SGD η=0.5", "after 1 epoch in"],
        &[],
    ),
    ok(
        "cargo run -p gradcheck -- trace --model artifacts/mlp my-digit.png --label 7",
        &[
            "my-digit.png, which should be 7, through the run artifacts/mlp",
            "Σ_j W·δ = ∂C/∂a",
            "Burn's autodiff (loss.backward()",
            "= Δz",
        ],
        &[],
    ),
    ok(
        "cargo run -p train -- --config configs/nielsen.toml --epochs 10 --out artifacts/nielsen-10",
        &["784-30-10", "10 epochs", "wrote artifacts/nielsen-10"],
        &["artifacts/nielsen-10/model.bpk"],
    ),
    ok(
        "cargo run -p infer -- --model artifacts/nielsen-10 --pictures",
        &["accuracy", "recall"],
        &["artifacts/nielsen-10/pictures/mistakes.png"],
    ),
    ok(
        "cargo run -p gradcheck -- trace --model artifacts/nielsen-10 --index 0",
        &[
            "MNIST test image 0 (a 7), which should be 7, through the run artifacts/nielsen-10",
            "outputs saturated",
            "BP1",
        ],
        &[],
    ),
    ok(
        "cargo run -p gradcheck -- train --activation relu --epochs 1",
        &["relu hidden units", "warning: the test accuracy is", "did not learn"],
        &[],
    ),
    ok(
        "cargo run -p gradcheck -- trace --index 0 --activation relu --init normal",
        &["relu network", "active (z > 0)"],
        &[],
    ),
    ok(
        "cargo run -p gradcheck -- train --activation relu --init scaled_normal --cost cross_entropy --eta 0.1 --epochs 1",
        &["relu hidden units", "cross_entropy cost", "SGD η=0.1", "epoch   1/1"],
        &[],
    ),
    ok(
        "cargo run -p gradcheck -- train --init scaled_normal --cost cross_entropy --eta 0.1 --epochs 1",
        &["sigmoid hidden units", "cross_entropy cost", "epoch   1/1"],
        &[],
    ),
    ok(
        "cargo run -p gradcheck -- trace --index 0 --layers 784,100,10 --init normal",
        &["784-100-10", "66 saturated (σ'(z) < 0.01", "4 of the 10 outputs saturated"],
        &[],
    ),
];

/// The commands that are not run: they are this test suite, its fast tier and both tiers.
const THE_SUITE: &str = "cargo test --workspace";
const THE_WHOLE_SUITE: &str = "cargo test --workspace -- --include-ignored";

/// Whether a documented command is the test suite itself.
fn is_the_suite(command: &str) -> bool {
    command == THE_SUITE || command == THE_WHOLE_SUITE
}

/// A command found in a document.
#[derive(Debug, Clone)]
struct Documented {
    /// Where: `README.md:12`.
    place: String,
    /// Spaces collapsed, comment cut; a Python block's whole text, as written.
    command: String,
    /// Whether it is a `python` code block, run by Python rather than as a command line.
    python: bool,
}

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every command of one document, in order.
fn commands_in(name: &str, text: &str) -> Vec<Documented> {
    let mut found = Vec::new();
    let mut fence: Option<String> = None;
    // A command continued over lines: where it starts, and its text so far.
    let mut continued: Option<(String, String)> = None;
    // A Python block: where it starts, and its lines so far.
    let mut script: Option<(String, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        let place = format!("{name}:{}", i + 1);
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(info.trim().to_string()),
            };
            if let Some((place, lines)) = script.take() {
                found.push(Documented {
                    place,
                    command: lines.join("\n").trim().to_string(),
                    python: true,
                });
            } else if fence.as_deref() == Some("python") {
                script = Some((format!("{name}:{}", i + 2), Vec::new()));
            }
            continue;
        }
        if let Some((_, lines)) = script.as_mut() {
            lines.push(line);
            continue;
        }
        let commands: Vec<String> = match fence.as_deref() {
            Some("sh") | Some("bash") | Some("shell") => {
                let code = line.split(" #").next().unwrap_or("").trim();
                // A line ending in `\` goes on on the next one.
                if let Some(start) = code.strip_suffix('\\') {
                    let (_, pending) =
                        continued.get_or_insert_with(|| (place.clone(), String::new()));
                    pending.push_str(start);
                    pending.push(' ');
                    continue;
                }
                let (place_of_start, mut whole) =
                    continued.take().unwrap_or((place.clone(), String::new()));
                whole.push_str(code);
                if whole.trim().is_empty() {
                    continue;
                }
                for part in whole.split("&&") {
                    found.push(Documented {
                        place: place_of_start.clone(),
                        command: part.split_whitespace().collect::<Vec<_>>().join(" "),
                        python: false,
                    });
                }
                continue;
            }
            Some(_) => continue,
            // Inline code spans that are commands.
            None => line
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|span| span.starts_with("cargo run"))
                .map(str::to_string)
                .collect(),
        };
        for command in commands {
            for part in command.split("&&") {
                let command = part.split_whitespace().collect::<Vec<_>>().join(" ");
                found.push(Documented {
                    place: place.clone(),
                    command,
                    python: false,
                });
            }
        }
    }
    found
}

/// A command's words, as a shell splits them: at spaces, but not inside quotes (which go).
/// Pipes, redirections, variables and `;` are refused: the harness runs commands without a
/// shell.
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut started = false;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            (None, '|' | '>' | '<' | '$' | ';' | '`') => panic!(
                "`{command}`: the documents' commands are word lists (this harness runs them \
                 without a shell)"
            ),
            (None, c) => word.push(c),
        }
    }
    assert!(quote.is_none(), "`{command}`: a quote is not closed");
    if started || !word.is_empty() {
        words.push(word);
    }
    words
}

/// What a documented command runs.
#[derive(Debug, Clone, PartialEq)]
enum Program {
    /// `cargo run [-p PACKAGE] [--bin NAME] [flags] -- ARGS`: the binary NAME (or PACKAGE) of
    /// this build, with cargo's flags (for the backend features they ask for).
    Cargo {
        binary: String,
        cargo: Vec<String>,
        args: Vec<String>,
    },
    /// `curl ARGS`, against a server a command before it started.
    Curl { args: Vec<String> },
    /// A `python` code block, run by the Python of `DIGITS_ONNX_PYTHON` (else `python3`) in
    /// the scratch workspace.
    Python { script: String },
}

/// What a documented command or script runs.
fn program(d: &Documented) -> Program {
    if d.python {
        Program::Python {
            script: d.command.clone(),
        }
    } else {
        parse(&d.command)
    }
}

/// The Python modules .ci/run installs (`target/onnx-venv`): a documented script that needs
/// only these must run in CI. One that needs more (PyTorch, a few gigabytes from PyPI) runs
/// where they are installed and is skipped, and said, elsewhere.
const PYTHON_IN_CI: [&str; 3] = ["numpy", "onnx", "onnxruntime"];

/// The modules a Python script imports (`import a, b as c` and `from d import e`).
fn imports(script: &str) -> Vec<String> {
    let mut modules = Vec::new();
    for line in script.lines() {
        if let Some(list) = line.strip_prefix("import ") {
            modules.extend(
                list.split(',')
                    .filter_map(|m| m.split_whitespace().next())
                    .map(str::to_string),
            );
        } else if let Some(from) = line.strip_prefix("from ") {
            modules.extend(from.split_whitespace().next().map(str::to_string));
        }
    }
    modules
}

/// The Python that runs `script`, or why this run of the suite skips it: Python or a module
/// it imports is missing. In CI a script that needs only [`PYTHON_IN_CI`] fails instead.
fn python_for(script: &str) -> Result<PathBuf, String> {
    let modules = imports(script);
    let names: Vec<&str> = modules.iter().map(String::as_str).collect();
    testkit::python_with(&names).inspect_err(|why| {
        let top = |m: &&str| m.split('.').next().unwrap_or(m).to_string();
        let in_ci = names
            .iter()
            .all(|m| PYTHON_IN_CI.contains(&top(m).as_str()));
        assert!(
            !(in_ci && std::env::var_os("CI").is_some()),
            "a documented Python script needs {names:?}, which .ci/run installs \
             (target/onnx-venv, {}): {why}",
            testkit::PYTHON_VAR
        );
    })
}

fn parse(command: &str) -> Program {
    let words = words(command);
    if words.first().map(String::as_str) == Some("curl") {
        return Program::Curl {
            args: words[1..].to_vec(),
        };
    }
    assert_eq!(
        words.get(..2),
        Some(&["cargo".to_string(), "run".to_string()][..]),
        "`{command}`: only `cargo run` and `curl` commands (and `{THE_SUITE}`, with or without \
         `-- --include-ignored`) may appear in the documents' shell code, and Python in \
         `python` blocks; teach tests/tests/docs.rs a new kind first"
    );
    let (cargo, args) = match words.iter().position(|w| w == "--") {
        Some(at) => (&words[2..at], &words[at + 1..]),
        None => (&words[2..], &[][..]),
    };
    let after = |flag: &str| {
        cargo
            .iter()
            .position(|w| w == flag)
            .and_then(|at| cargo.get(at + 1))
    };
    let binary = after("--bin")
        .or_else(|| after("-p"))
        .unwrap_or_else(|| panic!("`{command}` names no package (-p)"));
    Program::Cargo {
        binary: binary.clone(),
        cargo: cargo.to_vec(),
        args: args.to_vec(),
    }
}

/// The backends this test build has compiled in (this package's features turn on `model`'s).
fn compiled_backends() -> Vec<&'static str> {
    model::Backend::compiled()
        .into_iter()
        .map(model::Backend::name)
        .collect()
}

/// Why this run of the suite does not run a command with these cargo flags, if it does not.
fn skip_reason(cargo: &[String]) -> Option<String> {
    let wanted: Vec<&str> = cargo
        .iter()
        .skip_while(|w| *w != "--features")
        .nth(1)
        .map(|f| f.split(',').collect())
        .unwrap_or_default();
    let compiled = compiled_backends();
    let gpu_step = testkit::backend_name().as_deref() == Some("wgpu");
    if let Some(missing) = wanted.iter().find(|f| !compiled.contains(f)) {
        return Some(format!("this build has no `{missing}` backend"));
    }
    match (wanted.contains(&"wgpu"), gpu_step) {
        (true, false) => Some("wgpu commands run in CI's wgpu step".to_string()),
        (false, true) => Some("the wgpu step runs only the wgpu commands".to_string()),
        _ => None,
    }
}

/// Why a command that reads Fashion-MNIST is skipped: it is not installed here. In CI (`CI`
/// set), which installs it, that fails instead.
fn fashion_missing(command: &str) -> Option<String> {
    if !command.contains("fashion") || Path::new(FASHION).is_dir() {
        return None;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "`{command}` needs {FASHION}, which .ci/run installs (apt install dataset-fashion-mnist)"
    );
    Some(format!(
        "Fashion-MNIST is not installed ({FASHION}): apt install dataset-fashion-mnist"
    ))
}

/// The binaries of this build, by name: a nested `cargo test --no-run` with this build's
/// profile, features and target directory reports them (and builds any that are missing).
fn binaries() -> BTreeMap<String, PathBuf> {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/end_to_end-<hash>
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => panic!("no profile directory above {}", exe.display()),
    };
    let output = Command::new(env!("CARGO"))
        .args(["test", "--workspace", "--no-run", "--message-format=json"])
        .args(["--profile", profile, "--target-dir"])
        .arg(target_dir)
        .args(["--no-default-features", "--features"])
        .arg(compiled_backends().join(","))
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "building the binaries failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut binaries = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let is_bin = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
        // A binary with unit tests of its own (`bench`) is built twice by `cargo test`: as
        // itself, and as the harness of those tests, which would take the command's arguments
        // for a test filter.
        let harness = message["profile"]["test"].as_bool() == Some(true);
        if let (true, false, Some(exe)) = (is_bin, harness, message["executable"].as_str()) {
            let name = message["target"]["name"].as_str().unwrap().to_string();
            binaries.insert(name, PathBuf::from(exe));
        }
    }
    binaries
}

/// A scratch workspace: the shipped configs shortened to three epochs on a slice of MNIST (the
/// first `train_images` training images and 1,000 test images), the pictures the README reads,
/// a `data/mine` image folder as teach mode makes one, and nothing else.
fn scratch(train_images: usize) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data/mnist");
    testkit::mnist_slice(&data, train_images, 1_000);
    fs::create_dir_all(tmp.path().join("configs")).unwrap();
    for entry in fs::read_dir(root().join("configs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = fs::read_to_string(&path).unwrap();
            // A few-shot config (`per_class`) trains on a few dozen images: more of its cheap
            // epochs, or it learns nothing at all.
            let few_shot = text.lines().any(|l| {
                l.split_once('=')
                    .is_some_and(|(k, _)| k.trim() == "per_class")
            });
            // Distorted images are harder to learn from: the classic network of
            // configs/mlp-distorted.toml is still at chance after three epochs of 10,000.
            let distorted = text.lines().any(|l| l.trim() == "[augment]");
            let epochs = if few_shot {
                25
            } else if distorted {
                10
            } else {
                3
            };
            let short: Vec<String> = text
                .lines()
                .map(|line| match line.split_once('=') {
                    Some((key, _)) if key.trim() == "epochs" => format!("epochs = {epochs}"),
                    // A config that holds out no validation images keeps none (configs/mine.toml
                    // trains on a few dozen drawings).
                    Some((key, value)) if key.trim() == "validation" && value.trim() != "0" => {
                        "validation = 200".into()
                    }
                    Some((key, value)) if key.trim() == "data_dir" && value.contains(FASHION) => {
                        "data_dir = \"../data/fashion-mnist\"".into()
                    }
                    _ => line.to_string(),
                })
                .collect();
            fs::write(
                tmp.path().join("configs").join(path.file_name().unwrap()),
                short.join("\n"),
            )
            .unwrap();
        }
    }
    // Fashion-MNIST, if installed: 600 training images of each class, 1,000 test images.
    if Path::new(FASHION).is_dir() {
        let fashion = data::Mnist::load(Path::new(FASHION)).unwrap();
        let dir = tmp.path().join("data/fashion-mnist");
        fashion
            .train
            .head(6_000)
            .save(&dir, data::Split::Train)
            .unwrap();
        fashion
            .test
            .head(1_000)
            .save(&dir, data::Split::Test)
            .unwrap();
    }
    // Two pictures of digits: test image 0 (a 7) as dark ink on white paper, four times MNIST's
    // size, as a PNG, and test image 1 (a 2) as it is, as a JPEG.
    let test = data::ImageDataset::load(&data, data::Split::Test).unwrap();
    let side = data::IMAGE_SIDE as u32;
    let big = image::GrayImage::from_fn(4 * side, 4 * side, |x, y| {
        image::Luma([255 - test.image(0)[((y / 4) * side + x / 4) as usize]])
    });
    big.save(tmp.path().join("my-digit.png")).unwrap();
    let small = image::GrayImage::from_raw(side, side, test.image(1).to_vec()).unwrap();
    small.save(tmp.path().join("photo.jpg")).unwrap();
    // The README's `seven.png`: test image 0 (a 7) drawn 280×280, black on white.
    let seven = image::GrayImage::from_fn(10 * side, 10 * side, |x, y| {
        image::Luma([255 - test.image(0)[((y / 10) * side + x / 10) as usize]])
    });
    seven.save(tmp.path().join("seven.png")).unwrap();
    // `data/mine`, as the page's teach mode would leave it after ten drawings of each digit:
    // eight for training and two for testing (MNIST's own digits, drawn 3× larger).
    let digits: Vec<(String, u8)> = (0..10u8).map(|d| (d.to_string(), d)).collect();
    let classes: Vec<(&str, u8)> = digits.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    testkit::image_folder(&tmp.path().join("data/mine"), &classes, 8, 2);
    tmp
}

/// A server a documented command started, stopped when dropped.
struct Server {
    child: std::process::Child,
}

impl Server {
    /// Starts `command` and waits (two minutes at most) until it has printed every one of
    /// `says` and an `http://HOST:PORT` address, then asks that address for `GET /health`.
    fn start(mut command: Command, place: &str, text: &str, says: &[&str]) -> Server {
        use std::io::{BufRead, Read, Write};
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{place}: `{text}` does not start: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (lines, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server { child };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let mut printed = String::new();
        let address = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(line) = receive.recv_timeout(left) else {
                let _ = server.child.kill();
                let mut err = String::new();
                if let Some(mut e) = server.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("{place}: `{text}` printed no address:\n{printed}\n--- stderr:\n{err}");
            };
            printed.push_str(&line);
            printed.push('\n');
            let address = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("http://"))
                .map(|a| a.trim_end_matches('/').to_string());
            if let Some(address) = address.filter(|_| says.iter().all(|s| printed.contains(s))) {
                break address;
            }
        };
        let mut stream = std::net::TcpStream::connect(&address)
            .unwrap_or_else(|e| panic!("{place}: `{text}` does not answer at {address}: {e}"));
        write!(
            stream,
            "GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "{place}: `{text}`: GET /health answered\n{response}"
        );
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every command of every document, in reading order.
fn documented() -> Vec<Documented> {
    let mut documented = Vec::new();
    for name in DOCUMENTS {
        let text = fs::read_to_string(root().join(name)).unwrap();
        documented.extend(commands_in(name, &text));
    }
    documented
}

/// Fast tier: the documents and [`EXPECTED`] agree (a command without an expectation, or an
/// expectation whose command was edited away, fails), every guide in `docs/` is read, and every
/// link between the documents leads to a file and a heading that exist.
#[test]
fn every_documented_command_has_an_expectation_and_every_link_a_target() {
    let documented = documented();
    let expected: BTreeMap<&str, &Expect> = EXPECTED.iter().map(|e| (e.command, e)).collect();
    let in_docs: BTreeSet<&str> = documented.iter().map(|d| d.command.as_str()).collect();
    let runnable = binaries_by_package();
    for d in &documented {
        assert!(
            is_the_suite(&d.command) || expected.contains_key(d.command.as_str()),
            "{}: `{}` has no expectation in tests/tests/docs.rs (EXPECTED): add what it must do",
            d.place,
            d.command
        );
        if is_the_suite(&d.command) {
            continue;
        }
        // Refuses what the harness cannot run (pipes, other programs) before the slow tier.
        if let Program::Cargo { cargo, .. } = program(d) {
            // The slow tier runs the binary by name; cargo itself must know which one to run.
            let package = cargo
                .iter()
                .position(|w| w == "-p")
                .and_then(|at| cargo.get(at + 1))
                .unwrap_or_else(|| panic!("{}: `{}` names no package (-p)", d.place, d.command));
            let named_bin = cargo.iter().any(|w| w == "--bin");
            let bins = &runnable[package.as_str()];
            assert!(
                named_bin || bins.len() == 1 || bins.iter().any(|b| b == "<default-run>"),
                "{}: `{}`: cargo cannot tell which of {bins:?} to run; give the package a \
                 `default-run` or the command a `--bin`",
                d.place,
                d.command
            );
        }
    }
    for e in EXPECTED {
        assert!(
            in_docs.contains(e.command),
            "`{}` is checked in tests/tests/docs.rs but no longer in {DOCUMENTS:?}: update or \
             remove its expectation",
            e.command
        );
    }
    for suite in [THE_SUITE, THE_WHOLE_SUITE] {
        assert!(
            in_docs.contains(suite),
            "the README gives the test command `{suite}`"
        );
    }
    for entry in fs::read_dir(root().join("docs")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            assert!(
                DOCUMENTS.contains(&format!("docs/{name}").as_str()),
                "docs/{name} is not in DOCUMENTS (tests/tests/docs.rs): its commands would go \
                 unchecked"
            );
        }
    }
    let mut checked = 0;
    // Each linked file's headings, read once.
    let mut headings_of: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for name in DOCUMENTS {
        let text = fs::read_to_string(root().join(name)).unwrap();
        let dir = root().join(name).parent().unwrap().to_path_buf();
        for (line, target) in links_in(&text) {
            let place = format!("{name}:{line}");
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                root().join(name)
            } else {
                dir.join(path)
            };
            assert!(
                file.exists(),
                "{place}: the link `{target}` leads to {}, which does not exist",
                file.display()
            );
            if let Some(anchor) = anchor {
                let headings = headings_of.entry(file.clone()).or_insert_with(|| {
                    fs::read_to_string(&file)
                        .map(|t| anchors_of(&t))
                        .unwrap_or_default()
                });
                assert!(
                    headings.contains(anchor),
                    "{place}: the link `{target}` names no heading of {} (it has {headings:?})",
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked > 10,
        "only {checked} links found: is links_in broken?"
    );
}

/// Each workspace package's binaries, as `cargo metadata` reports them, with `<default-run>`
/// added where the package names one.
fn binaries_by_package() -> BTreeMap<String, Vec<String>> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo metadata failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut packages = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        let mut bins: Vec<String> = package["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        if package["default_run"].is_string() {
            bins.push("<default-run>".to_string());
        }
        packages.insert(package["name"].as_str().unwrap().to_string(), bins);
    }
    packages
}

/// The relative links of a Markdown text (`[text](target)` and `![alt](target)`), with their
/// line numbers; links to other sites and links inside code are left out.
fn links_in(text: &str) -> Vec<(usize, String)> {
    let mut links = Vec::new();
    for (number, line) in prose_lines(text) {
        // Code spans hold commands, not links.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            let target = &after[..end];
            if !target.contains("://") && !target.starts_with("mailto:") && !target.is_empty() {
                links.push((number, target.to_string()));
            }
            rest = &after[end..];
        }
    }
    links
}

/// The lines of a Markdown text outside its code fences, numbered from 1.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            lines.push((i + 1, line));
        }
    }
    lines
}

/// The anchors GitHub gives a Markdown text's headings: lower case, spaces to `-`, and
/// everything but letters, digits, `-` and `_` dropped.
fn anchors_of(text: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let heading = heading.trim_start_matches('#').trim();
        let anchor: String = heading
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        anchors.insert(anchor);
    }
    anchors
}

/// Slow tier: every documented command, run as written in a scratch workspace, does what the
/// text says it does.
#[test]
#[ignore = "slow tier (a few minutes): cargo test --workspace -- --include-ignored"]
fn every_documented_command_runs_and_does_what_the_text_says() {
    let documented = documented();
    let expected: BTreeMap<&str, &Expect> = EXPECTED.iter().map(|e| (e.command, e)).collect();
    let binaries = binaries();
    let dir = scratch(10_000);
    // gradcheck's commands train and check the hand-written network on its own, in plain f64
    // loops: a smaller slice keeps `gradcheck train`'s 30 epochs short.
    let gradcheck_dir = scratch(5_000);
    let mut ran = 0;
    let mut done: BTreeMap<&str, &str> = BTreeMap::new();
    // Servers a command started: they answer the commands after them, and stop at the end.
    let mut servers: Vec<Server> = Vec::new();
    for d in documented.iter().filter(|d| !is_the_suite(&d.command)) {
        // A command given twice does the same twice: it is run where it first appears.
        if let Some(first) = done.get(d.command.as_str()) {
            eprintln!("{}: `{}` ran at {first}", d.place, d.command);
            continue;
        }
        done.insert(&d.command, &d.place);
        let e = expected[d.command.as_str()];
        let program = program(d);
        let cargo_flags = match &program {
            Program::Cargo { cargo, .. } => cargo.as_slice(),
            Program::Curl { .. } | Program::Python { .. } => &[],
        };
        let python = match &program {
            Program::Python { script } => Some(python_for(script)),
            _ => None,
        };
        let f64_missing = (e.needs_f64 && !compiled_backends().contains(&"flex")).then(|| {
            "it needs f64, and Flex, the backend that computes in f64, is not compiled in"
                .to_string()
        });
        if let Some(reason) = skip_reason(cargo_flags)
            .or(f64_missing)
            .or_else(|| fashion_missing(&d.command))
            .or_else(|| python.clone()?.err())
        {
            eprintln!("{}: skipped `{}`: {reason}", d.place, d.command);
            continue;
        }
        let (mut command, cwd, args) = match &program {
            Program::Cargo { binary, args, .. } => {
                let exe = binaries
                    .get(binary)
                    .unwrap_or_else(|| panic!("{}: no binary `{binary}` in this build", d.place));
                // gradcheck's own commands run on the smaller slice; one that reads a run
                // (`--model`) runs where the runs were trained.
                let cwd = if binary == "gradcheck" && !args.iter().any(|a| a == "--model") {
                    gradcheck_dir.path()
                } else {
                    dir.path()
                };
                (Command::new(exe), cwd, args.clone())
            }
            Program::Curl { args } => (Command::new("curl"), dir.path(), args.clone()),
            Program::Python { script } => {
                let python = python.clone().and_then(Result::ok);
                let python = python.unwrap_or_else(|| panic!("{}: no Python", d.place));
                (
                    Command::new(python),
                    dir.path(),
                    vec!["-c".to_string(), script.clone()],
                )
            }
        };
        command.args(&args).current_dir(cwd);
        let started = std::time::Instant::now();
        if e.server {
            servers.push(Server::start(command, &d.place, &d.command, e.says));
            eprintln!(
                "{}: serving after {:.1} s `{}`",
                d.place,
                started.elapsed().as_secs_f64(),
                d.command
            );
            ran += 1;
            continue;
        }
        let out = command.output().unwrap();
        eprintln!(
            "{}: {:.1} s `{}`",
            d.place,
            started.elapsed().as_secs_f64(),
            d.command
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let context = || {
            format!(
                "{}: `{}`\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}",
                d.place, d.command
            )
        };
        assert_eq!(out.status.code(), Some(e.status), "{}", context());
        for says in e.says {
            assert!(
                stdout.contains(says),
                "output lacks {says:?}: {}",
                context()
            );
        }
        for file in e.writes {
            assert!(
                cwd.join(file).is_file(),
                "{file} not written: {}",
                context()
            );
        }
        if args.iter().any(|a| a == "--json") {
            let json: Value = serde_json::from_str(&stdout).expect("--json prints JSON");
            assert!(json["accuracy"].is_number(), "{}", context());
        }
        ran += 1;
    }
    eprintln!("ran {ran} documented commands");
    assert!(ran > 0, "every command was skipped");
}
