//! Typed, zero-copy views of the NFIT subtables and the table parser.
//!
//! Length rules follow core.c's add_table() and its add_*() helpers. Where C
//! trusts a length and reads past the subtable (a short `DCR` that claims
//! windows, interleave/flush counts larger than the subtable, a short
//! capabilities table, a subtable running past the end of the table), we
//! reject instead: a safe parser cannot read what is not there.

use super::{
    byte, le16, le32, le64, nfit_spa_type, DeviceHandle, Error, Guid, SpaType, BDW_LEN, CAPS_LEN,
    DCR_LEN, DCR_SHORT_LEN, FLUSH_LEN, INTERLEAVE_LEN, MEMDEV_LEN, SIGNATURE, SMBIOS_LEN,
    SPA_COOKIE_LEN, SPA_LEN, SPA_LOCATION_COOKIE_VALID, SUBTABLE_HEADER_LEN, TABLE_HEADER_LEN,
};

/// Subtable type codes (`enum acpi_nfit_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum SubtableType {
    /// System physical address range.
    Spa = 0,
    /// Memory device to SPA range map.
    Memdev = 1,
    /// Interleave description.
    Interleave = 2,
    /// SMBIOS management information (ignored by the driver).
    Smbios = 3,
    /// NVDIMM control region.
    ControlRegion = 4,
    /// Block data window region.
    DataRegion = 5,
    /// Flush hint addresses.
    FlushHint = 6,
    /// Platform capabilities.
    Capabilities = 7,
}

impl SubtableType {
    /// The type for a raw code; None for reserved codes (8 and up).
    pub fn from_u16(ty: u16) -> Option<Self> {
        Some(match ty {
            0 => SubtableType::Spa,
            1 => SubtableType::Memdev,
            2 => SubtableType::Interleave,
            3 => SubtableType::Smbios,
            4 => SubtableType::ControlRegion,
            5 => SubtableType::DataRegion,
            6 => SubtableType::FlushHint,
            7 => SubtableType::Capabilities,
            _ => return None,
        })
    }
}

/// Identification fields of an ACPI table header, as a writer sets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableInfo {
    /// Table revision (NFIT is revision 1).
    pub revision: u8,
    /// OEM id.
    pub oem_id: [u8; 6],
    /// OEM table id.
    pub oem_table_id: [u8; 8],
    /// OEM revision.
    pub oem_revision: u32,
    /// ASL compiler (creator) id.
    pub creator_id: [u8; 4],
    /// ASL compiler (creator) revision.
    pub creator_revision: u32,
}

impl TableInfo {
    /// What the nfit_test tables are written with.
    pub const DEFAULT: TableInfo = TableInfo {
        revision: 1,
        oem_id: *b"LINUX ",
        oem_table_id: *b"NFITTEST",
        oem_revision: 1,
        creator_id: *b"RUST",
        creator_revision: 1,
    };
}

/// The decoded ACPI table header of an NFIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcpiHeader {
    /// Total table length, header included.
    pub length: u32,
    /// Checksum byte as stored.
    pub checksum: u8,
    /// Revision and identification fields.
    pub info: TableInfo,
}

impl AcpiHeader {
    fn parse(b: &[u8]) -> Self {
        let mut info = TableInfo::DEFAULT;
        info.revision = byte(b, 8);
        info.oem_id.copy_from_slice(&b[10..16]);
        info.oem_table_id.copy_from_slice(&b[16..24]);
        info.oem_revision = le32(b, 24);
        info.creator_id.copy_from_slice(&b[28..32]);
        info.creator_revision = le32(b, 32);
        AcpiHeader {
            length: le32(b, 4),
            checksum: byte(b, 9),
            info,
        }
    }
}

/// SPA range (type 0): a range of system physical address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spa<'a>(&'a [u8]);

/// The fields of a SPA range, for writing and comparing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SpaDesc {
    /// Range index memdevs refer to; 0 means "no index".
    pub range_index: u16,
    /// `SPA_*` flags; the writer derives SPA_LOCATION_COOKIE_VALID from `location_cookie`.
    pub flags: u16,
    /// Proximity domain, valid with SPA_PROXIMITY_VALID.
    pub proximity_domain: u32,
    /// Range type GUID.
    pub range_guid: Guid,
    /// Base address.
    pub address: u64,
    /// Length in bytes.
    pub length: u64,
    /// EFI memory mapping attributes.
    pub memory_mapping: u64,
    /// ACPI 6.4 location cookie, present iff SPA_LOCATION_COOKIE_VALID.
    pub location_cookie: Option<u64>,
}

