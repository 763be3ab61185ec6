//! Numbers as messages show them.

/// A number as a person reads it: `3`, `0.001`, `2.9996`, `1e30`, not `2.999608609397333` or
/// thirty zeros.
pub(crate) fn compact(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let magnitude = x.abs().log10().floor();
    if (-4.0..6.0).contains(&magnitude) {
        let decimals = (4.0 - magnitude).max(0.0) as usize;
        let s = format!("{x:.decimals$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        s
    } else {
        let s = format!("{x:.2e}");
        // 1.00e30 → 1e30
        s.replace(".00e", "e").replace("0e", "e")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(compact(3.0), "3");
        assert_eq!(compact(0.001), "0.001");
        assert_eq!(compact(2.999608609397333), "2.9996");
        assert_eq!(compact(1e30), "1e30");
        assert_eq!(compact(1e6), "1e6");
        assert_eq!(compact(218194.27), "218194");
    }
}
