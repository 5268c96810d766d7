//! Namespace labels: the on-media format of a DIMM's label storage area.
//!
//! The area (the DIMM's "config data", commonly 128 KiB) holds two index
//! blocks followed by an array of equally sized label slots:
//!
//! ```text
//! +----------+----------+--------+--------+-----+----------------+
//! | nsindex0 | nsindex1 | slot 0 | slot 1 | ... | slot nslot - 1 |
//! +----------+----------+--------+--------+-----+----------------+
//! ```
//!
//! Nothing is updated in place. An update writes labels into slots that
//! are free in the current index, then writes the *other* index block with
//! the next sequence number, which makes it current. A torn update
//! therefore leaves the previous index, and every label it references,
//! intact.
//!
//! - [`LabelArea::parse`] reads a whole area the way the kernel does at
//!   probe: which index is current, label size, version, slots, labels.
//! - [`LabelAreaMut`] stages updates like the kernel's in-memory copy and
//!   reports which byte ranges must be written back.
//! - [`LabelAreaMut::replace_label`], [`LabelAreaMut::delete_labels`] and
//!   [`init_area`] are one DIMM's part of a namespace update.
//! - [`PmemRegion::scan`] finds the namespaces a region's labels describe,
//!   as the region driver does at probe.
//! - [`Geometry`], [`NamespaceIndex`], [`FreeMap`], [`NamespaceLabel`] and
//!   the sequence helpers are the building blocks, usable on their own.

mod area;
mod geometry;
mod index;
pub mod layout;
use super::le;
mod nslabel;
mod scan;
mod update;

pub use area::{ActiveLabels, LabelArea, LabelAreaMut, LabelSlots, LabelsWithUuid};
pub use geometry::{num_label_slots, sizeof_namespace_index, Geometry};
pub use index::{
    best_seq, inc_seq, select_current, write_index, FreeMap, IndexHeader, IndexWrite,
    NamespaceIndex, UsedSlots,
};
pub use layout::{
    NSLABEL_FLAG_BTT, NSLABEL_FLAG_LOCAL, NSLABEL_FLAG_ROLABEL, NSLABEL_FLAG_UPDATING,
};
pub use nslabel::{
    label_id, ClaimClass, LabelId, NamespaceLabel, NVDIMM_BTT2_GUID, NVDIMM_BTT_GUID,
    NVDIMM_DAX_GUID, NVDIMM_PFN_GUID,
};
pub use update::{init_area, UpdateError};
pub use scan::{
    DimmLabels, InterleaveSetId, Mapping, MappingLabel, Namespace, PmemRegion, ScanError, ScanNote,
    ND_MAX_MAPPINGS,
};

use core::fmt;

/// Why a label area, index block or label was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelError {
    /// The buffer is shorter than the structure it should hold.
    TooShort,
    /// The area cannot hold two index blocks and two labels of this size.
    AreaTooSmall,
    /// The area is larger than the 32-bit size firmware can report.
    AreaTooLarge,
    /// The index block does not start with `NAMESPACE_INDEX\0`.
    BadSignature,
    /// A v1.2+ index names a label size other than 128 or 256 bytes.
    BadLabelSize,
    /// The index (or label) is for a different label size than expected.
    LabelSizeMismatch,
    /// The stored Fletcher-64 checksum does not match the contents.
    BadChecksum,
    /// The index sequence number is 0 (mod 4), which is never valid.
    BadSequence,
    /// `myoff` is not where this index block lives.
    BadMyoff,
    /// `otheroff` is not where the other index block lives.
    BadOtheroff,
    /// `labeloff` is not directly after the two index blocks.
    BadLabeloff,
    /// `mysize` is smaller than the header or larger than an index block.
    BadMysize,
    /// `nslot` slots do not fit in the area or in the free bitmap.
    BadNslot,
    /// Neither index block is valid for any known label size.
    NoValidIndex,
    /// A label's `slot` field disagrees with the slot it was read from.
    SlotMismatch,
    /// The slot number is beyond `nslot`.
    SlotOutOfRange,
    /// The slot is live in the current index, or was not allocated in the
    /// next one, so writing it would break the update protocol.
    SlotBusy,
}

