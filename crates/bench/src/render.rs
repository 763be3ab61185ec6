//! Rendering: [`Results`] as BENCHMARKS.md's markdown tables.

use std::fmt::Write as _;

use crate::child::Measured;
use crate::measure::{InferenceRow, OpCost, Results};

/// Images in an epoch: all of MNIST's training set (no validation split).
const TRAIN_IMAGES: f64 = 60_000.0;

/// The training table, then inference, memory, data loading and the cost of an operation.
pub(crate) fn markdown(results: &Results) -> String {
    format!("{}\n{}", training(results), inference(results))
}

/// A figure, or a dash where there is none.
fn or_dash(value: Option<f64>, show: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "–".to_string(), show)
}

/// Seconds per epoch, samples per second and the cores kept busy: `0.556 (108k, 1.42 cores)`.
fn epoch_cell(m: Option<&Measured>) -> String {
    let cores = m.and_then(|m| m.cores);
    or_dash(m.and_then(|m| m.epoch_seconds), |s| {
        let rate = TRAIN_IMAGES / s / 1e3;
        match cores {
            Some(c) => format!("{s:.3} ({rate:.0}k, {c:.2} cores)"),
            None => format!("{s:.3} ({rate:.0}k)"),
        }
    })
}

/// Seconds per epoch on each backend and peer, then the first backend's time over each peer's.
pub(crate) fn training(r: &Results) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### Training: seconds per epoch of 60,000 images (samples/s), median epoch of {}, best \
         of {} runs\n\nHost: {}.\n",
        r.epochs, r.repeat, r.host
    );
    match r.batch_parts {
        None => {}
        Some(1) => {
            let _ = writeln!(md, "Ours computes each batch whole (`--batch-parts 1`).\n");
        }
        Some(parts) => {
            let _ = writeln!(
                md,
                "Ours computes each batch in {parts} parts side by side (`--batch-parts {parts}`).\n"
            );
        }
    }
    let first = r.backends.first();
    let mut header = String::from("| network | batch |");
    let mut columns = 2;
    for b in &r.backends {
        let _ = write!(header, " {} |", b.label());
        columns += 1;
    }
    for p in &r.peers {
        let _ = write!(header, " {} |", p.name());
        columns += 1;
    }
    if let Some(f) = first {
        for p in &r.peers {
            let _ = write!(header, " {} ÷ {} |", f.label(), p.name());
            columns += 1;
        }
    }
    let _ = writeln!(md, "{header}\n|{}", "---|".repeat(columns));
    for row in &r.training {
        let mut line = format!(
            "| {} ({}) | {} |",
            row.network.name(),
            row.description,
            row.batch
        );
        let peer = |i: usize| row.peers.get(i)?.as_ref();
        let peer_seconds = |i: usize| peer(i)?.epoch_seconds;
        for m in &row.ours {
            let _ = write!(line, " {} |", epoch_cell(Some(m)));
        }
        for i in 0..r.peers.len() {
            let _ = write!(line, " {} |", epoch_cell(peer(i)));
        }
        if first.is_some() {
            let ours = row.ours.first().and_then(|m| m.epoch_seconds);
            for i in 0..r.peers.len() {
                let ratio = ours.zip(peer_seconds(i)).map(|(a, b)| a / b);
                let _ = write!(line, " {} |", or_dash(ratio, |x| format!("{x:.2}×")));
            }
        }
        let _ = writeln!(md, "{line}");
    }
    let _ = writeln!(
        md,
        "\nRatios are time per epoch, ours ÷ theirs: below 1 means we are faster. Cores: how \
         many the run kept busy, (user + system CPU time) / wall time, ours over its epochs, a \
         peer's over its whole process (loading MNIST and testing included)."
    );
    md
}

