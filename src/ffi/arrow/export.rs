//! `crate::arrow` schemas and batches into the C Data Interface's structs. Each exported
//! node owns what it points to through its private data (strings, our buffers, a
//! keep-alive of the file whose mapping a zero-copy buffer is part of) until its release
//! callback runs, on whatever thread.

use super::{ArrowArray, ArrowSchema, FLAG_NULLABLE};
use crate::arrow::{Batch, Buffer, Column, Field};
use crate::ffi::guard;
use std::any::Any;
use std::ffi::{c_void, CString};
use std::sync::Arc;

/// What keeps mapped bytes alive, and where they start.
#[derive(Clone)]
pub(super) struct Mapped {
    /// Whatever owns the mapping (the open dataset).
    pub(super) _owner: Arc<dyn Any + Send + Sync>,
    /// The mapping's first byte and length.
    pub(super) base: *const u8,
    pub(super) len: usize,
}

// SAFETY: `base` points into memory that `owner` keeps mapped, read-only; the pointer is
// only turned into buffer addresses, never written through.
unsafe impl Send for Mapped {}
// SAFETY: as for Send: shared read-only memory.
unsafe impl Sync for Mapped {}

struct SchemaPrivate {
    format: CString,
    name: CString,
    children: Vec<*mut ArrowSchema>,
}

/// Writes a struct schema (format `+s`) of `fields` to `out`.
pub(super) fn schema(fields: &[Field], out: &mut ArrowSchema) {
    let children = fields
        .iter()
        .map(|f| {
            let mut child = Box::new(ArrowSchema::EMPTY);
            node(
                &mut child,
                f.data_type.format(),
                &f.name,
                if f.nullable { FLAG_NULLABLE } else { 0 },
                Vec::new(),
            );
            Box::into_raw(child)
        })
        .collect();
    node(out, "+s", "", 0, children);
}

fn node(
    out: &mut ArrowSchema,
    format: &str,
    name: &str,
    flags: i64,
    children: Vec<*mut ArrowSchema>,
) {
    let c = |s: &str| CString::new(s.replace('\0', "\u{fffd}")).expect("no NUL left");
    let mut private = Box::new(SchemaPrivate {
        format: c(format),
        name: c(name),
        children,
    });
    *out = ArrowSchema {
        format: private.format.as_ptr(),
        name: private.name.as_ptr(),
        metadata: std::ptr::null(),
        flags,
        n_children: private.children.len() as i64,
        children: private.children.as_mut_ptr(),
        dictionary: std::ptr::null_mut(),
        release: Some(release_schema),
        private_data: Box::into_raw(private).cast(),
    };
}

/// Releases a schema node we made, and its children not moved out.
unsafe extern "C" fn release_schema(schema: *mut ArrowSchema) {
    guard::callback((), || {
        if schema.is_null() {
            return;
        }
        // SAFETY: the spec's contract: a schema we made and not yet released.
        let s = unsafe { &mut *schema };
        if s.private_data.is_null() {
            s.release = None;
            return;
        }
        // SAFETY: made by Box::into_raw in `node`, released once (release is cleared).
        let private = unsafe { Box::from_raw(s.private_data.cast::<SchemaPrivate>()) };
        for &child in &private.children {
            // SAFETY: each child was Box::into_raw'd in `schema`; a consumer that moved
            // one out left a released struct behind, whose release is None.
            let mut child = unsafe { Box::from_raw(child) };
            if let Some(release) = child.release {
                // SAFETY: the child's own release callback, on a live child.
                unsafe { release(&mut *child) };
            }
        }
        *s = ArrowSchema::EMPTY;
    })
}

struct ArrayPrivate {
    /// Our buffers, kept alive (the pointers below point into them).
    _columns: Option<Column>,
    /// What keeps mapped bytes alive.
    _mapped: Option<Mapped>,
    buffers: Vec<*const c_void>,
    children: Vec<*mut ArrowArray>,
}

/// Writes `batch` to `out` as a struct array (one child per column). Mapped buffers are
/// addresses in `mapped`'s mapping.
pub(super) fn batch(batch: Batch, mapped: &Mapped, out: &mut ArrowArray) {
    let rows = batch.rows as i64;
    let children = batch
        .columns
        .into_iter()
        .map(|c| {
            let mut child = Box::new(ArrowArray::EMPTY);
            column(c, mapped, &mut child);
            Box::into_raw(child)
        })
        .collect();
    let private = ArrayPrivate {
        _columns: None,
        _mapped: None,
        buffers: vec![std::ptr::null()],
        children,
    };
    array_node(out, rows, 0, private);
}

/// Writes one column to `out`.
fn column(column: Column, mapped: &Mapped, out: &mut ArrowArray) {
    let pointer = |b: &Buffer| -> *const c_void {
        match b {
            Buffer::Owned { words, .. } => words.as_ptr().cast(),
            Buffer::Bytes(bytes) => bytes.as_ptr().cast(),
            Buffer::Mapped(range) => {
                assert!(
                    range.end <= mapped.len,
                    "a mapped buffer past the mapping's end"
                );
                // SAFETY: within the mapping (checked), which `mapped.owner` keeps alive.
                unsafe { mapped.base.add(range.start) }.cast()
            }
        }
    };
    let mut buffers = vec![column.validity.as_ref().map_or(std::ptr::null(), pointer)];
    buffers.extend(column.buffers.iter().map(pointer));
    let uses_mapping = column
        .buffers
        .iter()
        .any(|b| matches!(b, Buffer::Mapped(_)));
    let (len, nulls) = (column.len as i64, column.null_count as i64);
    let private = ArrayPrivate {
        _columns: Some(column),
        _mapped: uses_mapping.then(|| mapped.clone()),
        buffers,
        children: Vec::new(),
    };
    array_node(out, len, nulls, private);
}

fn array_node(out: &mut ArrowArray, length: i64, null_count: i64, private: ArrayPrivate) {
    let mut private = Box::new(private);
    *out = ArrowArray {
        length,
        null_count,
        offset: 0,
        n_buffers: private.buffers.len() as i64,
        n_children: private.children.len() as i64,
        buffers: private.buffers.as_mut_ptr(),
        children: private.children.as_mut_ptr(),
        dictionary: std::ptr::null_mut(),
        release: Some(release_array),
        private_data: Box::into_raw(private).cast(),
    };
}

/// Releases an array node we made, and its children not moved out.
unsafe extern "C" fn release_array(array: *mut ArrowArray) {
    guard::callback((), || {
        if array.is_null() {
            return;
        }
        // SAFETY: the spec's contract: an array we made and not yet released.
        let a = unsafe { &mut *array };
        if a.private_data.is_null() {
            a.release = None;
            return;
        }
        // SAFETY: made by Box::into_raw in `array_node`, released once.
        let private = unsafe { Box::from_raw(a.private_data.cast::<ArrayPrivate>()) };
        for &child in &private.children {
            // SAFETY: each child was Box::into_raw'd in `batch`; a moved-out one was
            // left released (release None).
            let mut child = unsafe { Box::from_raw(child) };
            if let Some(release) = child.release {
                // SAFETY: the child's own release callback, on a live child.
                unsafe { release(&mut *child) };
            }
        }
        *a = ArrowArray::EMPTY;
    })
}
