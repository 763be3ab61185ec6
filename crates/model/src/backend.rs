//! The one place where Cargo features become Burn devices.
//!
//! Each backend feature (`flex`, `ndarray`, `wgpu`, `cuda`) compiles one Burn backend in; a
//! [`Backend`] names one at run time, and [`Backend::device`] gives its device. Nothing else in
//! the project mentions a backend.

use std::fmt;
use std::str::FromStr;

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

use crate::ModelError;

/// `--backend NAME`: the one declaration of the flag every command takes (flattened into each
/// command's arguments), with the old name `--device` still accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::Args)]
pub struct BackendArg {
    /// Backend to run on: flex, ndarray, wgpu or cuda; it must be compiled in [default: the
    /// config's `backend` where there is one, else the first compiled in].
    #[arg(
        id = "backend",
        long = "backend",
        value_name = "NAME",
        alias = "device"
    )]
    pub choice: Option<Backend>,
}

impl BackendArg {
    /// The backend chosen, else the first compiled in.
    pub fn resolve(self) -> Result<Backend, ModelError> {
        Backend::resolve(self.choice)
    }
}

/// A Burn backend the project can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Burn's pure-Rust CPU backend (feature `flex`, the default).
    Flex,
    /// Burn's NdArray CPU backend (feature `ndarray`).
    Ndarray,
    /// GPUs through WebGPU/Vulkan/Metal (feature `wgpu`).
    Wgpu,
    /// NVIDIA GPUs through CUDA (feature `cuda`).
    Cuda,
}

impl Backend {
    /// Every backend, in the order of preference for the default.
    pub const ALL: [Backend; 4] = [
        Backend::Flex,
        Backend::Ndarray,
        Backend::Wgpu,
        Backend::Cuda,
    ];

    /// The name used on the command line, in configs and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
            Backend::Cuda => "cuda",
        }
    }

    /// The name with how this build computes it, for reports: `ndarray + OpenBLAS` where the
    /// feature `openblas` put NdArray's matrix products in the system's OpenBLAS.
    pub fn label(self) -> &'static str {
        match self {
            Backend::Ndarray if cfg!(feature = "openblas") => "ndarray + OpenBLAS",
            other => other.name(),
        }
    }

    /// How many blocks of rows to evaluate a large batch in (see [`crate::Mlp::forward_parts`]):
    /// one per thread of the current rayon pool on Flex, which runs its sigmoid on one thread;
    /// one on the others (NdArray splits its own work, and splitting the batch too made it
    /// slower, as BENCHMARKS.md records; a GPU wants one big batch).
    pub fn eval_parts(self) -> usize {
        match self {
            Backend::Flex => rayon::current_num_threads(),
            _ => 1,
        }
    }

    /// Whether Burn (0.22.1) runs the project's network in f64 on this backend, so that an f64
    /// computation there can be trusted (`gradcheck`'s f64 comparison and trajectory check).
    ///
    /// False for two backends, for known reasons:
    ///
    /// - NdArray: Burn's default `sigmoid` (burn-backend, `src/backend/ops/activation.rs`),
    ///   which NdArray does not override, casts F64 input to f32, computes, and casts back;
    /// - wgpu: WGSL has no f64, so most adapters report no F64 support at all.
    ///
    /// True for the others, on which a device that does not compute in f64 is a fault to
    /// report, not a limit to work around.
    pub fn supports_f64(self) -> bool {
        match self {
            Backend::Flex | Backend::Cuda => true,
            Backend::Ndarray | Backend::Wgpu => false,
        }
    }

    /// Whether the backend computes on the CPU, in the process's memory (so that reading a
    /// tensor's data costs a copy at most, not a transfer from a device).
    pub fn is_cpu(self) -> bool {
        matches!(self, Backend::Flex | Backend::Ndarray)
    }

    /// Whether this build has the backend compiled in.
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Flex => cfg!(feature = "flex"),
            Backend::Ndarray => cfg!(feature = "ndarray"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The backends compiled into this build.
    pub fn compiled() -> Vec<Backend> {
        Backend::ALL
            .into_iter()
            .filter(|b| b.is_compiled())
            .collect()
    }

    /// The backend used when none is asked for: the first compiled in, of flex, ndarray,
    /// wgpu, cuda.
    pub fn default_compiled() -> Result<Backend, ModelError> {
        Backend::compiled()
            .first()
            .copied()
            .ok_or(ModelError::NoBackend)
    }

    /// Resolves an optional choice (from `--backend` or a config) to a compiled-in backend.
    pub fn resolve(choice: Option<Backend>) -> Result<Backend, ModelError> {
        match choice {
            Some(b) if b.is_compiled() => Ok(b),
            Some(b) => Err(ModelError::BackendNotCompiled {
                backend: b,
                compiled: Backend::compiled(),
            }),
            None => Backend::default_compiled(),
        }
    }

    /// The device of this backend, without autodiff (call `.autodiff()` on it to train).
    ///
    /// For `wgpu` this is the default adapter (a GPU if there is one, else a software Vulkan
    /// device such as lavapipe); for `cuda`, GPU 0.
    pub fn device(self) -> Result<Device, ModelError> {
        match self {
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            // NdArray is deprecated upstream; we keep it as an option.
            Backend::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(feature = "cuda")]
            Backend::Cuda => Ok(Device::cuda(0)),
            #[allow(unreachable_patterns)] // when every backend is compiled in
            other => Err(ModelError::BackendNotCompiled {
                backend: other,
                compiled: Backend::compiled(),
            }),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Backend::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ModelError::UnknownBackend {
                name: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
        }
        let err = "tpu".parse::<Backend>().unwrap_err().to_string();
        assert!(
            err.contains("unknown backend `tpu`") && err.contains("flex, ndarray, wgpu, cuda"),
            "{err}"
        );
    }

    #[test]
    fn labels_name_the_backend_and_only_ndarray_says_openblas() {
        for b in Backend::ALL {
            assert!(b.label().starts_with(b.name()), "{}", b.label());
            let says_blas = b.label().contains("OpenBLAS");
            assert_eq!(
                says_blas,
                b == Backend::Ndarray && cfg!(feature = "openblas")
            );
        }
    }

    #[test]
    fn no_choice_is_the_first_compiled_in() {
        let compiled = Backend::compiled();
        assert!(!compiled.is_empty());
        assert_eq!(Backend::resolve(None).unwrap(), compiled[0]);
        // The order of preference is the order of `ALL`.
        let positions: Vec<usize> = compiled
            .iter()
            .map(|b| Backend::ALL.iter().position(|a| a == b).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{compiled:?}");
        for b in compiled {
            assert!(b.device().is_ok(), "{b} is compiled in and gives a device");
        }
    }

    #[test]
    fn f64_is_claimed_only_where_burn_computes_in_f64() {
        let f64_backends: Vec<Backend> = Backend::ALL
            .into_iter()
            .filter(|b| b.supports_f64())
            .collect();
        assert_eq!(f64_backends, [Backend::Flex, Backend::Cuda]);
    }

    #[test]
    fn asking_for_a_missing_backend_names_the_feature() {
        let Some(missing) = Backend::ALL.into_iter().find(|b| !b.is_compiled()) else {
            return; // every backend compiled in: nothing to refuse
        };
        let err = Backend::resolve(Some(missing)).unwrap_err().to_string();
        assert!(err.contains(&format!("--features {missing}")), "{err}");
        assert!(missing.device().is_err());
    }
}