impl<'a> Spa<'a> {
    /// The significant bytes (C's `sizeof_spa()`): what the driver copies and
    /// compares when a new table replaces the old one.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// Range index (0: none).
    pub fn range_index(&self) -> u16 {
        le16(self.0, 4)
    }
    /// `SPA_*` flags.
    pub fn flags(&self) -> u16 {
        le16(self.0, 6)
    }
    /// Proximity domain.
    pub fn proximity_domain(&self) -> u32 {
        le32(self.0, 12)
    }
    /// Range type GUID.
    pub fn range_guid(&self) -> Guid {
        let mut g = [0; 16];
        g.copy_from_slice(&self.0[16..32]);
        Guid(g)
    }
    /// Base address.
    pub fn address(&self) -> u64 {
        le64(self.0, 32)
    }
    /// Length in bytes.
    pub fn length(&self) -> u64 {
        le64(self.0, 40)
    }
    /// EFI memory mapping attributes.
    pub fn memory_mapping(&self) -> u64 {
        le64(self.0, 48)
    }
    /// Location cookie, when the flags say it is present.
    pub fn location_cookie(&self) -> Option<u64> {
        (self.0.len() == SPA_COOKIE_LEN).then(|| le64(self.0, 56))
    }
    /// The range type, if its GUID is a known SPA type.
    pub fn spa_type(&self) -> Option<SpaType> {
        SpaType::from_guid(&self.range_guid())
    }
    /// C's `nfit_spa_type()` for this range (-1 if unknown).
    pub fn nfit_spa_type(&self) -> i32 {
        nfit_spa_type(&self.range_guid())
    }
    /// All fields.
    pub fn desc(&self) -> SpaDesc {
        SpaDesc {
            range_index: self.range_index(),
            flags: self.flags(),
            proximity_domain: self.proximity_domain(),
            range_guid: self.range_guid(),
            address: self.address(),
            length: self.length(),
            memory_mapping: self.memory_mapping(),
            location_cookie: self.location_cookie(),
        }
    }
}

/// Memory device to SPA range map (type 1): one DIMM's part in one range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memdev<'a>(&'a [u8]);

/// The fields of a memdev map, for writing and comparing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MemdevDesc {
    /// The DIMM.
    pub device_handle: DeviceHandle,
    /// SMBIOS physical id of the DIMM.
    pub physical_id: u16,
    /// Region id within the DIMM.
    pub region_id: u16,
    /// SPA range index (0: not mapped).
    pub range_index: u16,
    /// Control region index.
    pub region_index: u16,
    /// Bytes of the DIMM in this range.
    pub region_size: u64,
    /// Offset of the DIMM's first byte in the range.
    pub region_offset: u64,
    /// DIMM physical address (DPA) of the region.
    pub address: u64,
    /// Interleave structure index.
    pub interleave_index: u16,
    /// Number of DIMMs in the interleave set.
    pub interleave_ways: u16,
    /// `MEM_*` flags.
    pub flags: u16,
}

impl<'a> Memdev<'a> {
    /// The significant bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// The DIMM.
    pub fn device_handle(&self) -> DeviceHandle {
        DeviceHandle(le32(self.0, 4))
    }
    /// SMBIOS physical id.
    pub fn physical_id(&self) -> u16 {
        le16(self.0, 8)
    }
    /// Region id within the DIMM.
    pub fn region_id(&self) -> u16 {
        le16(self.0, 10)
    }
    /// SPA range index (0: not mapped).
    pub fn range_index(&self) -> u16 {
        le16(self.0, 12)
    }
    /// Control region index.
    pub fn region_index(&self) -> u16 {
        le16(self.0, 14)
    }
    /// Bytes of the DIMM in the range.
    pub fn region_size(&self) -> u64 {
        le64(self.0, 16)
    }
    /// Offset in the range.
    pub fn region_offset(&self) -> u64 {
        le64(self.0, 24)
    }
    /// DPA of the region.
    pub fn address(&self) -> u64 {
        le64(self.0, 32)
    }
    /// Interleave structure index.
    pub fn interleave_index(&self) -> u16 {
        le16(self.0, 40)
    }
    /// Interleave ways as the firmware states it (the driver counts memdevs instead).
    pub fn interleave_ways(&self) -> u16 {
        le16(self.0, 42)
    }
    /// `MEM_*` flags of this one map.
    pub fn flags(&self) -> u16 {
        le16(self.0, 44)
    }
    /// All fields.
    pub fn desc(&self) -> MemdevDesc {
        MemdevDesc {
            device_handle: self.device_handle(),
            physical_id: self.physical_id(),
            region_id: self.region_id(),
            range_index: self.range_index(),
            region_index: self.region_index(),
            region_size: self.region_size(),
            region_offset: self.region_offset(),
            address: self.address(),
            interleave_index: self.interleave_index(),
            interleave_ways: self.interleave_ways(),
            flags: self.flags(),
        }
    }
}

