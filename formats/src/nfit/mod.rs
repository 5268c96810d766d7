//! The ACPI NFIT (NVDIMM Firmware Interface Table): layouts, a zero-copy
//! parser, a writer, and the facts the nfit driver derives from the table.
//!
//! The specification is Linux 6.12: `drivers/acpi/nfit/core.c` for what is
//! accepted and derived, `include/acpi/actbl2.h` for the layouts. Every field
//! is read and written little-endian at an explicit offset; nothing is cast.
//!
//! A firmware table is the 36-byte ACPI header, 4 reserved bytes, then a
//! *body* of subtables. nfit_test and `_FIT` hand the driver a body only, so
//! both [`Nfit::parse_table`] and [`Nfit::parse_body`] exist.

mod dimm;
pub mod dsm;
pub mod firmware;
pub mod inject;
pub mod intel;
mod iset;
mod tables;
mod writer;

pub use dimm::{Dimm, DimmId, Dimms};
pub use iset::InterleaveSet;
pub use tables::{
    AcpiHeader, Capabilities, ControlRegion, DataRegion, DataRegionDesc, DcrBlock, DcrDesc,
    FlushHint, Interleave, Memdev, MemdevDesc, Nfit, RawSubtables, Smbios, Spa, SpaDesc, Subtable,
    SubtableType, TableInfo,
};
pub use writer::Writer;

/// Length of the common ACPI table header.
pub const ACPI_HEADER_LEN: usize = 36;
/// Offset of the first subtable in an NFIT: the ACPI header plus a reserved u32
/// (`struct acpi_table_nfit`).
pub const TABLE_HEADER_LEN: usize = 40;
/// The table signature.
pub const SIGNATURE: [u8; 4] = *b"NFIT";
/// Length of every subtable's type/length header.
pub const SUBTABLE_HEADER_LEN: usize = 4;

/// SPA range subtable length without the ACPI 6.4 location cookie.
pub const SPA_LEN: usize = 56;
/// SPA range subtable length with the location cookie.
pub const SPA_COOKIE_LEN: usize = 64;
/// Memory-device-to-SPA map subtable length.
pub const MEMDEV_LEN: usize = 48;
/// Interleave subtable length before its line offsets.
pub const INTERLEAVE_LEN: usize = 16;
/// SMBIOS subtable length before its data.
pub const SMBIOS_LEN: usize = 8;
/// Control region length with the block-window fields.
pub const DCR_LEN: usize = 80;
/// Control region length truncated before `window_size`, allowed when there
/// are no block windows.
pub const DCR_SHORT_LEN: usize = 32;
/// Block data window subtable length.
pub const BDW_LEN: usize = 40;
/// Flush hint subtable length before its hint addresses.
pub const FLUSH_LEN: usize = 16;
/// Platform capabilities subtable length.
pub const CAPS_LEN: usize = 16;

/// SPA flag: add/online operation only.
pub const SPA_ADD_ONLINE_ONLY: u16 = 1 << 0;
/// SPA flag: `proximity_domain` is valid.
pub const SPA_PROXIMITY_VALID: u16 = 1 << 1;
/// SPA flag: the 8-byte location cookie is present (ACPI 6.4).
pub const SPA_LOCATION_COOKIE_VALID: u16 = 1 << 2;

/// Memdev flag: the last SAVE to the device failed.
pub const MEM_SAVE_FAILED: u16 = 1 << 0;
/// Memdev flag: the last RESTORE from the device failed.
pub const MEM_RESTORE_FAILED: u16 = 1 << 1;
/// Memdev flag: the platform flush failed.
pub const MEM_FLUSH_FAILED: u16 = 1 << 2;
/// Memdev flag: the device is not armed (libnvdimm marks it NDD_UNARMED).
pub const MEM_NOT_ARMED: u16 = 1 << 3;
/// Memdev flag: SMART/health events were observed.
pub const MEM_HEALTH_OBSERVED: u16 = 1 << 4;
/// Memdev flag: SMART/health event notification is enabled.
pub const MEM_HEALTH_ENABLED: u16 = 1 << 5;
/// Memdev flag: mapping to SPA failed.
pub const MEM_MAP_FAILED: u16 = 1 << 6;
/// Flags that make the driver log "Error found in NVDIMM" (`ACPI_NFIT_MEM_FAILED_MASK`).
pub const MEM_FAILED_MASK: u16 =
    MEM_SAVE_FAILED | MEM_RESTORE_FAILED | MEM_FLUSH_FAILED | MEM_NOT_ARMED | MEM_MAP_FAILED;

