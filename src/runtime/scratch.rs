//! Scratch arrays as long as the input, for passes that cannot work in place.
//!
//! Large ones are anonymous mappings advised to use transparent huge pages, as numpy
//! does for its own large arrays: a radix sort scatters writes all over its scratch, and
//! with 4 KiB pages that costs a page fault every 512 keys and a TLB miss on most writes.

use memmap2::MmapMut;

/// Below this many bytes a plain allocation is as good.
const MAPPED_BYTES: usize = 4 << 20;

/// A zeroed `u64` array that lives as long as this value.
pub struct Scratch {
    storage: Storage,
    len: usize,
}

enum Storage {
    Heap(Vec<u64>),
    Mapped(MmapMut),
}

impl Scratch {
    /// `len` zeroed keys; a mapping when large (a plain allocation if mapping fails).
    pub fn zeroed(len: usize) -> Scratch {
        let bytes = len.saturating_mul(8);
        if bytes >= MAPPED_BYTES {
            if let Ok(map) = MmapMut::map_anon(bytes) {
                // Advisory: without huge pages the scratch still works, only slower.
                #[cfg(target_os = "linux")]
                let _ = map.advise(memmap2::Advice::HugePage);
                return Scratch {
                    storage: Storage::Mapped(map),
                    len,
                };
            }
        }
        Scratch {
            storage: Storage::Heap(vec![0; len]),
            len,
        }
    }

    /// The keys.
    pub fn as_mut_slice(&mut self) -> &mut [u64] {
        match &mut self.storage {
            Storage::Heap(v) => v,
            Storage::Mapped(map) => {
                // SAFETY: the mapping is `len * 8` bytes, page-aligned (so 8-aligned),
                // zero-filled by the kernel, and borrowed mutably through `self`.
                unsafe { std::slice::from_raw_parts_mut(map.as_mut_ptr() as *mut u64, self.len) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_scratch_are_zeroed_and_writable() {
        for len in [0, 1, 1000, (MAPPED_BYTES / 8) + 3] {
            let mut s = Scratch::zeroed(len);
            let keys = s.as_mut_slice();
            assert_eq!(keys.len(), len);
            assert!(keys.iter().all(|&k| k == 0));
            keys.iter_mut().enumerate().for_each(|(i, k)| *k = i as u64);
            assert!(keys.iter().enumerate().all(|(i, &k)| k == i as u64));
        }
    }
}
