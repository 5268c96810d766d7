//! The arena info block (C's `struct btt_sb`), 4 KiB, at the start of every
//! arena and again (the backup) at its end.

use super::layout::ArenaLayout;
use super::{BttError, BTT_SIG, BTT_SIG_LEN};
use super::super::fletcher;
use super::super::le;

/// Size of an info block (`sizeof(struct btt_sb)`).
pub const INFO_SIZE: usize = 4096;
/// Offset of the checksum, the block's last 8 bytes.
pub const INFO_CHECKSUM_OFFSET: usize = INFO_SIZE - 8;

const UUID: usize = 16;
const PARENT_UUID: usize = 32;
const FLAGS: usize = 48;
const VERSION_MAJOR: usize = 52;
const VERSION_MINOR: usize = 54;
const EXTERNAL_LBASIZE: usize = 56;
const EXTERNAL_NLBA: usize = 60;
const INTERNAL_LBASIZE: usize = 64;
const INTERNAL_NLBA: usize = 68;
const NFREE: usize = 72;
const INFOSIZE: usize = 76;
const NEXTOFF: usize = 80;
const DATAOFF: usize = 88;
const MAPOFF: usize = 96;
const LOGOFF: usize = 104;
const INFO2OFF: usize = 112;
/// End of the fields; the rest up to the checksum is padding.
const FIELDS_END: usize = 120;

/// The two BTT versions, chosen by the namespace's claim class (C's
/// `nd_btt_version`): v2.0 for the BTT2 claim class (v1.2 labels), v1.1
/// for label-less namespaces and v1.1 labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BttVersion {
    /// 1.1: the BTT starts 4 KiB into the namespace.
    V1_1,
    /// 2.0: the BTT starts at the namespace's first byte.
    V2_0,
}

impl BttVersion {
    /// The version C uses for a namespace whose claim class is BTT2
    /// (`btt2`) or not.
    pub fn for_claim_class(btt2: bool) -> Self {
        if btt2 {
            BttVersion::V2_0
        } else {
            BttVersion::V1_1
        }
    }

    /// `(major, minor)`.
    pub fn number(self) -> (u16, u16) {
        match self {
            BttVersion::V1_1 => (1, 1),
            BttVersion::V2_0 => (2, 0),
        }
    }

    /// Where the BTT starts in the namespace (`nd_btt->initial_offset`),
    /// and so where the first info block is.
    pub fn initial_offset(self) -> u64 {
        match self {
            BttVersion::V1_1 => 4096,
            BttVersion::V2_0 => 0,
        }
    }
}

/// A decoded info block. Offsets are relative to the arena's start (its
/// primary info block); `nextoff` is 0 in the last arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InfoBlock {
    /// Should be [`BTT_SIG`].
    pub signature: [u8; BTT_SIG_LEN],
    /// The BTT's uuid (the btt device's `uuid`).
    pub uuid: [u8; 16],
    /// The namespace's uuid; all zeros for a label-less namespace.
    pub parent_uuid: [u8; 16],
    /// [`super::IB_FLAG_ERROR`] and reserved bits.
    pub flags: u32,
    /// Major version.
    pub version_major: u16,
    /// Minor version.
    pub version_minor: u16,
    /// Sector size as seen by users, with integrity bytes.
    pub external_lbasize: u32,
    /// Sectors this arena exports.
    pub external_nlba: u32,
    /// Size of a data block (external lbasize rounded up to 64).
    pub internal_lbasize: u32,
    /// Data blocks, including the `nfree` spare ones.
    pub internal_nlba: u32,
    /// Spare blocks, one per flog lane.
    pub nfree: u32,
    /// Size of the info block, 4096.
    pub infosize: u32,
    /// Offset of the next arena, 0 in the last.
    pub nextoff: u64,
    /// Offset of the data area.
    pub dataoff: u64,
    /// Offset of the map.
    pub mapoff: u64,
    /// Offset of the flog.
    pub logoff: u64,
    /// Offset of the backup info block.
    pub info2off: u64,
    /// The stored checksum.
    pub checksum: u64,
}

impl InfoBlock {
    /// Decodes the fields of `block` without checking anything; the
    /// padding (bytes 120..4088) is not kept. `TooShort` below 4096 bytes.
    pub fn decode(block: &[u8]) -> Result<Self, BttError> {
        if block.len() < INFO_SIZE {
            return Err(BttError::TooShort);
        }
        Ok(InfoBlock {
            signature: le::bytes(block, 0),
            uuid: le::bytes(block, UUID),
            parent_uuid: le::bytes(block, PARENT_UUID),
            flags: le::u32_at(block, FLAGS),
            version_major: le::u16_at(block, VERSION_MAJOR),
            version_minor: le::u16_at(block, VERSION_MINOR),
            external_lbasize: le::u32_at(block, EXTERNAL_LBASIZE),
            external_nlba: le::u32_at(block, EXTERNAL_NLBA),
            internal_lbasize: le::u32_at(block, INTERNAL_LBASIZE),
            internal_nlba: le::u32_at(block, INTERNAL_NLBA),
            nfree: le::u32_at(block, NFREE),
            infosize: le::u32_at(block, INFOSIZE),
            nextoff: le::u64_at(block, NEXTOFF),
            dataoff: le::u64_at(block, DATAOFF),
            mapoff: le::u64_at(block, MAPOFF),
            logoff: le::u64_at(block, LOGOFF),
            info2off: le::u64_at(block, INFO2OFF),
            checksum: le::u64_at(block, INFO_CHECKSUM_OFFSET),
        })
    }

