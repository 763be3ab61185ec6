//! The machine a bench ran on, in one line: the same code ranks differently on different kinds
//! of CPU, so every table names its host.

/// `AMD EPYC (family 25, model 1), AVX2, no AVX-512; 2 cores`, from `/proc/cpuinfo` where there
/// is one; else the architecture and the system.
pub(crate) fn describe() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| cpu_of(&text));
    let cpu =
        cpu.unwrap_or_else(|| format!("{} ({})", std::env::consts::ARCH, std::env::consts::OS));
    format!("{cpu}; {cores} cores")
}

/// The first processor of a `/proc/cpuinfo` text: its model name, family and model, and the
/// vector instructions that matter to the matrix products (x86's AVX2 and AVX-512).
fn cpu_of(cpuinfo: &str) -> Option<String> {
    let first = cpuinfo.split("\n\n").next()?;
    let field = |name: &str| {
        first.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_string())
        })
    };
    let mut cpu = field("model name")?;
    if let (Some(family), Some(model)) = (field("cpu family"), field("model")) {
        cpu.push_str(&format!(" (family {family}, model {model})"));
    }
    if let Some(flags) = field("flags") {
        let has = |flag: &str| flags.split_whitespace().any(|f| f == flag);
        let avx2 = if has("avx2") { "AVX2" } else { "no AVX2" };
        let avx512 = if has("avx512f") {
            "AVX-512"
        } else {
            "no AVX-512"
        };
        cpu.push_str(&format!(", {avx2}, {avx512}"));
    }
    Some(cpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_processor_is_described() {
        let text = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n\
                    model name\t: AMD EPYC\nflags\t\t: fpu sse2 fma avx2 bmi2\n\n\
                    processor\t: 1\nmodel name\t: other\n";
        assert_eq!(
            cpu_of(text).unwrap(),
            "AMD EPYC (family 25, model 1), AVX2, no AVX-512"
        );
        let xeon = "model name\t: Intel(R) Xeon(R) CPU @ 2.30GHz\nflags\t: avx2 avx512f\n";
        assert_eq!(
            cpu_of(xeon).unwrap(),
            "Intel(R) Xeon(R) CPU @ 2.30GHz, AVX2, AVX-512"
        );
        // An Arm machine's cpuinfo has no model name: nothing to say from it.
        assert_eq!(cpu_of("processor\t: 0\nBogoMIPS\t: 50.00\n"), None);
        assert!(describe().ends_with(" cores"));
    }
}
