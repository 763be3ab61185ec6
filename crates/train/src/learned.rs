//! Whether a finished run learned, and if it did not, the likeliest reason.
//!
//! A network that never looks at the pictures can still be right by guessing: guessing each
//! class as often as the test set holds it is right a share Σ fᵢ² of the time (fᵢ each class's
//! share): that is the baseline, 1/k for k balanced classes. A run is refused as one that did
//! not learn only when chance could easily have given its test accuracy: when a guesser right
//! with the baseline's odds would score as many test images or more at least [`CHANCE`] of the
//! time (the binomial tail, computed exactly). So a refusal is never wrong for an imbalanced
//! test set (a 90/10 folder read at 89% learned); a network that always answers the most common
//! class is then not refused either, which is the side to err on. 60% on two balanced classes and 2,000 test images is
//! learning; 51% is not shown to be; 6 of 20 where the baseline is 2 of 20 is (a guesser does
//! that 1% of the time). A run with one class, or whose test set is all one class, has nothing
//! to tell apart, and a test set of fewer than [`MIN_JUDGED`] images cannot show either way, so
//! none of these is refused.
//!
//! The advice names the cause that fits: too few gradient steps, too few training images,
//! else the optimizer's settings ([`crate::config::OptimizerConfig::suspect`]).

/// Test sets smaller than this are not judged.
pub(crate) const MIN_JUDGED: usize = 20;
/// A score chance gives at least this often is no sign of learning.
pub(crate) const CHANCE: f64 = 0.05;
/// Fewer gradient steps than this, in all, is too few to learn from.
pub(crate) const FEW_STEPS: usize = 100;
/// Fewer training images than this per class is too few to learn from.
pub(crate) const FEW_PER_CLASS: usize = 5;

/// What a run was, as far as judging it goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run<'a> {
    /// The test accuracy, 0..1.
    pub accuracy: f64,
    /// The test set's labels.
    pub test_labels: &'a [u8],
    pub classes: usize,
    pub train_images: usize,
    pub epochs: usize,
    pub batch_size: usize,
}

/// Why a run did not learn: its baseline and the advice.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    /// The share of the test set a guesser with its class frequencies gets right.
    pub baseline: f64,
    pub advice: String,
}

/// `Some` when `run` did not learn, with the advice that fits; `suspect` gives the optimizer's
/// advice, asked for only when no other cause fits.
pub(crate) fn judge(run: Run<'_>, suspect: impl FnOnce() -> String) -> Option<Verdict> {
    let n = run.test_labels.len();
    if run.classes < 2 || n < MIN_JUDGED {
        return None;
    }
    let mut counts = vec![0usize; 256];
    for &label in run.test_labels {
        counts[usize::from(label)] += 1;
    }
    let baseline: f64 = counts.iter().map(|&c| (c as f64 / n as f64).powi(2)).sum();
    if baseline >= 1.0 {
        return None;
    }
    let correct = (run.accuracy * n as f64).round() as usize;
    if at_least(correct, n, baseline) < CHANCE {
        return None;
    }
    let batches = run.train_images.div_ceil(run.batch_size.max(1));
    let steps = run.epochs * batches;
    let per_class = run.train_images / run.classes;
    let advice = if per_class < FEW_PER_CLASS {
        format!(
            "it trained on {} images, about {per_class} per class: too few to learn from; give \
             it more (at least {FEW_PER_CLASS} per class, and far more to read well)",
            run.train_images
        )
    } else if steps < FEW_STEPS {
        format!(
            "it took only {steps} gradient steps ({} epochs of {batches} batches): too few to \
             learn in; train longer (more `epochs`, or a smaller `batch_size`)",
            run.epochs
        )
    } else {
        suspect()
    };
    Some(Verdict { baseline, advice })
}

