//! One DIMM's part of a namespace update, as the kernel performs it (C:
//! label.c `__pmem_label_update`, `del_labels`, `init_labels`).
//!
//! Each operation changes a [`LabelAreaMut`] working copy and hands every
//! byte range that must reach the media to `persist`, in order. The last
//! write of each operation is an index block; until it lands, the media
//! still show the previous index and the labels it references, so a power
//! cut at any write leaves the DIMM with the old or the new labels.

use super::layout::NSLABEL_UUID_LEN;
use super::{IndexCopy, LabelAreaMut, LabelError, LabelSize, NamespaceLabel};

/// Why an update stopped. Writes persisted before it stay on the media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateError<E> {
    /// No free label slot (C: ENXIO).
    NoSlot,
    /// The working copy is inconsistent.
    Label(LabelError),
    /// `persist` failed.
    Persist(E),
}

impl<E> From<LabelError> for UpdateError<E> {
    fn from(e: LabelError) -> Self {
        UpdateError::Label(e)
    }
}

/// Initialise an area that has no valid index (C: `init_labels` on a DIMM
/// with neither a current nor a next index): zero it and persist index 0,
/// then index 1. The zeroed slots are not written.
pub fn init_area<'a, E>(
    area: &'a mut [u8],
    label_size: LabelSize,
    mut persist: impl FnMut(usize, &[u8]) -> Result<(), E>,
) -> Result<LabelAreaMut<'a>, UpdateError<E>> {
    let labels = LabelAreaMut::init(area, label_size)?;
    for copy in [IndexCopy::First, IndexCopy::Second] {
        let range = labels.geometry().index_range(copy);
        persist(range.start, &labels.as_bytes()[range]).map_err(UpdateError::Persist)?;
    }
    Ok(labels)
}

impl LabelAreaMut<'_> {
    /// Write `label` into the lowest free slot, then commit an index that
    /// references it and no longer references any label of `label.uuid` or
    /// of `retire` (a uuid the namespace had before a rename). Returns the
    /// slot. The label's size must be the area's.
    pub fn replace_label<E>(
        &mut self,
        label: &NamespaceLabel,
        retire: Option<&[u8; NSLABEL_UUID_LEN]>,
        mut persist: impl FnMut(usize, &[u8]) -> Result<(), E>,
    ) -> Result<u32, UpdateError<E>> {
        let slot = self.alloc_slot().ok_or(UpdateError::NoSlot)?;
        let range = match self.write_label(slot, label) {
            Ok(r) => r,
            Err(e) => {
                self.free_slot(slot);
                return Err(e.into());
            }
        };
        persist(range.start, &self.as_bytes()[range]).map_err(UpdateError::Persist)?;
        self.retire(&label.uuid, Some(slot))?;
        if let Some(old) = retire {
            self.retire(old, Some(slot))?;
        }
        self.commit_and_persist(persist)?;
        Ok(slot)
    }

    /// Commit an index without any label of `uuid` (C: `del_labels`, which
    /// writes the index even when there was nothing to delete).
    pub fn delete_labels<E>(
        &mut self,
        uuid: &[u8; NSLABEL_UUID_LEN],
        persist: impl FnMut(usize, &[u8]) -> Result<(), E>,
    ) -> Result<(), UpdateError<E>> {
        self.retire(uuid, None)?;
        self.commit_and_persist(persist)
    }

    /// Free, in the next index, the slots the current index gives to
    /// labels of `uuid`, except `keep`.
    fn retire(&mut self, uuid: &[u8; NSLABEL_UUID_LEN], keep: Option<u32>) -> Result<(), LabelError> {
        // Slots are freed one at a time: the committed view borrows the
        // area, so find one, release the borrow, free it, look again.
        let mut from = 0;
        loop {
            let next = self
                .view()?
                .labels_with_uuid(uuid)
                .map(|(slot, _)| slot)
                .find(|&slot| slot >= from && Some(slot) != keep);
            let Some(slot) = next else { return Ok(()) };
            self.free_slot(slot);
            from = slot + 1;
        }
    }

    fn commit_and_persist<E>(
        &mut self,
        mut persist: impl FnMut(usize, &[u8]) -> Result<(), E>,
    ) -> Result<(), UpdateError<E>> {
        let range = self.commit()?;
        // The committed index is now the current one in the working copy;
        // the media get it next.
        persist(range.start, &self.as_bytes()[range]).map_err(UpdateError::Persist)
    }
}
