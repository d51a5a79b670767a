//! Strided views of numeric memory owned by someone else (a numpy array, a C buffer).
//!
//! The views hold a raw pointer rather than a slice on purpose: a strided view must not
//! claim the gap elements between its own ones, which another thread may be using
//! (`a[0::2]` and `a[1::2]` processed at once). Everything outside `from_raw_parts` is safe.

use super::dtype::{with_dtype, Element};
use std::marker::PhantomData;

/// A read-only strided view: element `i` is at `ptr + i * stride` (in elements).
#[derive(Debug)]
pub struct Strided<'a, T> {
    ptr: *const T,
    len: usize,
    stride: isize,
    _borrow: PhantomData<&'a [T]>,
}

impl<T> Clone for Strided<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Strided<'_, T> {}

// SAFETY: the view only reads `T`s, which are `Sync`.
unsafe impl<T: Sync> Send for Strided<'_, T> {}
// SAFETY: as for `Send`: only reads, of `Sync` elements.
unsafe impl<T: Sync> Sync for Strided<'_, T> {}

impl<'a, T: Element> Strided<'a, T> {
    /// A view of all of `slice`, contiguous.
    pub fn from_slice(slice: &'a [T]) -> Self {
        Strided {
            ptr: slice.as_ptr(),
            len: slice.len(),
            stride: 1,
            _borrow: PhantomData,
        }
    }

    /// # Safety
    /// For every `i < len`, `ptr.offset(i * stride)` must be a valid, aligned `T` that
    /// nobody writes for the lifetime `'a`.
    pub unsafe fn from_raw_parts(ptr: *const T, len: usize, stride: isize) -> Self {
        Strided {
            ptr,
            len,
            stride,
            _borrow: PhantomData,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The elements as a slice when they are contiguous and in order.
    pub fn as_slice(&self) -> Option<&'a [T]> {
        if self.len == 0 {
            Some(&[])
        } else if self.stride == 1 || self.len == 1 {
            // SAFETY: contiguous elements, valid by the constructor's contract.
            Some(unsafe { std::slice::from_raw_parts(self.ptr, self.len) })
        } else {
            None
        }
    }

    #[inline(always)]
    /// Element `i` (panics out of bounds).
    pub fn get(&self, i: usize) -> T {
        assert!(
            i < self.len,
            "index {i} out of bounds for length {}",
            self.len
        );
        // SAFETY: in bounds, valid by the constructor's contract.
        unsafe { *self.ptr.offset(i as isize * self.stride) }
    }

    /// Two views: elements `..mid` and `mid..`.
    pub fn split_at(self, mid: usize) -> (Self, Self) {
        assert!(mid <= self.len);
        let right_ptr = if mid == self.len {
            self.ptr
        } else {
            self.ptr.wrapping_offset(mid as isize * self.stride)
        };
        (
            Strided { len: mid, ..self },
            Strided {
                ptr: right_ptr,
                len: self.len - mid,
                ..self
            },
        )
    }

    /// The sub-view of elements `start..start + len`.
    pub fn slice(self, start: usize, len: usize) -> Self {
        self.split_at(start).1.split_at(len).0
    }

    /// The elements in order.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        (0..self.len).map(move |i| self.get(i))
    }

    /// The memory the view touches, as addresses `[first byte, one past the last byte)`,
    /// and its (address of element 0, stride), for detecting overlapping views.
    pub fn footprint(&self) -> Footprint {
        Footprint::of(
            self.ptr as usize,
            self.len,
            self.stride,
            std::mem::size_of::<T>(),
        )
    }
}

/// Where a strided view lies in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Address of the lowest byte touched.
    pub start: usize,
    /// One past the highest byte touched.
    pub end: usize,
    /// Address of element 0.
    pub origin: usize,
    /// Distance between consecutive elements, in bytes (negative for reversed views).
    pub stride_bytes: isize,
}

impl Footprint {
    fn of(origin: usize, len: usize, stride: isize, size: usize) -> Footprint {
        if len == 0 {
            return Footprint {
                start: origin,
                end: origin,
                origin,
                stride_bytes: 0,
            };
        }
        let stride_bytes = stride * size as isize;
        let last = origin as isize + (len as isize - 1) * stride_bytes;
        let (lo, hi) = if stride_bytes < 0 {
            (last as usize, origin)
        } else {
            (origin, last as usize)
        };
        Footprint {
            start: lo,
            end: hi + size,
            origin,
            stride_bytes,
        }
    }

    /// Whether the two footprints share any byte.
    pub fn overlaps(&self, other: &Footprint) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// A writable strided view; its elements are distinct (stride != 0 when len > 1).
#[derive(Debug)]
pub struct StridedMut<'a, T> {
    ptr: *mut T,
    len: usize,
    stride: isize,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: the view has exclusive access to its elements, like `&mut [T]`.
unsafe impl<T: Send> Send for StridedMut<'_, T> {}
// SAFETY: shared access only reads, which `T: Sync` allows from any thread.
unsafe impl<T: Sync> Sync for StridedMut<'_, T> {}

impl<'a, T: Element> StridedMut<'a, T> {
    /// A view of all of `slice`, contiguous.
    pub fn from_slice(slice: &'a mut [T]) -> Self {
        StridedMut {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
            stride: 1,
            _borrow: PhantomData,
        }
    }

