//! The EFI namespace label (`struct nvdimm_efi_label`) in its 128-byte
//! (v1.1) and 256-byte (v1.2) forms.

use super::super::fletcher;
use super::layout::{label_field as f, NSLABEL_NAME_LEN, NSLABEL_UUID_LEN};
use super::le;
use super::{LabelError, LabelSize};

/// Parse a textual GUID into its on-media byte order: the first three
/// groups little-endian, the rest as written (C: `guid_parse`). Used only
/// to build constants, so a malformed literal fails the build.
const fn guid(text: &[u8; 36]) -> [u8; 16] {
    // Where each textual byte lands in a guid_t.
    const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("bad hex digit in GUID"),
        }
    }
    let mut out = [0u8; 16];
    let mut pos = 0;
    let mut i = 0;
    while i < 16 {
        if text[pos] == b'-' {
            pos += 1;
        }
        out[ORDER[i]] = nibble(text[pos]) << 4 | nibble(text[pos + 1]);
        pos += 2;
        i += 1;
    }
    out
}

/// The all-zero GUID: no claim.
const NULL_GUID: [u8; 16] = [0; 16];

/// Abstraction GUID of a namespace claimed by a BTT v1.1.
pub const NVDIMM_BTT_GUID: [u8; 16] = guid(b"8aed63a2-29a2-4c66-8b12-f05d15d3922a");
/// Abstraction GUID of a namespace claimed by a BTT v2.0.
pub const NVDIMM_BTT2_GUID: [u8; 16] = guid(b"18633bfc-1735-4217-8ac9-17239282d3f8");
/// Abstraction GUID of a namespace claimed by a pfn (fsdax) device.
pub const NVDIMM_PFN_GUID: [u8; 16] = guid(b"266400ba-fb9f-4677-bcb0-968f11d0d225");
/// Abstraction GUID of a namespace claimed by a device-dax instance.
pub const NVDIMM_DAX_GUID: [u8; 16] = guid(b"97a86d9c-3cdd-4eda-986f-5068b4f80088");

/// Which personality claims a namespace, from the label's abstraction
/// GUID (C: `enum nvdimm_claim_class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClaimClass {
    /// Raw namespace, or a label without an abstraction GUID.
    None,
    /// BTT v1.1.
    Btt,
    /// BTT v2.0.
    Btt2,
    /// pfn (fsdax) info block.
    Pfn,
    /// device-dax.
    Dax,
    /// A GUID this code does not know; preserved on rewrite.
    Unknown,
}

impl ClaimClass {
    /// The class an abstraction GUID names.
    pub fn from_guid(guid: &[u8; 16]) -> Self {
        match *guid {
            NVDIMM_BTT_GUID => Self::Btt,
            NVDIMM_BTT2_GUID => Self::Btt2,
            NVDIMM_PFN_GUID => Self::Pfn,
            NVDIMM_DAX_GUID => Self::Dax,
            NULL_GUID => Self::None,
            _ => Self::Unknown,
        }
    }

    /// The GUID to record for this class; `None` for `Unknown`, whose
    /// existing GUID must be kept.
    pub const fn guid(self) -> Option<[u8; 16]> {
        match self {
            Self::None => Some(NULL_GUID),
            Self::Btt => Some(NVDIMM_BTT_GUID),
            Self::Btt2 => Some(NVDIMM_BTT2_GUID),
            Self::Pfn => Some(NVDIMM_PFN_GUID),
            Self::Dax => Some(NVDIMM_DAX_GUID),
            Self::Unknown => None,
        }
    }
}

