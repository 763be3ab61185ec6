//! How big a network the hand derivation can take on this machine: checked from the layer
//! sizes before anything is allocated, so that `--layers 784,100000000,10` is refused with
//! the memory it would need instead of aborting on an allocation of 313 GB.

use crate::GradcheckError;

/// Bytes each parameter costs at most, over everything the commands hold at once: the hand
/// derivation's f64 weights, gradients and updates, Burn's f32 weights and gradients (and its
/// f64 copies in the check), the finite differences' perturbed copies. Measured peaks are lower
/// (a 784-100000-10 `train` peaked at 2 GB: 25 bytes a parameter); this is the bound.
pub const BYTES_PER_PARAMETER: u64 = 64;
/// More parameters than this and the commands say it will be slow before they start.
pub const LARGE: u64 = 10_000_000;

/// Weights and biases of a network of these layer sizes.
pub fn parameters(sizes: &[usize]) -> u64 {
    sizes
        .windows(2)
        .map(|w| {
            (w[0] as u64)
                .saturating_mul(w[1] as u64)
                .saturating_add(w[1] as u64)
        })
        .fold(0u64, u64::saturating_add)
}

/// Memory the system has available (Linux's `MemAvailable`), or `None` where it cannot be read.
fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuses a network whose parameters would need more memory than the system has available
/// (16 GiB where that cannot be read), naming both.
pub fn check(sizes: &[usize]) -> Result<(), GradcheckError> {
    let parameters = parameters(sizes);
    let needed = parameters.saturating_mul(BYTES_PER_PARAMETER);
    let available = available().unwrap_or(16 << 30);
    if needed > available {
        return Err(GradcheckError::TooLarge {
            sizes: sizes.to_vec(),
            parameters,
            needed_gb: needed as f64 / 1e9,
            available_gb: available as f64 / 1e9,
        });
    }
    Ok(())
}

/// A line to show before a long run on a large network, or `None` for a small one.
pub fn note(sizes: &[usize]) -> Option<String> {
    let parameters = parameters(sizes);
    (parameters > LARGE).then(|| {
        format!(
            "note: {:.1} million parameters: every gradient of every step is derived by hand in \
             f64 loops, so each step takes seconds or more (the classic 784-30-10 has 23,860)",
            parameters as f64 / 1e6
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_counted_and_impossible_ones_refused_before_allocating() {
        assert_eq!(parameters(&[784, 30, 10]), 23_860);
        assert_eq!(parameters(&[2, 2, 2]), 12);
        assert!(check(&[784, 30, 10]).is_ok());
        let e = check(&[784, 100_000_000, 10]).unwrap_err().to_string();
        assert!(
            e.contains("79") && e.contains("GB") && e.contains("available"),
            "{e}"
        );
        // Sizes whose product overflows are refused, not wrapped around.
        assert!(check(&[usize::MAX, usize::MAX]).is_err());
        assert!(note(&[784, 30, 10]).is_none());
        assert!(note(&[784, 100_000, 10]).unwrap().contains("79.5 million"));
    }
}
