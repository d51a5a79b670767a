//! Exact quantiles of a column too long to hold, in a few more passes over the file.
//!
//! numpy's `linear` quantile at `q` needs the values at positions `floor((n - 1) q)` and
//! the next. For each such position the KLL sketch of the first pass brackets the value
//! (its rank error bounds where it can be). A pass then either collects the values inside
//! the bracket (when few enough: at most `COLLECT_LIMIT`, 65,536) or counts them in up to 1024
//! sub-ranges, which narrows the bracket to one sub-range of known rank for the next
//! pass. Every count is exact, so a bracket the sketch got wrong only costs another pass
//! (a wider one), never a wrong answer; memory stays bounded by `COLLECT_LIMIT` values
//! per position whatever the file's size. Typically: no pass while the sketch still holds
//! every value, one up to about a million values, two beyond.

use crate::stats::sketch::KllSketch;

/// The most values a probe collects: 512 KiB of doubles (a description has a few probes
/// per column, so more would cost hundreds of MiB); tiny in tests, so that they take the
/// counting passes too.
const COLLECT_LIMIT: usize = if cfg!(test) { 1 << 9 } else { 1 << 16 };
/// Sub-ranges of a counting pass.
const BUCKETS: usize = 1024;

/// What one pass learns about the values near one position.
#[derive(Debug, Clone)]
pub enum Probe {
    /// Values in `low..=high` (`..high` unless `closed`), and how many are below `low`.
    Collect {
        low: f64,
        high: f64,
        closed: bool,
        below: u64,
        inside: Vec<f64>,
    },
    /// How many values fall in each range `edges[j]..edges[j + 1]` (the last closed),
    /// and how many are below `edges[0]`.
    Count {
        edges: Vec<f64>,
        below: u64,
        counts: Vec<u64>,
    },
}

impl Probe {
    fn collect(low: f64, high: f64, closed: bool) -> Probe {
        Probe::Collect {
            low,
            high,
            closed,
            below: 0,
            inside: Vec::new(),
        }
    }

    fn count(mut edges: Vec<f64>) -> Probe {
        edges.dedup();
        if edges.len() == 1 {
            edges.push(edges[0]);
        }
        let buckets = edges.len() - 1;
        Probe::Count {
            edges,
            below: 0,
            counts: vec![0; buckets],
        }
    }

    /// Takes a block of values (no NaN).
    pub fn add(&mut self, xs: &[f64]) {
        match self {
            Probe::Collect {
                low,
                high,
                closed,
                below,
                inside,
            } => {
                for &x in xs {
                    if x < *low {
                        *below += 1;
                    } else if x < *high || (*closed && x == *high) {
                        inside.push(x);
                    }
                }
            }
            Probe::Count {
                edges,
                below,
                counts,
            } => {
                let last = edges[edges.len() - 1];
                let top = counts.len() - 1;
                for &x in xs {
                    if x < edges[0] {
                        *below += 1;
                    } else if x <= last {
                        let j = edges[1..].partition_point(|&e| e <= x);
                        counts[j.min(top)] += 1;
                    }
                }
            }
        }
    }

    /// Adds what the same probe learnt from another part of the file.
    pub fn merge(&mut self, other: &Probe) {
        match (self, other) {
            (
                Probe::Collect { below, inside, .. },
                Probe::Collect {
                    below: b,
                    inside: i,
                    ..
                },
            ) => {
                *below += b;
                inside.extend_from_slice(i);
            }
            (
                Probe::Count { below, counts, .. },
                Probe::Count {
                    below: b,
                    counts: c,
                    ..
                },
            ) => {
                *below += b;
                for (a, b) in counts.iter_mut().zip(c) {
                    *a += b;
                }
            }
            _ => unreachable!("parts of one pass probe alike"),
        }
    }

    /// An empty probe asking what this one asks.
    pub fn fresh(&self) -> Probe {
        match self {
            Probe::Collect {
                low, high, closed, ..
            } => Probe::collect(*low, *high, *closed),
            Probe::Count { edges, .. } => Probe::count(edges.clone()),
        }
    }
}

/// The search for the value at one position of a column's sorted values.
#[derive(Debug, Clone)]
pub struct Target {
    /// The 0-based position among the column's `n` sorted non-NaN values.
    pub position: u64,
    /// The next pass's probe, until the value is known.
    pub probe: Option<Probe>,
    /// The value, once known.
    pub value: Option<f64>,
}

