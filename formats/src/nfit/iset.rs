//! Interleave-set cookies: how namespace labels recognise the set of DIMMs
//! they were written for (acpi_nfit_init_interleave_set()).

use super::super::fletcher::Fletcher64;
use super::tables::{Nfit, Spa};
use super::{Error, MAX_MAPPINGS};

/// `struct nfit_set_info`: region offset, serial, pad.
const INFO1_LEN: usize = 16;
/// `struct nfit_set_info2`: region offset, serial, vendor, date, location, 31 reserved.
const INFO2_LEN: usize = 48;

/// The identity of one region (SPA range) for namespace labels
/// (`struct nd_interleave_set`), with each mapping's position in the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterleaveSet {
    /// Cookie of v1.1 labels: mappings sorted by region offset.
    pub cookie1: u64,
    /// Cookie of v1.2 labels, which also cover vendor and manufacturing data.
    pub cookie2: u64,
    /// v1.1 cookie as old kernels computed it, sorting offsets bytewise.
    pub altcookie: u64,
    positions: [u8; MAX_MAPPINGS],
    count: u8,
}

impl InterleaveSet {
    /// Number of mappings in the set.
    pub fn mappings(&self) -> usize {
        usize::from(self.count)
    }

    /// The position (sysfs `mappingN`'s last field) of the mapping that is
    /// the `mapping`-th memdev of the range in table order.
    pub fn position(&self, mapping: usize) -> Option<usize> {
        (mapping < self.mappings()).then(|| usize::from(self.positions[mapping]))
    }
}

/// One mapping of the set: its region offset, its DIMM's identity (serial,
/// vendor, date, location) and its place in the range's table order. The
/// C records (`nfit_set_info`, `nfit_set_info2`) are made from it as they
/// are summed, so no array of them sits on a kernel stack.
#[derive(Clone, Copy)]
struct Member {
    offset: u64,
    id: [u8; 9],
    index: u8,
}

impl Member {
    /// `struct nfit_set_info`.
    fn info1(&self) -> [u8; INFO1_LEN] {
        let mut b = [0u8; INFO1_LEN];
        b[0..8].copy_from_slice(&self.offset.to_le_bytes());
        b[8..12].copy_from_slice(&self.id[0..4]);
        b
    }

    /// `struct nfit_set_info2`.
    fn info2(&self) -> [u8; INFO2_LEN] {
        let mut b = [0u8; INFO2_LEN];
        b[0..8].copy_from_slice(&self.offset.to_le_bytes());
        b[8..17].copy_from_slice(&self.id);
        b
    }
}

// Insertion sort: stable, where the kernel's heapsort is not; they agree
// unless two mappings share a region offset.
fn sort_by(members: &mut [Member], less: impl Fn(&Member, &Member) -> bool) {
    for i in 1..members.len() {
        let mut j = i;
        while j > 0 && less(&members[j], &members[j - 1]) {
            members.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// The Fletcher-64 of the members' records back to back, as C sums its
/// array of them (each record a whole number of words).
fn checksum<const N: usize>(members: &[Member], record: impl Fn(&Member) -> [u8; N]) -> u64 {
    let mut sum = Fletcher64::new();
    for m in members {
        sum.update(&record(m));
    }
    sum.value()
}

impl<'a> Nfit<'a> {
    /// The interleave set of the region `spa` describes, as
    /// acpi_nfit_register_region() builds it from the range's mappings.
    ///
    /// Fails as C does when the range has more than 32 mappings (-ENXIO) or
    /// a mapped DIMM has no control region (-ENODEV).
    pub fn interleave_set(&self, spa: &Spa<'_>) -> Result<InterleaveSet, Error> {
        let range_index = spa.range_index();
        let mut members = [Member { offset: 0, id: [0; 9], index: 0 }; MAX_MAPPINGS];
        let mut n = 0;
        for m in self.mappings(spa) {
            if n == MAX_MAPPINGS {
                return Err(Error::TooManyMappings { range_index });
            }
            let missing = Error::MissingDcr {
                range_index,
                region_index: m.region_index(),
            };
            let dcr = self
                .dimm(m.device_handle())
                .and_then(|d| d.dcr)
                .ok_or(missing)?;
            let member = &mut members[n];
            member.offset = m.region_offset();
            member.id[0..4].copy_from_slice(&dcr.serial_number().to_le_bytes());
            member.id[4..6].copy_from_slice(&dcr.vendor_id().to_le_bytes());
            member.id[6..8].copy_from_slice(&dcr.manufacturing_date().to_le_bytes());
            member.id[8] = dcr.manufacturing_location();
            member.index = n as u8;
            n += 1;
        }
        let members = &mut members[..n];

        sort_by(members, |a, b| a.offset < b.offset);
        let cookie1 = checksum(members, Member::info1);
        let cookie2 = checksum(members, Member::info2);
        // A mapping's position is where its DIMM landed in the v1.2 order;
        // C matches by DIMM identity, so the first mapping of a DIMM (in
        // table order) takes it, and a later place of the same DIMM wins.
        let mut positions = [0u8; MAX_MAPPINGS];
        for (pos, m) in members.iter().enumerate() {
            let first = members.iter().filter(|o| o.id == m.id).map(|o| o.index).min();
            if let Some(j) = first {
                positions[usize::from(j)] = pos as u8;
            }
        }
        // cmp_map_compat() memcmp()s the little-endian offsets.
        sort_by(members, |a, b| a.offset.to_le_bytes() < b.offset.to_le_bytes());
        let altcookie = checksum(members, Member::info1);

        Ok(InterleaveSet {
            cookie1,
            cookie2,
            altcookie,
            positions,
            count: n as u8,
        })
    }
}
