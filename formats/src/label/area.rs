//! A whole label area: finding the current index and its labels, and
//! staging updates the way the kernel does.

use super::index::{
    inc_seq, select_current, write_index, FreeMap, IndexWrite, NamespaceIndex, UsedSlots,
};
use super::layout::{index_field, label_field, NSLABEL_UUID_LEN};
use super::le;
use super::{Geometry, IndexCopy, LabelError, LabelSize, LabelVersion, NamespaceLabel};
use core::ops::Range;

/// A parsed, read-only label area: the current index and its labels.
#[derive(Clone, Copy, Debug)]
pub struct LabelArea<'a> {
    area: &'a [u8],
    geo: Geometry,
    current: IndexCopy,
    index: NamespaceIndex<'a>,
}

impl<'a> LabelArea<'a> {
    /// Parse a whole config area (its length is the config size) the way
    /// the kernel does at probe (C: `nd_label_data_init` and
    /// `nd_label_validate`). The label size is not known until an index
    /// validates, so both sizes are tried, 128 bytes first.
    pub fn parse(area: &'a [u8]) -> Result<Self, LabelError> {
        // 128-byte labels need the largest index; if even that layout
        // does not fit, C refuses the area before looking at it.
        Geometry::for_area(area, LabelSize::Bytes128)?;
        for size in LabelSize::PROBE_ORDER {
            if let Ok(geo) = Geometry::for_area(area, size) {
                if let Ok(found) = Self::with_geometry(area, geo) {
                    return Ok(found);
                }
            }
        }
        Err(LabelError::NoValidIndex)
    }

    /// Parse `area` assuming the layout `geo` (one probe of
    /// [`LabelArea::parse`]). `area` must span `geo.config_size()` bytes.
    pub fn with_geometry(area: &'a [u8], geo: Geometry) -> Result<Self, LabelError> {
        let area = area
            .get(..geo.config_size() as usize)
            .ok_or(LabelError::TooShort)?;
        let [first, second] = IndexCopy::BOTH.map(|copy| Self::probe(area, &geo, copy).ok());
        let seqs = [first.map(|i| i.seq()), second.map(|i| i.seq())];
        let current = select_current(seqs).ok_or(LabelError::NoValidIndex)?;
        let index = match current {
            IndexCopy::First => first,
            IndexCopy::Second => second,
        }
        .ok_or(LabelError::NoValidIndex)?;
        Ok(Self {
            area,
            geo,
            current,
            index,
        })
    }

    /// Validate one index block of `area` under layout `geo`, saying why
    /// it was rejected; for diagnostics when [`LabelArea::parse`] fails.
    pub fn probe(
        area: &'a [u8],
        geo: &Geometry,
        copy: IndexCopy,
    ) -> Result<NamespaceIndex<'a>, LabelError> {
        let block = area
            .get(geo.index_range(copy))
            .ok_or(LabelError::TooShort)?;
        NamespaceIndex::validate(block, copy, geo)
    }

    /// Which index block is current.
    pub const fn current(&self) -> IndexCopy {
        self.current
    }

    /// The index block the next update will write.
    pub const fn next(&self) -> IndexCopy {
        self.current.other()
    }

    /// The layout the current index validated under.
    pub const fn geometry(&self) -> &Geometry {
        &self.geo
    }

    /// Size of every label in the area.
    pub const fn label_size(&self) -> LabelSize {
        self.geo.label_size()
    }

    /// The label area version from the current index.
    pub const fn version(&self) -> LabelVersion {
        self.index.version()
    }

    /// Number of label slots recorded in the current index.
    pub const fn nslot(&self) -> u32 {
        self.index.nslot()
    }

    /// The current index.
    pub const fn index(&self) -> &NamespaceIndex<'a> {
        &self.index
    }

    /// The whole area.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.area
    }

    /// Every slot the current index marks in use, with its label or the
    /// reason it is invalid.
    pub fn slots(&self) -> LabelSlots<'a> {
        LabelSlots {
            area: self.area,
            geo: self.geo,
            used: self.index.used_slots(),
        }
    }

    /// The valid labels of in-use slots, as `(slot, label)`, ascending
    /// (C: `nd_label_active`).
    pub fn labels(&self) -> ActiveLabels<'a> {
        ActiveLabels {
            slots: self.slots(),
        }
    }

    /// The valid labels of in-use slots whose namespace UUID is `uuid`,
    /// as `(slot, label)`, ascending: `labels()` filtered by UUID, but only
    /// the matching slots are decoded and checksummed.
    pub fn labels_with_uuid(&self, uuid: &[u8; NSLABEL_UUID_LEN]) -> LabelsWithUuid<'a> {
        LabelsWithUuid {
            area: self.area,
            geo: self.geo,
            used: self.index.used_slots(),
            uuid: *uuid,
        }
    }

    /// Number of valid labels (C: `nd_label_active_count`).
    pub fn active_count(&self) -> usize {
        self.labels().count()
    }

    /// The `n`th valid label (C: `nd_label_active`).
    pub fn active(&self, n: usize) -> Option<(u32, NamespaceLabel)> {
        self.labels().nth(n)
    }
}