    /// # Safety
    /// For every `i < len`, `ptr.offset(i * stride)` must be a valid, aligned `T`, distinct
    /// for distinct `i`, that nobody else reads or writes for the lifetime `'a`.
    pub unsafe fn from_raw_parts(ptr: *mut T, len: usize, stride: isize) -> Self {
        debug_assert!(len <= 1 || stride != 0);
        StridedMut {
            ptr,
            len,
            stride,
            _borrow: PhantomData,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A read-only view of the same elements.
    pub fn as_read(&self) -> Strided<'_, T> {
        // SAFETY: same elements, read-only while `self` is borrowed.
        unsafe { Strided::from_raw_parts(self.ptr, self.len, self.stride) }
    }

    /// The elements as a slice when they are contiguous and in order.
    pub fn as_mut_slice(&mut self) -> Option<&mut [T]> {
        if self.len == 0 {
            Some(&mut [])
        } else if self.stride == 1 || self.len == 1 {
            // SAFETY: contiguous elements, exclusively ours by the constructor's contract.
            Some(unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) })
        } else {
            None
        }
    }

    /// Two disjoint views: elements `..mid` and `mid..`.
    pub fn split_at_mut(self, mid: usize) -> (Self, Self) {
        assert!(mid <= self.len);
        let right_ptr = if mid == self.len {
            self.ptr
        } else {
            self.ptr.wrapping_offset(mid as isize * self.stride)
        };
        (
            StridedMut {
                ptr: self.ptr,
                len: mid,
                stride: self.stride,
                _borrow: PhantomData,
            },
            StridedMut {
                ptr: right_ptr,
                len: self.len - mid,
                stride: self.stride,
                _borrow: PhantomData,
            },
        )
    }

    /// The memory the view touches (see `Strided::footprint`).
    pub fn footprint(&self) -> Footprint {
        Footprint::of(
            self.ptr as usize,
            self.len,
            self.stride,
            std::mem::size_of::<T>(),
        )
    }

    #[inline(always)]
    /// Writes element `i` (panics out of bounds).
    pub fn set(&mut self, i: usize, value: T) {
        assert!(
            i < self.len,
            "index {i} out of bounds for length {}",
            self.len
        );
        // SAFETY: in bounds and exclusively ours by the constructor's contract.
        unsafe { *self.ptr.offset(i as isize * self.stride) = value }
    }

    /// Replaces every element `x` by `f(x)`.
    #[inline]
    pub fn update(&mut self, mut f: impl FnMut(T) -> T) {
        if let Some(slice) = self.as_mut_slice() {
            for x in slice {
                *x = f(*x);
            }
            return;
        }
        for i in 0..self.len {
            // SAFETY: in bounds and exclusively ours.
            unsafe {
                let p = self.ptr.offset(i as isize * self.stride);
                *p = f(*p);
            }
        }
    }
}

/// A read-only 2-D strided view: element `(i, j)` is at
/// `ptr + i * row_stride + j * col_stride` (in elements). Any order: C, Fortran, sliced.
#[derive(Debug)]
pub struct Strided2d<'a, T> {
    ptr: *const T,
    rows: usize,
    cols: usize,
    row_stride: isize,
    col_stride: isize,
    _borrow: PhantomData<&'a [T]>,
}

impl<T> Clone for Strided2d<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Strided2d<'_, T> {}
// SAFETY: read-only, like `Strided`.
unsafe impl<T: Sync> Send for Strided2d<'_, T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Sync> Sync for Strided2d<'_, T> {}

impl<'a, T: Element> Strided2d<'a, T> {
    /// # Safety
    /// Every element `(i, j)` with `i < rows`, `j < cols` must be a valid, aligned `T`
    /// that nobody writes for the lifetime `'a`.
    pub unsafe fn from_raw_parts(
        ptr: *const T,
        rows: usize,
        cols: usize,
        row_stride: isize,
        col_stride: isize,
    ) -> Self {
        Strided2d {
            ptr,
            rows,
            cols,
            row_stride,
            col_stride,
            _borrow: PhantomData,
        }
    }

