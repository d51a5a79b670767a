//! Per-value update cost of each sketch, printed, never asserted (speed is measured, not
//! tested): `cargo test --profile hooks --lib stats::sketch::bench -- --ignored --nocapture`.

use super::{hash_f64, DistinctSketch, HeavyHitters, KllSketch};
use std::hint::black_box;
use std::time::Instant;

const N: usize = 10_000_000;

fn report(name: &str, n: usize, run: impl FnOnce()) {
    let start = Instant::now();
    run();
    let ns = start.elapsed().as_secs_f64() * 1e9 / n as f64;
    println!("{name:<44} {ns:6.2} ns/value");
}

fn uniform(n: usize) -> Vec<f64> {
    (0..n as u64)
        .map(|i| (super::hash::mix(i) >> 11) as f64 / (1u64 << 53) as f64)
        .collect()
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture in an optimised profile"]
fn update_costs() {
    let random = uniform(N);
    let sorted: Vec<f64> = (0..N).map(|i| i as f64).collect();
    for (name, xs) in [("random", &random), ("sorted", &sorted)] {
        report(&format!("KLL k=200 update, {name} doubles"), N, || {
            let mut s = KllSketch::default();
            s.extend(xs);
            black_box(s.quantile(0.5).unwrap());
        });
    }
    report("HLL p=14 insert_f64, exact (4096 values)", N, || {
        let mut s = DistinctSketch::default();
        for &x in &random {
            s.insert_f64(((x * 4096.0) as u32) as f64);
        }
        black_box(s.estimate());
    });
    report("HLL p=14 insert_f64, registers (10^7 values)", N, || {
        let mut s = DistinctSketch::default();
        for &x in &random {
            s.insert_f64(x);
        }
        black_box(s.estimate());
    });
    report("hash_f64 alone", N, || {
        let mut acc = 0u64;
        for &x in &random {
            acc ^= hash_f64(x);
        }
        black_box(acc);
    });
    // Text as a scan sees it: one contiguous buffer, cut at offsets.
    let skewed: Vec<String> = random
        .iter()
        .take(N / 10)
        .map(|x| format!("w{}", (1.0 / (x + 1e-5)) as u64))
        .collect();
    let few: Vec<String> = (0..N / 10).map(|i| format!("city-{}", i % 300)).collect();
    for (name, values) in [("300 distinct", &few), ("skewed, ~10^5 distinct", &skewed)] {
        let text: Vec<u8> = values.iter().flat_map(|v| v.bytes()).collect();
        let mut ends = Vec::with_capacity(values.len());
        values.iter().fold(0, |end, v| {
            ends.push(end + v.len());
            end + v.len()
        });
        report(
            &format!("heavy hitters k=1024 update, {name}"),
            values.len(),
            || {
                let mut s = HeavyHitters::default();
                let mut start = 0;
                for &end in &ends {
                    s.update(&text[start..end]);
                    start = end;
                }
                black_box(s.top().map(|t| t.1));
            },
        );
        report(&format!("HLL insert_bytes, {name}"), values.len(), || {
            let mut s = DistinctSketch::default();
            let mut start = 0;
            for &end in &ends {
                s.insert_bytes(&text[start..end]);
                start = end;
            }
            black_box(s.estimate());
        });
    }
}