/// Iterator over the in-use slots of an index: `(slot, label or why not)`.
#[derive(Clone, Debug)]
pub struct LabelSlots<'a> {
    area: &'a [u8],
    geo: Geometry,
    used: UsedSlots<'a>,
}

impl Iterator for LabelSlots<'_> {
    type Item = (u32, Result<NamespaceLabel, LabelError>);

    fn next(&mut self) -> Option<Self::Item> {
        let slot = self.used.next()?;
        let label = match self.geo.slot_range(slot).and_then(|r| self.area.get(r)) {
            Some(raw) => NamespaceLabel::validate(raw, self.geo.label_size(), slot),
            None => Err(LabelError::SlotOutOfRange),
        };
        Some((slot, label))
    }
}

/// Iterator over the valid labels of an index: `(slot, label)`.
#[derive(Clone, Debug)]
pub struct ActiveLabels<'a> {
    slots: LabelSlots<'a>,
}

impl Iterator for ActiveLabels<'_> {
    type Item = (u32, NamespaceLabel);

    fn next(&mut self) -> Option<Self::Item> {
        self.slots
            .find_map(|(slot, label)| label.ok().map(|l| (slot, l)))
    }
}

/// Iterator over the valid labels of one namespace UUID: `(slot, label)`.
#[derive(Clone, Debug)]
pub struct LabelsWithUuid<'a> {
    area: &'a [u8],
    geo: Geometry,
    used: UsedSlots<'a>,
    uuid: [u8; NSLABEL_UUID_LEN],
}

impl Iterator for LabelsWithUuid<'_> {
    type Item = (u32, NamespaceLabel);

    fn next(&mut self) -> Option<Self::Item> {
        let uuid = label_field::UUID..label_field::UUID + NSLABEL_UUID_LEN;
        let size = self.geo.label_size();
        let (area, geo, want) = (self.area, self.geo, self.uuid);
        self.used.find_map(|slot| {
            let raw = area.get(geo.slot_range(slot)?)?;
            if raw.get(uuid.clone())? != want {
                return None;
            }
            NamespaceLabel::validate(raw, size, slot)
                .ok()
                .map(|l| (slot, l))
        })
    }
}

/// A label area being updated, like the kernel's in-memory copy
/// (`ndd->data`).
///
/// Updates follow C's protocol: allocate and free slots in the *next*
/// index, write new labels into slots the current index does not use,
/// then [`commit`](LabelAreaMut::commit) stamps the next index with the
/// following sequence number and makes it current. Each writing call
/// returns the byte range to persist; persist those ranges, in order, and
/// nothing else. As in C, the non-current index block in this buffer is
/// scratch space and does not match the media.
///
/// INVARIANT: the `current` block is a valid index for `geo`, and the
/// other block holds an index header whose `nslot` fits its bitmap.
#[derive(Debug)]
pub struct LabelAreaMut<'a> {
    area: &'a mut [u8],
    geo: Geometry,
    current: IndexCopy,
}

impl<'a> LabelAreaMut<'a> {
    /// Open an existing area: parse it, then stage the next index as a
    /// copy of the current one (C: `nd_label_data_init`).
    pub fn open(area: &'a mut [u8]) -> Result<Self, LabelError> {
        let (geo, current) = {
            let parsed = LabelArea::parse(area)?;
            (parsed.geo, parsed.current)
        };
        let mut this = Self { area, geo, current };
        this.stage_next();
        Ok(this)
    }

    /// Initialise an area from scratch (C: `init_labels`): zero it, write
    /// index 0 with sequence 3 and index 1 with sequence 2, every slot
    /// free, so index 0 is current. This is also what `ndctl init-labels`
    /// writes. Persist both index blocks; C does not write the zeroed
    /// slots to media.
    pub fn init(area: &'a mut [u8], label_size: LabelSize) -> Result<Self, LabelError> {
        let geo = Geometry::for_area(area, label_size)?;
        area.fill(0);
        let mut this = Self {
            area,
            geo,
            current: IndexCopy::First,
        };
        for (copy, seq) in [(IndexCopy::First, 3), (IndexCopy::Second, 2)] {
            write_index(this.block_mut(copy), &geo, copy, seq, IndexWrite::Init)?;
        }
        Ok(this)
    }

