//! Equal-width histograms that agree with `numpy.histogram` bin for bin.
//!
//! numpy's result is defined by its edges (`linspace`) and by the rule "x falls in
//! `[edge[i], edge[i+1])`, the last bin closed"; the edges and the index arithmetic below
//! follow numpy's own steps so that values on or near an edge land where numpy puts them.

use crate::array::with_dtype;
use crate::array::{DType, Element, Strided, View};
use crate::error::{Error, Result};
use crate::runtime::pool::{map_chunks, CHUNK_LEN};

/// Counts per bin and the `bins + 1` edges.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Count per bin.
    pub counts: Vec<u64>,
    /// The bins' edges, one more than the counts.
    pub edges: Vec<f64>,
}

fn linspace(first: f64, last: f64, bins: usize, single: bool) -> Vec<f64> {
    let round = |x: f64| if single { x as f32 as f64 } else { x };
    let div = bins as f64;
    let delta = round(last - first);
    let step = round(delta / div);
    let mut edges: Vec<f64> = (0..=bins)
        .map(|i| {
            let y = if step == 0.0 {
                round(round(i as f64 / div) * delta)
            } else {
                round(i as f64 * step)
            };
            round(y + first)
        })
        .collect();
    edges[bins] = last;
    edges
}

/// The bin of `x` (already known to lie in `[first, last]`): the `i` with
/// `edges[i] <= x < edges[i + 1]` (the last bin closed), found like numpy does from an
/// estimate that is within one bin, then corrected against the edges themselves. So the
/// answer depends only on the edges, which match numpy's exactly.
#[inline(always)]
fn bin_of(x: f64, first: f64, scale: f64, bins: usize, edges: &[f64]) -> usize {
    let mut i = (((x - first) * scale) as usize).min(bins - 1);
    if x < edges[i] {
        i -= 1;
    } else if i != bins - 1 && x >= edges[i + 1] {
        i += 1;
    }
    i
}

fn count<T: Element>(view: Strided<'_, T>, bins: usize, edges: &[f64]) -> Result<Vec<u64>> {
    let (first, last) = (edges[0], edges[bins]);
    let scale = bins as f64 / (last - first);
    let parts = map_chunks(view, CHUNK_LEN, |chunk| {
        let mut counts = vec![0u64; bins];
        for x in chunk.iter() {
            let v = x.to_f64();
            if v >= first && v <= last {
                counts[bin_of(v, first, scale, bins, edges)] += 1;
            }
        }
        counts
    })?;
    let mut total = vec![0u64; bins];
    for part in parts {
        for (t, c) in total.iter_mut().zip(part) {
            *t += c;
        }
    }
    Ok(total)
}

/// numpy's `_get_outer_edges`: the range given, or the data's min and max, widened by
/// 0.5 on each side when they are equal.
fn outer_edges<T: Element>(view: Strided<'_, T>, range: Option<(f64, f64)>) -> Result<(f64, f64)> {
    let (first, last) = match range {
        Some((lo, hi)) => {
            if lo > hi {
                return Err(Error::invalid_argument(format!(
                    "range: the lower end {lo} is larger than the upper end {hi}"
                )));
            }
            if !(lo.is_finite() && hi.is_finite()) {
                return Err(Error::invalid_argument(format!(
                    "range: [{lo}, {hi}] is not finite"
                )));
            }
            (lo, hi)
        }
        None if view.is_empty() => (0.0, 1.0),
        None => {
            let parts = map_chunks(view, CHUNK_LEN, |c| {
                c.iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                        let v = x.to_f64();
                        // NaN sticks once seen: f64::min would drop it at the next number.
                        if v.is_nan() || lo.is_nan() {
                            (f64::NAN, f64::NAN)
                        } else {
                            (lo.min(v), hi.max(v))
                        }
                    })
            })?;
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for (a, b) in parts {
                if a.is_nan() || lo.is_nan() {
                    (lo, hi) = (f64::NAN, f64::NAN);
                } else {
                    (lo, hi) = (lo.min(a), hi.max(b));
                }
            }
            if !(lo.is_finite() && hi.is_finite()) {
                return Err(Error::invalid_argument(format!(
                    "the data's range [{lo}, {hi}] is not finite; pass range=(lo, hi) to bin the finite values"
                )));
            }
            (lo, hi)
        }
    };
    if first == last {
        let widen = |v: f64| {
            if T::DTYPE == DType::F32 {
                v as f32 as f64
            } else {
                v
            }
        };
        return Ok((widen(first - 0.5), widen(last + 0.5)));
    }
    Ok((first, last))
}

