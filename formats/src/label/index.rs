//! The label index block (`struct nd_namespace_index`): parsing, the
//! kernel's validation rules, writing, the free-slot bitmap, and choosing
//! the current copy by sequence number.

use super::super::fletcher;
use super::layout::{index_field as f, NSINDEX_HEADER_SIZE, NSINDEX_SEQ_MASK, NSINDEX_SIGNATURE};
use super::le;
use super::{Geometry, IndexCopy, LabelError, LabelSize, LabelVersion};

/// The fixed header of an index block, field by field as on media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexHeader {
    /// Signature, `NAMESPACE_INDEX\0` when valid.
    pub sig: [u8; 16],
    /// Reserved flags, written as zero.
    pub flags: [u8; 3],
    /// log2(label size) - 7; only meaningful from v1.2 on.
    pub labelsize: u8,
    /// Sequence number; the low two bits cycle 1 -> 2 -> 3 -> 1.
    pub seq: u32,
    /// Offset of this block in the area.
    pub myoff: u64,
    /// Size of this block.
    pub mysize: u64,
    /// Offset of the other index block.
    pub otheroff: u64,
    /// Offset of slot 0.
    pub labeloff: u64,
    /// Number of label slots the free bitmap covers.
    pub nslot: u32,
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
    /// Fletcher-64 of the whole block with this field zero.
    pub checksum: u64,
}

impl IndexHeader {
    /// Read the header fields from the start of `block`. No validation.
    pub fn parse(block: &[u8]) -> Result<Self, LabelError> {
        if block.len() < NSINDEX_HEADER_SIZE {
            return Err(LabelError::TooShort);
        }
        Ok(Self {
            sig: le::bytes(block, f::SIG),
            flags: le::bytes(block, f::FLAGS),
            labelsize: block[f::LABELSIZE],
            seq: le::u32_at(block, f::SEQ),
            myoff: le::u64_at(block, f::MYOFF),
            mysize: le::u64_at(block, f::MYSIZE),
            otheroff: le::u64_at(block, f::OTHEROFF),
            labeloff: le::u64_at(block, f::LABELOFF),
            nslot: le::u32_at(block, f::NSLOT),
            major: le::u16_at(block, f::MAJOR),
            minor: le::u16_at(block, f::MINOR),
            checksum: le::u64_at(block, f::CHECKSUM),
        })
    }

    /// Write the header fields, verbatim, to the start of `block`.
    pub fn write(&self, block: &mut [u8]) -> Result<(), LabelError> {
        if block.len() < NSINDEX_HEADER_SIZE {
            return Err(LabelError::TooShort);
        }
        le::put(block, f::SIG, &self.sig);
        le::put(block, f::FLAGS, &self.flags);
        block[f::LABELSIZE] = self.labelsize;
        le::put_u32(block, f::SEQ, self.seq);
        le::put_u64(block, f::MYOFF, self.myoff);
        le::put_u64(block, f::MYSIZE, self.mysize);
        le::put_u64(block, f::OTHEROFF, self.otheroff);
        le::put_u64(block, f::LABELOFF, self.labeloff);
        le::put_u32(block, f::NSLOT, self.nslot);
        le::put_u16(block, f::MAJOR, self.major);
        le::put_u16(block, f::MINOR, self.minor);
        le::put_u64(block, f::CHECKSUM, self.checksum);
        Ok(())
    }

    /// The version recorded in `major`/`minor`.
    pub const fn version(&self) -> LabelVersion {
        LabelVersion {
            major: self.major,
            minor: self.minor,
        }
    }

    /// The label size this index describes. Before v1.2 labels are always
    /// 128 bytes and `labelsize` is ignored; from v1.2 on only codes 0 and
    /// 1 are defined (C shifts by it, so anything larger is rejected).
    pub const fn label_size(&self) -> Result<LabelSize, LabelError> {
        if !self.version().has_labelsize() {
            return Ok(LabelSize::Bytes128);
        }
        match self.labelsize {
            0 => Ok(LabelSize::Bytes128),
            1 => Ok(LabelSize::Bytes256),
            _ => Err(LabelError::BadLabelSize),
        }
    }
}

