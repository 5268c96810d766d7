// SPDX-License-Identifier: GPL-2.0
//! NUMA nodes: which node a physical range or an ACPI proximity domain
//! belongs to, as the platform drivers ask when they describe a region.
//!
//! Without `CONFIG_NUMA` (or `CONFIG_ACPI_NUMA`) the kernel answers with its
//! stubs (node 0, or [`NO_NODE`]), as it does for C.

use super::bindings;

/// `NUMA_NO_NODE`.
pub const NO_NODE: i32 = -1;

/// Whether the kernel has NUMA (`IS_ENABLED(CONFIG_NUMA)`): without it
/// libnvdimm's devices have no `numa_node` or `target_node` attribute.
pub const ENABLED: bool = cfg!(CONFIG_NUMA);

/// `pxm_to_node`: the node of an ACPI proximity domain, or [`NO_NODE`].
pub fn pxm_to_node(pxm: u32) -> i32 {
    // SAFETY: a lookup in the SRAT's table; any value is accepted.
    unsafe { bindings::rln_pxm_to_node(pxm as i32) }
}

/// `pxm_to_online_node`: as [`pxm_to_node`], moved to the nearest online
/// node.
pub fn pxm_to_online_node(pxm: u32) -> i32 {
    // SAFETY: as `pxm_to_node`.
    unsafe { bindings::rln_pxm_to_online_node(pxm as i32) }
}

/// `numa_map_to_online_node`: the nearest online node to `node`.
pub fn map_to_online_node(node: i32) -> i32 {
    // SAFETY: a lookup over the node masks; any value is accepted.
    unsafe { bindings::rln_map_to_online_node(node) }
}

/// `memory_add_physaddr_to_nid`: the node memory at `phys` would join if
/// it were added (node 0's fallback when no firmware table names one).
pub fn memory_add_physaddr_to_nid(phys: u64) -> i32 {
    // SAFETY: a lookup in the boot-time memory ranges; any value is accepted.
    unsafe { bindings::rln_memory_add_physaddr_to_nid(phys) }
}

/// `phys_to_target_node`: the node firmware gave `phys` (reserved ranges
/// included), or [`NO_NODE`].
pub fn phys_to_target_node(phys: u64) -> i32 {
    // SAFETY: as `memory_add_physaddr_to_nid`.
    unsafe { bindings::rln_phys_to_target_node(phys) }
}
