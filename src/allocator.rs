//! The module's memory allocator: blocks in power-of-two size classes, each class with a
//! free list, carved from pages the allocator grows the memory by.
//!
//! It takes Rust's allocations from wasi-libc's dlmalloc, ~3.5 KB less module (the size
//! budget of issue 6). A filter's requests allocate and free blocks of a few recurring
//! sizes, which a class's free list hands back exactly; a block is at most twice what was
//! asked for. Memory is never moved between classes nor given back: wasm memory cannot
//! shrink, and a reconfiguration of the same shape reuses the blocks of the last one.

use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::null_mut;

pub const PAGE: usize = 65_536;
/// The smallest block, 16 bytes: room for a free list's link at any alignment up to 16.
const MIN_CLASS: usize = 4;
const CLASSES: usize = usize::BITS as usize;

/// Where new memory comes from: the wasm memory, or a test's arena.
pub trait Pages {
    /// Grows by `count` pages: the address of the first, which is page-aligned.
    fn grow(&self, count: usize) -> Option<usize>;
}

pub struct SizeClasses<P> {
    pages: P,
    /// Each class's first free block (0: none); a free block's first word links the next.
    free: [Cell<usize>; CLASSES],
    /// The unused memory at the end of the last pages grown.
    next: Cell<usize>,
    end: Cell<usize>,
}

/// A block's class for `layout`: log2 of its size, which is at least the alignment.
/// None for alignments above a page, which no type here has.
pub fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(1 << MIN_CLASS);
    let class = size.checked_next_power_of_two()?.trailing_zeros() as usize;
    (layout.align() <= PAGE && class < CLASSES).then_some(class)
}

impl<P: Pages> SizeClasses<P> {
    pub const fn new(pages: P) -> SizeClasses<P> {
        SizeClasses {
            pages,
            free: [const { Cell::new(0) }; CLASSES],
            next: Cell::new(0),
            end: Cell::new(0),
        }
    }

    /// A block for `layout`, or null when the memory cannot grow.
    ///
    /// # Safety
    /// As [`std::alloc::GlobalAlloc::alloc`]; and no other code may write to the blocks
    /// this allocator holds free.
    pub unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else {
            return null_mut();
        };
        let head = self.free[class].get();
        if head != 0 {
            // SAFETY: a free block's first word is the address of the next one (or 0).
            self.free[class].set(unsafe { (head as *const usize).read() });
            return head as *mut u8;
        }
        self.carve(class).map_or(null_mut(), |at| at as *mut u8)
    }

    /// # Safety
    /// As [`std::alloc::GlobalAlloc::dealloc`].
    pub unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(class) = class_of(layout) else {
            return;
        };
        // SAFETY: the block is ours, at least 16 bytes and aligned to a word.
        unsafe { (block as *mut usize).write(self.free[class].get()) };
        self.free[class].set(block as usize);
    }

    /// A new block of `class`, aligned to its size (up to a page, as pages come aligned).
    fn carve(&self, class: usize) -> Option<usize> {
        let size = 1usize.checked_shl(class as u32)?;
        let align = size.min(PAGE);
        let mut at = align_up(self.next.get(), align)?;
        if at.checked_add(size)? > self.end.get() {
            let count = size.div_ceil(PAGE);
            let start = self.pages.grow(count)?;
            if start != self.end.get() {
                // Someone else grew the memory in between: the rest of ours is left unused.
                self.next.set(start);
            }
            self.end.set(start.checked_add(count * PAGE)?);
            // The old end is page-aligned, so the block fits in what was just grown.
            at = align_up(self.next.get(), align)?;
        }
        self.next.set(at + size);
        Some(at)
    }
}

