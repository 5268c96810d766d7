//! On-media formats and policy of the NVDIMM subsystem.
//!
//! Pure, allocation-free and `no_std`: the kernel modules include this crate by
//! path, and the host tests and fuzzers exercise it without a VM. Nothing here
//! touches the kernel; every function takes and returns plain bytes and values.
#![no_std]

pub mod badrange;
pub mod btt;
pub mod cmd;
pub mod dax_pmem;
pub mod devdax;
pub mod dpa;
pub mod fletcher;
pub mod fwa;
pub mod label;
pub mod le;
pub mod nfit;
pub mod pfn;