/// One namespace label, decoded. Field names follow C.
///
/// `type_guid`, `abstraction_guid` and `checksum` exist on media only in
/// 256-byte labels; for 128-byte labels they decode as zero and are not
/// written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamespaceLabel {
    /// Which layout this label uses.
    pub size: LabelSize,
    /// Namespace UUID, as stored (RFC 4122 byte order).
    pub uuid: [u8; NSLABEL_UUID_LEN],
    /// Optional namespace name, NUL-padded.
    pub name: [u8; NSLABEL_NAME_LEN],
    /// `NSLABEL_FLAG_*` bits.
    pub flags: u32,
    /// Number of labels (DIMMs) that describe this namespace.
    pub nlabel: u16,
    /// This label's position in the interleave set.
    pub position: u16,
    /// Interleave-set cookie the namespace was created under.
    pub isetcookie: u64,
    /// Sector size, or 0 for the pmem default.
    pub lbasize: u64,
    /// Start of this DIMM's part of the namespace (DIMM physical address).
    pub dpa: u64,
    /// Size of this DIMM's part of the namespace.
    pub rawsize: u64,
    /// Slot the label is stored in.
    pub slot: u32,
    /// Physical address alignment (present in both layouts, unused by Linux).
    pub align: u8,
    /// Address range type GUID of the interleave set (v1.2).
    pub type_guid: [u8; 16],
    /// Personality that claims the namespace (v1.2).
    pub abstraction_guid: [u8; 16],
    /// Fletcher-64 as read (v1.2); recomputed by [`NamespaceLabel::write`].
    pub checksum: u64,
}

impl NamespaceLabel {
    /// An all-zero label of the given layout.
    pub const fn new(size: LabelSize) -> Self {
        Self {
            size,
            uuid: [0; NSLABEL_UUID_LEN],
            name: [0; NSLABEL_NAME_LEN],
            flags: 0,
            nlabel: 0,
            position: 0,
            isetcookie: 0,
            lbasize: 0,
            dpa: 0,
            rawsize: 0,
            slot: 0,
            align: 0,
            type_guid: [0; 16],
            abstraction_guid: [0; 16],
            checksum: 0,
        }
    }

    /// Decode the label at the start of `raw` without validating it.
    pub fn parse(raw: &[u8], size: LabelSize) -> Result<Self, LabelError> {
        let raw = raw.get(..size.bytes()).ok_or(LabelError::TooShort)?;
        let mut label = Self {
            size,
            uuid: le::bytes(raw, f::UUID),
            name: le::bytes(raw, f::NAME),
            flags: le::u32_at(raw, f::FLAGS),
            nlabel: le::u16_at(raw, f::NLABEL),
            position: le::u16_at(raw, f::POSITION),
            isetcookie: le::u64_at(raw, f::ISETCOOKIE),
            lbasize: le::u64_at(raw, f::LBASIZE),
            dpa: le::u64_at(raw, f::DPA),
            rawsize: le::u64_at(raw, f::RAWSIZE),
            slot: le::u32_at(raw, f::SLOT),
            align: raw[f::ALIGN],
            ..Self::new(size)
        };
        if size.has_v1_2_fields() {
            label.type_guid = le::bytes(raw, f::TYPE_GUID);
            label.abstraction_guid = le::bytes(raw, f::ABSTRACTION_GUID);
            label.checksum = le::u64_at(raw, f::CHECKSUM);
        }
        Ok(label)
    }

    /// Decode the label read from `slot`, accepting it only if it says it
    /// lives in that slot and, for v1.2, its checksum matches (C:
    /// `slot_valid`). The checksum covers the raw bytes, reserved ones
    /// included, so it is checked before decoding.
    pub fn validate(raw: &[u8], size: LabelSize, slot: u32) -> Result<Self, LabelError> {
        let label = Self::parse(raw, size)?;
        if label.slot != slot {
            return Err(LabelError::SlotMismatch);
        }
        if size.has_v1_2_fields() && !fletcher::verify(&raw[..size.bytes()], f::CHECKSUM) {
            return Err(LabelError::BadChecksum);
        }
        Ok(label)
    }