impl Target {
    /// The search for `position` of `n` values summarised by `sketch`.
    pub fn new(position: u64, n: u64, sketch: &KllSketch) -> Target {
        if sketch.is_exact() {
            let q = if n > 1 {
                position as f64 / (n - 1) as f64
            } else {
                0.0
            };
            let value = sketch.quantile(q).ok();
            return Target {
                position,
                probe: None,
                value,
            };
        }
        // Twice the rank bound (the sampler's share included) on each side.
        let margin = 2.0 * sketch.rank_error().max(1.0 / n as f64) * 1.05;
        let at = position as f64 / (n - 1).max(1) as f64;
        let (from, to) = ((at - margin).max(0.0), (at + margin).min(1.0));
        let probe = if (n as f64 * (to - from)) as usize <= COLLECT_LIMIT {
            let qs = sketch.quantiles(&[from, to]).unwrap_or_default();
            Probe::collect(qs[0], qs[1], true)
        } else {
            Probe::count(equi_depth(sketch, from, to))
        };
        Target {
            position,
            probe: Some(probe),
            value: None,
        }
    }

    /// Reads what the pass's probe found: the value, or the next probe. `sketch` gives
    /// the edges when a bracket missed.
    pub fn resolve(&mut self, sketch: &KllSketch) {
        let Some(probe) = self.probe.take() else {
            return;
        };
        let r = self.position;
        let (min, max) = sketch.min_max().unwrap_or((f64::NAN, f64::NAN));
        match probe {
            Probe::Collect {
                low,
                high,
                below,
                mut inside,
                ..
            } => {
                let end = below + inside.len() as u64;
                if (below..end).contains(&r) {
                    let i = (r - below) as usize;
                    let (_, v, _) = inside.select_nth_unstable_by(i, f64::total_cmp);
                    self.value = Some(*v);
                } else if r < below {
                    // The value is below the bracket: count everything from the minimum.
                    self.probe = Some(Probe::count(value_split(min, low)));
                } else {
                    self.probe = Some(Probe::count(value_split(high, max)));
                }
            }
            Probe::Count {
                edges,
                below,
                counts,
            } => {
                let mut start = below;
                let found = counts.iter().enumerate().find_map(|(j, &c)| {
                    let hit = (start..start + c).contains(&r);
                    start += c;
                    hit.then_some((j, c))
                });
                let Some((j, c)) = found else {
                    // Outside every range counted: count the whole side it is on.
                    let edge = if r < below {
                        (min, edges[0])
                    } else {
                        (edges[edges.len() - 1], max)
                    };
                    self.probe = Some(Probe::count(value_split(edge.0, edge.1)));
                    return;
                };
                let (low, high) = (edges[j], edges[j + 1]);
                let closed = j + 1 == counts.len();
                if low == high || (low.next_up() == high && !closed) {
                    self.value = Some(low); // one value fills the range
                } else if c as usize <= COLLECT_LIMIT {
                    self.probe = Some(Probe::collect(low, high, closed));
                } else {
                    self.probe = Some(Probe::count(value_split(low, high)));
                }
            }
        }
    }
}

/// `BUCKETS + 1` edges at the sketch's quantiles from rank `from` to rank `to`.
fn equi_depth(sketch: &KllSketch, from: f64, to: f64) -> Vec<f64> {
    let qs: Vec<f64> = (0..=BUCKETS)
        .map(|i| from + (to - from) * i as f64 / BUCKETS as f64)
        .collect();
    sketch.quantiles(&qs).unwrap_or_default()
}

/// Edges evenly from `low` to `high`; an infinite end gets a range of its own (between
/// it and the largest finite double), so that it is found alone.
fn value_split(low: f64, high: f64) -> Vec<f64> {
    if low >= high || low.is_nan() || high.is_nan() {
        return vec![low, high];
    }
    let (a, b) = (low.max(-f64::MAX), high.min(f64::MAX));
    // a (1 - t) + b t never overflows, unlike a + (b - a) t.
    let mut edges: Vec<f64> = (0..=BUCKETS)
        .map(|i| i as f64 / BUCKETS as f64)
        .map(|t| a * (1.0 - t) + b * t)
        .collect();
    (edges[0], edges[BUCKETS]) = (a, b);
    if low < a {
        edges.insert(0, low);
    }
    if high > b {
        edges.push(high);
    }
    edges.dedup();
    edges
}