/// Inference speed and training memory per implementation, the time to load MNIST, and the
/// fixed cost of one tensor operation.
pub(crate) fn inference(r: &Results) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "### Inference ({}), memory, data loading\n",
        r.inference_network
    );
    let memory = r
        .memory_batch
        .map_or_else(|| "–".to_string(), |b| b.to_string());
    let _ = writeln!(
        md,
        "| implementation | 10,000 test images in one batch | one image: latency | peak RSS of a \
         training run (mlp, batch {memory}) |\n|---|---|---|---|"
    );
    for row in &r.inference {
        let _ = writeln!(md, "{}", inference_row(row));
    }
    let _ = writeln!(
        md,
        "\nLoading and checking the four MNIST files (70,000 images): {}.",
        or_dash(r.load_seconds, |s| format!("{:.0} ms", s * 1e3))
    );
    if let Some(rate) = r.distort_images_per_second {
        let _ = writeln!(
            md,
            "\nDistorting training images as configs/best.toml's [augment] says, on one thread: \
             {rate:.0} images/s, {:.2} s of a core for the 60,000 of an epoch.",
            60_000.0 / rate
        );
    }
    let _ = writeln!(
        md,
        "\nThe fixed cost of one tensor operation (an element-wise add of two 32×128 tensors, \
         median of 2,000, result synchronised):"
    );
    for op in &r.ops {
        let _ = writeln!(md, "{}", op_line(op));
    }
    md
}

fn inference_row(row: &InferenceRow) -> String {
    format!(
        "| {} | {} | {} | {} |",
        row.implementation,
        or_dash(row.batch_seconds, |s| format!(
            "{:.2} ms ({:.2} M img/s)",
            s * 1e3,
            1e-2 / s
        )),
        or_dash(row.one_seconds, |s| format!("{:.1} µs", s * 1e6)),
        or_dash(row.peak_rss_mib, |m| format!("{m:.0} MiB")),
    )
}

fn op_line(op: &OpCost) -> String {
    let micros = |s: f64| format!("{:.1} µs", s * 1e6);
    match op.autodiff_seconds {
        Some(autodiff) => format!(
            "- {}: {} plain, {} on the autodiff device (graph recorded)",
            op.implementation,
            or_dash(op.plain_seconds, micros),
            micros(autodiff)
        ),
        None => format!(
            "- {}: {}",
            op.implementation,
            or_dash(op.plain_seconds, micros)
        ),
    }
}

#[cfg(test)]
mod tests {
    use model::Backend;

    use super::*;
    use crate::child::Measured;
    use crate::measure::TrainingRow;
    use crate::network::Network;
    use crate::peers::Peer;

    fn epoch(seconds: f64) -> Measured {
        Measured {
            epoch_seconds: Some(seconds),
            ..Measured::default()
        }
    }

    /// Two backends, two peers: torch failed on the relu row, ndarray has no figure for mlp.
    fn results() -> Results {
        Results {
            host: "AMD EPYC (family 25, model 1), AVX2, no AVX-512; 2 cores".into(),
            epochs: 3,
            repeat: 2,
            backends: vec![Backend::Flex, Backend::Ndarray],
            peers: vec![Peer::Numpy, Peer::Torch],
            training: vec![
                TrainingRow {
                    network: Network::Mlp,
                    description: "784-128-10 sigmoid, quadratic, SGD".into(),
                    batch: 32,
                    ours: vec![
                        Measured {
                            cores: Some(1.424),
                            ..epoch(0.6)
                        },
                        Measured::default(),
                    ],
                    peers: vec![
                        Some(epoch(0.4)),
                        Some(Measured {
                            cores: Some(1.98),
                            ..epoch(1.5)
                        }),
                    ],
                },
                TrainingRow {
                    network: Network::Relu,
                    description: "784-256-256-10 ReLU, cross-entropy, Adam".into(),
                    batch: 128,
                    ours: vec![epoch(0.9), epoch(1.2)],
                    peers: vec![Some(epoch(0.75)), None],
                },
            ],
            inference_network: "784-128-10".into(),
            inference: vec![
                InferenceRow {
                    implementation: "flex".into(),
                    batch_seconds: Some(0.01545),
                    one_seconds: Some(9.6e-6),
                    peak_rss_mib: Some(108.2),
                },
                InferenceRow {
                    implementation: "numpy".into(),
                    batch_seconds: Some(0.0125),
                    one_seconds: None,
                    peak_rss_mib: Some(431.0),
                },
            ],
            memory_batch: Some(32),
            load_seconds: Some(0.138),
            ops: vec![
                OpCost {
                    implementation: "flex".into(),
                    plain_seconds: Some(0.8e-6),
                    autodiff_seconds: Some(1.5e-6),
                },
                OpCost {
                    implementation: "numpy".into(),
                    plain_seconds: Some(0.9e-6),
                    autodiff_seconds: None,
                },
            ],
            distort_images_per_second: Some(40_000.0),
            batch_parts: None,
        }
    }

