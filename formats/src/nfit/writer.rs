//! Building an NFIT into a caller's buffer (used by nfit_test).

use super::tables::{DataRegionDesc, DcrDesc, MemdevDesc, SpaDesc, SubtableType, TableInfo};
use super::{
    Error, BDW_LEN, CAPS_LEN, DCR_LEN, DCR_SHORT_LEN, FLUSH_LEN, INTERLEAVE_LEN, MEMDEV_LEN,
    SIGNATURE, SMBIOS_LEN, SPA_COOKIE_LEN, SPA_LEN, SPA_LOCATION_COOKIE_VALID, TABLE_HEADER_LEN,
};

/// Appends subtables after a reserved table header, then fills the header in.
///
/// Nothing is written past the buffer: an append that does not fit fails
/// with [`Error::NoSpace`] and leaves the writer as it was.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// Starts a table in `buf`, reserving the 40-byte header.
    pub fn new(buf: &'a mut [u8]) -> Result<Self, Error> {
        let head = buf.get_mut(..TABLE_HEADER_LEN).ok_or(Error::NoSpace)?;
        head.fill(0);
        Ok(Writer {
            buf,
            pos: TABLE_HEADER_LEN,
        })
    }

    /// Bytes written so far, header included.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// True until the first subtable is appended.
    pub fn is_empty(&self) -> bool {
        self.pos == TABLE_HEADER_LEN
    }

    /// Reserves a zeroed subtable of `len` bytes with its type/length header
    /// filled in, and returns it for the caller to fill.
    fn subtable(&mut self, ty: SubtableType, len: usize) -> Result<&mut [u8], Error> {
        let len16 = u16::try_from(len).map_err(|_| Error::TooLong)?;
        let end = self.pos.checked_add(len).ok_or(Error::NoSpace)?;
        let sub = self.buf.get_mut(self.pos..end).ok_or(Error::NoSpace)?;
        sub.fill(0);
        put16(sub, 0, ty as u16);
        put16(sub, 2, len16);
        self.pos = end;
        Ok(sub)
    }

    /// Appends bytes verbatim (for building malformed tables in tests).
    pub fn raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let end = self.pos.checked_add(bytes.len()).ok_or(Error::NoSpace)?;
        self.buf
            .get_mut(self.pos..end)
            .ok_or(Error::NoSpace)?
            .copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    /// Appends a SPA range; 64 bytes with a location cookie, else 56.
    pub fn spa(&mut self, d: &SpaDesc) -> Result<(), Error> {
        let (len, flags) = match d.location_cookie {
            Some(_) => (SPA_COOKIE_LEN, d.flags | SPA_LOCATION_COOKIE_VALID),
            None => (SPA_LEN, d.flags & !SPA_LOCATION_COOKIE_VALID),
        };
        let s = self.subtable(SubtableType::Spa, len)?;
        put16(s, 4, d.range_index);
        put16(s, 6, flags);
        put32(s, 12, d.proximity_domain);
        s[16..32].copy_from_slice(&d.range_guid.0);
        put64(s, 32, d.address);
        put64(s, 40, d.length);
        put64(s, 48, d.memory_mapping);
        if let Some(cookie) = d.location_cookie {
            put64(s, 56, cookie);
        }
        Ok(())
    }

    /// Appends a memdev map.
    pub fn memdev(&mut self, d: &MemdevDesc) -> Result<(), Error> {
        let s = self.subtable(SubtableType::Memdev, MEMDEV_LEN)?;
        put32(s, 4, d.device_handle.0);
        put16(s, 8, d.physical_id);
        put16(s, 10, d.region_id);
        put16(s, 12, d.range_index);
        put16(s, 14, d.region_index);
        put64(s, 16, d.region_size);
        put64(s, 24, d.region_offset);
        put64(s, 32, d.address);
        put16(s, 40, d.interleave_index);
        put16(s, 42, d.interleave_ways);
        put16(s, 44, d.flags);
        Ok(())
    }

    /// Appends an interleave description with its line offsets.
    pub fn interleave(&mut self, index: u16, line_size: u32, lines: &[u32]) -> Result<(), Error> {
        let count = u32::try_from(lines.len()).map_err(|_| Error::TooLong)?;
        let len = lines
            .len()
            .checked_mul(4)
            .and_then(|n| n.checked_add(INTERLEAVE_LEN));
        let s = self.subtable(SubtableType::Interleave, len.ok_or(Error::TooLong)?)?;
        put16(s, 4, index);
        put32(s, 8, count);
        put32(s, 12, line_size);
        for (i, l) in lines.iter().enumerate() {
            put32(s, INTERLEAVE_LEN + 4 * i, *l);
        }
        Ok(())
    }

    /// Appends an SMBIOS subtable carrying `data`.
    pub fn smbios(&mut self, data: &[u8]) -> Result<(), Error> {
        let len = data.len().checked_add(SMBIOS_LEN).ok_or(Error::TooLong)?;
        let s = self.subtable(SubtableType::Smbios, len)?;
        s[SMBIOS_LEN..].copy_from_slice(data);
        Ok(())
    }

    /// Appends a control region: full length (80) if `d.block` is set, else
    /// truncated before the block-window fields (32).
    pub fn control_region(&mut self, d: &DcrDesc) -> Result<(), Error> {
        let len = if d.block.is_some() {
            DCR_LEN
        } else {
            DCR_SHORT_LEN
        };
        let s = self.subtable(SubtableType::ControlRegion, len)?;
        put16(s, 4, d.region_index);
        put16(s, 6, d.vendor_id);
        put16(s, 8, d.device_id);
        put16(s, 10, d.revision_id);
        put16(s, 12, d.subsystem_vendor_id);
        put16(s, 14, d.subsystem_device_id);
        put16(s, 16, d.subsystem_revision_id);
        s[18] = d.valid_fields;
        s[19] = d.manufacturing_location;
        put16(s, 20, d.manufacturing_date);
        put32(s, 24, d.serial_number);
        put16(s, 28, d.code);
        put16(s, 30, d.windows);
        if let Some(b) = d.block {
            put64(s, 32, b.window_size);
            put64(s, 40, b.command_offset);
            put64(s, 48, b.command_size);
            put64(s, 56, b.status_offset);
            put64(s, 64, b.status_size);
            put16(s, 72, b.flags);
        }
        Ok(())
    }

    /// Appends a block data window region.
    pub fn data_region(&mut self, d: &DataRegionDesc) -> Result<(), Error> {
        let s = self.subtable(SubtableType::DataRegion, BDW_LEN)?;
        put16(s, 4, d.region_index);
        put16(s, 6, d.windows);
        put64(s, 8, d.offset);
        put64(s, 16, d.size);
        put64(s, 24, d.capacity);
        put64(s, 32, d.start_address);
        Ok(())
    }

    /// Appends a DIMM's flush hint addresses.
    pub fn flush_hint(&mut self, handle: super::DeviceHandle, hints: &[u64]) -> Result<(), Error> {
        let count = u16::try_from(hints.len()).map_err(|_| Error::TooLong)?;
        let s = self.subtable(SubtableType::FlushHint, FLUSH_LEN + 8 * hints.len())?;
        put32(s, 4, handle.0);
        put16(s, 8, count);
        for (i, h) in hints.iter().enumerate() {
            put64(s, FLUSH_LEN + 8 * i, *h);
        }
        Ok(())
    }

    /// Appends platform capabilities.
    pub fn capabilities(&mut self, highest_capability: u8, capabilities: u32) -> Result<(), Error> {
        let s = self.subtable(SubtableType::Capabilities, CAPS_LEN)?;
        s[4] = highest_capability;
        put32(s, 8, capabilities);
        Ok(())
    }

    /// Writes the header so that the table's bytes sum to zero and returns
    /// the table length. The body is `buf[TABLE_HEADER_LEN..len]`.
    pub fn finish(self, info: &TableInfo) -> Result<usize, Error> {
        let len = self.pos;
        let len32 = u32::try_from(len).map_err(|_| Error::TooLong)?;
        let t = &mut self.buf[..len];
        t[..4].copy_from_slice(&SIGNATURE);
        put32(t, 4, len32);
        t[8] = info.revision;
        t[9] = 0;
        t[10..16].copy_from_slice(&info.oem_id);
        t[16..24].copy_from_slice(&info.oem_table_id);
        put32(t, 24, info.oem_revision);
        t[28..32].copy_from_slice(&info.creator_id);
        put32(t, 32, info.creator_revision);
        put32(t, 36, 0);
        let sum = t.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        t[9] = sum.wrapping_neg();
        Ok(len)
    }
}

// Stores at offsets inside a subtable the writer sized itself.
fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}
