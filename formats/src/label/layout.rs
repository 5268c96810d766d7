//! On-media layout of the label storage area: every offset, size and magic
//! number in one place. Offsets are in bytes from the start of the
//! structure they belong to; all integers are little-endian.

/// Signature at the start of every index block (`"NAMESPACE_INDEX\0"`).
pub const NSINDEX_SIGNATURE: [u8; 16] = *b"NAMESPACE_INDEX\0";
/// Index blocks are padded to a multiple of this many bytes.
pub const NSINDEX_ALIGN: usize = 256;
/// Only the low two bits of an index sequence number are significant.
pub const NSINDEX_SEQ_MASK: u32 = 0x3;
/// `sizeof(struct nd_namespace_index)`: the fixed header before `free[]`.
pub const NSINDEX_HEADER_SIZE: usize = 72;
/// Smallest area that holds two index blocks and two 256-byte labels.
pub const ND_LABEL_MIN_SIZE: usize = 256 * 4;

/// Length of a namespace or type UUID/GUID.
pub const NSLABEL_UUID_LEN: usize = 16;
/// Length of the namespace name field (NUL-padded).
pub const NSLABEL_NAME_LEN: usize = 64;

/// Label flag: read-only label.
pub const NSLABEL_FLAG_ROLABEL: u32 = 0x1;
/// Label flag: DIMM-local (block-window) namespace; unused by pmem.
pub const NSLABEL_FLAG_LOCAL: u32 = 0x2;
/// Label flag: the namespace contains a BTT.
pub const NSLABEL_FLAG_BTT: u32 = 0x4;
/// Label flag: the label set is mid-update (UEFI 2.7 two-phase write).
pub const NSLABEL_FLAG_UPDATING: u32 = 0x8;

/// Field offsets inside `struct nd_namespace_index`.
pub mod index_field {
    /// `u8 sig[16]`
    pub const SIG: usize = 0;
    /// `u8 flags[3]`, always written as zero.
    pub const FLAGS: usize = 16;
    /// `u8 labelsize`: log2(label size) - 7, meaningful from v1.2 on.
    pub const LABELSIZE: usize = 19;
    /// `__le32 seq`
    pub const SEQ: usize = 20;
    /// `__le64 myoff`
    pub const MYOFF: usize = 24;
    /// `__le64 mysize`
    pub const MYSIZE: usize = 32;
    /// `__le64 otheroff`
    pub const OTHEROFF: usize = 40;
    /// `__le64 labeloff`
    pub const LABELOFF: usize = 48;
    /// `__le32 nslot`
    pub const NSLOT: usize = 56;
    /// `__le16 major`
    pub const MAJOR: usize = 60;
    /// `__le16 minor`
    pub const MINOR: usize = 62;
    /// `__le64 checksum`
    pub const CHECKSUM: usize = 64;
    /// `u8 free[]`: one bit per slot, set when the slot is free.
    pub const FREE: usize = 72;
}

/// Field offsets inside an EFI `struct nvdimm_efi_label`. A 128-byte (v1.1)
/// label ends after `ALIGN`'s reserved bytes; the GUIDs and the checksum
/// exist only in 256-byte (v1.2) labels.
pub mod label_field {
    /// `u8 uuid[16]`
    pub const UUID: usize = 0;
    /// `u8 name[64]`
    pub const NAME: usize = 16;
    /// `__le32 flags`
    pub const FLAGS: usize = 80;
    /// `__le16 nlabel`
    pub const NLABEL: usize = 84;
    /// `__le16 position`
    pub const POSITION: usize = 86;
    /// `__le64 isetcookie`
    pub const ISETCOOKIE: usize = 88;
    /// `__le64 lbasize`
    pub const LBASIZE: usize = 96;
    /// `__le64 dpa`
    pub const DPA: usize = 104;
    /// `__le64 rawsize`
    pub const RAWSIZE: usize = 112;
    /// `__le32 slot`
    pub const SLOT: usize = 120;
    /// `u8 align`, followed by three reserved bytes.
    pub const ALIGN: usize = 124;
    /// `guid_t type_guid` (v1.2 only)
    pub const TYPE_GUID: usize = 128;
    /// `guid_t abstraction_guid` (v1.2 only)
    pub const ABSTRACTION_GUID: usize = 144;
    /// `__le64 checksum` (v1.2 only)
    pub const CHECKSUM: usize = 248;
}