fn histogram_of<T: Element>(
    view: Strided<'_, T>,
    bins: usize,
    range: Option<(f64, f64)>,
) -> Result<Histogram> {
    let (first, last) = outer_edges(view, range)?;
    // numpy computes float32 edges in float32 when the range comes from float32 data, and
    // in float64 (then rounds) when it is given as Python floats.
    let single_math = T::DTYPE == DType::F32 && range.is_none();
    let mut edges = linspace(first, last, bins, single_math);
    if T::DTYPE == DType::F32 {
        edges.iter_mut().for_each(|e| *e = *e as f32 as f64);
    }
    // numpy refuses a range too narrow for the bins to have distinct edges.
    if edges.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::invalid_argument(format!(
            "too many bins for the data range [{first}, {last}]: cannot create {bins} finite-sized bins"
        )));
    }
    let counts = count(view, bins, &edges)?;
    Ok(Histogram { counts, edges })
}

/// The histogram of `column` in `bins` equal-width bins over `range` (default: the data's
/// min and max). Values outside the range, and NaN, are not counted; the last bin
/// includes its right edge.
pub fn histogram(column: View<'_>, bins: usize, range: Option<(f64, f64)>) -> Result<Histogram> {
    if bins == 0 {
        return Err(Error::invalid_argument("bins must be at least 1, got 0"));
    }
    if bins > u32::MAX as usize {
        return Err(Error::invalid_argument(format!(
            "bins must be at most {}, got {bins}",
            u32::MAX
        )));
    }
    with_dtype!(column, View, v => histogram_of(v, bins, range))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(xs: &[f64], bins: usize, range: Option<(f64, f64)>) -> Histogram {
        histogram(View::F64(Strided::from_slice(xs)), bins, range).unwrap()
    }

    #[test]
    fn values_on_edges_go_right_except_the_last() {
        let h = hist(&[0.0, 1.0, 2.0, 3.0, 4.0], 4, None);
        assert_eq!(h.edges, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(h.counts, vec![1, 1, 1, 2]);
    }

    #[test]
    fn out_of_range_and_nan_are_not_counted() {
        let h = hist(&[-1.0, 0.5, f64::NAN, 2.0], 2, Some((0.0, 1.0)));
        assert_eq!(h.counts, vec![0, 1]);
    }

    #[test]
    fn equal_min_and_max_widen_by_half() {
        let h = hist(&[3.0, 3.0], 2, None);
        assert_eq!(h.edges, vec![2.5, 3.0, 3.5]);
        assert_eq!(h.counts, vec![0, 2]);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let xs = [1.0, f64::NAN];
        assert!(histogram(View::F64(Strided::from_slice(&xs)), 0, None).is_err());
        let err = histogram(View::F64(Strided::from_slice(&xs)), 3, None).unwrap_err();
        assert!(err.message.contains("not finite"), "{}", err.message);
        let err = histogram(View::F64(Strided::from_slice(&xs)), 3, Some((2.0, 1.0)));
        assert!(err.unwrap_err().message.contains("larger"));
    }

    #[test]
    fn too_many_bins_for_a_tiny_range_is_an_error() {
        let err = histogram(
            View::F64(Strided::from_slice(&[0.0])),
            2,
            Some((0.0, 5e-324)),
        );
        assert!(err.unwrap_err().message.contains("too many bins"));
    }

    #[test]
    fn large_input_counts_everything_once() {
        let xs: Vec<f64> = (0..1_000_003).map(|i| (i % 1000) as f64).collect();
        let h = hist(&xs, 100, None);
        assert_eq!(h.counts.iter().sum::<u64>(), xs.len() as u64);
    }
}