impl LabelError {
    /// A short human-readable reason, for debug messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TooShort => "buffer too short",
            Self::AreaTooSmall => "label area too small",
            Self::AreaTooLarge => "label area too large",
            Self::BadSignature => "index signature invalid",
            Self::BadLabelSize => "index labelsize invalid",
            Self::LabelSizeMismatch => "label size mismatch",
            Self::BadChecksum => "checksum invalid",
            Self::BadSequence => "index sequence invalid",
            Self::BadMyoff => "index myoff invalid",
            Self::BadOtheroff => "index otheroff invalid",
            Self::BadLabeloff => "index labeloff invalid",
            Self::BadMysize => "index mysize invalid",
            Self::BadNslot => "index nslot invalid",
            Self::NoValidIndex => "no valid index block",
            Self::SlotMismatch => "label slot mismatch",
            Self::SlotOutOfRange => "slot out of range",
            Self::SlotBusy => "slot busy",
        }
    }
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Size of one namespace label. It decides the label layout: 128-byte
/// labels are the v1.1 layout, 256-byte labels add the v1.2 GUIDs and
/// checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LabelSize {
    /// 128-byte labels (v1.1 layout).
    Bytes128,
    /// 256-byte labels (v1.2 layout).
    Bytes256,
}

impl LabelSize {
    /// Both sizes, in the order the kernel probes them.
    pub const PROBE_ORDER: [LabelSize; 2] = [LabelSize::Bytes128, LabelSize::Bytes256];

    /// The size in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            Self::Bytes128 => 128,
            Self::Bytes256 => 256,
        }
    }

    /// The size for a byte count, if it is one of the two known sizes.
    pub const fn from_bytes(n: usize) -> Option<Self> {
        match n {
            128 => Some(Self::Bytes128),
            256 => Some(Self::Bytes256),
            _ => None,
        }
    }

    /// The index block's `labelsize` byte for this size (`size >> 8`).
    pub const fn index_code(self) -> u8 {
        match self {
            Self::Bytes128 => 0,
            Self::Bytes256 => 1,
        }
    }

    /// The index version the kernel writes for this size (1.1 or 1.2).
    pub const fn version(self) -> LabelVersion {
        match self {
            Self::Bytes128 => LabelVersion::V1_1,
            Self::Bytes256 => LabelVersion::V1_2,
        }
    }

    /// Whether labels of this size carry a checksum, type and
    /// abstraction GUID (C: `efi_namespace_label_has()`).
    pub const fn has_v1_2_fields(self) -> bool {
        matches!(self, Self::Bytes256)
    }
}

/// Label area version from an index block's `major`/`minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LabelVersion {
    /// Major version, 1 for every format Linux writes.
    pub major: u16,
    /// Minor version: 1 (128-byte labels) or 2 (label size in the index).
    pub minor: u16,
}

impl LabelVersion {
    /// Version 1.1: 128-byte labels.
    pub const V1_1: Self = Self { major: 1, minor: 1 };
    /// Version 1.2: label size recorded in the index.
    pub const V1_2: Self = Self { major: 1, minor: 2 };

    /// C's comparable form, `major * 100 + minor`.
    pub const fn code(self) -> u32 {
        self.major as u32 * 100 + self.minor as u32
    }

    /// Whether the index's `labelsize` byte is meaningful (code >= 102);
    /// before v1.2 labels are always 128 bytes.
    pub const fn has_labelsize(self) -> bool {
        self.code() >= 102
    }

    /// Exactly 1.1, the test C uses to pick the v1.1 interleave-set cookie
    /// and BTT 1.1 claim class.
    pub const fn is_v1_1(self) -> bool {
        self.major == 1 && self.minor == 1
    }
}

/// One of the two index blocks (`nsindex0`, `nsindex1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IndexCopy {
    /// `nsindex0`, at the start of the area.
    First,
    /// `nsindex1`, directly after the first.
    Second,
}

impl IndexCopy {
    /// Both copies in on-media order.
    pub const BOTH: [IndexCopy; 2] = [IndexCopy::First, IndexCopy::Second];

    /// The other copy (C: `nd_label_next_nsindex`).
    pub const fn other(self) -> Self {
        match self {
            Self::First => Self::Second,
            Self::Second => Self::First,
        }
    }

    /// 0 or 1, the block's position in the area.
    pub const fn number(self) -> usize {
        match self {
            Self::First => 0,
            Self::Second => 1,
        }
    }
}
