//! The binary's global allocator: glibc's heap for everything up to [`DIRECT_BYTES`], its own
//! mapping for each larger block.
//!
//! glibc serves every allocation above its mmap threshold (at most 32 MiB) with a fresh `mmap`
//! and returns it with `munmap` when freed, so each decoded 60 MB Blosc chunk of a Zarr v2
//! product, each region buffer, is page-faulted in afresh, 4 KiB at a time: 0.6–1.2 million
//! faults and 4–5 s of kernel time in a full-tile conversion (README "Performance"). With
//! `M_MMAP_MAX = 0` (set in `main`) glibc keeps them in its heap and reuses freed memory
//! without faults; but whole-array buffers (482 MB float32 shards of `--profile reference`) then
//! fragment the heap (+0.3 GB peak RSS on a Zarr v3 input), so blocks of [`DIRECT_BYTES`] or
//! more are mapped and unmapped here, as glibc did. (At 128 MiB the 241 MB single chunks of a
//! Zarr v2 product were mapped too, while the heap kept its freed memory: +0.2 GB.)
//!
//! The library does not use it (the Python package leaves its interpreter's allocator alone).

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations from this size on get a mapping of their own.
pub const DIRECT_BYTES: usize = 256 << 20;
/// Alignment a fresh mapping always has.
const PAGE: usize = 4096;

/// See the module documentation.
pub struct HeapWithDirectLargeBlocks;

fn is_direct(layout: &Layout) -> bool {
    layout.size() >= DIRECT_BYTES && layout.align() <= PAGE
}

unsafe fn map(size: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping (zero-filled); failure is checked.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        ptr.cast()
    }
}

// SAFETY: direct blocks are whole page-aligned mappings of their layout's size (≥ any alignment
// accepted for them), unmapped with the same size; all else is the system allocator's.
unsafe impl GlobalAlloc for HeapWithDirectLargeBlocks {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_direct(&layout) {
            unsafe { map(layout.size()) }
        } else {
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_direct(&layout) {
            unsafe { map(layout.size()) }
        } else {
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_direct(&layout) {
            // SAFETY: the mapping `alloc` made for this layout.
            unsafe { libc::munmap(ptr.cast(), layout.size()) };
        } else {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY (whole function): the caller's guarantees of `GlobalAlloc::realloc`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (is_direct(&layout), is_direct(&new_layout)) {
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            (true, true) => {
                let moved = unsafe {
                    libc::mremap(ptr.cast(), layout.size(), new_size, libc::MREMAP_MAYMOVE)
                };
                if moved == libc::MAP_FAILED {
                    std::ptr::null_mut()
                } else {
                    moved.cast()
                }
            }
            _ => {
                let new = unsafe { self.alloc(new_layout) };
                if !new.is_null() {
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                new
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    #[test]
    fn blocks_keep_their_bytes_across_every_size_class() {
        let a = HeapWithDirectLargeBlocks;
        let sizes = [1000, 40 << 20, DIRECT_BYTES + 12345, 300 << 20, 2000];
        unsafe {
            let mut ptr = a.alloc_zeroed(layout(sizes[0]));
            assert!(
                std::slice::from_raw_parts(ptr, sizes[0])
                    .iter()
                    .all(|&x| x == 0)
            );
            ptr.write_bytes(9, sizes[0]);
            // Growing and shrinking through heap and direct blocks keeps the common prefix.
            for w in sizes.windows(2) {
                ptr = a.realloc(ptr, layout(w[0]), w[1]);
                assert!(!ptr.is_null());
                let kept = w[0].min(w[1]).min(sizes[0]);
                assert!(
                    std::slice::from_raw_parts(ptr, kept)
                        .iter()
                        .all(|&x| x == 9)
                );
                if w[1] > w[0] {
                    ptr.add(w[0]).write_bytes(9, w[1] - w[0]);
                }
            }
            a.dealloc(ptr, layout(sizes[4]));
            let big = a.alloc_zeroed(layout(DIRECT_BYTES));
            assert_eq!(big as usize % PAGE, 0);
            assert!(
                std::slice::from_raw_parts(big, DIRECT_BYTES)
                    .iter()
                    .all(|&x| x == 0)
            );
            a.dealloc(big, layout(DIRECT_BYTES));
        }
    }
}