/// Control region `valid_fields` bit: manufacturing location/date are valid.
pub const DCR_MFG_INFO_VALID: u8 = 1 << 0;
/// Control region flag: block data windows are buffered.
pub const DCR_BUFFERED: u16 = 1 << 0;

/// Format interface code: byte-addressable, energy backed.
pub const FIC_BYTE: u16 = 0x101;
/// Format interface code: block-addressable, non-energy backed.
pub const FIC_BLK: u16 = 0x201;
/// Format interface code: byte-addressable, non-energy backed.
pub const FIC_BYTEN: u16 = 0x301;

/// Platform capability: CPU cache flush to NVDIMM on power loss.
pub const CAP_CACHE_FLUSH: u32 = 1 << 0;
/// Platform capability: memory-controller flush to NVDIMM on power loss.
pub const CAP_MEM_FLUSH: u32 = 1 << 1;
/// Platform capability: memory mirroring.
pub const CAP_MEM_MIRRORING: u32 = 1 << 2;

/// Most mappings (DIMMs) one region may have (`ND_MAX_MAPPINGS`).
pub const MAX_MAPPINGS: usize = 32;

/// Why a table was rejected or could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the ACPI header or than its `length` field.
    Truncated,
    /// The signature is not "NFIT".
    BadSignature,
    /// The header `length` is shorter than the NFIT header.
    BadTableLength,
    /// The bytes of the table do not sum to zero.
    BadChecksum,
    /// Fewer than 4 bytes remain for the subtable header at `offset`.
    HeaderOverrun {
        /// Byte offset of the subtable in the body.
        offset: usize,
    },
    /// The subtable at `offset` claims more bytes than the body has left.
    Overrun {
        /// Byte offset of the subtable in the body.
        offset: usize,
    },
    /// The subtable at `offset` has a length its type does not allow; C's
    /// add_table() fails the whole table with -ENOMEM for these.
    BadLength {
        /// Byte offset of the subtable in the body.
        offset: usize,
        /// Subtable type.
        ty: u16,
        /// The length it claimed.
        len: u16,
    },
    /// A memdev names a control region index no control region has
    /// (nfit_mem_init: "SPA %d missing DCR %d", -ENODEV).
    MissingDcr {
        /// The memdev's SPA range index.
        range_index: u16,
        /// The control region index it names.
        region_index: u16,
    },
    /// A range has more mappings than a region may have (-ENXIO).
    TooManyMappings {
        /// The SPA range index.
        range_index: u16,
    },
    /// The writer's buffer is full.
    NoSpace,
    /// A subtable would not fit its 16-bit length field.
    TooLong,
}

impl Error {
    /// The negative errno the C driver returns for the same table.
    pub fn to_errno(self) -> i32 {
        const ENXIO: i32 = 6;
        const ENOMEM: i32 = 12;
        const ENODEV: i32 = 19;
        const EINVAL: i32 = 22;
        const ENOSPC: i32 = 28;
        match self {
            Error::BadLength { .. } => -ENOMEM,
            Error::MissingDcr { .. } => -ENODEV,
            Error::TooManyMappings { .. } => -ENXIO,
            Error::NoSpace | Error::TooLong => -ENOSPC,
            _ => -EINVAL,
        }
    }
}

/// An NFIT device handle (the DIMM's ACPI `_ADR`): node, socket, memory
/// controller, channel and DIMM number packed into a u32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DeviceHandle(pub u32);

impl DeviceHandle {
    /// Packs a handle the way nfit_test's `NFIT_DIMM_HANDLE()` does, masking
    /// each part to its field width.
    pub const fn new(node: u32, socket: u32, imc: u32, channel: u32, dimm: u32) -> Self {
        DeviceHandle(
            ((node & 0xfff) << 16)
                | ((socket & 0xf) << 12)
                | ((imc & 0xf) << 8)
                | ((channel & 0xf) << 4)
                | (dimm & 0xf),
        )
    }
    /// NUMA node id, bits 16..28.
    pub const fn node(self) -> u32 {
        (self.0 >> 16) & 0xfff
    }
    /// Socket id, bits 12..16.
    pub const fn socket(self) -> u32 {
        (self.0 >> 12) & 0xf
    }
    /// Memory controller id, bits 8..12.
    pub const fn imc(self) -> u32 {
        (self.0 >> 8) & 0xf
    }
    /// Channel number, bits 4..8.
    pub const fn channel(self) -> u32 {
        (self.0 >> 4) & 0xf
    }
    /// DIMM number within the channel, bits 0..4.
    pub const fn dimm(self) -> u32 {
        self.0 & 0xf
    }
}