/// Next sequence number after `seq` (C: `nd_inc_seq`): 1 -> 2 -> 3 -> 1,
/// and 0 (never valid) stays 0. Only the low two bits matter.
pub const fn inc_seq(seq: u32) -> u32 {
    const NEXT: [u32; 4] = [0, 2, 3, 1];
    NEXT[(seq & NSINDEX_SEQ_MASK) as usize]
}

/// The newer of two sequence numbers, masked to two bits (C: `best_seq`).
/// A zero loses to anything; on a tie `b` wins; otherwise `b` wins only if
/// it directly follows `a` in the cycle.
pub const fn best_seq(a: u32, b: u32) -> u32 {
    let a = a & NSINDEX_SEQ_MASK;
    let b = b & NSINDEX_SEQ_MASK;
    if a == 0 || a == b {
        b
    } else if b == 0 || inc_seq(a) != b {
        a
    } else {
        b
    }
}

/// Which copy is current, given the sequence numbers of the copies that
/// validated (`None` for one that did not). With both valid the newer one
/// wins, and a tie goes to the second copy, as in C.
pub const fn select_current(seq: [Option<u32>; 2]) -> Option<IndexCopy> {
    match seq {
        [None, None] => None,
        [Some(_), None] => Some(IndexCopy::First),
        [None, Some(_)] => Some(IndexCopy::Second),
        [Some(a), Some(b)] => {
            if best_seq(a, b) == b & NSINDEX_SEQ_MASK {
                Some(IndexCopy::Second)
            } else {
                Some(IndexCopy::First)
            }
        }
    }
}

/// A validated index block, borrowing its free bitmap.
#[derive(Clone, Copy, Debug)]
pub struct NamespaceIndex<'a> {
    header: IndexHeader,
    label_size: LabelSize,
    free: FreeMap<&'a [u8]>,
}

impl<'a> NamespaceIndex<'a> {
    /// Validate the index block `block` found at position `copy` of an
    /// area laid out as `geo`, with every check of C's
    /// `__nd_label_validate`, in its order. `block` may be longer than one
    /// index block; only `geo.index_size()` bytes belong to it.
    ///
    /// One check is added: `nslot` must also fit in this block's free
    /// bitmap. C only bounds it by the area size, which for a few crafted
    /// area sizes lets it read bits past the end of the block.
    pub fn validate(block: &'a [u8], copy: IndexCopy, geo: &Geometry) -> Result<Self, LabelError> {
        let size = geo.index_size();
        let block = block.get(..size).ok_or(LabelError::TooShort)?;
        let h = IndexHeader::parse(block)?;
        if h.sig != NSINDEX_SIGNATURE {
            return Err(LabelError::BadSignature);
        }
        let label_size = h.label_size()?;
        if label_size != geo.label_size() {
            return Err(LabelError::LabelSizeMismatch);
        }
        if fletcher::fletcher64_zeroed(block, f::CHECKSUM) != h.checksum {
            return Err(LabelError::BadChecksum);
        }
        if h.seq & NSINDEX_SEQ_MASK == 0 {
            return Err(LabelError::BadSequence);
        }
        let size = size as u64;
        if h.myoff != copy.number() as u64 * size {
            return Err(LabelError::BadMyoff);
        }
        if h.otheroff != copy.other().number() as u64 * size {
            return Err(LabelError::BadOtheroff);
        }
        if h.labeloff != 2 * size {
            return Err(LabelError::BadLabeloff);
        }
        if h.mysize > size || h.mysize < NSINDEX_HEADER_SIZE as u64 {
            return Err(LabelError::BadMysize);
        }
        let used = u64::from(h.nslot) * label_size.bytes() as u64 + 2 * size;
        if used > u64::from(geo.config_size()) {
            return Err(LabelError::BadNslot);
        }
        let free = FreeMap::new(&block[f::FREE..], h.nslot)?;
        Ok(Self {
            header: h,
            label_size,
            free,
        })
    }

    /// All header fields.
    pub const fn header(&self) -> &IndexHeader {
        &self.header
    }

    /// The sequence number.
    pub const fn seq(&self) -> u32 {
        self.header.seq
    }

    /// The number of label slots.
    pub const fn nslot(&self) -> u32 {
        self.header.nslot
    }

    /// The label area version.
    pub const fn version(&self) -> LabelVersion {
        self.header.version()
    }

