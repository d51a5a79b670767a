//! The one place that asks which instructions the CPU has.
//!
//! Kernels are compiled with `#[target_feature]` for the wider paths and choose one at
//! run time through these functions, never by `cfg` on the build machine: the same
//! library runs on an AVX2-only EPYC and on an AVX-512 Xeon. The choice is made once
//! (a `OnceLock`), so each call is an atomic load. `OXBRIDGE_CPU=scalar|avx2|avx512`
//! forces a narrower path; a wider one than the CPU has is refused (`refused`), and the
//! CPU's own path is taken.

use std::sync::OnceLock;

/// The instruction paths kernels choose from, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Path {
    /// Baseline instructions only (SSE2 on x86-64).
    Scalar,
    /// SSE4.1, AVX2 and FMA.
    Avx2,
    /// AVX-512 F/DQ (with AVX2).
    Avx512,
}

impl Path {
    /// The name `OXBRIDGE_CPU` and messages use.
    pub fn name(self) -> &'static str {
        match self {
            Path::Scalar => "scalar",
            Path::Avx2 => "avx2",
            Path::Avx512 => "avx512",
        }
    }

    fn parse(name: &str) -> Option<Path> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" | "baseline" => Some(Path::Scalar),
            "avx2" => Some(Path::Avx2),
            "avx512" | "avx-512" => Some(Path::Avx512),
            _ => None,
        }
    }
}

/// The widest path this CPU runs.
fn detected() -> Path {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("sse4.1");
        let avx512 = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq");
        match (avx2, avx512) {
            (true, true) => Path::Avx512,
            (true, false) => Path::Avx2,
            _ => Path::Scalar,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Path::Scalar
    }
}

/// The path kernels take, and why it is not the one asked for (`OXBRIDGE_CPU` naming
/// no path, or a wider one than the CPU has: then the CPU's own, never an instruction
/// it lacks).
fn chosen() -> &'static (Path, Option<String>) {
    static CHOSEN: OnceLock<(Path, Option<String>)> = OnceLock::new();
    CHOSEN.get_or_init(|| {
        let cpu = detected_once();
        let Ok(asked) = std::env::var("OXBRIDGE_CPU") else {
            return (cpu, None);
        };
        if asked.trim().is_empty() {
            return (cpu, None);
        }
        match Path::parse(&asked) {
            None => (
                cpu,
                Some(format!(
                    "OXBRIDGE_CPU must be scalar, avx2 or avx512, got {asked:?}"
                )),
            ),
            Some(p) if p > cpu => (
                cpu,
                Some(format!(
                    "OXBRIDGE_CPU={} asks for more than this CPU has: its widest path is {}",
                    p.name(),
                    cpu.name()
                )),
            ),
            Some(p) => (p, None),
        }
    })
}

/// The path every kernel takes: the CPU's widest, or a narrower one `OXBRIDGE_CPU`
/// forces (for tests, or a CPU that misbehaves).
pub fn path() -> Path {
    chosen().0
}

/// Why `OXBRIDGE_CPU` was not followed, if it was not.
pub fn refused() -> Option<&'static str> {
    chosen().1.as_deref()
}

/// SSE4.1 (the CSV number scanner's byte shuffles): on any CPU that has it (some have it
/// without AVX2), unless `OXBRIDGE_CPU=scalar` says otherwise.
#[inline]
pub fn has_sse41() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let forced_scalar = path() == Path::Scalar && detected_once() > Path::Scalar;
        std::arch::is_x86_feature_detected!("sse4.1") && !forced_scalar
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `detected`, asked once.
fn detected_once() -> Path {
    static DETECTED: OnceLock<Path> = OnceLock::new();
    *DETECTED.get_or_init(detected)
}

/// AVX2 (256-bit integer and float vectors).
#[inline]
pub fn has_avx2() -> bool {
    path() >= Path::Avx2
}

/// AVX2 together with FMA, which every kernel that multiplies and adds in one step needs.
#[inline]
pub fn has_avx2_fma() -> bool {
    path() >= Path::Avx2
}

/// AVX-512 F and DQ (512-bit vectors with 64-bit integer multiplies), with AVX2.
#[inline]
pub fn has_avx512dq() -> bool {
    path() >= Path::Avx512
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wider_paths_imply_the_narrower_ones() {
        if has_avx2_fma() {
            assert!(has_avx2());
        }
        if has_avx512dq() {
            assert!(has_avx2());
        }
        if has_avx2() {
            assert!(has_sse41(), "every AVX2 CPU has SSE4.1");
        }
    }
}