/// A GUID in its on-table byte order (what Linux's `guid_parse()` produces:
/// the first three fields little-endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Builds a GUID from the fields of its text form
    /// `aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee` (`d` is the first two bytes of `rest`).
    pub const fn from_fields(a: u32, b: u16, c: u16, rest: [u8; 8]) -> Self {
        let a = a.to_le_bytes();
        let b = b.to_le_bytes();
        let c = c.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], rest[0], rest[1], rest[2], rest[3],
            rest[4], rest[5], rest[6], rest[7],
        ])
    }
}

/// SPA range type GUID: volatile memory.
pub const GUID_VOLATILE: Guid = Guid::from_fields(
    0x7305944f,
    0xfdda,
    0x44e3,
    [0xb1, 0x6c, 0x3f, 0x22, 0xd2, 0x52, 0xe5, 0xd0],
);
/// SPA range type GUID: persistent memory.
pub const GUID_PM: Guid = Guid::from_fields(
    0x66f0d379,
    0xb4f3,
    0x4074,
    [0xac, 0x43, 0x0d, 0x33, 0x18, 0xb7, 0x8c, 0xdb],
);
/// SPA range type GUID: NVDIMM control region.
pub const GUID_DCR: Guid = Guid::from_fields(
    0x92f701f6,
    0x13b4,
    0x405d,
    [0x91, 0x0b, 0x29, 0x93, 0x67, 0xe8, 0x23, 0x4c],
);
/// SPA range type GUID: NVDIMM block data window.
pub const GUID_BDW: Guid = Guid::from_fields(
    0x91af0530,
    0x5d86,
    0x470e,
    [0xa6, 0xb0, 0x0a, 0x2d, 0xb9, 0x40, 0x82, 0x49],
);
/// SPA range type GUID: volatile virtual disk.
pub const GUID_VDISK: Guid = Guid::from_fields(
    0x77ab535a,
    0x45fc,
    0x624b,
    [0x55, 0x60, 0xf7, 0xb2, 0x81, 0xd1, 0xf9, 0x6e],
);
/// SPA range type GUID: volatile virtual CD.
pub const GUID_VCD: Guid = Guid::from_fields(
    0x3d5abd30,
    0x4175,
    0x87ce,
    [0x6d, 0x64, 0xd2, 0xad, 0xe5, 0x23, 0xc4, 0xbb],
);
/// SPA range type GUID: persistent virtual disk.
pub const GUID_PDISK: Guid = Guid::from_fields(
    0x5cea02c9,
    0x4d07,
    0x69d3,
    [0x26, 0x9f, 0x44, 0x96, 0xfb, 0xe0, 0x96, 0xf9],
);
/// SPA range type GUID: persistent virtual CD.
pub const GUID_PCD: Guid = Guid::from_fields(
    0x08018188,
    0x42cd,
    0xbb48,
    [0x10, 0x0f, 0x53, 0x87, 0xd5, 0x3d, 0xed, 0x3d],
);
/// DSM GUID of the NFIT root device (`UUID_NFIT_BUS`).
pub const GUID_NFIT_BUS: Guid = Guid::from_fields(
    0x2f10e7a4,
    0x9e91,
    0x11e4,
    [0x89, 0xd3, 0x12, 0x3b, 0x93, 0xf7, 0x5c, 0xba],
);
/// DSM GUID of NVDIMM_FAMILY_INTEL DIMMs (`UUID_NFIT_DIMM`).
pub const GUID_NFIT_DIMM: Guid = Guid::from_fields(
    0x4309ac30,
    0x0d11,
    0x11e4,
    [0x91, 0x91, 0x08, 0x00, 0x20, 0x0c, 0x9a, 0x66],
);
/// DSM GUID of NVDIMM_FAMILY_HPE1 DIMMs.
pub const GUID_NFIT_DIMM_HPE1: Guid = Guid::from_fields(
    0x9002c334,
    0xacf3,
    0x4c0e,
    [0x96, 0x42, 0xa2, 0x35, 0xf0, 0xd5, 0x3b, 0xc6],
);
/// DSM GUID of NVDIMM_FAMILY_HPE2 DIMMs.
pub const GUID_NFIT_DIMM_HPE2: Guid = Guid::from_fields(
    0x5008664b,
    0xb758,
    0x41a0,
    [0xa0, 0x3c, 0x27, 0xc2, 0xf2, 0xd0, 0x4f, 0x7e],
);
/// DSM GUID of NVDIMM_FAMILY_MSFT DIMMs.
pub const GUID_NFIT_DIMM_MSFT: Guid = Guid::from_fields(
    0x1ee68b36,
    0xd4bd,
    0x4a1a,
    [0x9a, 0x16, 0x4f, 0x8e, 0x53, 0xd4, 0x6e, 0x05],
);
/// DSM GUID of NVDIMM_FAMILY_HYPERV DIMMs.
pub const GUID_NFIT_DIMM_HYPERV: Guid = Guid::from_fields(
    0x5746c5f2,
    0xa9a2,
    0x4264,
    [0xad, 0x0e, 0xe4, 0xdd, 0xc9, 0xe0, 0x9e, 0x80],
);
/// DSM GUID of the Intel root-device command family (`UUID_INTEL_BUS`).
pub const GUID_INTEL_BUS: Guid = Guid::from_fields(
    0xc7d8acd4,
    0x2df8,
    0x4b82,
    [0x9f, 0x65, 0xa3, 0x25, 0x33, 0x5a, 0xf1, 0x49],
);

