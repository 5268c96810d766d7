//! Where things live in a label area of a given size.
//!
//! Everything follows from two numbers: the config area size and the label
//! size. The index block must hold one free bit per slot, and the slots
//! fill what the two index blocks leave; C resolves that circularity with a
//! two-step estimate, reproduced here exactly because the results are
//! on-media offsets.

use super::layout::{NSINDEX_ALIGN, NSINDEX_HEADER_SIZE};
use super::{IndexCopy, LabelError, LabelSize};
use core::ops::Range;

/// Bytes an index block needs to track `nslot` slots: the header plus one
/// bit per slot, padded to `NSINDEX_ALIGN` (C: `__sizeof_namespace_index`).
const fn index_size_for(nslot: u64) -> u64 {
    let raw = NSINDEX_HEADER_SIZE as u64 + nslot.div_ceil(8);
    raw.div_ceil(NSINDEX_ALIGN as u64) * NSINDEX_ALIGN as u64
}

/// Number of label slots an area of `config_size` bytes holds
/// (C: `nvdimm_num_label_slots`).
///
/// The index is sized for the most slots the bare area could hold, and
/// the slots then fill what two such indexes leave. An area smaller than
/// two index blocks has no slots (C would wrap around here).
pub fn num_label_slots(config_size: u32, label_size: LabelSize) -> u32 {
    let config = u64::from(config_size);
    let label = label_size.bytes() as u64;
    let index = index_size_for(config / label);
    let rest = config.saturating_sub(2 * index);
    // At most 2^32 / 128, so the conversion cannot fail.
    u32::try_from(rest / label).unwrap_or(0)
}

/// Size of one index block for this area, or `None` if the area cannot
/// hold two index blocks and at least two labels (C:
/// `sizeof_namespace_index`, which returns 0 then).
///
/// The final size is recomputed for the actual slot count, so it can be
/// smaller than the estimate `num_label_slots` reserved.
pub fn sizeof_namespace_index(config_size: u32, label_size: LabelSize) -> Option<u32> {
    let nslot = u64::from(num_label_slots(config_size, label_size));
    // nslot labels never exceed the area: nslot <= config_size / label.
    let space = u64::from(config_size) - nslot * label_size.bytes() as u64;
    let size = index_size_for(nslot);
    if 2 * size <= space && nslot >= 2 {
        u32::try_from(size).ok()
    } else {
        None
    }
}

/// The layout of one label area: config size, label size, and what they
/// imply.
///
/// INVARIANT: `2 * index_size + nslot * label_size <= config_size` and
/// `nslot >= 2`; only [`Geometry::new`] builds one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    config_size: u32,
    label_size: LabelSize,
    index_size: u32,
    nslot: u32,
}

impl Geometry {
    /// The layout of a `config_size`-byte area with `label_size` labels.
    pub fn new(config_size: u32, label_size: LabelSize) -> Result<Self, LabelError> {
        let index_size =
            sizeof_namespace_index(config_size, label_size).ok_or(LabelError::AreaTooSmall)?;
        Ok(Self {
            config_size,
            label_size,
            index_size,
            nslot: num_label_slots(config_size, label_size),
        })
    }

    /// The layout of `area`, whose length is the config size.
    pub fn for_area(area: &[u8], label_size: LabelSize) -> Result<Self, LabelError> {
        let config_size = u32::try_from(area.len()).map_err(|_| LabelError::AreaTooLarge)?;
        Self::new(config_size, label_size)
    }

    /// Size of the whole area in bytes.
    pub const fn config_size(&self) -> u32 {
        self.config_size
    }

    /// Size of one label.
    pub const fn label_size(&self) -> LabelSize {
        self.label_size
    }

    /// Size of one index block in bytes.
    pub const fn index_size(&self) -> usize {
        self.index_size as usize
    }

    /// Slot count the kernel writes into a freshly initialised index. An
    /// existing index may record a different (validated) `nslot`.
    pub const fn nslot(&self) -> u32 {
        self.nslot
    }

    /// Byte offset of an index block.
    pub const fn index_offset(&self, copy: IndexCopy) -> usize {
        copy.number() * self.index_size()
    }