    /// A row-major matrix over a slice of `rows * cols` elements.
    pub fn from_slice(slice: &'a [T], rows: usize, cols: usize) -> Self {
        assert_eq!(slice.len(), rows * cols);
        // SAFETY: every (i, j) is inside the slice.
        unsafe { Self::from_raw_parts(slice.as_ptr(), rows, cols, cols as isize, 1) }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Distance between rows, in elements.
    pub fn row_stride(&self) -> isize {
        self.row_stride
    }

    /// Distance between columns, in elements.
    pub fn col_stride(&self) -> isize {
        self.col_stride
    }

    /// The same elements with rows and columns swapped.
    pub fn transposed(self) -> Self {
        Strided2d {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Column `j` as a 1-D view.
    pub fn column(&self, j: usize) -> Strided<'a, T> {
        assert!(j < self.cols);
        // SAFETY: the column's elements are elements of the matrix.
        unsafe {
            Strided::from_raw_parts(
                self.ptr.wrapping_offset(j as isize * self.col_stride),
                self.rows,
                self.row_stride,
            )
        }
    }

    /// The elements as one row-major slice, when rows are contiguous and follow each
    /// other without gaps.
    pub fn as_row_major_slice(&self) -> Option<&'a [T]> {
        let packed = self.col_stride == 1 && self.row_stride == self.cols as isize;
        let len = self.rows.checked_mul(self.cols)?;
        // SAFETY: packed rows: the elements are exactly ptr[0..rows * cols], all valid.
        (packed && len > 0).then(|| unsafe { std::slice::from_raw_parts(self.ptr, len) })
    }

    /// Rows `start..start + len` as a matrix.
    pub fn row_range(&self, start: usize, len: usize) -> Self {
        assert!(start + len <= self.rows);
        Strided2d {
            ptr: if len == 0 {
                self.ptr
            } else {
                self.ptr.wrapping_offset(start as isize * self.row_stride)
            },
            rows: len,
            ..*self
        }
    }
}

/// A read-only view of any supported dtype.
#[derive(Debug, Clone, Copy)]
pub enum View<'a> {
    /// float64 elements.
    F64(Strided<'a, f64>),
    /// float32 elements.
    F32(Strided<'a, f32>),
    /// int64 elements.
    I64(Strided<'a, i64>),
    /// int32 elements.
    I32(Strided<'a, i32>),
}

/// A read-only 2-D view of any supported dtype.
#[derive(Debug, Clone, Copy)]
pub enum View2d<'a> {
    /// float64 elements.
    F64(Strided2d<'a, f64>),
    /// float32 elements.
    F32(Strided2d<'a, f32>),
    /// int64 elements.
    I64(Strided2d<'a, i64>),
    /// int32 elements.
    I32(Strided2d<'a, i32>),
}

impl View2d<'_> {
    /// (rows, cols).
    pub fn shape(&self) -> (usize, usize) {
        with_dtype!(self, View2d, m => (m.rows(), m.cols()))
    }
}

/// A writable view of any supported dtype.
#[derive(Debug)]
pub enum ViewMut<'a> {
    /// float64 elements.
    F64(StridedMut<'a, f64>),
    /// float32 elements.
    F32(StridedMut<'a, f32>),
    /// int64 elements.
    I64(StridedMut<'a, i64>),
    /// int32 elements.
    I32(StridedMut<'a, i32>),
}

impl View<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        with_dtype!(self, View, v => v.len())
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` as a float64 (exact for float32 and int32; int64 rounds past 2^53).
    #[inline]
    pub fn get_f64(&self, i: usize) -> f64 {
        with_dtype!(self, View, v => v.get(i).to_f64())
    }

    /// The memory the view touches (see `Strided::footprint`).
    pub fn footprint(&self) -> Footprint {
        with_dtype!(self, View, v => v.footprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_reads_every_other_element_in_both_directions() {
        let data = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        // SAFETY: elements 0, 2 and 4 of `data`.
        let forward = unsafe { Strided::from_raw_parts(data.as_ptr(), 3, 2) };
        assert_eq!(forward.iter().collect::<Vec<_>>(), vec![0.0, 2.0, 4.0]);
        // SAFETY: elements 5, 3 and 1 of `data`.
        let backward = unsafe { Strided::from_raw_parts(data.as_ptr().add(5), 3, -2) };
        assert_eq!(backward.iter().collect::<Vec<_>>(), vec![5.0, 3.0, 1.0]);
        let (left, right) = backward.split_at(1);
        assert_eq!(left.iter().collect::<Vec<_>>(), vec![5.0]);
        assert_eq!(right.iter().collect::<Vec<_>>(), vec![3.0, 1.0]);
        assert!(backward.as_slice().is_none());
    }

    #[test]
    fn strided_mut_updates_only_its_own_elements() {
        let mut data = [1i32, 10, 2, 20, 3, 30];
        // SAFETY: elements 1, 3 and 5 of `data`, which nothing else uses meanwhile.
        let mut view = unsafe { StridedMut::from_raw_parts(data.as_mut_ptr().add(1), 3, 2) };
        view.update(|x| x + 1);
        assert_eq!(data, [1, 11, 2, 21, 3, 31]);
    }

    #[test]
    fn split_at_the_ends_gives_empty_views() {
        let data = [1.0f32, 2.0];
        let view = Strided::from_slice(&data);
        let (empty, all) = view.split_at(0);
        assert!(empty.is_empty());
        assert_eq!(all.len(), 2);
        let (all, empty) = view.split_at(2);
        assert_eq!(all.len(), 2);
        assert!(empty.is_empty());
        assert_eq!(view.slice(1, 1).get(0), 2.0);
    }
}