    /// The label size this index describes.
    pub const fn label_size(&self) -> LabelSize {
        self.label_size
    }

    /// The free-slot bitmap.
    pub const fn free(&self) -> &FreeMap<&'a [u8]> {
        &self.free
    }

    /// Slots this index marks in use, ascending, borrowing the area
    /// rather than this value.
    pub fn used_slots(&self) -> UsedSlots<'a> {
        UsedSlots {
            bits: self.free.bits,
            nslot: self.free.nslot,
            next: 0,
        }
    }
}

/// How [`write_index`] treats the slot bitmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexWrite {
    /// Fresh index: `nslot` from the geometry, every slot free.
    Init,
    /// Restamp an existing (staged) index: keep its `nslot` and bitmap.
    Update,
}

/// Stamp `block` as index copy `copy` with sequence number `seq`, and seal
/// its checksum (C: `nd_label_write_index`). Returns the checksum.
///
/// `Init` clears the whole bitmap before marking `nslot` slots free; C sets
/// the same bits but relies on the caller having zeroed the area.
pub fn write_index(
    block: &mut [u8],
    geo: &Geometry,
    copy: IndexCopy,
    seq: u32,
    mode: IndexWrite,
) -> Result<u64, LabelError> {
    let size = geo.index_size();
    let block = block.get_mut(..size).ok_or(LabelError::TooShort)?;
    let nslot = match mode {
        IndexWrite::Init => geo.nslot(),
        IndexWrite::Update => le::u32_at(block, f::NSLOT),
    };
    let label_size = geo.label_size();
    IndexHeader {
        sig: NSINDEX_SIGNATURE,
        flags: [0; 3],
        labelsize: label_size.index_code(),
        seq,
        myoff: geo.index_offset(copy) as u64,
        mysize: size as u64,
        otheroff: geo.index_offset(copy.other()) as u64,
        labeloff: geo.labels_offset() as u64,
        nslot,
        major: label_size.version().major,
        minor: label_size.version().minor,
        checksum: 0,
    }
    .write(block)?;
    if mode == IndexWrite::Init {
        FreeMap::new(&mut block[f::FREE..], nslot)?.fill();
    }
    fletcher::seal(block, f::CHECKSUM).ok_or(LabelError::TooShort)
}

/// The free-slot bitmap of an index: bit `n` (little-endian bit order,
/// byte `n / 8`, bit `n % 8`) is set while slot `n` is free. Works over a
/// borrowed or mutable byte slice.
///
/// INVARIANT: `bits` holds at least `nslot` bits.
#[derive(Clone, Copy, Debug)]
pub struct FreeMap<B> {
    bits: B,
    nslot: u32,
}

impl<B: AsRef<[u8]>> FreeMap<B> {
    /// A bitmap of `nslot` slots stored in `bits`.
    pub fn new(bits: B, nslot: u32) -> Result<Self, LabelError> {
        if (bits.as_ref().len() as u64) * 8 < u64::from(nslot) {
            return Err(LabelError::BadNslot);
        }
        Ok(Self { bits, nslot })
    }

    /// Number of slots.
    pub fn nslot(&self) -> u32 {
        self.nslot
    }

    /// Whether `slot` is free. Slots past `nslot` are never free.
    pub fn is_free(&self, slot: u32) -> bool {
        slot < self.nslot && self.byte(slot) & (1 << (slot % 8)) != 0
    }

    /// Lowest free slot, if any.
    pub fn first_free(&self) -> Option<u32> {
        let nbytes = self.nslot.div_ceil(8) as usize;
        let bits = self.bits.as_ref();
        let (i, byte) = bits
            .iter()
            .take(nbytes)
            .enumerate()
            .find(|(_, b)| **b != 0)?;
        let slot = i as u32 * 8 + byte.trailing_zeros();
        (slot < self.nslot).then_some(slot)
    }

    /// Number of free slots (C: `nd_label_nfree`).
    pub fn count_free(&self) -> u32 {
        let bits = self.bits.as_ref();
        let whole = (self.nslot / 8) as usize;
        let mut n: u32 = bits.iter().take(whole).map(|b| b.count_ones()).sum();
        let tail = self.nslot % 8;
        if tail != 0 {
            n += (self.byte(self.nslot - tail) & ((1u8 << tail) - 1)).count_ones();
        }
        n
    }