    #[test]
    fn the_distortion_rate_is_said_with_its_epoch() {
        let md = markdown(&results());
        assert!(
            md.contains("40000 images/s, 1.50 s of a core for the 60,000 of an epoch"),
            "{md}"
        );
        let none = Results {
            distort_images_per_second: None,
            ..results()
        };
        assert!(!markdown(&none).contains("images/s, "));
    }

    #[test]
    fn batch_parts_are_said_when_asked_for() {
        assert!(!training(&results()).contains("parts"));
        let parts = Results {
            batch_parts: Some(2),
            ..results()
        };
        assert!(training(&parts).contains("each batch in 2 parts side by side"));
        let whole = Results {
            batch_parts: Some(1),
            ..results()
        };
        assert!(training(&whole).contains("each batch whole (`--batch-parts 1`)"));
    }

    #[test]
    fn training_table_has_a_column_per_backend_and_peer_then_the_ratios() {
        let md = training(&results());
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(
            lines[0],
            "### Training: seconds per epoch of 60,000 images (samples/s), median epoch of 3, \
             best of 2 runs"
        );
        assert_eq!(
            lines[2],
            "Host: AMD EPYC (family 25, model 1), AVX2, no AVX-512; 2 cores."
        );
        assert_eq!(
            &lines[4..8],
            [
                "| network | batch | flex | ndarray | numpy | torch | flex ÷ numpy | flex ÷ torch |",
                "|---|---|---|---|---|---|---|---|",
                "| mlp (784-128-10 sigmoid, quadratic, SGD) | 32 | 0.600 (100k, 1.42 cores) | – \
                 | 0.400 (150k) | 1.500 (40k, 1.98 cores) | 1.50× | 0.40× |",
                "| relu (784-256-256-10 ReLU, cross-entropy, Adam) | 128 | 0.900 (67k) | 1.200 (50k) \
                 | 0.750 (80k) | – | 1.20× | – |",
            ]
        );
        assert!(md.contains("below 1 means we are faster."), "{md}");
        assert!(
            md.ends_with("(loading MNIST and testing included).\n"),
            "{md}"
        );
    }

    #[test]
    fn without_peers_there_are_no_ratios() {
        let mut r = results();
        r.peers.clear();
        for row in &mut r.training {
            row.peers.clear();
        }
        let md = training(&r);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines[4], "| network | batch | flex | ndarray |");
        assert_eq!(lines[5], "|---|---|---|---|");
        assert_eq!(
            lines[6],
            "| mlp (784-128-10 sigmoid, quadratic, SGD) | 32 | 0.600 (100k, 1.42 cores) | – |"
        );
    }

    #[test]
    fn inference_table_memory_and_operation_costs() {
        let md = inference(&results());
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines[0], "### Inference (784-128-10), memory, data loading");
        assert_eq!(
            &lines[2..6],
            [
                "| implementation | 10,000 test images in one batch | one image: latency | peak \
                 RSS of a training run (mlp, batch 32) |",
                "|---|---|---|---|",
                "| flex | 15.45 ms (0.65 M img/s) | 9.6 µs | 108 MiB |",
                "| numpy | 12.50 ms (0.80 M img/s) | – | 431 MiB |",
            ]
        );
        assert!(
            md.contains("\nLoading and checking the four MNIST files (70,000 images): 138 ms.\n"),
            "{md}"
        );
        assert!(
            md.ends_with(
                "result synchronised):\n\
                 - flex: 0.8 µs plain, 1.5 µs on the autodiff device (graph recorded)\n\
                 - numpy: 0.9 µs\n"
            ),
            "{md}"
        );
    }

    #[test]
    fn the_whole_report_is_both_sections() {
        let r = results();
        let md = markdown(&r);
        assert!(md.starts_with(&training(&r)));
        assert!(md.ends_with(&inference(&r)));
    }
}
