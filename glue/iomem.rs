// SPDX-License-Identifier: GPL-2.0
//! Physical address ranges published in the iomem resource tree
//! (/proc/iomem), as nfit publishes each persistent-memory range it finds.

use core::ffi::CStr;

use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings;

/// A range inserted into `iomem_resource`; removed on drop.
pub struct IomemRange {
    res: Pin<KBox<Opaque<bindings::resource>>>,
}

// SAFETY: the resource tree has its own lock; we only insert and remove.
unsafe impl Send for IomemRange {}
// SAFETY: see `Send`.
unsafe impl Sync for IomemRange {}

impl IomemRange {
    /// Publishes `[start, start + size)` as persistent memory named `name`
    /// (`acpi_nfit_insert_resource`), unless firmware already did (then
    /// `None`). Fails as `insert_resource` does on a conflict.
    pub fn insert_persistent(name: &'static CStr, start: u64, size: u64) -> Result<Option<Self>> {
        if size == 0 {
            return Err(EINVAL);
        }
        // SAFETY: a pure query of the resource tree.
        let known = unsafe {
            bindings::region_intersects(
                start,
                size as usize,
                bindings::IORESOURCE_MEM as u64,
                bindings::IORES_DESC_PERSISTENT_MEMORY as u64,
            )
        };
        if known == bindings::REGION_INTERSECTS as i32 {
            return Ok(None);
        }
        let res = KBox::pin(
            Opaque::new(bindings::resource {
                start,
                end: start + size - 1,
                name: name.as_ptr(),
                flags: bindings::IORESOURCE_MEM as u64,
                desc: bindings::IORES_DESC_PERSISTENT_MEMORY as u64,
                // SAFETY: the tree links start out null.
                ..unsafe { core::mem::zeroed() }
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `res` is pinned and lives until `drop` removes it; the
        // name is static.
        let rc = unsafe { bindings::insert_resource(core::ptr::addr_of_mut!(bindings::iomem_resource), res.get()) };
        kernel::error::to_result(rc)?;
        Ok(Some(Self { res }))
    }
}

impl Drop for IomemRange {
    fn drop(&mut self) {
        // SAFETY: inserted in `insert_persistent`; children (a namespace's
        // request_mem_region) are released before the provider goes.
        unsafe { bindings::remove_resource(self.res.get()) };
    }
}