    /// The layout.
    pub const fn geometry(&self) -> &Geometry {
        &self.geo
    }

    /// Which index block is current.
    pub const fn current(&self) -> IndexCopy {
        self.current
    }

    /// Which index block the next commit writes.
    pub const fn next(&self) -> IndexCopy {
        self.current.other()
    }

    /// The working copy of the whole area.
    pub fn as_bytes(&self) -> &[u8] {
        self.area
    }

    /// A read-only view of the committed state: current index and labels.
    pub fn view(&self) -> Result<LabelArea<'_>, LabelError> {
        let area: &[u8] = self.area;
        let index = LabelArea::probe(area, &self.geo, self.current)?;
        Ok(LabelArea {
            area,
            geo: self.geo,
            current: self.current,
            index,
        })
    }

    /// Allocate the lowest slot free in the next index (C:
    /// `nd_label_alloc_slot`), skipping slots the current index still
    /// uses. C never frees and then allocates within one update, so it
    /// never meets such a slot; skipping keeps the committed labels safe
    /// if a caller does.
    pub fn alloc_slot(&mut self) -> Option<u32> {
        let slot = {
            let next = self.next_map()?;
            let current = self.view().ok()?;
            let live = current.index().free();
            (0..next.nslot()).find(|&s| next.is_free(s) && live.is_free(s))?
        };
        self.next_map_mut()?.take(slot).then_some(slot)
    }

    /// Free a slot in the next index; whether it was in use (C:
    /// `nd_label_free_slot`).
    pub fn free_slot(&mut self, slot: u32) -> bool {
        self.next_map_mut().is_some_and(|mut map| map.release(slot))
    }

    /// Number of free slots in the next index (C: `nd_label_nfree`).
    pub fn nfree(&self) -> u32 {
        self.next_map().map_or(0, |map| map.count_free())
    }

    /// Write `label` into `slot`, which must be allocated in the next
    /// index and unused by the current one, so the committed state is
    /// never touched. The label's `slot` field is set to `slot`. Returns
    /// the byte range to persist.
    pub fn write_label(
        &mut self,
        slot: u32,
        label: &NamespaceLabel,
    ) -> Result<Range<usize>, LabelError> {
        if label.size != self.geo.label_size() {
            return Err(LabelError::LabelSizeMismatch);
        }
        let next = self.next_map().ok_or(LabelError::BadNslot)?;
        if slot >= next.nslot() {
            return Err(LabelError::SlotOutOfRange);
        }
        let current = self.view()?;
        if next.is_free(slot) || !current.index().free().is_free(slot) {
            return Err(LabelError::SlotBusy);
        }
        let range = self
            .geo
            .slot_range(slot)
            .ok_or(LabelError::SlotOutOfRange)?;
        let raw = self
            .area
            .get_mut(range.clone())
            .ok_or(LabelError::TooShort)?;
        NamespaceLabel { slot, ..*label }.write(raw)?;
        Ok(range)
    }

    /// Write the next index with the following sequence number and make
    /// it current; then stage a fresh next index as its copy (C:
    /// `nd_label_write_index` without `ND_NSINDEX_INIT`). Returns the byte
    /// range of the index block to persist.
    pub fn commit(&mut self) -> Result<Range<usize>, LabelError> {
        let next = self.next();
        let seq = inc_seq(le::u32_at(self.block(next), index_field::SEQ));
        let geo = self.geo;
        write_index(self.block_mut(next), &geo, next, seq, IndexWrite::Update)?;
        self.current = next;
        self.stage_next();
        Ok(geo.index_range(next))
    }

    /// Copy the current index over the next one (C: `nd_label_copy`).
    fn stage_next(&mut self) {
        let from = self.geo.index_range(self.current);
        self.area
            .copy_within(from, self.geo.index_offset(self.current.other()));
    }

    fn block(&self, copy: IndexCopy) -> &[u8] {
        self.area.get(self.geo.index_range(copy)).unwrap_or(&[])
    }

    fn block_mut(&mut self, copy: IndexCopy) -> &mut [u8] {
        let range = self.geo.index_range(copy);
        self.area.get_mut(range).unwrap_or(&mut [])
    }

    fn next_map(&self) -> Option<FreeMap<&[u8]>> {
        let block = self.block(self.next());
        let nslot = le::u32_at(block, index_field::NSLOT);
        FreeMap::new(block.get(index_field::FREE..)?, nslot).ok()
    }

    fn next_map_mut(&mut self) -> Option<FreeMap<&mut [u8]>> {
        let block = self.block_mut(self.next());
        let nslot = le::u32_at(block, index_field::NSLOT);
        FreeMap::new(block.get_mut(index_field::FREE..)?, nslot).ok()
    }
}