    /// Slots in use, ascending (C: `for_each_clear_bit_le`).
    pub fn used(&self) -> UsedSlots<'_> {
        UsedSlots {
            bits: self.bits.as_ref(),
            nslot: self.nslot,
            next: 0,
        }
    }

    fn byte(&self, slot: u32) -> u8 {
        // Within bounds by the type invariant; 0xff (free) if not.
        self.bits
            .as_ref()
            .get((slot / 8) as usize)
            .copied()
            .unwrap_or(0xff)
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> FreeMap<B> {
    /// Mark `slot` in use. Returns whether it was free.
    pub fn take(&mut self, slot: u32) -> bool {
        let was_free = self.is_free(slot);
        if was_free {
            self.set(slot, false);
        }
        was_free
    }

    /// Take the lowest free slot (C: `nd_label_alloc_slot`).
    pub fn take_first(&mut self) -> Option<u32> {
        let slot = self.first_free()?;
        self.set(slot, false);
        Some(slot)
    }

    /// Mark `slot` free. Returns whether it was in use; slots past `nslot`
    /// are left alone (C: `nd_label_free_slot`).
    pub fn release(&mut self, slot: u32) -> bool {
        let was_used = slot < self.nslot && !self.is_free(slot);
        if was_used {
            self.set(slot, true);
        }
        was_used
    }

    /// Mark every slot free and clear all bits past `nslot`.
    pub fn fill(&mut self) {
        let nslot = self.nslot;
        let bits = self.bits.as_mut();
        bits.fill(0);
        let whole = (nslot / 8) as usize;
        let tail = nslot % 8;
        bits[..whole].fill(0xff);
        if tail != 0 {
            bits[whole] = (1u8 << tail) - 1;
        }
    }

    fn set(&mut self, slot: u32, free: bool) {
        if let Some(byte) = self.bits.as_mut().get_mut((slot / 8) as usize) {
            let mask = 1u8 << (slot % 8);
            if free {
                *byte |= mask;
            } else {
                *byte &= !mask;
            }
        }
    }
}

/// Iterator over the in-use slots of a [`FreeMap`], ascending.
#[derive(Clone, Debug)]
pub struct UsedSlots<'a> {
    bits: &'a [u8],
    nslot: u32,
    next: u32,
}