    /// Encode into the start of `raw`: the label is zeroed first, reserved
    /// bytes stay zero, and a v1.2 checksum is computed over the result
    /// (C: `__pmem_label_update` then `nsl_calculate_checksum`). Returns
    /// the checksum written, 0 for v1.1.
    pub fn write(&self, raw: &mut [u8]) -> Result<u64, LabelError> {
        let raw = raw
            .get_mut(..self.size.bytes())
            .ok_or(LabelError::TooShort)?;
        raw.fill(0);
        le::put(raw, f::UUID, &self.uuid);
        le::put(raw, f::NAME, &self.name);
        le::put_u32(raw, f::FLAGS, self.flags);
        le::put_u16(raw, f::NLABEL, self.nlabel);
        le::put_u16(raw, f::POSITION, self.position);
        le::put_u64(raw, f::ISETCOOKIE, self.isetcookie);
        le::put_u64(raw, f::LBASIZE, self.lbasize);
        le::put_u64(raw, f::DPA, self.dpa);
        le::put_u64(raw, f::RAWSIZE, self.rawsize);
        le::put_u32(raw, f::SLOT, self.slot);
        raw[f::ALIGN] = self.align;
        if !self.size.has_v1_2_fields() {
            return Ok(0);
        }
        le::put(raw, f::TYPE_GUID, &self.type_guid);
        le::put(raw, f::ABSTRACTION_GUID, &self.abstraction_guid);
        fletcher::seal(raw, f::CHECKSUM).ok_or(LabelError::TooShort)
    }

    /// The name up to its first NUL.
    pub fn name_bytes(&self) -> &[u8] {
        let len = self
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(NSLABEL_NAME_LEN);
        &self.name[..len]
    }

    /// Set the name, truncated to the field and NUL-padded.
    pub fn set_name(&mut self, name: &[u8]) {
        let len = name.len().min(NSLABEL_NAME_LEN);
        self.name = [0; NSLABEL_NAME_LEN];
        self.name[..len].copy_from_slice(&name[..len]);
    }

    /// Who claims the namespace; always `None` for v1.1 labels, which
    /// have no abstraction GUID (C: `nsl_get_claim_class`).
    pub fn claim_class(&self) -> ClaimClass {
        if self.size.has_v1_2_fields() {
            ClaimClass::from_guid(&self.abstraction_guid)
        } else {
            ClaimClass::None
        }
    }

    /// Record who claims the namespace. `Unknown` keeps the existing GUID
    /// so that a personality this code does not know survives a rewrite;
    /// v1.1 labels cannot record a class (C: `nsl_set_claim_class`).
    pub fn set_claim_class(&mut self, class: ClaimClass) {
        if let (true, Some(guid)) = (self.size.has_v1_2_fields(), class.guid()) {
            self.abstraction_guid = guid;
        }
    }

    /// Whether the label belongs to an interleave set of this address
    /// range type. v1.1 labels carry no type and always match (C:
    /// `nsl_validate_type_guid`).
    pub fn type_guid_matches(&self, type_guid: &[u8; 16]) -> bool {
        !self.size.has_v1_2_fields() || self.type_guid == *type_guid
    }

    /// Whether `[dpa, dpa + rawsize)` lies inside the mapping
    /// `[start, start + size)` the firmware published, by C's test in
    /// `select_pmem_id`: the start inside the mapping, the end inside it
    /// and past its start. Computed without C's 64-bit wrap-around.
    pub fn within_mapping(&self, start: u64, size: u64) -> bool {
        let (hw_start, hw_end) = (u128::from(start), u128::from(start) + u128::from(size));
        let (pmem_start, pmem_end) = (
            u128::from(self.dpa),
            u128::from(self.dpa) + u128::from(self.rawsize),
        );
        pmem_start >= hw_start && pmem_start < hw_end && pmem_end <= hw_end && pmem_end > hw_start
    }
}

/// Length of a label id: `"pmem-"` and a 36-character UUID.
const LABEL_ID_LEN: usize = 5 + 36;

/// The name the kernel gives a namespace's DPA allocations,
/// `"pmem-<uuid>"` (C: `nd_label_gen_id`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LabelId {
    text: [u8; LABEL_ID_LEN],
}

impl LabelId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored.
        core::str::from_utf8(&self.text).unwrap_or("")
    }

    /// The id as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }
}