/// The chance that `n` tries, each right with probability `p` (0 < p < 1), are right `k`
/// times or more: the binomial distribution's upper tail, summed term by term from `k` in log
/// space (exact for any `n` a test set has).
fn at_least(k: usize, n: usize, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    // ln C(n, k) + k ln p + (n − k) ln q
    let mut ln_term = (0..k)
        .map(|j| ((n - j) as f64 / (j + 1) as f64).ln())
        .sum::<f64>()
        + k as f64 * lp
        + (n - k) as f64 * lq;
    let mut tail = 0.0;
    for i in k..=n {
        tail += ln_term.exp();
        if i < n {
            ln_term += ((n - i) as f64 / (i + 1) as f64).ln() + lp - lq;
        }
    }
    tail.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(accuracy: f64, labels: &[u8], classes: usize) -> Run<'_> {
        Run {
            accuracy,
            test_labels: labels,
            classes,
            train_images: 1000,
            epochs: 10,
            batch_size: 10,
        }
    }

    #[test]
    fn the_binomial_tail_is_exact() {
        // 6 or more right of 20 at p = 0.1: 0.0113 (tables); of 2 tries at 0.5, 1 or more: 0.75.
        assert!((at_least(6, 20, 0.1) - 0.011_253).abs() < 1e-5);
        assert!((at_least(1, 2, 0.5) - 0.75).abs() < 1e-12);
        assert_eq!(at_least(0, 5, 0.3), 1.0);
        assert_eq!(at_least(6, 5, 0.3), 0.0);
        // Far in the tail of 10,000 tries, no overflow: tiny.
        assert!(at_least(2000, 10_000, 0.1) < 1e-100);
    }

    #[test]
    fn a_run_better_than_its_baseline_by_more_than_chance_learned() {
        // Two balanced classes, 2,000 test images: 50% is the baseline.
        let two: Vec<u8> = (0..2000).map(|i| (i % 2) as u8 * 4).collect();
        for learned in [0.596, 0.706, 0.99] {
            assert_eq!(
                judge(run(learned, &two, 2), || "lr".into()),
                None,
                "{learned}"
            );
        }
        for not in [0.5, 0.51, 0.3] {
            let v = judge(run(not, &two, 2), || "lower the rate".into()).expect("refused");
            assert!((v.baseline - 0.5).abs() < 1e-9);
            assert_eq!(v.advice, "lower the rate");
        }
        // Two classes, 90/10: guessing with those odds gets 82%; a run at 89% learned (a rule
        // against the most common class's 90% refused it), one at 82% did not.
        let skewed: Vec<u8> = (0..1000).map(|i| u8::from(i % 10 == 0)).collect();
        assert_eq!(judge(run(0.89, &skewed, 2), String::new), None);
        let v = judge(run(0.82, &skewed, 2), String::new).expect("guessing gets 82%");
        assert!((v.baseline - 0.82).abs() < 1e-9, "{}", v.baseline);
    }

    #[test]
    fn a_small_test_set_judged_by_chance_exactly() {
        // Ten classes, two test images each: 6 of 20 right where guessing gets 2 is learning
        // (the docs' fine-tuning on 100 drawings); 3 of 20 is not.
        let twenty: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
        assert_eq!(judge(run(0.3, &twenty, 10), String::new), None);
        assert!(judge(run(0.15, &twenty, 10), String::new).is_some());
    }

    #[test]
    fn one_class_or_a_tiny_test_set_is_not_judged() {
        let one = vec![0u8; 500];
        assert_eq!(judge(run(1.0, &one, 1), String::new), None);
        let tiny = [0u8, 1, 0, 1];
        assert_eq!(judge(run(0.5, &tiny, 2), String::new), None);
    }

    #[test]
    fn the_advice_fits_the_cause() {
        let two: Vec<u8> = (0..2000).map(|i| (i % 2) as u8).collect();
        let asked = std::cell::Cell::new(false);
        let suspect = || {
            asked.set(true);
            "the rate".to_string()
        };
        let few_images = Run {
            train_images: 4,
            ..run(0.5, &two, 2)
        };
        let v = judge(few_images, suspect).unwrap();
        assert!(
            v.advice.contains("trained on 4 images, about 2 per class"),
            "{}",
            v.advice
        );
        assert!(!asked.get(), "the optimizer is not blamed");
        let one_step = Run {
            train_images: 1000,
            batch_size: 1000,
            epochs: 3,
            ..run(0.5, &two, 2)
        };
        let v = judge(one_step, || "the rate".into()).unwrap();
        assert!(
            v.advice
                .contains("only 3 gradient steps (3 epochs of 1 batches)"),
            "{}",
            v.advice
        );
        let v = judge(run(0.5, &two, 2), || "the rate".into()).unwrap();
        assert_eq!(v.advice, "the rate");
    }
}