    /// Byte range of an index block.
    pub const fn index_range(&self, copy: IndexCopy) -> Range<usize> {
        let start = self.index_offset(copy);
        start..start + self.index_size()
    }

    /// Byte offset of slot 0 (`labeloff`), right after both index blocks.
    pub const fn labels_offset(&self) -> usize {
        2 * self.index_size()
    }

    /// Byte range of a label slot, or `None` if it lies past the area.
    pub fn slot_range(&self, slot: u32) -> Option<Range<usize>> {
        let size = self.label_size.bytes();
        let start = self
            .labels_offset()
            .checked_add((slot as usize).checked_mul(size)?)?;
        let end = start.checked_add(size)?;
        (end <= self.config_size as usize).then_some(start..end)
    }

    /// The slot whose label starts at byte `offset` (C: `to_slot`).
    pub fn slot_at(&self, offset: usize) -> Option<u32> {
        let rel = offset.checked_sub(self.labels_offset())?;
        let size = self.label_size.bytes();
        if rel % size != 0 {
            return None;
        }
        let slot = u32::try_from(rel / size).ok()?;
        self.slot_range(slot).map(|_| slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_128k_area() {
        // 1024 128-byte slots would need 72 + 128 bytes of index: one
        // 256-byte block each, leaving (128K - 512) / 128 = 1020 slots.
        let g = Geometry::new(128 * 1024, LabelSize::Bytes128).unwrap();
        assert_eq!(
            (g.index_size(), g.nslot(), g.labels_offset()),
            (256, 1020, 512)
        );
        // v1.2: (128K - 512) / 256 = 510 slots.
        let g = Geometry::new(128 * 1024, LabelSize::Bytes256).unwrap();
        assert_eq!(
            (g.index_size(), g.nslot(), g.labels_offset()),
            (256, 510, 512)
        );
        assert_eq!(g.slot_range(0), Some(512..768));
        assert_eq!(g.slot_range(509), Some(512 + 509 * 256..128 * 1024));
        assert_eq!(g.slot_range(510), None);
        assert_eq!(g.slot_at(768), Some(1));
        assert_eq!(g.slot_at(769), None);
        assert_eq!(g.slot_at(0), None);
    }

    #[test]
    fn minimum_area() {
        // ND_LABEL_MIN_SIZE: two 256-byte index blocks and two 256-byte labels.
        let g = Geometry::new(1024, LabelSize::Bytes256).unwrap();
        assert_eq!((g.index_size(), g.nslot()), (256, 2));
        assert_eq!(
            Geometry::new(1023, LabelSize::Bytes256),
            Err(LabelError::AreaTooSmall)
        );
        // 128-byte labels fit two in 768 bytes.
        assert_eq!(Geometry::new(768, LabelSize::Bytes128).unwrap().nslot(), 2);
        assert_eq!(
            Geometry::new(767, LabelSize::Bytes128),
            Err(LabelError::AreaTooSmall)
        );
    }

    #[test]
    fn tiny_areas_do_not_wrap() {
        for size in [0, 1, 255, 256, 511] {
            assert_eq!(num_label_slots(size, LabelSize::Bytes128), 0);
            assert_eq!(sizeof_namespace_index(size, LabelSize::Bytes256), None);
        }
    }

    #[test]
    fn index_shrinks_below_the_estimate() {
        // 1473 slots of 128 bytes would need a 512-byte index; after
        // reserving 2 * 512 bytes only 1465 slots remain, which fit in 256.
        let config = 1473 * 128;
        assert_eq!(num_label_slots(config, LabelSize::Bytes128), 1465);
        assert_eq!(
            sizeof_namespace_index(config, LabelSize::Bytes128),
            Some(256)
        );
    }

    #[test]
    fn huge_area() {
        let g = Geometry::new(u32::MAX, LabelSize::Bytes128).unwrap();
        assert!(g.labels_offset() + g.nslot() as usize * 128 <= u32::MAX as usize);
        assert!(g.slot_range(u32::MAX).is_none());
    }
}
