// SPDX-License-Identifier: GPL-2.0
//! Large formats tables built in place on the heap: a kernel stack (16 KiB)
//! cannot hold them even for a moment. And zeroed buffers.

use kernel::alloc::{flags::{GFP_KERNEL, __GFP_ZERO}, AllocError, Allocator, Flags, VBox, Vec};
use kernel::init::{self, InPlaceInit, Zeroable};
use kernel::prelude::*;

use crate::formats::dpa::DimmDpa;

// SAFETY: every field of a `DimmDpa` is an integer or an array of plain
// integer structs, and all-zero is `DimmDpa::new()`: no allocations.
unsafe impl<const N: usize> Zeroable for DimmDpa<N> {}

/// An empty allocation table for one DIMM, in vmalloc memory.
pub fn dimm_dpa<const N: usize>() -> Result<VBox<DimmDpa<N>>> {
    VBox::init(init::zeroed(), GFP_KERNEL)
}

/// `n` zeroed elements from allocator `A`: what `Vec::from_elem(0, n,
/// flags)` gives, zeroed by the allocator (`__GFP_ZERO`, as C's kzalloc and
/// vzalloc) instead of the kernel crate's `extend_with`, which writes one
/// element at a time (about 9 million instructions per btt-errors run went
/// to it, for the label-area and ioctl buffers).
pub fn zeroed_vec<T: Zeroable, A: Allocator>(n: usize, flags: Flags) -> Result<Vec<T, A>, AllocError> {
    let mut v = Vec::<T, A>::with_capacity(n, flags | __GFP_ZERO)?;
    // SAFETY: `with_capacity` made room for at least `n` elements (none is
    // allocated for `n == 0` or a zero-sized `T`, which need no memory), the
    // allocator zeroed what it allocated (`__GFP_ZERO`: krealloc, vrealloc
    // and kvrealloc of a null pointer allocate afresh with the flags), and
    // all-zero bytes are a valid `T` (`Zeroable`).
    unsafe { v.set_len(n) };
    Ok(v)
}

/// The kernel's zero page (`ZERO_PAGE(0)`): a page of zero bytes to write
/// from, as C's code does, instead of a page-sized array on a kernel stack.
pub fn zero_page() -> &'static [u8] {
    // SAFETY: the zero page is mapped for the kernel's lifetime, PAGE_SIZE
    // bytes long, and never written.
    unsafe { core::slice::from_raw_parts(crate::glue::bindings::rln_zero_page_address().cast::<u8>(), kernel::page::PAGE_SIZE) }
}
