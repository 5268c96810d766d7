//! Map entries: one little-endian `u32` per external LBA of an arena, the
//! postmap block in the low 30 bits and two flags on top.
//!
//! | bit 31 (Z) | bit 30 (E) | meaning                                   |
//! |------------|------------|-------------------------------------------|
//! | 0          | 0          | never written: identity, postmap = premap |
//! | 0          | 1          | error: reads give EIO                     |
//! | 1          | 0          | zero (trimmed): reads give zeros          |
//! | 1          | 1          | normal mapping                            |

/// Bytes per map entry.
pub const MAP_ENT_SIZE: usize = 4;
/// The Z (zero/trim) flag.
pub const MAP_TRIM_MASK: u32 = 1 << 31;
/// The E (error) flag.
pub const MAP_ERR_MASK: u32 = 1 << 30;
/// The postmap block bits.
pub const MAP_LBA_MASK: u32 = !(MAP_TRIM_MASK | MAP_ERR_MASK);
/// Both flags: a normal entry.
pub const MAP_ENT_NORMAL: u32 = MAP_TRIM_MASK | MAP_ERR_MASK;

/// A raw map entry as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MapEntry(pub u32);

/// What a map entry says about one premap LBA (C's `btt_map_read`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The data block; the premap LBA itself for a never-written entry.
    pub postmap: u32,
    /// Reads return zeros.
    pub zero: bool,
    /// Reads fail with EIO.
    pub error: bool,
}

impl MapEntry {
    /// From the 4 stored bytes.
    pub fn from_bytes(b: [u8; 4]) -> Self {
        MapEntry(u32::from_le_bytes(b))
    }

    /// From the first 4 bytes of `b`; `None` if shorter.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self::from_bytes(b.get(..MAP_ENT_SIZE)?.try_into().ok()?))
    }

    /// The 4 bytes to store.
    pub fn to_bytes(self) -> [u8; 4] {
        self.0.to_le_bytes()
    }

    /// The entry C writes (`btt_map_write`): the flags of `postmap` are
    /// stripped, then neither flag asked gives a normal entry, one flag
    /// gives that flag alone, and both is `BothFlags` (C: `-EIO`).
    pub fn new(postmap: u32, zero: bool, error: bool) -> Result<Self, super::BttError> {
        let lba = postmap & MAP_LBA_MASK;
        match (zero, error) {
            (false, false) => Ok(MapEntry(lba | MAP_ENT_NORMAL)),
            (false, true) => Ok(MapEntry(lba | MAP_ERR_MASK)),
            (true, false) => Ok(MapEntry(lba | MAP_TRIM_MASK)),
            (true, true) => Err(super::BttError::BothFlags),
        }
    }

    /// A normal entry for `postmap`.
    pub fn normal(postmap: u32) -> Self {
        MapEntry((postmap & MAP_LBA_MASK) | MAP_ENT_NORMAL)
    }

    /// The postmap bits as stored, flags stripped (C's `ent_lba`).
    pub fn lba(self) -> u32 {
        self.0 & MAP_LBA_MASK
    }

    /// The Z bit (C's `ent_z_flag`).
    pub fn z_bit(self) -> bool {
        self.0 & MAP_TRIM_MASK != 0
    }

    /// The E bit (C's `ent_e_flag`).
    pub fn e_bit(self) -> bool {
        self.0 & MAP_ERR_MASK != 0
    }

    /// Both bits: a normal entry (C's `ent_normal`).
    pub fn is_normal(self) -> bool {
        self.0 & MAP_ENT_NORMAL == MAP_ENT_NORMAL
    }

    /// Never written: neither bit set.
    pub fn is_initial(self) -> bool {
        self.0 & MAP_ENT_NORMAL == 0
    }

    /// The meaning of this entry for `premap` (C's `btt_map_read`).
    pub fn lookup(self, premap: u32) -> Mapping {
        match (self.z_bit(), self.e_bit()) {
            (false, false) => Mapping { postmap: premap, zero: false, error: false },
            (false, true) => Mapping { postmap: self.lba(), zero: false, error: true },
            (true, false) => Mapping { postmap: self.lba(), zero: true, error: false },
            (true, true) => Mapping { postmap: self.lba(), zero: false, error: false },
        }
    }

    /// The data block this entry occupies for `premap`, flags aside: C's
    /// map read with flags stripped, which is what recovery compares.
    pub fn postmap(self, premap: u32) -> u32 {
        self.lookup(premap).postmap
    }
}
