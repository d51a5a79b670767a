//! The table of live handles. A handle is `generation << 32 | slot`; the generation of a
//! slot changes when its object is destroyed, so a stale, forged or double-freed handle
//! is found out instead of touching freed memory. Lookups take the lock only long enough
//! to clone an `Arc`, so calls on different handles run in parallel, and an object
//! destroyed while another thread uses it lives until that call returns. The lock is a
//! `ForkLock`: a child forked while another thread held it can still make handles.

use super::status::{oxb_status, FfiError, FfiResult};
use crate::runtime::fork_lock::ForkLock;
use std::any::Any;
use std::sync::Arc;

/// A type that C sees as a handle; `KIND` names it in error messages.
pub(crate) trait Handled: Any + Send + Sync {
    const KIND: &'static str;
}

struct Entry {
    kind: &'static str,
    object: Arc<dyn Any + Send + Sync>,
}

struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

static TABLE: ForkLock<Table> = ForkLock::new(Table {
    slots: Vec::new(),
    free: Vec::new(),
    live: 0,
});

fn split(handle: u64) -> (usize, u32) {
    ((handle & 0xffff_ffff) as usize, (handle >> 32) as u32)
}

fn invalid(message: String) -> FfiError {
    FfiError::new(oxb_status::OXB_INVALID_HANDLE, message)
}

pub(crate) fn insert<T: Handled>(object: T) -> FfiResult<u64> {
    let mut table = TABLE.lock();
    let entry = Entry {
        kind: T::KIND,
        object: Arc::new(object),
    };
    let index = match table.free.pop() {
        Some(index) => index,
        None => {
            let index = u32::try_from(table.slots.len())
                .map_err(|_| FfiError::new(oxb_status::OXB_OUT_OF_MEMORY, "too many handles"))?;
            table.slots.push(Slot {
                generation: 1,
                entry: None,
            });
            index
        }
    };
    let slot = &mut table.slots[index as usize];
    slot.entry = Some(entry);
    let generation = slot.generation;
    table.live += 1;
    Ok((generation as u64) << 32 | index as u64)
}

fn check<T: Handled>(table: &Table, handle: u64) -> FfiResult<&Entry> {
    if handle == 0 {
        return Err(invalid(format!(
            "{} handle is 0, which is never a valid handle",
            T::KIND
        )));
    }
    let (index, generation) = split(handle);
    let entry = table
        .slots
        .get(index)
        .filter(|slot| slot.generation == generation)
        .and_then(|slot| slot.entry.as_ref())
        .ok_or_else(|| {
            invalid(format!(
                "{} handle {handle:#x} is not live: it was destroyed already or never created",
                T::KIND
            ))
        })?;
    if entry.kind != T::KIND {
        return Err(invalid(format!(
            "handle {handle:#x} is a {} handle, not a {} handle",
            entry.kind,
            T::KIND
        )));
    }
    Ok(entry)
}

fn downcast<T: Handled>(object: Arc<dyn Any + Send + Sync>) -> Arc<T> {
    object
        .downcast::<T>()
        .unwrap_or_else(|_| unreachable!("the kind name was checked"))
}

/// The object behind a live handle of kind `T`.
pub(crate) fn get<T: Handled>(handle: u64) -> FfiResult<Arc<T>> {
    let table = TABLE.lock();
    let object = check::<T>(&table, handle)?.object.clone();
    Ok(downcast(object))
}

/// Removes a live handle of kind `T`; the object is freed once no call uses it.
pub(crate) fn remove<T: Handled>(handle: u64) -> FfiResult<Arc<T>> {
    let mut table = TABLE.lock();
    check::<T>(&table, handle)?;
    let (index, _) = split(handle);
    let slot = &mut table.slots[index];
    let entry = slot.entry.take().expect("checked live");
    // Generation 0 is skipped so that no handle is ever 0.
    slot.generation = slot.generation.checked_add(1).unwrap_or(1);
    table.free.push(index as u32);
    table.live -= 1;
    Ok(downcast(entry.object))
}

/// How many handles are live now, of every kind.
pub(crate) fn live() -> usize {
    TABLE.lock().live
}
