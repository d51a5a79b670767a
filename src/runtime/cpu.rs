//! The one place that asks which instructions the CPU has.
//!
//! Kernels are compiled with `#[target_feature]` for the wider paths and choose one at
//! run time through these functions, never by `cfg` on the build machine: the same
//! library runs on an AVX2-only EPYC and on an AVX-512 Xeon. std caches what `cpuid`
//! says, so each call is a relaxed atomic load.

/// SSE4.1 (the CSV number scanner's byte shuffles).
#[inline]
pub fn has_sse41() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sse4.1")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// AVX2 (256-bit integer and float vectors).
#[inline]
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// AVX2 together with FMA, which every kernel that multiplies and adds in one step needs.
#[inline]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// AVX-512 F and DQ (512-bit vectors with 64-bit integer multiplies), with AVX2.
#[inline]
pub fn has_avx512dq() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
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