/// Interleave description (type 2): line offsets of an interleave set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interleave<'a>(&'a [u8]);

impl<'a> Interleave<'a> {
    /// The significant bytes (C's `sizeof_idt()`).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// Index memdevs refer to.
    pub fn interleave_index(&self) -> u16 {
        le16(self.0, 4)
    }
    /// Number of line offsets.
    pub fn line_count(&self) -> u32 {
        le32(self.0, 8)
    }
    /// Line size in bytes.
    pub fn line_size(&self) -> u32 {
        le32(self.0, 12)
    }
    /// The line offsets.
    pub fn line_offsets(&self) -> impl Iterator<Item = u32> + 'a {
        let b = self.0;
        b[INTERLEAVE_LEN..].chunks_exact(4).map(|c| le32(c, 0))
    }
}

/// SMBIOS management information (type 3); the driver ignores its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Smbios<'a>(&'a [u8]);

impl<'a> Smbios<'a> {
    /// The whole subtable.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// The SMBIOS data after the reserved field (empty if the subtable is shorter).
    pub fn data(&self) -> &'a [u8] {
        self.0.get(SMBIOS_LEN..).unwrap_or(&[])
    }
}

/// NVDIMM control region (type 4): identity of a DIMM's interface and, with
/// block windows, its command/status registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlRegion<'a>(&'a [u8]);

/// The block-window part of a full-length control region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DcrBlock {
    /// Size of one block control window.
    pub window_size: u64,
    /// Offset of the command register.
    pub command_offset: u64,
    /// Size of the command register.
    pub command_size: u64,
    /// Offset of the status register.
    pub status_offset: u64,
    /// Size of the status register.
    pub status_size: u64,
    /// `DCR_BUFFERED` etc.
    pub flags: u16,
}

/// The fields of a control region, for writing and comparing.
///
/// The identification fields hold the little-endian value of the table's two
/// bytes, as C's struct does on x86; Linux prints them byte-swapped (see
/// [`ControlRegion::vendor_id_be`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DcrDesc {
    /// Index memdevs refer to.
    pub region_index: u16,
    /// Vendor id.
    pub vendor_id: u16,
    /// Device id.
    pub device_id: u16,
    /// Revision id.
    pub revision_id: u16,
    /// Subsystem vendor id.
    pub subsystem_vendor_id: u16,
    /// Subsystem device id.
    pub subsystem_device_id: u16,
    /// Subsystem revision id.
    pub subsystem_revision_id: u16,
    /// `DCR_MFG_INFO_VALID` etc.
    pub valid_fields: u8,
    /// Manufacturing location.
    pub manufacturing_location: u8,
    /// Manufacturing date (stored big-endian, JEDEC style).
    pub manufacturing_date: u16,
    /// Serial number (stored big-endian, JEDEC style).
    pub serial_number: u32,
    /// Format interface code (`FIC_*`).
    pub code: u16,
    /// Number of block control windows.
    pub windows: u16,
    /// Block-window fields; the writer emits a full-length region iff present.
    pub block: Option<DcrBlock>,
}