/// C's `nfit_uuid[]`, indexed by `enum nfit_uuids`. Index 5
/// (NVDIMM_FAMILY_PAPR) is never parsed in C and so stays all-zero.
const NFIT_UUIDS: [Guid; 16] = [
    GUID_NFIT_DIMM,
    GUID_NFIT_DIMM_HPE1,
    GUID_NFIT_DIMM_HPE2,
    GUID_NFIT_DIMM_MSFT,
    GUID_NFIT_DIMM_HYPERV,
    Guid([0; 16]),
    GUID_INTEL_BUS,
    GUID_VOLATILE,
    GUID_PM,
    GUID_DCR,
    GUID_BDW,
    GUID_VDISK,
    GUID_VCD,
    GUID_PDISK,
    GUID_PCD,
    GUID_NFIT_BUS,
];

/// The kind of a SPA range; discriminants are C's `NFIT_SPA_*` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SpaType {
    /// Volatile memory.
    Volatile = 7,
    /// Persistent memory.
    Pm = 8,
    /// DIMM control region.
    Dcr = 9,
    /// Block data window.
    Bdw = 10,
    /// Volatile virtual disk.
    VDisk = 11,
    /// Volatile virtual CD.
    Vcd = 12,
    /// Persistent virtual disk.
    PDisk = 13,
    /// Persistent virtual CD.
    Pcd = 14,
}

impl SpaType {
    /// The type whose range GUID this is, if any.
    pub fn from_guid(guid: &Guid) -> Option<Self> {
        Self::from_index(nfit_spa_type(guid))
    }

    /// The type for a C `nfit_spa_type()` result.
    pub fn from_index(index: i32) -> Option<Self> {
        Some(match index {
            7 => SpaType::Volatile,
            8 => SpaType::Pm,
            9 => SpaType::Dcr,
            10 => SpaType::Bdw,
            11 => SpaType::VDisk,
            12 => SpaType::Vcd,
            13 => SpaType::PDisk,
            14 => SpaType::Pcd,
            _ => return None,
        })
    }

    /// The range GUID of this type.
    pub fn guid(self) -> Guid {
        NFIT_UUIDS[self as usize]
    }

    /// The name core.c's `spa_type_name()` gives it.
    pub fn name(self) -> &'static str {
        match self {
            SpaType::Volatile => "volatile",
            SpaType::Pm => "pmem",
            SpaType::Dcr => "dimm-control-region",
            SpaType::Bdw => "block-data-window",
            SpaType::VDisk => "volatile-disk",
            SpaType::Vcd => "volatile-cd",
            SpaType::PDisk => "persistent-disk",
            SpaType::Pcd => "persistent-cd",
        }
    }

    /// Virtual disk/CD ranges (`nfit_spa_is_virtual()`): registered as pmem
    /// regions even with range index 0.
    pub fn is_virtual(self) -> bool {
        matches!(
            self,
            SpaType::VDisk | SpaType::Vcd | SpaType::PDisk | SpaType::Pcd
        )
    }

    /// Ranges registered as volatile regions (`nfit_spa_is_volatile()`).
    pub fn is_volatile(self) -> bool {
        matches!(self, SpaType::VDisk | SpaType::Vcd | SpaType::Volatile)
    }
}

/// C's `nfit_spa_type()`: the index of `guid` in the driver's whole GUID
/// table, or -1. Non-SPA GUIDs give indices below 7; an all-zero GUID gives 5.
pub fn nfit_spa_type(guid: &Guid) -> i32 {
    NFIT_UUIDS
        .iter()
        .position(|g| g == guid)
        .map_or(-1, |i| i as i32)
}

// Little-endian field access at fixed offsets. Callers have checked the
// length; an out-of-range read yields 0 rather than a panic.
use super::le::{u16_at as le16, u32_at as le32, u64_at as le64};

fn byte(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}