impl core::fmt::Debug for LabelId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The label id of a namespace UUID: bytes printed in stored order,
/// lowercase, dashed 8-4-4-4-12 (printk's `%pUb`).
pub fn label_id(uuid: &[u8; NSLABEL_UUID_LEN]) -> LabelId {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; LABEL_ID_LEN];
    text[..5].copy_from_slice(b"pmem-");
    let mut pos = 5;
    for (i, byte) in uuid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text[pos] = b'-';
            pos += 1;
        }
        text[pos] = HEX[usize::from(byte >> 4)];
        text[pos + 1] = HEX[usize::from(byte & 0xf)];
        pos += 2;
    }
    LabelId { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_mixed_endian() {
        // guid_parse: first three groups byte-swapped, the rest as written.
        assert_eq!(
            NVDIMM_BTT_GUID,
            [
                0xa2, 0x63, 0xed, 0x8a, 0xa2, 0x29, 0x66, 0x4c, 0x8b, 0x12, 0xf0, 0x5d, 0x15, 0xd3,
                0x92, 0x2a
            ]
        );
        assert_eq!(
            NVDIMM_DAX_GUID,
            [
                0x9c, 0x6d, 0xa8, 0x97, 0xdd, 0x3c, 0xda, 0x4e, 0x98, 0x6f, 0x50, 0x68, 0xb4, 0xf8,
                0x00, 0x88
            ]
        );
    }

    #[test]
    fn claim_classes_round_trip() {
        for class in [
            ClaimClass::None,
            ClaimClass::Btt,
            ClaimClass::Btt2,
            ClaimClass::Pfn,
            ClaimClass::Dax,
        ] {
            assert_eq!(ClaimClass::from_guid(&class.guid().unwrap()), class);
        }
        assert_eq!(ClaimClass::from_guid(&[1; 16]), ClaimClass::Unknown);
        assert_eq!(ClaimClass::Unknown.guid(), None);
    }

    #[test]
    fn set_claim_class_keeps_unknown_guid() {
        let mut l = NamespaceLabel::new(LabelSize::Bytes256);
        l.abstraction_guid = [7; 16];
        l.set_claim_class(ClaimClass::Unknown);
        assert_eq!(l.abstraction_guid, [7; 16]);
        l.set_claim_class(ClaimClass::Pfn);
        assert_eq!(l.claim_class(), ClaimClass::Pfn);
        l.set_claim_class(ClaimClass::None);
        assert_eq!(l.abstraction_guid, [0; 16]);

        let mut l = NamespaceLabel::new(LabelSize::Bytes128);
        l.set_claim_class(ClaimClass::Dax);
        assert_eq!(l.abstraction_guid, [0; 16]);
        assert_eq!(l.claim_class(), ClaimClass::None);
    }

    #[test]
    fn label_id_format() {
        let uuid = [
            0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
            0x0e, 0xff,
        ];
        assert_eq!(
            label_id(&uuid).as_str(),
            "pmem-00010203-0405-0607-0809-0a0b0c0d0eff"
        );
    }

    #[test]
    fn name_handling() {
        let mut l = NamespaceLabel::new(LabelSize::Bytes128);
        assert_eq!(l.name_bytes(), b"");
        l.set_name(b"fsdax0");
        assert_eq!(l.name_bytes(), b"fsdax0");
        l.set_name(&[b'x'; 80]);
        assert_eq!(l.name_bytes(), &[b'x'; 64][..]);
    }

    #[test]
    fn mapping_bounds() {
        let mut l = NamespaceLabel::new(LabelSize::Bytes256);
        l.dpa = 0x1000;
        l.rawsize = 0x1000;
        assert!(l.within_mapping(0x1000, 0x1000));
        assert!(l.within_mapping(0, 0x2000));
        assert!(!l.within_mapping(0, 0x1fff));
        assert!(!l.within_mapping(0x1001, 0x2000));
        l.rawsize = 0;
        assert!(
            l.within_mapping(0, 0x2000),
            "C accepts an empty range inside"
        );
        assert!(
            !l.within_mapping(0x1000, 0x2000),
            "but not one at the start"
        );
        l.dpa = u64::MAX;
        l.rawsize = 2;
        assert!(!l.within_mapping(0, u64::MAX), "no wrap-around");
    }
}
