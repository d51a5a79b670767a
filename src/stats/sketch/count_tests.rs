//! Distinct counts against a `HashSet`, heavy hitters against a `HashMap`: exact while
//! they fit, within their bounds after, through merges and serialisation.

use super::hll::{DEFAULT_PRECISION, EXACT_LIMIT};
use super::{hash_bytes, hash_f64, hash_i64, DistinctSketch, HeavyHitters};
use crate::error::ErrorKind;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

fn distinct_of(values: impl IntoIterator<Item = i64>) -> DistinctSketch {
    let mut s = DistinctSketch::default();
    for v in values {
        s.insert_i64(v);
    }
    s
}

#[test]
fn exact_up_to_the_limit_then_close() {
    for n in [0, 1, 100, 4095, EXACT_LIMIT as i64] {
        let s = distinct_of((0..n).chain(0..n));
        assert!(s.is_exact());
        assert_eq!(s.count(), n as u64);
    }
    for n in [4097i64, 5000, 20_000, 50_000, 100_000, 300_000] {
        let s = distinct_of((0..n).map(|i| i * 1_000_003));
        assert!(!s.is_exact());
        let rel = (s.estimate() - n as f64).abs() / n as f64;
        // 3 standard errors (0.81% each at p = 14).
        assert!(
            rel < 3.0 * s.standard_error(),
            "n = {n}: {} ({rel})",
            s.estimate()
        );
    }
}

#[test]
fn doubles_and_text_hash_as_values() {
    let mut s = DistinctSketch::default();
    for v in [0.0, -0.0, 1.0, f64::NAN, -f64::NAN, f64::INFINITY] {
        s.insert_f64(v);
    }
    assert_eq!(s.count(), 4);
    let mut t = DistinctSketch::default();
    for v in ["a", "b", "a", "", "ab"] {
        t.insert_bytes(v.as_bytes());
    }
    assert_eq!(t.count(), 4);
    assert_eq!(hash_f64(-0.0), hash_f64(0.0));
    assert_ne!(hash_i64(1), hash_bytes(b"1"));
}

#[test]
fn merging_is_a_union_in_any_order() {
    // Overlapping ranges, some past the exact limit, some not.
    let parts: Vec<DistinctSketch> = (0..12)
        .map(|i| distinct_of(i * 1500..i * 1500 + 1000 * (i % 4 + 1)))
        .collect();
    let truth: HashSet<i64> = (0..12)
        .flat_map(|i| i * 1500..i * 1500 + 1000 * (i % 4 + 1))
        .collect();
    let mut forward = DistinctSketch::default();
    parts.iter().for_each(|p| forward.merge(p).unwrap());
    let mut backward = DistinctSketch::default();
    parts.iter().rev().for_each(|p| backward.merge(p).unwrap());
    assert_eq!(forward, backward);
    let all = distinct_of(truth.iter().copied());
    assert_eq!(forward, all, "merging equals one sketch of everything");
    let rel = (forward.estimate() - truth.len() as f64).abs() / truth.len() as f64;
    assert!(rel < 0.025, "{rel}");
}

#[test]
fn small_merges_stay_exact() {
    let mut s = DistinctSketch::default();
    for i in 0..40 {
        s.merge(&distinct_of(i * 50..i * 50 + 100)).unwrap();
    }
    assert!(s.is_exact());
    assert_eq!(s.count(), 39 * 50 + 100);
}