impl<'a> ControlRegion<'a> {
    /// The significant bytes (C's `sizeof_dcr()`): 80 with windows, else 32.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// Index memdevs refer to.
    pub fn region_index(&self) -> u16 {
        le16(self.0, 4)
    }
    /// Vendor id, as a little-endian field.
    pub fn vendor_id(&self) -> u16 {
        le16(self.0, 6)
    }
    /// Device id.
    pub fn device_id(&self) -> u16 {
        le16(self.0, 8)
    }
    /// Revision id.
    pub fn revision_id(&self) -> u16 {
        le16(self.0, 10)
    }
    /// Subsystem vendor id.
    pub fn subsystem_vendor_id(&self) -> u16 {
        le16(self.0, 12)
    }
    /// Subsystem device id.
    pub fn subsystem_device_id(&self) -> u16 {
        le16(self.0, 14)
    }
    /// Subsystem revision id.
    pub fn subsystem_revision_id(&self) -> u16 {
        le16(self.0, 16)
    }
    /// `DCR_MFG_INFO_VALID` etc.
    pub fn valid_fields(&self) -> u8 {
        byte(self.0, 18)
    }
    /// Manufacturing location.
    pub fn manufacturing_location(&self) -> u8 {
        byte(self.0, 19)
    }
    /// Manufacturing date, as a little-endian field.
    pub fn manufacturing_date(&self) -> u16 {
        le16(self.0, 20)
    }
    /// Serial number, as a little-endian field.
    pub fn serial_number(&self) -> u32 {
        le32(self.0, 24)
    }
    /// Format interface code (`FIC_*`); sysfs `format` prints it as is.
    pub fn code(&self) -> u16 {
        le16(self.0, 28)
    }
    /// Number of block control windows.
    pub fn windows(&self) -> u16 {
        le16(self.0, 30)
    }
    /// Block-window fields, present iff `windows() != 0`.
    pub fn block(&self) -> Option<DcrBlock> {
        (self.0.len() >= DCR_LEN).then(|| DcrBlock {
            window_size: le64(self.0, 32),
            command_offset: le64(self.0, 40),
            command_size: le64(self.0, 48),
            status_offset: le64(self.0, 56),
            status_size: le64(self.0, 64),
            flags: le16(self.0, 72),
        })
    }

    // Linux reads these identity fields with be16_to_cpu()/be32_to_cpu(), both
    // for the DIMM id and for the nfit sysfs attributes.

    /// Vendor id as Linux shows it (sysfs `vendor`, the DIMM id).
    pub fn vendor_id_be(&self) -> u16 {
        self.vendor_id().swap_bytes()
    }
    /// Device id as sysfs `device` shows it.
    pub fn device_id_be(&self) -> u16 {
        self.device_id().swap_bytes()
    }
    /// Revision id as sysfs `rev_id` shows it.
    pub fn revision_id_be(&self) -> u16 {
        self.revision_id().swap_bytes()
    }
    /// Subsystem vendor id as sysfs `subsystem_vendor` shows it.
    pub fn subsystem_vendor_id_be(&self) -> u16 {
        self.subsystem_vendor_id().swap_bytes()
    }
    /// Subsystem device id as sysfs `subsystem_device` shows it.
    pub fn subsystem_device_id_be(&self) -> u16 {
        self.subsystem_device_id().swap_bytes()
    }
    /// Subsystem revision id as sysfs `subsystem_rev_id` shows it.
    pub fn subsystem_revision_id_be(&self) -> u16 {
        self.subsystem_revision_id().swap_bytes()
    }
    /// Manufacturing date as the DIMM id shows it.
    pub fn manufacturing_date_be(&self) -> u16 {
        self.manufacturing_date().swap_bytes()
    }
    /// Serial number as sysfs `serial` and the DIMM id show it.
    pub fn serial_number_be(&self) -> u32 {
        self.serial_number().swap_bytes()
    }

    /// All fields.
    pub fn desc(&self) -> DcrDesc {
        DcrDesc {
            region_index: self.region_index(),
            vendor_id: self.vendor_id(),
            device_id: self.device_id(),
            revision_id: self.revision_id(),
            subsystem_vendor_id: self.subsystem_vendor_id(),
            subsystem_device_id: self.subsystem_device_id(),
            subsystem_revision_id: self.subsystem_revision_id(),
            valid_fields: self.valid_fields(),
            manufacturing_location: self.manufacturing_location(),
            manufacturing_date: self.manufacturing_date(),
            serial_number: self.serial_number(),
            code: self.code(),
            windows: self.windows(),
            block: self.block(),
        }
    }
}

/// Block data window region (type 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataRegion<'a>(&'a [u8]);