    /// Writes every field, the stored `checksum` as it is, into the first
    /// 4096 bytes of `block`, zeroing the padding. `TooShort` below 4096.
    pub fn encode(&self, block: &mut [u8]) -> Result<(), BttError> {
        let block = block.get_mut(..INFO_SIZE).ok_or(BttError::TooShort)?;
        self.encode_fields(block);
        block[FIELDS_END..INFO_CHECKSUM_OFFSET].fill(0);
        le::put_u64(block, INFO_CHECKSUM_OFFSET, self.checksum);
        Ok(())
    }

    /// Writes the fields over bytes 0..120 only, leaving the padding and
    /// checksum as they are (for re-encoding onto media bytes).
    pub fn encode_fields(&self, block: &mut [u8]) {
        le::put(block, 0, &self.signature);
        le::put(block, UUID, &self.uuid);
        le::put(block, PARENT_UUID, &self.parent_uuid);
        le::put_u32(block, FLAGS, self.flags);
        le::put_u16(block, VERSION_MAJOR, self.version_major);
        le::put_u16(block, VERSION_MINOR, self.version_minor);
        le::put_u32(block, EXTERNAL_LBASIZE, self.external_lbasize);
        le::put_u32(block, EXTERNAL_NLBA, self.external_nlba);
        le::put_u32(block, INTERNAL_LBASIZE, self.internal_lbasize);
        le::put_u32(block, INTERNAL_NLBA, self.internal_nlba);
        le::put_u32(block, NFREE, self.nfree);
        le::put_u32(block, INFOSIZE, self.infosize);
        le::put_u64(block, NEXTOFF, self.nextoff);
        le::put_u64(block, DATAOFF, self.dataoff);
        le::put_u64(block, MAPOFF, self.mapoff);
        le::put_u64(block, LOGOFF, self.logoff);
        le::put_u64(block, INFO2OFF, self.info2off);
    }

    /// Encodes with zero padding and a fresh checksum, as C writes a new
    /// info block (`btt_arena_write_layout`); `self.checksum` is set to it.
    pub fn write_sealed(&mut self, block: &mut [u8]) -> Result<(), BttError> {
        self.checksum = 0;
        self.encode(block)?;
        self.checksum = fletcher::seal(&mut block[..INFO_SIZE], INFO_CHECKSUM_OFFSET)
            .ok_or(BttError::TooShort)?;
        Ok(())
    }

    /// The checksum of `block` as C computes it (`nd_sb_checksum`: the
    /// 4096 bytes with the checksum field taken as zero).
    pub fn compute_checksum(block: &[u8]) -> Result<u64, BttError> {
        let block = block.get(..INFO_SIZE).ok_or(BttError::TooShort)?;
        Ok(fletcher::fletcher64_zeroed(block, INFO_CHECKSUM_OFFSET))
    }

    /// C's `nd_btt_arena_is_valid`: the signature, the parent uuid (a
    /// zero one matches any namespace; label-less namespaces have the
    /// zero uuid), then the checksum. Nothing else: C checks no offsets,
    /// sizes or version here (see [`Self::check_version`] and
    /// [`ArenaLayout::from_info`]). An error-flagged arena is valid (C
    /// only logs "Found arena with an error flag"; see [`Self::has_error`]).
    pub fn validate(block: &[u8], ns_uuid: &[u8; 16]) -> Result<Self, BttError> {
        let info = Self::decode(block)?;
        if info.signature != BTT_SIG {
            return Err(BttError::BadSignature);
        }
        if info.parent_uuid != [0; 16] && info.parent_uuid != *ns_uuid {
            return Err(BttError::ParentUuidMismatch);
        }
        if info.checksum != Self::compute_checksum(block)? {
            return Err(BttError::BadChecksum);
        }
        Ok(info)
    }

    /// The version check of C's `nd_btt_version` after a valid block was
    /// found: exactly the version the claim class implies, else
    /// `VersionMismatch` (C: `-ENODEV`).
    pub fn check_version(&self, version: BttVersion) -> Result<(), BttError> {
        if (self.version_major, self.version_minor) == version.number() {
            Ok(())
        } else {
            Err(BttError::VersionMismatch)
        }
    }

    /// Whether the arena is flagged as in error ([`super::IB_FLAG_ERROR_MASK`]);
    /// C refuses writes to such an arena with `-EIO`.
    pub fn has_error(&self) -> bool {
        self.flags & super::IB_FLAG_ERROR_MASK != 0
    }

    /// The info block C writes for a new arena (`btt_arena_write_layout`):
    /// offsets relative to the arena, flags 0, checksum not yet computed
    /// (use [`Self::write_sealed`]). `parent_uuid` is the namespace's uuid
    /// (zero for a label-less one).
    pub fn for_arena(
        layout: &ArenaLayout,
        uuid: [u8; 16],
        parent_uuid: [u8; 16],
        version: BttVersion,
    ) -> Self {
        let (version_major, version_minor) = version.number();
        let rel = |off: u64| off - layout.infooff;
        InfoBlock {
            signature: BTT_SIG,
            uuid,
            parent_uuid,
            flags: 0,
            version_major,
            version_minor,
            external_lbasize: layout.external_lbasize,
            external_nlba: layout.external_nlba,
            internal_lbasize: layout.internal_lbasize,
            internal_nlba: layout.internal_nlba,
            nfree: layout.nfree,
            infosize: INFO_SIZE as u32,
            nextoff: layout.nextoff,
            dataoff: rel(layout.dataoff),
            mapoff: rel(layout.mapoff),
            logoff: rel(layout.logoff),
            info2off: rel(layout.info2off),
            checksum: 0,
        }
    }
}
