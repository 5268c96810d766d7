//! Interleave-set cookies: how namespace labels recognise the set of DIMMs
//! they were written for (acpi_nfit_init_interleave_set()).

use super::super::fletcher::fletcher64;
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

/// One mapping's key and record, sorted allocation-free.
#[derive(Clone, Copy)]
struct Rec<const N: usize> {
    offset: u64,
    bytes: [u8; N],
}

// Insertion sort: stable, where the kernel's heapsort is not; they agree
// unless two mappings share a region offset.
fn sort_by<const N: usize>(recs: &mut [Rec<N>], less: impl Fn(&Rec<N>, &Rec<N>) -> bool) {
    for i in 1..recs.len() {
        let mut j = i;
        while j > 0 && less(&recs[j], &recs[j - 1]) {
            recs.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn checksum<const N: usize>(recs: &[Rec<N>]) -> u64 {
    // The C structs are summed back to back; at most 32 * 48 bytes.
    // (Not chunks_exact_mut(N).zip(): its out-of-line size() divides by the
    // chunk size, and the kernel's objtool does not know that the
    // division-by-zero panic it calls never returns; Documentation/building.md.)
    let mut buf = [0u8; MAX_MAPPINGS * INFO2_LEN];
    let mut end = 0;
    for r in recs {
        buf[end..end + N].copy_from_slice(&r.bytes);
        end += N;
    }
    fletcher64(&buf[..end])
}

impl<'a> Nfit<'a> {
    /// The interleave set of the region `spa` describes, as
    /// acpi_nfit_register_region() builds it from the range's mappings.
    ///
    /// Fails as C does when the range has more than 32 mappings (-ENXIO) or
    /// a mapped DIMM has no control region (-ENODEV).
    pub fn interleave_set(&self, spa: &Spa<'_>) -> Result<InterleaveSet, Error> {
        let range_index = spa.range_index();
        let empty1 = Rec {
            offset: 0,
            bytes: [0; INFO1_LEN],
        };
        let empty2 = Rec {
            offset: 0,
            bytes: [0; INFO2_LEN],
        };
        let mut info = [empty1; MAX_MAPPINGS];
        let mut info2 = [empty2; MAX_MAPPINGS];
        // Identity (serial, vendor, date, location) of each mapping's DIMM.
        let mut ids = [[0u8; 9]; MAX_MAPPINGS];
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
            let offset = m.region_offset();
            let id = &mut ids[n];
            id[0..4].copy_from_slice(&dcr.serial_number().to_le_bytes());
            id[4..6].copy_from_slice(&dcr.vendor_id().to_le_bytes());
            id[6..8].copy_from_slice(&dcr.manufacturing_date().to_le_bytes());
            id[8] = dcr.manufacturing_location();

            info[n].offset = offset;
            info[n].bytes[0..8].copy_from_slice(&offset.to_le_bytes());
            info[n].bytes[8..12].copy_from_slice(&id[0..4]);
            info2[n].offset = offset;
            info2[n].bytes[0..8].copy_from_slice(&offset.to_le_bytes());
            info2[n].bytes[8..17].copy_from_slice(id);
            n += 1;
        }
        let (info, info2) = (&mut info[..n], &mut info2[..n]);

        sort_by(info, |a, b| a.offset < b.offset);
        let cookie1 = checksum(info);
        sort_by(info2, |a, b| a.offset < b.offset);
        let cookie2 = checksum(info2);
        // cmp_map_compat() memcmp()s the little-endian offsets.
        sort_by(info, |a, b| a.offset.to_le_bytes() < b.offset.to_le_bytes());
        let altcookie = checksum(info);

        // A mapping's position is where its DIMM landed in the v1.2 order;
        // C matches by DIMM identity, so the first mapping of a DIMM wins.
        let mut positions = [0u8; MAX_MAPPINGS];
        for (pos, rec) in info2.iter().enumerate() {
            if let Some(j) = ids[..n].iter().position(|id| rec.bytes[8..17] == id[..]) {
                positions[j] = pos as u8;
            }
        }
        Ok(InterleaveSet {
            cookie1,
            cookie2,
            altcookie,
            positions,
            count: n as u8,
        })
    }
}
