// SPDX-License-Identifier: GPL-2.0
//! Large formats tables built in place on the heap: a kernel stack (16 KiB)
//! cannot hold them even for a moment.

use kernel::alloc::{flags::GFP_KERNEL, VBox};
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