fn align_up(address: usize, align: usize) -> Option<usize> {
    Some(address.checked_add(align - 1)? & !(align - 1))
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use super::{class_of, Pages, SizeClasses, PAGE};
    use std::alloc::{GlobalAlloc, Layout};

    struct WasmPages;

    impl Pages for WasmPages {
        fn grow(&self, count: usize) -> Option<usize> {
            let before = core::arch::wasm32::memory_grow(0, count);
            (before != usize::MAX).then(|| before * PAGE)
        }
    }

    struct Global(SizeClasses<WasmPages>);

    // SAFETY: the module runs on one thread; nothing shares the allocator across threads.
    unsafe impl Sync for Global {}

    // SAFETY: blocks are disjoint, aligned to their layout, and live until deallocated.
    unsafe impl GlobalAlloc for Global {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            unsafe { self.0.alloc(layout) }
        }

        unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
            unsafe { self.0.dealloc(block, layout) }
        }

        unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
                return std::ptr::null_mut();
            };
            if class_of(layout) == class_of(new_layout) {
                return block;
            }
            let moved = unsafe { self.0.alloc(new_layout) };
            if !moved.is_null() {
                let kept = layout.size().min(new_size);
                unsafe { std::ptr::copy_nonoverlapping(block, moved, kept) };
                unsafe { self.0.dealloc(block, layout) };
            }
            moved
        }
    }

    #[global_allocator]
    static GLOBAL: Global = Global(SizeClasses::new(WasmPages));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages from a buffer, optionally leaving a gap of one page between grows, as when
    /// something else grows the memory too.
    struct Arena {
        base: usize,
        grown: Cell<usize>,
        limit: usize,
        gap: bool,
        _buffer: Vec<u8>,
    }

    impl Arena {
        fn new(limit: usize, gap: bool) -> Arena {
            let buffer = vec![0u8; (limit + 1) * PAGE];
            let base = align_up(buffer.as_ptr() as usize, PAGE).unwrap();
            Arena {
                base,
                grown: Cell::new(0),
                limit,
                gap,
                _buffer: buffer,
            }
        }
    }

    impl Pages for Arena {
        fn grow(&self, count: usize) -> Option<usize> {
            let skip = usize::from(self.gap && self.grown.get() > 0);
            let first = self.grown.get() + skip;
            if first + count > self.limit {
                return None;
            }
            self.grown.set(first + count);
            Some(self.base + first * PAGE)
        }
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn classes_are_powers_of_two_of_at_least_the_alignment() {
        for (size, align, class) in [
            (1, 1, 4),
            (16, 8, 4),
            (17, 1, 5),
            (100, 4, 7),
            (8, 32, 5),
            (4096, 4096, 12),
            (65_537, 8, 17),
        ] {
            assert_eq!(class_of(layout(size, align)), Some(class), "{size}/{align}");
        }
        assert_eq!(class_of(layout(8, 2 * PAGE)), None);
    }

    #[test]
    fn a_freed_block_is_the_next_of_its_class_and_only_of_its_class() {
        let heap = SizeClasses::new(Arena::new(4, false));
        unsafe {
            let a = heap.alloc(layout(24, 8));
            let b = heap.alloc(layout(100, 8));
            heap.dealloc(a, layout(24, 8));
            assert_ne!(heap.alloc(layout(40, 8)), a);
            assert_eq!(heap.alloc(layout(30, 8)), a);
            heap.dealloc(b, layout(100, 8));
            assert_eq!(heap.alloc(layout(65, 1)), b);
        }
    }

    #[test]
    fn memory_that_cannot_grow_gives_null() {
        let heap = SizeClasses::new(Arena::new(2, false));
        unsafe {
            assert!(!heap.alloc(layout(PAGE, 8)).is_null());
            assert!(!heap.alloc(layout(PAGE, 8)).is_null());
            assert!(heap.alloc(layout(PAGE, 8)).is_null());
            assert!(heap.alloc(layout(4 * PAGE, 8)).is_null());
        }
    }

    /// Random allocations, frees and refills: every block stays aligned, inside the
    /// arena, and keeps what was written to it; the same work again needs no new memory.
    #[test]
    fn blocks_are_aligned_disjoint_and_reused() {
        for gap in [false, true] {
            let arena = Arena::new(1024, gap);
            let (low, high) = (arena.base, arena.base + 1025 * PAGE);
            let heap = SizeClasses::new(arena);
            let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
            let mut grown_after_first = 0;
            for round in 0..2 {
                let mut seed = 0x2545_f491_4f6c_dd1du64;
                let mut random = move |n: usize| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % n as u64) as usize
                };
                for step in 0..5_000 {
                    if !live.is_empty() && (random(3) == 0 || live.len() > 200) {
                        let (block, layout, fill) = live.swap_remove(random(live.len()));
                        let bytes = unsafe { std::slice::from_raw_parts(block, layout.size()) };
                        assert!(
                            bytes.iter().all(|&b| b == fill),
                            "block {block:?} overwritten"
                        );
                        unsafe { heap.dealloc(block, layout) };
                        continue;
                    }
                    let size = [1, 8, 24, 100, 700, 5_000, 70_000][random(7)] + random(16);
                    let align = [1, 2, 8, 16, 64][random(5)];
                    let layout = layout(size, align);
                    let block = unsafe { heap.alloc(layout) };
                    let at = block as usize;
                    assert!(
                        !block.is_null() && at.is_multiple_of(align),
                        "{layout:?} at {at:#x}"
                    );
                    assert!(
                        at >= low && at + size <= high,
                        "{layout:?} outside the arena"
                    );
                    let fill = (step % 251) as u8;
                    unsafe { block.write_bytes(fill, size) };
                    live.push((block, layout, fill));
                }
                for (block, layout, _) in live.drain(..) {
                    unsafe { heap.dealloc(block, layout) };
                }
                if round == 0 {
                    grown_after_first = heap.end.get();
                }
            }
            assert_eq!(
                heap.end.get(),
                grown_after_first,
                "the same work grew the memory"
            );
        }
    }
}
