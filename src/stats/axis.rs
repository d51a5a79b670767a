//! Statistics along an axis of a 2-D view: one summary per column or per row.

use super::block::merge_all;
use super::row_major::row_major_any;
use super::Stats;
use crate::array::{with_dtype, Element, Strided2d, View2d};
use crate::error::Result;
use crate::runtime::pool::{map_chunks, CHUNK_LEN};
use rayon::prelude::*;

/// Which summaries of a 2-D view to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// One summary per column (numpy's `axis=0`).
    Columns,
    /// One summary per row (numpy's `axis=1`).
    Rows,
}

/// Elements per row block of the blocked column pass: small enough to stay in L2 while
/// each column of the block is summarised in turn.
const ROW_BLOCK_ELEMENTS: usize = 1 << 15;

/// One summary per column of `m`, in one pass over memory, in parallel.
fn columns_of<T: Element>(m: Strided2d<'_, T>) -> Result<Vec<Stats>> {
    let (rows, cols) = (m.rows(), m.cols());
    if rows == 0 || cols == 0 {
        return Ok(vec![Stats::EMPTY; cols]);
    }
    let pool = crate::runtime::pool::pool()?;
    let tasks = pool.current_num_threads() * 4;
    pool.install(|| {
        if m.row_stride().unsigned_abs() <= m.col_stride().unsigned_abs() {
            // Each column is (nearly) contiguous: summarise columns independently.
            if cols >= tasks {
                return Ok((0..cols)
                    .into_par_iter()
                    .map(|j| Stats::of_strided(m.column(j)))
                    .collect());
            }
            return (0..cols)
                .map(|j| {
                    let parts = map_chunks(m.column(j), CHUNK_LEN, Stats::of_strided)?;
                    Ok(merge_all(&parts))
                })
                .collect();
        }
        // Rows are contiguous: walk blocks of rows that fit in cache, and within each
        // block summarise column by column; merge the blocks in order.
        let block_rows = (ROW_BLOCK_ELEMENTS / cols).max(1);
        let blocks = rows.div_ceil(block_rows);
        let parts: Vec<Vec<Stats>> = (0..blocks)
            .into_par_iter()
            .map(|b| {
                let start = b * block_rows;
                let block = m.row_range(start, block_rows.min(rows - start));
                let packed = block.as_row_major_slice();
                if let Some(all) = packed.and_then(|xs| row_major_any(xs, cols)) {
                    return all;
                }
                (0..cols)
                    .map(|j| Stats::of_strided(block.column(j)))
                    .collect()
            })
            .collect();
        let mut totals = vec![Stats::EMPTY; cols];
        for part in &parts {
            for (total, s) in totals.iter_mut().zip(part) {
                total.merge(s);
            }
        }
        Ok(totals)
    })
}

/// One summary per column or per row of a 2-D view.
pub fn stats_along(matrix: View2d<'_>, axis: Axis) -> Result<Vec<Stats>> {
    fn typed<T: Element>(m: Strided2d<'_, T>, axis: Axis) -> Result<Vec<Stats>> {
        match axis {
            Axis::Columns => columns_of(m),
            Axis::Rows => columns_of(m.transposed()),
        }
    }
    with_dtype!(matrix, View2d, m => typed(m, axis))
}

/// The summary of every element of a 2-D view.
pub fn stats_of_view2d(matrix: View2d<'_>) -> Result<Stats> {
    Ok(merge_all(&stats_along(matrix, Axis::Columns)?))
}