impl Iterator for UsedSlots<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        while self.next < self.nslot {
            let slot = self.next;
            let bit = slot % 8;
            let byte = self.bits.get((slot / 8) as usize).copied().unwrap_or(0xff);
            // Most slots of a real area are free: skip whole free bytes.
            if bit == 0 && byte == 0xff {
                self.next = slot.saturating_add(8);
                continue;
            }
            self.next = slot + 1;
            if byte & (1 << bit) == 0 {
                return Some(slot);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_cycle() {
        assert_eq!(
            [inc_seq(0), inc_seq(1), inc_seq(2), inc_seq(3)],
            [0, 2, 3, 1]
        );
        // Only the low two bits count.
        assert_eq!(inc_seq(0x7), 1);
        assert_eq!(inc_seq(0x1000_0001), 2);
    }

    #[test]
    #[rustfmt::skip]
    fn best_seq_table() {
        // (a, b, winner) for every pair of two-bit values.
        let table = [
            (0, 0, 0), (0, 1, 1), (0, 2, 2), (0, 3, 3),
            (1, 0, 1), (1, 1, 1), (1, 2, 2), (1, 3, 1),
            (2, 0, 2), (2, 1, 2), (2, 2, 2), (2, 3, 3),
            (3, 0, 3), (3, 1, 1), (3, 2, 3), (3, 3, 3),
        ];
        for (a, b, want) in table {
            assert_eq!(best_seq(a, b), want, "best_seq({a}, {b})");
            assert_eq!(best_seq(a + 4, b + 8), want, "high bits ignored");
        }
    }

    #[test]
    fn selection() {
        use IndexCopy::*;
        assert_eq!(select_current([None, None]), None);
        assert_eq!(select_current([Some(1), None]), Some(First));
        assert_eq!(select_current([None, Some(1)]), Some(Second));
        assert_eq!(select_current([Some(3), Some(2)]), Some(First));
        assert_eq!(select_current([Some(2), Some(3)]), Some(Second));
        assert_eq!(
            select_current([Some(3), Some(1)]),
            Some(Second),
            "wrap 3 -> 1"
        );
        assert_eq!(
            select_current([Some(1), Some(3)]),
            Some(First),
            "wrap 3 -> 1"
        );
        assert_eq!(select_current([Some(3), Some(3)]), Some(Second), "tie");
    }

    #[test]
    fn free_map_basics() {
        let mut bits = [0u8; 4];
        let mut map = FreeMap::new(&mut bits[..], 13).unwrap();
        map.fill();
        assert_eq!(bits, [0xff, 0x1f, 0, 0]);
        let mut map = FreeMap::new(&mut bits[..], 13).unwrap();
        assert_eq!(map.count_free(), 13);
        assert_eq!(map.used().next(), None);
        assert_eq!(map.take_first(), Some(0));
        assert!(map.take(9));
        assert!(!map.take(9));
        assert!(!map.take(13), "past nslot");
        assert_eq!(map.first_free(), Some(1));
        assert_eq!(map.count_free(), 11);
        let mut used = [0u32; 4];
        let n = map.used().zip(used.iter_mut()).map(|(s, d)| *d = s).count();
        assert_eq!(&used[..n], &[0, 9]);
        assert!(map.release(0));
        assert!(!map.release(0));
        assert!(!map.release(100));
        assert_eq!(map.first_free(), Some(0));
        assert_eq!(bits, [0xff, 0x1d, 0, 0]);
    }

    #[test]
    fn free_map_full_and_stray_bits() {
        // Bits past nslot (ndctl leaves them set up to a 64-slot boundary)
        // are neither free nor used.
        let bits = [0x00u8, 0xf0];
        let map = FreeMap::new(&bits[..], 12).unwrap();
        assert_eq!(map.first_free(), None);
        assert_eq!(map.count_free(), 0);
        assert!(!map.is_free(12));
        assert_eq!(map.used().count(), 12);
        assert_eq!(
            FreeMap::new(&bits[..], 17).err(),
            Some(LabelError::BadNslot)
        );
    }

    #[test]
    fn header_round_trip() {
        let h = IndexHeader {
            sig: NSINDEX_SIGNATURE,
            flags: [1, 2, 3],
            labelsize: 1,
            seq: 0x0102_0304,
            myoff: 0x1112_1314_1516_1718,
            mysize: 0x2122_2324_2526_2728,
            otheroff: 0x3132_3334_3536_3738,
            labeloff: 0x4142_4344_4546_4748,
            nslot: 0x5152_5354,
            major: 0x6162,
            minor: 0x6364,
            checksum: 0x7172_7374_7576_7778,
        };
        let mut block = [0u8; NSINDEX_HEADER_SIZE];
        h.write(&mut block).unwrap();
        assert_eq!(&block[20..24], &[4, 3, 2, 1], "seq little-endian at 20");
        assert_eq!(block[19], 1);
        assert_eq!(&block[60..64], &[0x62, 0x61, 0x64, 0x63]);
        assert_eq!(IndexHeader::parse(&block), Ok(h));
        assert_eq!(IndexHeader::parse(&block[..71]), Err(LabelError::TooShort));
        assert_eq!(h.write(&mut [0u8; 71]), Err(LabelError::TooShort));
    }

    #[test]
    fn label_size_from_version() {
        let mut h = IndexHeader::parse(&[0u8; NSINDEX_HEADER_SIZE]).unwrap();
        for (major, minor, code, want) in [
            (1, 1, 1, Ok(LabelSize::Bytes128)), // v1.1 ignores the code
            (1, 1, 9, Ok(LabelSize::Bytes128)),
            (1, 2, 0, Ok(LabelSize::Bytes128)),
            (1, 2, 1, Ok(LabelSize::Bytes256)),
            (1, 2, 2, Err(LabelError::BadLabelSize)),
            (2, 0, 1, Ok(LabelSize::Bytes256)),
            (0, 102, 1, Ok(LabelSize::Bytes256)), // C compares major*100+minor
            (0, 101, 1, Ok(LabelSize::Bytes128)),
        ] {
            h.major = major;
            h.minor = minor;
            h.labelsize = code;
            assert_eq!(h.label_size(), want, "{major}.{minor} code {code}");
        }
    }
}