/// The fields of a block data window region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DataRegionDesc {
    /// Control region index this window belongs to.
    pub region_index: u16,
    /// Number of windows.
    pub windows: u16,
    /// Offset of the first window.
    pub offset: u64,
    /// Size of one window.
    pub size: u64,
    /// Capacity reachable through the windows.
    pub capacity: u64,
    /// First DPA reachable.
    pub start_address: u64,
}

impl<'a> DataRegion<'a> {
    /// The significant bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// All fields.
    pub fn desc(&self) -> DataRegionDesc {
        DataRegionDesc {
            region_index: le16(self.0, 4),
            windows: le16(self.0, 6),
            offset: le64(self.0, 8),
            size: le64(self.0, 16),
            capacity: le64(self.0, 24),
            start_address: le64(self.0, 32),
        }
    }
}

/// Flush hint addresses (type 6): a DIMM's write-pending-queue flush registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushHint<'a>(&'a [u8]);

impl<'a> FlushHint<'a> {
    /// The significant bytes (C's `sizeof_flush()`).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// The DIMM.
    pub fn device_handle(&self) -> DeviceHandle {
        DeviceHandle(le32(self.0, 4))
    }
    /// Number of hint addresses.
    pub fn hint_count(&self) -> u16 {
        le16(self.0, 8)
    }
    /// The hint addresses; each names an 8-byte register.
    pub fn hint_addresses(&self) -> impl Iterator<Item = u64> + 'a {
        let b = self.0;
        b[FLUSH_LEN..].chunks_exact(8).map(|c| le64(c, 0))
    }
}

/// Platform capabilities (type 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities<'a>(&'a [u8]);

impl<'a> Capabilities<'a> {
    /// The subtable.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// Highest capability bit the platform describes.
    pub fn highest_capability(&self) -> u8 {
        byte(self.0, 4)
    }
    /// Raw capability bits (`CAP_*`).
    pub fn capabilities(&self) -> u32 {
        le32(self.0, 8)
    }
    /// The capabilities the driver believes: bits above `highest_capability`
    /// are masked off (add_platform_cap()).
    pub fn effective(&self) -> u32 {
        // C shifts an int by highest+1, undefined from 31 up; every bit counts then.
        let mask = 1u64
            .checked_shl(u32::from(self.highest_capability()) + 1)
            .unwrap_or(0);
        self.capabilities() & (mask.wrapping_sub(1) as u32)
    }
}