#[test]
fn distinct_bytes_round_trip_and_errors() {
    for n in [0i64, 3, 4096, 4097, 100_000] {
        let s = distinct_of(0..n);
        let back = DistinctSketch::from_bytes(&s.to_bytes()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.to_bytes(), s.to_bytes());
    }
    let mut a = DistinctSketch::new(12).unwrap();
    let e = a.merge(&DistinctSketch::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert_eq!(
        DistinctSketch::new(3).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    let mut bytes = distinct_of(0..10).to_bytes();
    bytes[4] = 9;
    let e = DistinctSketch::from_bytes(&bytes).unwrap_err();
    assert!(e.message.contains("serial version 9"), "{}", e.message);
    assert_eq!(DEFAULT_PRECISION, 14);
}

#[test]
#[ignore = "10^7 distinct values, about a second in release; run with --release --ignored"]
fn within_two_percent_at_ten_million() {
    for seed in 0..3i64 {
        let n = 10_000_000i64;
        let s = distinct_of((0..n).map(|i| i.wrapping_mul(0x5851_f42d_4c95_7f2d) ^ seed));
        let rel = (s.estimate() - n as f64) / n as f64;
        println!(
            "10^7 distinct, seed {seed}: estimate {:.0}, error {:+.3}%",
            s.estimate(),
            100.0 * rel
        );
        assert!(rel.abs() < 0.02);
    }
}

fn heavy_of<'a>(values: impl IntoIterator<Item = &'a str>, k: u32) -> HeavyHitters {
    let mut s = HeavyHitters::new(k).unwrap();
    for v in values {
        s.update(v.as_bytes());
    }
    s
}

/// Checks the Misra-Gries guarantee of `s` against the exact counts of `values`.
fn check_bound(s: &HeavyHitters, values: &[String]) {
    let mut truth: HashMap<&str, u64> = HashMap::new();
    for v in values {
        *truth.entry(v).or_default() += 1;
    }
    let n = values.len() as u64;
    assert_eq!(s.count(), n);
    assert!(s.max_error() <= n / (u64::from(s.capacity()) + 1));
    for (v, &t) in &truth {
        let c = s.count_of(v.as_bytes());
        assert!(c <= t && t - c <= s.max_error(), "{v}: {c} for {t}");
    }
    let best = truth.values().max().copied().unwrap_or(0);
    if let Some((_, c)) = s.top() {
        assert!(c <= best && best - c <= s.max_error());
    }
}

fn zipf_like(n: usize, seed: u64) -> Vec<String> {
    (0..n as u64)
        .map(|i| {
            let u = (super::hash::mix(i ^ seed) >> 11) as f64 / (1u64 << 53) as f64;
            format!("v{}", (1.0 / (u + 1e-4)) as u64)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn heavy_hitters_hold_their_bound(
        values in proptest::collection::vec((0..60u32).prop_map(|v| format!("{}", v * v % 97)), 0..2000),
        k in 1..40u32,
        chunk in 1..300usize,
    ) {
        let one = heavy_of(values.iter().map(String::as_str), k);
        check_bound(&one, &values);
        let mut merged = HeavyHitters::new(k).unwrap();
        for c in values.chunks(chunk) {
            merged.merge(&heavy_of(c.iter().map(String::as_str), k)).unwrap();
        }
        check_bound(&merged, &values);
        let back = HeavyHitters::from_bytes(&merged.to_bytes()).unwrap();
        prop_assert_eq!(back, merged);
    }

    #[test]
    fn distinct_counts_are_exact_below_the_limit(
        ints in proptest::collection::vec(-50..50i64, 0..3000),
        floats in proptest::collection::vec(prop_oneof![Just(0.0), Just(-0.0), Just(f64::NAN), -3.0..3.0f64], 0..300),
        texts in proptest::collection::vec("[ab]{0,3}", 0..300),
        cut in 0..3000usize,
    ) {
        let mut a = DistinctSketch::default();
        let mut b = DistinctSketch::default();
        for (i, &v) in ints.iter().enumerate() {
            if i < cut { a.insert_i64(v) } else { b.insert_i64(v) }
        }
        a.merge(&b).unwrap();
        prop_assert_eq!(a.count(), ints.iter().collect::<HashSet<_>>().len() as u64);
        let mut f = DistinctSketch::default();
        floats.iter().for_each(|&v| f.insert_f64(v));
        // As numbers: -0.0 is 0.0, and every NaN one value.
        let canonical: HashSet<u64> = floats.iter().map(|&v| if v == 0.0 { 0 } else if v.is_nan() { 1 } else { v.to_bits() }).collect();
        prop_assert_eq!(f.count(), canonical.len() as u64);
        let mut t = DistinctSketch::default();
        texts.iter().for_each(|v| t.insert_bytes(v.as_bytes()));
        prop_assert_eq!(t.count(), texts.iter().collect::<HashSet<_>>().len() as u64);
        let back = DistinctSketch::from_bytes(&t.to_bytes()).unwrap();
        prop_assert_eq!(back, t);
    }

    #[test]
    fn any_bytes_read_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let errors = [DistinctSketch::from_bytes(&bytes).err(), HeavyHitters::from_bytes(&bytes).err()];
        for e in errors.into_iter().flatten() {
            prop_assert_eq!(e.kind, ErrorKind::DataFormat);
        }
    }

    #[test]
    fn damaged_sketches_read_or_fail_cleanly(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut h = heavy_of(["a", "bb", "a", "ccc"], 8).to_bytes();
        let i = at.index(h.len());
        h[i] = byte;
        if let Err(e) = HeavyHitters::from_bytes(&h) {
            prop_assert_eq!(e.kind, ErrorKind::DataFormat);
        }
        let mut d = distinct_of(0..20).to_bytes();
        let i = at.index(d.len());
        d[i] = byte;
        if let Err(e) = DistinctSketch::from_bytes(&d) {
            prop_assert_eq!(e.kind, ErrorKind::DataFormat);
        }
    }
}

#[test]
fn heavy_hitters_are_exact_while_they_fit() {
    let values: Vec<String> = (0..50_000).map(|i| format!("x{}", i % 1024)).collect();
    let s = heavy_of(values.iter().map(String::as_str), 1024);
    assert!(s.is_exact());
    assert_eq!(s.count_of(b"x7"), 49);
    // Ties go to the smallest value in byte order: x0..x847 occur 49 times.
    assert_eq!(s.top(), Some((&b"x0"[..], 49)));
}

#[test]
fn heavy_hitters_on_skewed_text_in_any_merge_order() {
    let values = zipf_like(200_000, 3);
    let parts: Vec<HeavyHitters> = values
        .chunks(7000)
        .map(|c| heavy_of(c.iter().map(String::as_str), 64))
        .collect();
    let mut forward = HeavyHitters::new(64).unwrap();
    parts.iter().for_each(|p| forward.merge(p).unwrap());
    let mut backward = HeavyHitters::new(64).unwrap();
    parts.iter().rev().for_each(|p| backward.merge(p).unwrap());
    for s in [
        &forward,
        &backward,
        &heavy_of(values.iter().map(String::as_str), 64),
    ] {
        check_bound(s, &values);
        // 1 / u is 1 for u over 1/2: "v1" is half the values.
        assert_eq!(s.top().unwrap().0, b"v1");
    }
    let e = forward.merge(&HeavyHitters::new(8).unwrap()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
}