/// One decoded subtable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subtable<'a> {
    /// Type 0.
    Spa(Spa<'a>),
    /// Type 1.
    Memdev(Memdev<'a>),
    /// Type 2.
    Interleave(Interleave<'a>),
    /// Type 3.
    Smbios(Smbios<'a>),
    /// Type 4.
    ControlRegion(ControlRegion<'a>),
    /// Type 5.
    DataRegion(DataRegion<'a>),
    /// Type 6.
    FlushHint(FlushHint<'a>),
    /// Type 7.
    Capabilities(Capabilities<'a>),
    /// A reserved type: C logs "unknown table" and skips it.
    Unknown {
        /// Its type code.
        ty: u16,
        /// The whole subtable.
        bytes: &'a [u8],
    },
}

/// What the parser found at one offset.
enum Step<'a> {
    End,
    ZeroLength,
    Entry(Subtable<'a>, usize),
}

/// Decodes the subtable at `off` with add_table()'s rules.
fn decode(body: &[u8], off: usize) -> Result<Step<'_>, Error> {
    let rest = match body.get(off..) {
        Some(r) if !r.is_empty() => r,
        _ => return Ok(Step::End),
    };
    if rest.len() < SUBTABLE_HEADER_LEN {
        return Err(Error::HeaderOverrun { offset: off });
    }
    let ty = le16(rest, 0);
    let len = le16(rest, 2);
    if len == 0 {
        // C: dev_warn("found a zero length table") and stop, successfully.
        return Ok(Step::ZeroLength);
    }
    let sub = rest
        .get(..usize::from(len))
        .ok_or(Error::Overrun { offset: off })?;
    let bad = Error::BadLength {
        offset: off,
        ty,
        len,
    };
    // `need` is how many bytes C copies for this subtable; it must equal or
    // fit in the claimed length, per type.
    let entry = match SubtableType::from_u16(ty) {
        Some(SubtableType::Spa) => {
            let need = if sub.len() >= 8 && le16(sub, 6) & SPA_LOCATION_COOKIE_VALID != 0 {
                SPA_COOKIE_LEN
            } else {
                SPA_LEN
            };
            if sub.len() != need {
                return Err(bad);
            }
            Subtable::Spa(Spa(sub))
        }
        Some(SubtableType::Memdev) => {
            if sub.len() != MEMDEV_LEN {
                return Err(bad);
            }
            Subtable::Memdev(Memdev(sub))
        }
        Some(SubtableType::ControlRegion) => {
            if sub.len() < DCR_SHORT_LEN {
                return Err(bad);
            }
            let need = if le16(sub, 30) != 0 {
                DCR_LEN
            } else {
                DCR_SHORT_LEN
            };
            Subtable::ControlRegion(ControlRegion(sub.get(..need).ok_or(bad)?))
        }
        Some(SubtableType::DataRegion) => {
            if sub.len() != BDW_LEN {
                return Err(bad);
            }
            Subtable::DataRegion(DataRegion(sub))
        }
        Some(SubtableType::Interleave) => {
            if sub.len() < INTERLEAVE_LEN {
                return Err(bad);
            }
            let need = INTERLEAVE_LEN as u64 + 4 * u64::from(le32(sub, 8));
            if need > sub.len() as u64 {
                return Err(bad);
            }
            Subtable::Interleave(Interleave(&sub[..need as usize]))
        }
        Some(SubtableType::FlushHint) => {
            if sub.len() < FLUSH_LEN {
                return Err(bad);
            }
            let need = FLUSH_LEN + 8 * usize::from(le16(sub, 8));
            Subtable::FlushHint(FlushHint(sub.get(..need).ok_or(bad)?))
        }
        Some(SubtableType::Smbios) => Subtable::Smbios(Smbios(sub)),
        Some(SubtableType::Capabilities) => {
            if sub.len() < CAPS_LEN {
                return Err(bad);
            }
            Subtable::Capabilities(Capabilities(&sub[..CAPS_LEN]))
        }
        None => Subtable::Unknown { ty, bytes: sub },
    };
    Ok(Step::Entry(entry, off + usize::from(len)))
}

/// Iterator over the subtables of an unchecked body; yields the first error
/// and then stops. A zero-length subtable ends the iteration, as in C.
#[derive(Clone, Debug)]
pub struct RawSubtables<'a> {
    body: &'a [u8],
    off: usize,
    zero_length_at: Option<usize>,
    done: bool,
}

impl<'a> RawSubtables<'a> {
    /// Starts at the first subtable of `body`.
    pub fn new(body: &'a [u8]) -> Self {
        RawSubtables {
            body,
            off: 0,
            zero_length_at: None,
            done: false,
        }
    }
    /// Where a zero-length subtable stopped the walk (C warns there).
    pub fn zero_length_at(&self) -> Option<usize> {
        self.zero_length_at
    }
}

impl<'a> Iterator for RawSubtables<'a> {
    type Item = Result<Subtable<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match decode(self.body, self.off) {
            Ok(Step::Entry(sub, next)) => {
                self.off = next;
                Some(Ok(sub))
            }
            Ok(Step::End) => {
                self.done = true;
                None
            }
            Ok(Step::ZeroLength) => {
                self.zero_length_at = Some(self.off);
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A validated NFIT body: every subtable decodes and every memdev finds the
/// control region nfit_mem_init() looks for. Cheap to copy.
#[derive(Clone, Copy, Debug)]
pub struct Nfit<'a> {
    body: &'a [u8],
    zero_length_at: Option<usize>,
}

impl<'a> Nfit<'a> {
    /// Validates a body (the bytes after the 40-byte table header, or a
    /// `_FIT` buffer) the way acpi_nfit_init() does.
    pub fn parse_body(body: &'a [u8]) -> Result<Self, Error> {
        let mut it = RawSubtables::new(body);
        for sub in &mut it {
            sub?;
        }
        let nfit = Nfit {
            body,
            zero_length_at: it.zero_length_at(),
        };
        nfit.check_dimms()?;
        Ok(nfit)
    }

    /// Validates a whole table: header, signature, length and checksum, then
    /// the body. Bytes past the header's `length` are ignored.
    pub fn parse_table(table: &'a [u8]) -> Result<(AcpiHeader, Self), Error> {
        if table.len() < TABLE_HEADER_LEN {
            return Err(Error::Truncated);
        }
        if table[..4] != SIGNATURE {
            return Err(Error::BadSignature);
        }
        let header = AcpiHeader::parse(table);
        let len = header.length as usize;
        if len < TABLE_HEADER_LEN {
            return Err(Error::BadTableLength);
        }
        let table = table.get(..len).ok_or(Error::Truncated)?;
        if table.iter().fold(0u8, |s, b| s.wrapping_add(*b)) != 0 {
            return Err(Error::BadChecksum);
        }
        Ok((header, Self::parse_body(&table[TABLE_HEADER_LEN..])?))
    }

    /// The body bytes.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Body offset of a zero-length subtable that ended parsing early.
    pub fn zero_length_at(&self) -> Option<usize> {
        self.zero_length_at
    }

    /// All subtables in table order.
    pub fn subtables(&self) -> impl Iterator<Item = Subtable<'a>> + 'a {
        RawSubtables::new(self.body).filter_map(Result::ok)
    }

    /// SPA ranges in table order.
    pub fn spas(&self) -> impl Iterator<Item = Spa<'a>> + 'a {
        self.subtables().filter_map(|s| match s {
            Subtable::Spa(x) => Some(x),
            _ => None,
        })
    }

    /// Memdev maps in table order.
    pub fn memdevs(&self) -> impl Iterator<Item = Memdev<'a>> + 'a {
        self.subtables().filter_map(|s| match s {
            Subtable::Memdev(x) => Some(x),
            _ => None,
        })
    }

    /// Control regions in table order.
    pub fn control_regions(&self) -> impl Iterator<Item = ControlRegion<'a>> + 'a {
        self.subtables().filter_map(|s| match s {
            Subtable::ControlRegion(x) => Some(x),
            _ => None,
        })
    }

    /// Block data window regions in table order.
    pub fn data_regions(&self) -> impl Iterator<Item = DataRegion<'a>> + 'a {
        self.subtables().filter_map(|s| match s {
            Subtable::DataRegion(x) => Some(x),
            _ => None,
        })
    }

    /// Interleave descriptions in table order.
    pub fn interleaves(&self) -> impl Iterator<Item = Interleave<'a>> + 'a {
        self.subtables().filter_map(|s| match s {
            Subtable::Interleave(x) => Some(x),
            _ => None,
        })
    }

    /// Flush hint tables in table order.
    pub fn flush_hints(&self) -> impl Iterator<Item = FlushHint<'a>> + 'a {
        self.subtables().filter_map(|s| match s {
            Subtable::FlushHint(x) => Some(x),
            _ => None,
        })
    }

    /// The platform capabilities the driver ends up with: each capabilities
    /// subtable overwrites the last; None if there is none.
    pub fn platform_capabilities(&self) -> Option<u32> {
        self.subtables()
            .filter_map(|s| match s {
                Subtable::Capabilities(x) => Some(x.effective()),
                _ => None,
            })
            .last()
    }

    /// The first SPA range with this index.
    pub fn spa(&self, range_index: u16) -> Option<Spa<'a>> {
        self.spas().find(|s| s.range_index() == range_index)
    }

    /// The first control region with this index (the one C's lookups find).
    pub fn control_region(&self, region_index: u16) -> Option<ControlRegion<'a>> {
        self.control_regions()
            .find(|d| d.region_index() == region_index)
    }

    /// The memdevs that map into `spa`, in table order: the region's
    /// mappings. Index 0 on either side never matches.
    pub fn mappings(&self, spa: &Spa<'_>) -> impl Iterator<Item = Memdev<'a>> + 'a {
        let index = spa.range_index();
        self.memdevs()
            .filter(move |m| index != 0 && m.range_index() == index)
    }

    /// Interleave ways of a region: how many memdevs map into `spa`.
    pub fn interleave_ways(&self, spa: &Spa<'_>) -> usize {
        self.mappings(spa).count()
    }

    /// Every memdev of one DIMM, in table order.
    pub fn memdevs_of(&self, handle: DeviceHandle) -> impl Iterator<Item = Memdev<'a>> + 'a {
        self.memdevs().filter(move |m| m.device_handle() == handle)
    }
}
